// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the type-data reader. Input that starts like an ELF
 * file goes through gobin__open_mem() and gobin__typedata(): the pclntab,
 * runtime.firstmoduledata, the relocations. Anything else is read as an image
 * for typedata__open_image(), small enough to mutate quickly:
 *
 *   0   "TDI1"
 *   4   u8 Go 1.x minor release (0: the binary names none), u8 flags (1: noswissmap)
 *   6   u16 segment count (at most 8)
 *   8   u64 moduledata address
 *   16  u32 pclntab magic, u32 relocation count (at most 4096)
 *   24  per segment: u64 address, u32 length, u32 unused
 *       per relocation: u64 where, u64 addend
 *       the segments' bytes, in order (the last ones cut where the input ends)
 *
 * test/unit/test_typedata.c writes such images for every layout era and
 * test/fuzz/seed-typedata.sh adds real binaries. Built by test/CMakeLists.txt
 * with OTRACE_FUZZ=ON, run by `scripts/fuzz.sh typedata` (max_len from
 * fuzz_typedata.options: the real seeds are megabytes). The input is copied to
 * an exact-size heap buffer so that AddressSanitizer catches any read past it.
 */
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gobin.h"
#include "typedata.h"

#define MAX_SEGS   8
#define MAX_RELOCS 4096
#define HDR_LEN	   24

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t le(const uint8_t *p, unsigned int n)
{
	uint64_t v = 0;

	for (unsigned int i = n; i-- > 0;)
		v = v << 8 | p[i];
	return v;
}

/* What otrace's plans and the unit test's images look for. */
static void exercise(struct typedata *td)
{
	static const char *const names[] = {
		"net/http.Request",
		"net/http.response",
		"net/url.URL",
		"google.golang.org/grpc/internal/transport.Stream",
		"internal/runtime/maps.Map",
		"main.Conn",
		"example.com/pkg.Conn",
		"example.com/pkg.Dup",
		"gopkg.in/yaml%2ev3.Node",
		"int",
		"",
	};
	struct typedata_field f;
	struct typedata_itab it;
	uint64_t t, elem, size;
	char buf[128];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (typedata__find(td, names[i], &t))
			continue;
		typedata__field(td, t, "status", &f);
		typedata__field(td, t, "Inner", &f);
		for (size_t k = 0; !typedata__field_at(td, t, k, &f); k++)
			if (!typedata__elem(td, f.type, &elem))
				typedata__nfields(td, elem);
	}
	/* the first named types in full */
	for (size_t i = 0; i < 256 && !typedata__named(td, i, &t); i++) {
		typedata__name(td, t, buf, sizeof(buf));
		typedata__kind(td, t);
		typedata__size(td, t, &size);
		typedata__elem(td, t, &elem);
		for (size_t k = 0; k < 64 && !typedata__field_at(td, t, k, &f); k++)
			;
	}
	/* the itabs, named as otrace names them without .symtab (itabs.c) */
	for (size_t i = 0; i < 256 && !typedata__itab(td, i, &it); i++) {
		typedata__name(td, it.type, buf, sizeof(buf));
		if (typedata__kind(td, it.type) == TYPEDATA_POINTER && !typedata__elem(td, it.type, &elem))
			typedata__name(td, elem, buf, sizeof(buf));
	}
}

static void run_elf(const uint8_t *data, size_t size)
{
	struct typedata *td;
	struct gobin *gb;

	if (gobin__open_mem(data, size, &gb))
		return;
	if (!gobin__typedata(gb, &td))
		exercise(td);
	gobin__free(gb);
}

static void run_image(const uint8_t *data, size_t size)
{
	struct typedata_segment segs[MAX_SEGS];
	struct typedata_reloc *relocs = NULL;
	struct typedata_image img = { .segs = segs };
	struct typedata *td;
	char version[48];
	size_t at;

	if (size < HDR_LEN || memcmp(data, "TDI1", 4))
		return;
	img.nsegs = le(data + 6, 2);
	img.moduledata = le(data + 8, 8);
	img.pclntab_magic = (uint32_t)le(data + 16, 4);
	img.nrelocs = le(data + 20, 4);
	if (img.nsegs > MAX_SEGS || img.nrelocs > MAX_RELOCS)
		return;
	at = HDR_LEN + 16 * img.nsegs + 16 * img.nrelocs;
	if (at > size)
		return;
	if (data[4]) {
		snprintf(version, sizeof(version), "go1.%u.1%s", data[4],
			 data[5] & 1 ? " X:noswissmap" : "");
		img.go_version = version;
	}
	for (size_t i = 0; i < img.nsegs; i++) {
		const uint8_t *s = data + HDR_LEN + 16 * i;
		size_t len = le(s + 8, 4);

		if (len > size - at)
			len = size - at;
		segs[i] = (struct typedata_segment){ le(s, 8), data + at, len };
		at += len;
	}
	if (img.nrelocs && !(relocs = calloc(img.nrelocs, sizeof(*relocs))))
		return;
	for (size_t i = 0; i < img.nrelocs; i++) {
		const uint8_t *r = data + HDR_LEN + 16 * img.nsegs + 16 * i;

		relocs[i] = (struct typedata_reloc){ le(r, 8), le(r + 8, 8) };
	}
	img.relocs = relocs;
	if (!typedata__open_image(&img, &td)) {
		exercise(td);
		typedata__free(td);
	}
	free(relocs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy = malloc(size ? size : 1);

	if (!copy)
		return 0;
	memcpy(copy, data, size);
	if (size >= 4 && !memcmp(copy, "\177ELF", 4))
		run_elf(copy, size);
	else
		run_image(copy, size);
	free(copy);
	return 0;
}
