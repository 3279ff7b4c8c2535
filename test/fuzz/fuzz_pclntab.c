// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the pclntab reader. Raw input goes to
 * pclntab__parse(); input that starts like an ELF file also goes through
 * gobin__open_mem() and pclntab__open(), which search it for the table,
 * runtime.firstmoduledata and its relocations. Built by test/CMakeLists.txt
 * with OTRACE_FUZZ=ON and run by `scripts/fuzz.sh pclntab`, or by hand:
 *
 *   clang -g -O1 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined \
 *     -Isrc/inspect src/inspect/pclntab.c src/inspect/gobin.c src/inspect/typedata.c \
 *     test/fuzz/fuzz_pclntab.c -lelf -o fuzz_pclntab
 *   test/fuzz/seed-pclntab.sh seeds [GO_BINARY...]
 *   ./fuzz_pclntab -max_total_time=60 -max_len=4194304 corpus seeds
 *
 * (-max_len: real tables are megabytes; libFuzzer's default cap of 1 MiB
 * would truncate them into plain -EINVAL inputs.) The input is copied to an
 * exact-size heap buffer so that AddressSanitizer catches any read past its
 * end. It is parsed without a text start (the header's textStart, or
 * -ENODATA) and with one; each accepted table is searched.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gobin.h"
#include "pclntab.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void lookup(const struct pclntab *p)
{
	struct go_func w[] = {
		{ .name = "runtime.main" },
		{ .name = "main.main" },
		{ .name = "net/http.serverHandler.ServeHTTP" },
		{ .name = "" },
	};

	pclntab__find_funcs(p, w, sizeof(w) / sizeof(w[0]));
}

static void parse_elf(const uint8_t *data, size_t size)
{
	struct gobin *gb;
	struct pclntab *p;

	if (size < 4 || memcmp(data, "\177ELF", 4) || gobin__open_mem(data, size, &gb))
		return;
	if (!pclntab__open(gb, &p)) {
		lookup(p);
		pclntab__free(p);
	}
	gobin__free(gb);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint64_t texts[] = { 0, 0x401000 };
	struct pclntab *p;
	uint8_t *copy = malloc(size ? size : 1);

	if (!copy)
		return 0;
	memcpy(copy, data, size);
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		if (pclntab__parse(copy, size, texts[i], &p))
			continue;
		lookup(p);
		pclntab__free(p);
	}
	parse_elf(copy, size);
	free(copy);
	return 0;
}
