// SPDX-License-Identifier: MIT
/*
 * Field offsets for a binary without DWARF or type data: only the runtime
 * table, keyed by Go minor release, answers, and offsets__explain says where
 * otrace looked. Field paths (field_path.h) fold their hops into what the
 * BPF side reads.
 */
#include <elf.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "field_path.h"
#include "gobin.h"
#include "offsets.h"
#include "unittest.h"

/*
 * A Go binary as far as otrace's build info reader goes: an ELF whose one
 * writable PT_LOAD holds Go >= 1.18's inline build info; no sections, so no
 * DWARF. The gobin borrows the image until freed.
 */
static uint8_t image[4096];

static size_t put_uvarint(uint8_t *p, size_t v)
{
	size_t n = 0;

	for (; v >= 0x80; v >>= 7)
		p[n++] = (uint8_t)(v | 0x80);
	p[n++] = (uint8_t)v;
	return n;
}

static struct gobin *go_binary(const char *go_version)
{
	static const char modinfo[] = "0123456789abcdefpath\texample.com/app\n"
				      "mod\texample.com/app\t(devel)\t\nfedcba9876543210";
	size_t n = sizeof(modinfo) - 1;
	Elf64_Ehdr eh = { .e_type = ET_EXEC,
			  .e_machine = EM_X86_64,
			  .e_version = EV_CURRENT,
			  .e_phoff = sizeof(Elf64_Ehdr),
			  .e_ehsize = sizeof(Elf64_Ehdr),
			  .e_phentsize = sizeof(Elf64_Phdr),
			  .e_phnum = 1 };
	Elf64_Phdr ph = { .p_type = PT_LOAD,
			  .p_flags = PF_R | PF_W,
			  .p_vaddr = 0x400000,
			  .p_filesz = sizeof(image),
			  .p_memsz = sizeof(image) };
	uint8_t *p = image + 128; /* build info is 16-byte aligned */
	struct gobin *gb;

	memset(image, 0, sizeof(image));
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	memcpy(image, &eh, sizeof(eh));
	memcpy(image + sizeof(eh), &ph, sizeof(ph));
	memcpy(p, "\xff Go buildinf:", 14);
	p[14] = 8; /* pointer size */
	p[15] = 2; /* strings inline */
	p += 32;
	p += put_uvarint(p, strlen(go_version));
	memcpy(p, go_version, strlen(go_version));
	p += strlen(go_version);
	p += put_uvarint(p, n);
	memcpy(p, modinfo, n);
	if (gobin__open_mem(image, sizeof(image), &gb))
		return NULL;
	return gb;
}

static void test_runtime_table(void)
{
	struct field_req f[] = {
		{ "runtime.g", "m" },
		{ "runtime.m", "curg" },
		{ "runtime.hmap", "buckets" },
		{ "net/http.Request", "URL" }, /* a standard type: never a table's */
	};

	field_reqs__reset(f, 4);
	CHECK(offsets_runtime__resolve("go1.26.8", f, 4) == 2);
	CHECK(f[0].offset == 48 && f[1].offset == 184);
	CHECK_STR(f[1].source, "table");
	CHECK(!f[2].source && !f[3].source); /* Swiss tables since 1.24: no hmap rows */
	/* any patch of a line, experiments after the release */
	field_reqs__reset(f, 4);
	CHECK(offsets_runtime__resolve("go1.22.3 X:loopvar", f, 4) == 3);
	CHECK(f[1].offset == 192 && f[2].offset == 16);
	/* lines the rows were not read from, a development toolchain, no release */
	field_reqs__reset(f, 4);
	CHECK(offsets_runtime__resolve("go1.20.14", f, 4) == 0);
	CHECK(offsets_runtime__resolve("go1.28.0", f, 4) == 0);
	CHECK(offsets_runtime__resolve("go1.26-devel_abc123", f, 4) == -ENOENT);
	CHECK(offsets_runtime__resolve(NULL, f, 4) == -ENOENT);
	CHECK(!f[0].source && f[0].offset == -1);
	CHECK(offsets_runtime__knows("runtime.hmap"));
	CHECK(!offsets_runtime__knows("net/http.Request"));
}

static void test_resolve_and_explain(void)
{
	struct field_req f[] = {
		{ "runtime.m", "curg" },
		{ "net/http.response", "status" },
		{ "runtime.g", "m" },
	};
	struct gobin *gb = go_binary("go1.21.13");
	char why[200];

	if (!gb) {
		CHECK(!"cannot make the test binary");
		return;
	}
	CHECK(offsets__resolve(gb, f, 3) == 1);
	CHECK(f[0].offset == 192 && f[2].offset == 48);
	CHECK(!f[1].source && f[1].offset == -1);
	/* no DWARF, no moduledata for the type data: both said */
	offsets__explain(gb, &f[1], why, sizeof(why));
	CHECK(strstr(why, "no DWARF") && strstr(why, "no runtime type data"));
	CHECK(!strstr(why, "table"));
	gobin__free(gb);

	/* the runtime table is named for its own types */
	gb = go_binary("go1.20.14");
	if (!gb) {
		CHECK(!"cannot make the test binary");
		return;
	}
	CHECK(offsets__resolve(gb, f, 3) == 3);
	offsets__explain(gb, &f[0], why, sizeof(why));
	CHECK(strstr(why, "the runtime table has no row for go1.20.14") != NULL);
	/* a short buffer is cut, and terminated */
	offsets__explain(gb, &f[0], why, 12);
	CHECK(strlen(why) == 11);
	gobin__free(gb);
}

/* A resolved hop, as offsets__resolve leaves it. */
static struct field_req hop(const char *type, const char *field, int64_t offset, bool pointer)
{
	return (struct field_req){ .type = type, .field = field, .offset = offset,
				   .source = "dwarf", .pointer = pointer };
}

static void test_field_path(void)
{
	struct field_path p = { { { "T.ServerStream", "Stream" }, { "T.Stream", "method" } } };
	struct field_path q = { { hop("A", "b", 8, true), hop("B", "c", 0, true),
				  hop("C", "d", 40, true), hop("D", "e", 4, false) } };
	struct field_path none = { 0 };
	struct ot_field_path c;

	CHECK(field_path__len(&p) == 2);
	field_path__link(&p);
	CHECK_STR(p.hop[0].holds, "T.Stream");
	CHECK(!p.hop[1].holds);
	/* unresolved: absent, and the first unknown hop named */
	field_reqs__reset(p.hop, 2);
	field_path__config(&p, &c);
	CHECK(c.derefs < 0 && field_path__offset(&p) == -1);
	CHECK(field_path__missing(&p) == &p.hop[0]);

	/* embedded by value (grpc-go v1.77 on): the offsets add up */
	p.hop[0] = hop("T.ServerStream", "Stream", 0, false);
	p.hop[1] = hop("T.Stream", "method", 16, false);
	CHECK(!field_path__missing(&p));
	field_path__config(&p, &c);
	CHECK(c.derefs == 0 && c.off[0] == 16 && field_path__offset(&p) == 16);
	p.hop[0].offset = 8;
	CHECK(field_path__offset(&p) == 24);

	/* through a pointer (v1.69-v1.76): read the pointer at 8, then 16 on */
	p.hop[0].pointer = true;
	field_path__config(&p, &c);
	CHECK(c.derefs == 1 && c.off[0] == 8 && c.off[1] == 16);
	CHECK(field_path__offset(&p) == -1);

	/* the last hop's own type does not matter: the field is read as it is */
	p.hop[0].pointer = false;
	p.hop[1].pointer = true;
	field_path__config(&p, &c);
	CHECK(c.derefs == 0 && c.off[0] == 24);

	/* four hops, three pointers: the most the BPF side follows */
	CHECK(field_path__len(&q) == FIELD_PATH_HOPS);
	field_path__config(&q, &c);
	CHECK(c.derefs == 3 && c.off[0] == 8 && c.off[1] == 0 && c.off[2] == 40 && c.off[3] == 4);

	/* a hop in the middle unknown */
	q.hop[2].source = NULL;
	CHECK(field_path__missing(&q) == &q.hop[2]);
	field_path__config(&q, &c);
	CHECK(c.derefs < 0);

	/* an empty path is never resolved */
	CHECK(field_path__len(&none) == 0 && field_path__missing(&none));
}

int main(void)
{
	test_runtime_table();
	test_resolve_and_explain();
	test_field_path();
	return ut_summary();
}
