// SPDX-License-Identifier: MIT
/*
 * pclntab reader: synthetic tables in each layout, corrupt and truncated
 * ones, and synthetic ELF files for the moduledata search.
 */
#include <elf.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gobin.h"
#include "pclntab.h"
#include "unittest.h"

#define MAGIC_GO12  0xfffffffbu
#define MAGIC_GO116 0xfffffffau
#define MAGIC_GO118 0xfffffff0u
#define MAGIC_GO120 0xfffffff1u
#define TEXT	    0x401000ull
#define BLOB_CAP    4096
#define FUNC_REC    40 /* bytes per _func record, about a real one's size */

struct fn {
	uint32_t entry; /* offset from TEXT */
	const char *name;
};

/* Where a built blob keeps the things tests corrupt. */
struct blob {
	uint8_t d[BLOB_CAP];
	size_t len;
	unsigned int field; /* ftab field size */
	size_t words;	    /* header word offset: 8 */
	size_t off_text;    /* header textStart word, 0 if none */
	size_t off_names, off_pcln;
	size_t func_at[8]; /* _func record offsets (from blob start) */
};

static const struct fn fns[] = {
	{ 0x000, "runtime.text.stub" },
	{ 0x020, "runtime.main" },
	{ 0x100, "net/http.serverHandler.ServeHTTP" },
	{ 0x1a0, "net/http.(*response).finishRequest" },
	{ 0x2c0, "main.main" },
};
#define NFNS	(sizeof(fns) / sizeof(fns[0]))
#define END_OFF 0x340 /* end of the last function */

static void put(uint8_t *p, uint64_t v, unsigned int size)
{
	for (unsigned int i = 0; i < size; i++)
		p[i] = v >> (8 * i);
}

static uint64_t get(const uint8_t *p, unsigned int size)
{
	uint64_t v = 0;

	for (int i = (int)size - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* Entries as the layout stores them: absolute for 1.16, else offsets. */
static uint64_t stored_entry(uint32_t magic, uint32_t off)
{
	return magic == MAGIC_GO116 ? TEXT + off : off;
}

static void build_tables(struct blob *b, uint32_t magic, const struct fn *f, size_t n, size_t hdr)
{
	size_t pos = hdr, ftab, rec, nameoff[8];

	b->off_names = pos;
	for (size_t i = 0; i < n; i++) {
		nameoff[i] = pos - b->off_names;
		memcpy(b->d + pos, f[i].name, strlen(f[i].name) + 1);
		pos += strlen(f[i].name) + 1;
	}
	/* cutab, filetab, pctab: a few bytes each, contents unused */
	put(b->d + 8 + (b->off_text ? 4 : 3) * 8, pos - 0, 8); /* cuOffset */
	pos += 4;
	put(b->d + 8 + (b->off_text ? 5 : 4) * 8, pos, 8); /* filetabOffset */
	pos += 4;
	put(b->d + 8 + (b->off_text ? 6 : 5) * 8, pos, 8); /* pctabOffset */
	pos += 8;
	b->off_pcln = pos;
	put(b->d + 8 + (b->off_text ? 7 : 6) * 8, pos, 8); /* pclnOffset */
	ftab = pos;
	rec = (2 * n + 1) * b->field;
	for (size_t i = 0; i < n; i++) {
		put(b->d + ftab + 2 * i * b->field, stored_entry(magic, f[i].entry), b->field);
		put(b->d + ftab + (2 * i + 1) * b->field, rec, b->field);
		b->func_at[i] = ftab + rec;
		put(b->d + ftab + rec, stored_entry(magic, f[i].entry), b->field);
		put(b->d + ftab + rec + b->field, nameoff[i], 4);
		rec += FUNC_REC;
	}
	put(b->d + ftab + 2 * n * b->field, stored_entry(magic, END_OFF), b->field);
	b->len = ftab + rec;
}

/* A little-endian, 8-byte-pointer pclntab in the given layout. */
static void build(struct blob *b, uint32_t magic, uint64_t hdr_text, const struct fn *f, size_t n)
{
	int nwords = magic == MAGIC_GO116 ? 7 : 8;
	size_t hdr = 8 + nwords * 8;

	memset(b, 0, sizeof(*b));
	b->field = magic == MAGIC_GO116 ? 8 : 4;
	b->words = 8;
	b->off_text = nwords == 8 ? 8 + 2 * 8 : 0;
	put(b->d, magic, 4);
	b->d[6] = 1; /* minLC */
	b->d[7] = 8; /* ptrSize */
	put(b->d + 8, n, 8);
	put(b->d + 16, 1, 8); /* nfiles */
	if (b->off_text)
		put(b->d + b->off_text, hdr_text, 8);
	put(b->d + 8 + (b->off_text ? 3 : 2) * 8, hdr, 8); /* funcnameOffset */
	build_tables(b, magic, f, n, hdr);
}

static struct go_func *wanted(struct go_func *w)
{
	static const char *names[] = { "main.main", "net/http.serverHandler.ServeHTTP",
				       "net/http.(*response).finishRequest", "runtime.main",
				       "no.such.func" };

	for (size_t i = 0; i < 5; i++) {
		w[i].name = names[i];
		w[i].vaddr = w[i].size = 12345; /* must be reset */
	}
	return w;
}

static void check_found(const struct pclntab *p, uint64_t text)
{
	struct go_func w[5];

	CHECK(pclntab__find_funcs(p, wanted(w), 5) == 4);
	CHECK(w[0].vaddr == text + 0x2c0 && w[0].size == END_OFF - 0x2c0);
	CHECK(w[1].vaddr == text + 0x100 && w[1].size == 0xa0);
	CHECK(w[2].vaddr == text + 0x1a0 && w[2].size == 0x120);
	CHECK(w[3].vaddr == text + 0x20 && w[3].size == 0xe0);
	CHECK(w[4].vaddr == 0 && w[4].size == 0);
}

static void test_layouts(void)
{
	static const uint32_t magics[] = { MAGIC_GO118, MAGIC_GO120 };
	struct pclntab *p;
	struct blob b;

	for (size_t m = 0; m < 2; m++) {
		/* 1.18-1.25: textStart in the header */
		build(&b, magics[m], TEXT, fns, NFNS);
		CHECK(pclntab__parse(b.d, b.len, 0, &p) == 0);
		if (p) {
			CHECK(pclntab__magic(p) == magics[m]);
			CHECK(pclntab__nfunc(p) == NFNS);
			CHECK(pclntab__text_start(p) == TEXT);
			CHECK_STR(pclntab__text_source(p), "header");
			check_found(p, TEXT);
			pclntab__free(p);
		}
		/* a caller's moduledata.text beats a possibly unrelocated header */
		CHECK(pclntab__parse(b.d, b.len, 0x800000, &p) == 0);
		if (p) {
			CHECK(pclntab__text_start(p) == 0x800000);
			check_found(p, 0x800000);
			pclntab__free(p);
		}
	}
	/* 1.26: header word 3 is written as 0 */
	build(&b, MAGIC_GO120, 0, fns, NFNS);
	p = (struct pclntab *)&b;
	CHECK(pclntab__parse(b.d, b.len, 0, &p) == -ENODATA && !p);
	CHECK(pclntab__parse(b.d, b.len, TEXT, &p) == 0);
	if (p) {
		CHECK_STR(pclntab__text_source(p), "caller");
		check_found(p, TEXT);
		pclntab__free(p);
	}
	/* 1.16/1.17: absolute pointer-sized entries, any text start ignored */
	build(&b, MAGIC_GO116, 0, fns, NFNS);
	CHECK(pclntab__parse(b.d, b.len, 0, &p) == 0);
	if (p) {
		CHECK(pclntab__text_start(p) == 0);
		check_found(p, TEXT);
		pclntab__free(p);
	}
	CHECK(pclntab__parse(b.d, b.len, 0x900000, &p) == 0);
	if (p) {
		check_found(p, TEXT);
		pclntab__free(p);
	}
}

static void test_find_funcs(void)
{
	static const struct fn dup[] = { { 0x0, "a" }, { 0x10, "b" }, { 0x20, "a" }, { 0x30, "" } };
	struct go_func w[100];
	struct pclntab *p;
	struct blob b;
	char names[100][16];

	build(&b, MAGIC_GO120, TEXT, dup, 4);
	if (pclntab__parse(b.d, b.len, 0, &p)) {
		CHECK(!"parse");
		return;
	}
	/* the first function of a name wins; wanted duplicates all get it */
	w[0].name = "a";
	w[1].name = "a";
	w[2].name = "";
	CHECK(pclntab__find_funcs(p, w, 3) == 3);
	CHECK(w[0].vaddr == TEXT && w[1].vaddr == TEXT && w[0].size == 0x10);
	CHECK(w[2].vaddr == TEXT + 0x30 && w[2].size == END_OFF - 0x30);
	CHECK(pclntab__find_funcs(p, w, 0) == 0);
	/* more names than the on-stack table holds */
	for (int i = 0; i < 100; i++) {
		snprintf(names[i], sizeof(names[i]), "x%d", i);
		w[i].name = names[i];
	}
	w[77].name = "b";
	CHECK(pclntab__find_funcs(p, w, 100) == 1);
	CHECK(w[77].vaddr == TEXT + 0x10 && w[77].size == 0x10 && !w[76].vaddr);
	pclntab__free(p);
}

static int parse_rc(const struct blob *b, size_t len)
{
	struct pclntab *p;
	int rc = pclntab__parse(b->d, len, 0, &p);

	if (!rc) {
		struct go_func w[5];

		pclntab__find_funcs(p, wanted(w), 5);
		pclntab__free(p);
	}
	return rc;
}

static void test_bad_headers(void)
{
	struct blob b;

	build(&b, MAGIC_GO120, TEXT, fns, NFNS);
	put(b.d, MAGIC_GO12, 4);
	CHECK(parse_rc(&b, b.len) == -ENOTSUP);
	put(b.d, 0xfffffff2, 4);
	CHECK(parse_rc(&b, b.len) == -EINVAL);
	put(b.d, 0xf1ffffff, 4); /* big endian */
	CHECK(parse_rc(&b, b.len) == -EINVAL);

	build(&b, MAGIC_GO120, TEXT, fns, NFNS);
	b.d[4] = 1; /* pad1 */
	CHECK(parse_rc(&b, b.len) == -EINVAL);
	build(&b, MAGIC_GO120, TEXT, fns, NFNS);
	b.d[6] = 3; /* minLC */
	CHECK(parse_rc(&b, b.len) == -EINVAL);
	build(&b, MAGIC_GO120, TEXT, fns, NFNS);
	b.d[7] = 16; /* ptrSize */
	CHECK(parse_rc(&b, b.len) == -EINVAL);
	CHECK(pclntab__parse(NULL, 100, TEXT, &(struct pclntab *){ NULL }) == -EINVAL);
}

static void test_bad_tables(void)
{
	struct blob b;

	build(&b, MAGIC_GO120, TEXT, fns, NFNS);
	put(b.d + 8, ~0ull, 8); /* nfunc */
	CHECK(parse_rc(&b, b.len) == -EINVAL);
	build(&b, MAGIC_GO120, TEXT, fns, NFNS);
	put(b.d + 8, 1000, 8);
	CHECK(parse_rc(&b, b.len) == -EINVAL);
	build(&b, MAGIC_GO120, TEXT, fns, NFNS);
	put(b.d + 8 + 7 * 8, b.len + 1, 8); /* pclnOffset past the end */
	CHECK(parse_rc(&b, b.len) == -EINVAL);
	build(&b, MAGIC_GO120, TEXT, fns, NFNS);
	put(b.d + 8 + 3 * 8, 4, 8); /* funcnameOffset inside the header */
	CHECK(parse_rc(&b, b.len) == -EINVAL);
	build(&b, MAGIC_GO120, TEXT, fns, NFNS);
	put(b.d + b.off_pcln + 2 * 4, 0x400, 4); /* ftab[1] after ftab[2] */
	CHECK(parse_rc(&b, b.len) == -EINVAL);
	put(b.d + b.func_at[1], 0x400, 4); /* ... even when _func agrees */
	CHECK(parse_rc(&b, b.len) == -EINVAL);
	build(&b, MAGIC_GO120, TEXT, fns, NFNS);
	put(b.d + b.off_pcln + 3 * 4, b.len, 4); /* funcoff out of range */
	CHECK(parse_rc(&b, b.len) == -EINVAL);
	build(&b, MAGIC_GO120, TEXT, fns, NFNS);
	put(b.d + b.off_pcln + 3 * 4, ~0u, 4);
	CHECK(parse_rc(&b, b.len) == -EINVAL);
	build(&b, MAGIC_GO120, TEXT, fns, NFNS);
	put(b.d + b.func_at[2], 0x104, 4); /* _func.entryOff disagrees with ftab */
	CHECK(parse_rc(&b, b.len) == -EINVAL);
	build(&b, MAGIC_GO120, TEXT, fns, NFNS);
	put(b.d + b.func_at[2] + 4, 0x7fffffff, 4); /* nameOff out of range */
	CHECK(parse_rc(&b, b.len) == -EINVAL);
	build(&b, MAGIC_GO120, TEXT, fns, NFNS);
	put(b.d + b.func_at[2] + 4, 0xffffffff, 4); /* negative nameOff */
	CHECK(parse_rc(&b, b.len) == -EINVAL);
	/* the last name loses its NUL: its nameOff is past the cut table */
	build(&b, MAGIC_GO120, TEXT, fns, NFNS);
	b.d[get(b.d + 8 + 4 * 8, 8) - 1] = 'x';
	CHECK(parse_rc(&b, b.len) == -EINVAL);
	/* text start + last entry wraps */
	build(&b, MAGIC_GO120, ~0ull - 0x100, fns, NFNS);
	CHECK(parse_rc(&b, b.len) == -EINVAL);
	build(&b, MAGIC_GO116, 0, fns, NFNS);
	put(b.d + b.off_pcln + 2 * 8, 0, 8);
	CHECK(parse_rc(&b, b.len) == -EINVAL);
}

/* Every prefix: an error or a table whose lookups stay in bounds. */
static void test_truncated(void)
{
	static const uint32_t magics[] = { MAGIC_GO116, MAGIC_GO118, MAGIC_GO120 };
	struct blob b;

	for (size_t m = 0; m < 3; m++) {
		size_t last_ok, bad = 0;

		build(&b, magics[m], TEXT, fns, NFNS);
		last_ok = b.len;
		for (size_t len = 0; len < b.len; len++) {
			/* copy to the heap so ASan sees reads past len */
			uint8_t *d = malloc(len ? len : 1);
			struct pclntab *p;
			int rc;

			memcpy(d, b.d, len);
			rc = pclntab__parse(d, len, 0, &p);
			if (!rc) {
				struct go_func w[5];

				pclntab__find_funcs(p, wanted(w), 5);
				pclntab__free(p);
				last_ok = len < last_ok ? len : last_ok;
			} else if (rc != -EINVAL) {
				bad++;
			}
			free(d);
		}
		CHECK(bad == 0);
		/* only a cut into the last record's unread tail can still parse */
		CHECK(last_ok >= b.func_at[NFNS - 1] + b.field + 4);
	}
}

/* Every single-byte corruption: no crash, and sane results when accepted. */
static void test_mutations(void)
{
	static const uint8_t vals[] = { 0x00, 0x01, 0x7f, 0x80, 0xff };
	struct blob b;
	size_t accepted = 0, total = 0;

	build(&b, MAGIC_GO120, TEXT, fns, NFNS);
	for (size_t i = 0; i < b.len; i++) {
		for (size_t v = 0; v < sizeof(vals); v++) {
			struct blob m = b;
			int rc;

			m.d[i] = vals[v];
			rc = parse_rc(&m, m.len);
			CHECK(rc == 0 || rc == -EINVAL || rc == -ENODATA || rc == -ENOTSUP);
			accepted += !rc;
			total++;
		}
	}
	CHECK(accepted < total);
}

/*
 * Synthetic ELF files for pclntab__open(): no section headers, the
 * pclntab in a read-only PT_LOAD and moduledata in a writable one, so the
 * scan and the moduledata search are what find the table and its text.
 */
#define SEG_R_OFF  0x1000
#define SEG_RW_OFF 0x2000
#define VBASE	   0x400000
#define MD_AT	   0x100 /* in the RW segment */
#define RELA_AT	   0x400
#define DYN_AT	   0x800
#define ELF_SIZE   0x3000

enum elf_kind { ELF_PLAIN, ELF_RELA, ELF_BAD_MINPC };

static void put_moduledata(uint8_t *md, const struct blob *b, uint64_t pcv, uint64_t text)
{
	uint64_t w[24] = { 0 };
	int k;

	w[0] = pcv;
	for (k = 0; k < 5; k++) {
		uint64_t off = get(b->d + 8 + ((b->off_text ? 3 : 2) + k) * 8, 8);

		w[1 + 3 * k] = pcv + off;
		w[2 + 3 * k] = w[3 + 3 * k] = 16;
	}
	w[16] = pcv + b->off_pcln;
	w[17] = w[18] = NFNS + 1;
	w[20] = text + fns[0].entry;
	w[21] = text + END_OFF;
	w[22] = text;
	w[23] = text + 0x1000;
	for (k = 0; k < 24; k++)
		put(md + 8 * k, w[k], 8);
}

/* Moves moduledata's pointers into RELATIVE relocations, as lld leaves them. */
static void put_relocs(uint8_t *rw, uint64_t rw_vaddr)
{
	static const int ptrs[] = { 0, 1, 4, 7, 10, 13, 16, 20, 21, 22, 23 };
	uint8_t *dyn = rw + DYN_AT;
	int n = 0;

	for (size_t i = 0; i < sizeof(ptrs) / sizeof(ptrs[0]); i++, n++) {
		uint8_t *md = rw + MD_AT + 8 * ptrs[i], *r = rw + RELA_AT + 24 * n;

		put(r, rw_vaddr + MD_AT + 8 * ptrs[i], 8);
		put(r + 8, R_X86_64_RELATIVE, 8);
		put(r + 16, get(md, 8), 8);
		put(md, 0, 8);
	}
	put(dyn, DT_RELA, 8);
	put(dyn + 8, rw_vaddr + RELA_AT, 8);
	put(dyn + 16, DT_RELASZ, 8);
	put(dyn + 24, 24 * n, 8);
	put(dyn + 32, DT_RELAENT, 8);
	put(dyn + 40, 24, 8);
}

static void put_phdr(uint8_t *ph, uint32_t type, uint32_t flags, uint64_t off, uint64_t size)
{
	Elf64_Phdr h = { .p_type = type,
			 .p_flags = flags,
			 .p_offset = off,
			 .p_vaddr = VBASE + off,
			 .p_paddr = VBASE + off,
			 .p_filesz = size,
			 .p_memsz = size,
			 .p_align = 0x1000 };

	memcpy(ph, &h, sizeof(h));
}

/* The image stays in a static buffer: a gobin borrows it until freed. */
static uint8_t elf_image[ELF_SIZE];

static void make_elf(const struct blob *b, enum elf_kind kind)
{
	uint8_t *f = elf_image;
	Elf64_Ehdr eh = { .e_type = ET_DYN,
			  .e_machine = EM_X86_64,
			  .e_version = EV_CURRENT,
			  .e_phoff = sizeof(Elf64_Ehdr),
			  .e_ehsize = sizeof(Elf64_Ehdr),
			  .e_phentsize = sizeof(Elf64_Phdr),
			  .e_phnum = 3 };
	uint64_t pcv = VBASE + SEG_R_OFF + 8, rw = VBASE + SEG_RW_OFF;

	memset(f, 0, ELF_SIZE);
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	memcpy(f, &eh, sizeof(eh));
	put_phdr(f + 64, PT_LOAD, PF_R, SEG_R_OFF, 8 + b->len);
	put_phdr(f + 64 + 56, PT_LOAD, PF_R | PF_W, SEG_RW_OFF, 0x1000);
	put_phdr(f + 64 + 112, PT_DYNAMIC, PF_R | PF_W, SEG_RW_OFF + DYN_AT, 0x100);
	/* the table 8 bytes in, after a decoy magic the scan must skip */
	put(f + SEG_R_OFF, MAGIC_GO120, 4);
	f[SEG_R_OFF + 6] = 1;
	f[SEG_R_OFF + 7] = 8;
	memcpy(f + SEG_R_OFF + 8, b->d, b->len);
	/* a decoy word equal to the table's address, then the real moduledata */
	put(f + SEG_RW_OFF + 0x40, pcv, 8);
	put_moduledata(f + SEG_RW_OFF + MD_AT, b, pcv, TEXT);
	if (kind == ELF_BAD_MINPC)
		put(f + SEG_RW_OFF + MD_AT + 20 * 8, TEXT + 4, 8);
	if (kind == ELF_RELA)
		put_relocs(f + SEG_RW_OFF, rw);
}

static int open_synthetic(const struct blob *b, enum elf_kind kind, struct pclntab **p,
			  struct gobin **gb)
{
	int rc;

	*p = NULL;
	make_elf(b, kind);
	rc = gobin__open_mem(elf_image, sizeof(elf_image), gb);
	return rc ? rc : pclntab__open(*gb, p);
}

static void test_open_synthetic(void)
{
	struct go_func w[5];
	struct pclntab *p;
	struct gobin *gb;
	struct blob b;
	bool rela;

	build(&b, MAGIC_GO120, 0, fns, NFNS); /* Go 1.26: no textStart */
	CHECK(open_synthetic(&b, ELF_PLAIN, &p, &gb) == 0);
	if (p) {
		CHECK_STR(pclntab__text_source(p), "moduledata");
		CHECK(pclntab__moduledata(p, &rela) == VBASE + SEG_RW_OFF + MD_AT && !rela);
		CHECK(pclntab__text_start(p) == TEXT);
		CHECK(pclntab__find_funcs(p, wanted(w), 5) == 4 && w[0].vaddr == TEXT + 0x2c0);
	}
	pclntab__free(p);
	gobin__free(gb);

	CHECK(open_synthetic(&b, ELF_RELA, &p, &gb) == 0);
	if (p) {
		CHECK_STR(pclntab__text_source(p), "moduledata-rela");
		CHECK(pclntab__text_start(p) == TEXT);
		CHECK(pclntab__moduledata(p, &rela) == VBASE + SEG_RW_OFF + MD_AT && rela);
	}
	pclntab__free(p);
	gobin__free(gb);

	/* minpc not text + ftab[0]: no sound text start */
	CHECK(open_synthetic(&b, ELF_BAD_MINPC, &p, &gb) == -ENODATA && !p);
	pclntab__free(p);
	gobin__free(gb);

	/* Go 1.16/1.17: absolute entries, and moduledata found all the same (the type data needs it) */
	build(&b, MAGIC_GO116, 0, fns, NFNS);
	CHECK(open_synthetic(&b, ELF_PLAIN, &p, &gb) == 0);
	if (p) {
		CHECK_STR(pclntab__text_source(p), "absolute");
		CHECK(pclntab__moduledata(p, &rela) == VBASE + SEG_RW_OFF + MD_AT && !rela);
	}
	pclntab__free(p);
	gobin__free(gb);

	/* 1.20 header textStart is the fallback; moduledata still wins */
	build(&b, MAGIC_GO120, 0x123000, fns, NFNS);
	CHECK(open_synthetic(&b, ELF_BAD_MINPC, &p, &gb) == 0);
	if (p)
		CHECK(pclntab__text_start(p) == 0x123000);
	pclntab__free(p);
	gobin__free(gb);
	CHECK(open_synthetic(&b, ELF_PLAIN, &p, &gb) == 0);
	if (p)
		CHECK(pclntab__text_start(p) == TEXT);
	pclntab__free(p);
	gobin__free(gb);
}

/* A C binary has no pclntab. */
static void test_open_self(void)
{
	struct pclntab *p = (struct pclntab *)1;
	struct gobin *gb;

	if (gobin__open("/proc/self/exe", &gb)) {
		CHECK(!"cannot open own binary");
		return;
	}
	CHECK(pclntab__open(gb, &p) == -ENOENT && !p);
	gobin__free(gb);
}

int main(void)
{
	test_layouts();
	test_find_funcs();
	test_bad_headers();
	test_bad_tables();
	test_truncated();
	test_mutations();
	test_open_synthetic();
	test_open_self();
	return ut_summary();
}
