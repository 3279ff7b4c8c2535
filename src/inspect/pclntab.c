// SPDX-License-Identifier: MIT
/*
 * Go pclntab reader. Layout (little endian; every offset is relative to the
 * start of the header, runtime.pcheader):
 *
 *   pcHeader     magic u32, pad1 u8, pad2 u8, minLC u8, ptrSize u8, then
 *                pointer-sized words: nfunc, nfiles, [textStart,]
 *                funcnameOffset, cuOffset, filetabOffset, pctabOffset,
 *                pclnOffset (textStart exists from Go 1.18 on)
 *   funcnametab  NUL-terminated function names
 *   pclntable    at pclnOffset: ftab[nfunc] = {entry, funcoff}, then one
 *                more entry (the end of the last function); each _func
 *                record, at pclnOffset + funcoff, starts {entry, nameOff}.
 *
 * Go 1.16/1.17 (magic 0xfffffffa): ftab fields and _func.entry are
 * pointer-sized absolute addresses. Go 1.18/1.19 (0xfffffff0) and 1.20+
 * (0xfffffff1): they are uint32 offsets from runtime.text, which the header
 * records as pcHeader.textStart, the uintptr after nfiles (byte offset
 * 8 + 2 * ptrSize; through 1.25 cmd/link writes it with SetAddr of
 * runtime.text, so it carries a relocation in PIE). Go 1.26 keeps magic
 * 0xfffffff1 and the header size, but that field became "_ uintptr" in
 * runtime/symtab.go ("no longer stored as it requires a relocation. Code
 * should use the moduledata text field instead") and cmd/link writes 0
 * (ld/pcln.go generatePCHeader: "SetUintptr(..., 0) // unused"). A zero
 * there is thus the only sign of 1.26, and the text start must come from
 * moduledata.text, which is what the runtime itself uses (textAddr). On
 * x86-64 text is a single section (cmd/link splits it only for ARM and
 * PPC64 external links), so an entry is simply text + entryOff.
 */
#include <errno.h>
#include <gelf.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "name_index.h"
#include "pclntab.h"

#define MAGIC_GO12  0xfffffffbu
#define MAGIC_GO116 0xfffffffau
#define MAGIC_GO118 0xfffffff0u
#define MAGIC_GO120 0xfffffff1u

/* Header tables, in header order; their offsets follow nfunc, nfiles[, textStart]. */
enum { TAB_FUNCNAME, TAB_CU, TAB_FILE, TAB_PC, TAB_PCLN, NTABS };

struct pclntab {
	const uint8_t *data;
	size_t len;
	uint32_t magic;
	unsigned int ptrsize;
	unsigned int field; /* size of ftab fields and _func.entry */
	size_t nfunc;
	uint64_t hdr_text;    /* header's textStart; 0 when absent */
	uint64_t text_start;  /* added to entries; 0 for absolute ones */
	const char *text_src; /* where text_start came from */
	uint64_t moduledata;  /* runtime.firstmoduledata, 0 when not found */
	bool moduledata_rela; /* its pointers are only in relocation addends */
	uint64_t off[NTABS];
	const uint8_t *names; /* funcnametab, cut after its last NUL */
	size_t names_len;
	const uint8_t *pcln;
	size_t pcln_len;
	/*
	 * Every function by name (name_index.h), built on the first lookup: each
	 * library's plan looks up a few dozen names, and scanning .gopclntab for
	 * each was most of a stripped binary's planning.
	 */
	struct name_index index;
	bool index_tried, indexed;
};

static uint64_t rd(const uint8_t *p, unsigned int size)
{
	uint64_t v = 0;

	for (int i = (int)size - 1; i >= 0; i--) /* little endian: x86-64 only */
		v = v << 8 | p[i];
	return v;
}

/* Tables are contiguous, so each ends where the next one (in any order) starts. */
static uint64_t table_end(const struct pclntab *p, uint64_t start)
{
	uint64_t end = p->len;

	for (int k = 0; k < NTABS; k++)
		if (p->off[k] > start && p->off[k] < end)
			end = p->off[k];
	return end;
}

static uint64_t ftab_entry(const struct pclntab *p, size_t i)
{
	return rd(p->pcln + i * 2 * p->field, p->field);
}

static uint64_t ftab_funcoff(const struct pclntab *p, size_t i)
{
	return rd(p->pcln + i * 2 * p->field + p->field, p->field);
}

/* Only valid after check_funcs(). */
static const char *func_name(const struct pclntab *p, size_t i)
{
	uint64_t fo = ftab_funcoff(p, i);

	return (const char *)p->names + rd(p->pcln + fo + p->field, 4);
}

static int header_words(const struct pclntab *p)
{
	switch (p->magic) {
	case MAGIC_GO116:
		return 7;
	case MAGIC_GO118:
	case MAGIC_GO120:
		return 8;
	case MAGIC_GO12:
		return -ENOTSUP;
	default:
		return -EINVAL;
	}
}

/*
 * Cuts funcnametab after its last NUL, so that every in-range name offset
 * is known to be terminated without a scan per function (which would make
 * a crafted table quadratic).
 */
static void cut_names(struct pclntab *p)
{
	while (p->names_len && p->names[p->names_len - 1])
		p->names_len--;
}

static int parse_header(struct pclntab *p)
{
	const uint8_t *d = p->data;
	uint64_t hdr, nfunc, start;
	int nwords, first;

	if (p->len < 8)
		return -EINVAL;
	p->magic = rd(d, 4);
	nwords = header_words(p);
	if (nwords < 0)
		return nwords;
	if (d[4] || d[5] || (d[6] != 1 && d[6] != 2 && d[6] != 4) || (d[7] != 4 && d[7] != 8))
		return -EINVAL;
	p->ptrsize = d[7];
	p->field = p->magic == MAGIC_GO116 ? p->ptrsize : 4;
	hdr = 8 + (uint64_t)nwords * p->ptrsize;
	if (p->len < hdr)
		return -EINVAL;
	nfunc = rd(d + 8, p->ptrsize);
	first = nwords - NTABS;
	if (first == 3)
		p->hdr_text = rd(d + 8 + 2 * p->ptrsize, p->ptrsize);
	for (int k = 0; k < NTABS; k++) {
		p->off[k] = rd(d + 8 + (first + k) * p->ptrsize, p->ptrsize);
		if (p->off[k] < hdr || p->off[k] > p->len)
			return -EINVAL;
	}
	start = p->off[TAB_FUNCNAME];
	p->names = d + start;
	p->names_len = table_end(p, start) - start;
	cut_names(p);
	start = p->off[TAB_PCLN];
	p->pcln = d + start;
	p->pcln_len = table_end(p, start) - start;
	/* ftab: 2 * nfunc + 1 fields */
	if (p->pcln_len / p->field < 1 || nfunc > (p->pcln_len / p->field - 1) / 2)
		return -EINVAL;
	p->nfunc = nfunc;
	return 0;
}

/* Checks that the i-th _func is in bounds, agrees with ftab and has a name. */
static int check_func(const struct pclntab *p, size_t i)
{
	uint64_t fo = ftab_funcoff(p, i);
	uint64_t nameoff;

	if (fo > p->pcln_len || p->pcln_len - fo < p->field + 4)
		return -EINVAL;
	if (rd(p->pcln + fo, p->field) != ftab_entry(p, i))
		return -EINVAL;
	nameoff = rd(p->pcln + fo + p->field, 4);
	/* nameOff is an int32: negative ones are out of range here too */
	if (nameoff >= p->names_len)
		return -EINVAL;
	return 0;
}

/* One pass that makes every later lookup safe: entries sorted, records sound. */
static int check_funcs(const struct pclntab *p)
{
	for (size_t i = 0; i < p->nfunc; i++) {
		if (ftab_entry(p, i + 1) < ftab_entry(p, i))
			return -EINVAL;
		if (check_func(p, i))
			return -EINVAL;
	}
	return 0;
}

/*
 * A caller's text start (moduledata.text) wins over the header's: Go 1.26
 * writes 0 there, and in PIE binaries the header word may be unrelocated.
 */
static int set_text_start(struct pclntab *p, uint64_t text_start)
{
	if (p->magic == MAGIC_GO116) {
		p->text_start = 0;
		p->text_src = "absolute";
		return 0;
	}
	p->text_start = text_start ? text_start : p->hdr_text;
	p->text_src = text_start ? "caller" : "header";
	if (!p->text_start)
		return -ENODATA;
	if (p->text_start > UINT64_MAX - ftab_entry(p, p->nfunc))
		return -EINVAL;
	return 0;
}

/* Parses everything but the text start. */
static int parse_layout(const uint8_t *data, size_t len, struct pclntab **out)
{
	struct pclntab *p;
	int err;

	*out = NULL;
	if (!data)
		return -EINVAL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->data = data;
	p->len = len;
	err = parse_header(p);
	if (!err)
		err = check_funcs(p);
	if (err) {
		free(p);
		return err;
	}
	*out = p;
	return 0;
}

int pclntab__parse(const uint8_t *data, size_t len, uint64_t text_start, struct pclntab **out)
{
	int err = parse_layout(data, len, out);

	if (err)
		return err;
	err = set_text_start(*out, text_start);
	if (err) {
		pclntab__free(*out);
		*out = NULL;
	}
	return err;
}

void pclntab__free(struct pclntab *p)
{
	if (!p)
		return;
	name_index__free(&p->index);
	free(p);
}

uint32_t pclntab__magic(const struct pclntab *p)
{
	return p->magic;
}

size_t pclntab__nfunc(const struct pclntab *p)
{
	return p->nfunc;
}

uint64_t pclntab__text_start(const struct pclntab *p)
{
	return p->text_start;
}

const char *pclntab__text_source(const struct pclntab *p)
{
	return p->text_src;
}

uint64_t pclntab__moduledata(const struct pclntab *p, bool *rela)
{
	if (rela)
		*rela = p->moduledata_rela;
	return p->moduledata;
}

/* Lookup of wanted names: open addressing over indices into funcs. */
#define SMALL_SLOTS 64
#define SLOT_EMPTY  0
#define SLOT_DONE   UINT32_MAX /* found: keeps probe chains intact */

static void slots_insert(uint32_t *slots, size_t mask, const char *name, uint32_t idx)
{
	size_t s = name_index__hash(name) & mask;

	while (slots[s] != SLOT_EMPTY)
		s = (s + 1) & mask;
	slots[s] = idx + 1;
}

/*
 * Fills every still-wanted entry named like function i; returns how many.
 * The vendored pass matches names with their vendor prefix removed.
 */
static int match_func(const struct pclntab *p, size_t i, uint32_t *slots, size_t mask,
		      struct go_func *funcs, bool vendored)
{
	const char *name = func_name(p, i);
	int found = 0;

	if (vendored) {
		const char *plain = gobin__devendor(name);

		if (plain == name)
			return 0;
		name = plain;
	}

	for (size_t s = name_index__hash(name) & mask; slots[s] != SLOT_EMPTY; s = (s + 1) & mask) {
		struct go_func *f;

		if (slots[s] == SLOT_DONE)
			continue;
		f = &funcs[slots[s] - 1];
		if (strcmp(f->name, name))
			continue;
		f->vaddr = p->text_start + ftab_entry(p, i);
		f->size = ftab_entry(p, i + 1) - ftab_entry(p, i);
		slots[s] = SLOT_DONE; /* the first function of a name wins */
		found++;
	}
	return found;
}

static int find_funcs_scanning(const struct pclntab *p, struct go_func *funcs, size_t n);

static const char *index_func_name(const void *ctx, size_t i)
{
	return func_name(ctx, i);
}

/* Builds the name index once; false (lookups then scan) when memory is short. */
static bool build_index(struct pclntab *p)
{
	if (!p->index_tried) {
		p->index_tried = true;
		p->indexed = !name_index__build(&p->index, p->nfunc, index_func_name, p);
	}
	return p->indexed;
}

int pclntab__find_funcs(const struct pclntab *p, struct go_func *funcs, size_t n)
{
	struct pclntab *mut = (struct pclntab *)p; /* the name index is a lazily built cache */

	if (build_index(mut)) {
		int found = 0;

		for (size_t i = 0; i < n; i++) {
			/* an exact name wins; only then may a vendored copy stand in */
			long f = name_index__find(&p->index, funcs[i].name);

			funcs[i].vaddr = funcs[i].size = 0;
			if (f < 0)
				continue;
			funcs[i].vaddr = p->text_start + ftab_entry(p, (size_t)f);
			funcs[i].size = ftab_entry(p, (size_t)f + 1) - ftab_entry(p, (size_t)f);
			found++;
		}
		return found;
	}
	return find_funcs_scanning(p, funcs, n);
}

/* Without the index: a pass over every function (two, for vendored copies). */
static int find_funcs_scanning(const struct pclntab *p, struct go_func *funcs, size_t n)
{
	uint32_t small[SMALL_SLOTS], *slots = small;
	size_t nslots = SMALL_SLOTS;
	size_t found = 0;

	for (size_t i = 0; i < n; i++)
		funcs[i].vaddr = funcs[i].size = 0;
	if (!n)
		return 0;
	if (n > UINT32_MAX / 4)
		return -EINVAL;
	/* load factor <= 1/2 keeps probes short; a table always has an empty slot */
	while (nslots < 2 * n)
		nslots <<= 1;
	if (nslots > SMALL_SLOTS) {
		slots = calloc(nslots, sizeof(*slots));
		if (!slots)
			return -ENOMEM;
	} else {
		memset(small, 0, sizeof(small));
	}
	for (size_t i = 0; i < n; i++)
		slots_insert(slots, nslots - 1, funcs[i].name, i);
	for (size_t i = 0; i < p->nfunc && found < n; i++)
		found += match_func(p, i, slots, nslots - 1, funcs, false);
	/* an exact name wins; only then may a vendored copy stand in */
	for (size_t i = 0; i < p->nfunc && found < n; i++)
		found += match_func(p, i, slots, nslots - 1, funcs, true);
	if (slots != small)
		free(slots);
	return (int)found;
}

int pclntab__for_each_func(const struct pclntab *p, int (*fn)(void *ctx, const char *name),
			   void *ctx)
{
	int ret = 0;

	for (size_t i = 0; i < p->nfunc && !ret; i++)
		ret = fn(ctx, func_name(p, i));
	return ret;
}

/*
 * Locating the pclntab in a binary.
 *
 * Normally it is the .gopclntab section. Without section headers, or when
 * an external linker merged it elsewhere (PIE: .data.rel.ro), we look for
 * a header-shaped, 8-aligned magic in the loaded segments, and accept the
 * first candidate that parses completely.
 *
 * The text start (1.18+) comes from runtime.firstmoduledata, the
 * linker-built moduledata: its layout, from pcHeader to etext, has been
 * the same from Go 1.16 through 1.26 (runtime/symtab.go, and the linker's
 * ld/symtab.go which writes it):
 *
 *   pcHeader, funcnametab[3], cutab[3], filetab[3], pctab[3],
 *   pclntable[3], ftab[3], findfunctab, minpc, maxpc, text, etext
 *
 * A pointer-sized word equal to the pclntab's address could be anything,
 * so a candidate must also have its six slices point at the header's
 * tables, ftab's length be nfunc + 1, and minpc/maxpc be text plus the
 * first ftab entry and the last one (the end of the last function). That
 * ties text to the function table by two independent linker-written
 * values. This is sound where the .text section start is not: with
 * external linking, C code (crt, cgo) comes first in .text and runtime.text
 * lies further on.
 */
enum {
	MD_PCHEADER = 0,
	MD_FUNCNAMETAB = 1, /* slices: ptr, len, cap */
	MD_FTAB = 16,
	MD_MINPC = 20,
	MD_MAXPC,
	MD_TEXT,
	MD_ETEXT,
	MD_NWORDS
};

struct blob {
	const uint8_t *data;
	size_t len;
	uint64_t vaddr;
};

static bool moduledata_matches(const struct pclntab *p, uint64_t pcv, const uint64_t *w)
{
	uint64_t t = w[MD_TEXT];
	/* entries are offsets from text, or absolute addresses (Go 1.16/1.17) */
	uint64_t base = p->magic == MAGIC_GO116 ? 0 : t;

	if (w[MD_PCHEADER] != pcv)
		return false;
	for (int k = 0; k < NTABS; k++) {
		const uint64_t *s = &w[MD_FUNCNAMETAB + 3 * k];

		if (s[0] != pcv + p->off[k] || s[1] != s[2])
			return false;
	}
	if (w[MD_FTAB] != pcv + p->off[TAB_PCLN] || w[MD_FTAB + 1] != p->nfunc + 1 ||
	    w[MD_FTAB + 2] != p->nfunc + 1)
		return false;
	if (!t || w[MD_MINPC] < t || w[MD_MINPC] - base != ftab_entry(p, 0))
		return false;
	if (w[MD_MAXPC] < t || w[MD_MAXPC] - base != ftab_entry(p, p->nfunc))
		return false;
	return w[MD_ETEXT] >= w[MD_MAXPC];
}

/* The file-backed bytes of the i-th program header, when it is PT_LOAD. */
static bool load_segment(const struct gobin *gb, size_t i, struct blob *seg, GElf_Word *flags)
{
	size_t fsize;
	const uint8_t *file = (const uint8_t *)elf_rawfile(gobin__elf(gb), &fsize);
	GElf_Phdr ph;

	if (!file || !gelf_getphdr(gobin__elf(gb), i, &ph) || ph.p_type != PT_LOAD)
		return false;
	if (ph.p_offset > fsize || ph.p_filesz > fsize - ph.p_offset)
		return false;
	seg->data = file + ph.p_offset;
	seg->len = ph.p_filesz;
	seg->vaddr = ph.p_vaddr;
	*flags = ph.p_flags;
	return true;
}

/* The address of the moduledata for the pclntab at pcv in seg, or 0; *text: its text. */
static uint64_t scan_moduledata(const struct pclntab *p, uint64_t pcv, const struct blob *seg,
				uint64_t *text)
{
	unsigned int ps = p->ptrsize;
	size_t need = MD_NWORDS * ps;
	/* moduledata is pointer-aligned in memory, so step through aligned vaddrs */
	size_t off = (ps - seg->vaddr % ps) % ps;

	for (; off < seg->len && seg->len - off >= need; off += ps) {
		uint64_t w[MD_NWORDS];

		if (rd(seg->data + off, ps) != pcv)
			continue;
		for (int k = 0; k < MD_NWORDS; k++)
			w[k] = rd(seg->data + off + k * ps, ps);
		if (moduledata_matches(p, pcv, w)) {
			*text = w[MD_TEXT];
			return seg->vaddr + off;
		}
	}
	return 0;
}

/* The moduledata for the pclntab at pcv, or 0. It lives in writable data. */
static uint64_t find_moduledata(const struct gobin *gb, const struct pclntab *p, uint64_t pcv,
				uint64_t *text)
{
	size_t phnum;

	if (elf_getphdrnum(gobin__elf(gb), &phnum))
		return 0;
	for (size_t i = 0; i < phnum; i++) {
		struct blob seg;
		GElf_Word flags;
		uint64_t md;

		if (!load_segment(gb, i, &seg, &flags) || !(flags & PF_W))
			continue;
		md = scan_moduledata(p, pcv, &seg, text);
		if (md)
			return md;
	}
	return 0;
}

/*
 * Dynamic relocations, for PIE linked by linkers that leave the targets of
 * R_X86_64_RELATIVE relocations zero in the file (lld's default, no
 * --apply-dynamic-relocs): moduledata's pointers then exist only as
 * addends. Found through PT_DYNAMIC, so section headers are not needed.
 */
#define RELA_SIZE 24

struct relocs {
	const uint8_t *rela;
	size_t count;
};

static bool dynamic_relocs(const struct gobin *gb, struct relocs *r)
{
	uint64_t rela = 0, relasz = 0, relaent = RELA_SIZE;
	size_t phnum;
	GElf_Phdr ph;
	const uint8_t *dyn = NULL;

	if (elf_getphdrnum(gobin__elf(gb), &phnum))
		return false;
	for (size_t i = 0; i < phnum && !dyn; i++)
		if (gelf_getphdr(gobin__elf(gb), i, &ph) && ph.p_type == PT_DYNAMIC)
			dyn = gobin__bytes_at(gb, ph.p_vaddr, ph.p_filesz);
	if (!dyn)
		return false;
	for (size_t off = 0; off + 16 <= ph.p_filesz; off += 16) {
		uint64_t tag = rd(dyn + off, 8), val = rd(dyn + off + 8, 8);

		if (tag == DT_NULL)
			break;
		if (tag == DT_RELA)
			rela = val;
		else if (tag == DT_RELASZ)
			relasz = val;
		else if (tag == DT_RELAENT)
			relaent = val;
	}
	if (!rela || !relasz || relaent != RELA_SIZE)
		return false;
	r->rela = gobin__bytes_at(gb, rela, relasz);
	r->count = relasz / RELA_SIZE;
	return r->rela != NULL;
}

static bool rela_relative(const struct relocs *r, size_t i, uint64_t *where, uint64_t *addend)
{
	const uint8_t *e = r->rela + i * RELA_SIZE;

	if (ELF64_R_TYPE(rd(e + 8, 8)) != R_X86_64_RELATIVE)
		return false;
	*where = rd(e, 8);
	*addend = rd(e + 16, 8);
	return true;
}

/* Reads moduledata words at md, with relocation addends applied over them. */
static bool read_relocated(const struct gobin *gb, const struct relocs *r, uint64_t md, uint64_t *w)
{
	const uint8_t *b = gobin__bytes_at(gb, md, MD_NWORDS * 8);
	uint64_t where, addend;

	if (!b)
		return false;
	for (int k = 0; k < MD_NWORDS; k++)
		w[k] = rd(b + k * 8, 8);
	for (size_t i = 0; i < r->count; i++)
		if (rela_relative(r, i, &where, &addend) && where >= md &&
		    where - md < MD_NWORDS * 8 && !((where - md) % 8))
			w[(where - md) / 8] = addend;
	return true;
}

/* The moduledata found through a RELATIVE relocation whose addend is pcv, or 0. */
static uint64_t rela_find_moduledata(const struct gobin *gb, const struct pclntab *p,
				     uint64_t pcv, uint64_t *text)
{
	struct relocs r;
	uint64_t where, addend, w[MD_NWORDS];

	if (p->ptrsize != 8 || !dynamic_relocs(gb, &r))
		return 0;
	for (size_t i = 0; i < r.count; i++) {
		if (!rela_relative(&r, i, &where, &addend) || addend != pcv)
			continue;
		if (read_relocated(gb, &r, where, w) && moduledata_matches(p, pcv, w)) {
			*text = w[MD_TEXT];
			return where;
		}
	}
	return 0;
}

int pclntab__relative_relocs(const struct gobin *gb,
			     void (*fn)(void *ctx, uint64_t where, uint64_t addend), void *ctx)
{
	struct relocs r;
	uint64_t where, addend;

	if (!dynamic_relocs(gb, &r))
		return -ENOENT;
	for (size_t i = 0; i < r.count; i++)
		if (rela_relative(&r, i, &where, &addend))
			fn(ctx, where, addend);
	return 0;
}

/* runtime.text from .symtab, for when no moduledata is found (never with -s). */
static uint64_t symtab_text(const struct gobin *gb)
{
	struct go_func f = { .name = "runtime.text" };

	return gobin__find_funcs(gb, &f, 1) == 1 ? f.vaddr : 0;
}

/*
 * Finds moduledata (for every layout: the type data needs it too) and, for
 * the layouts with entries relative to it, the text start.
 */
static int try_blob(const struct gobin *gb, const struct blob *b, struct pclntab **out)
{
	struct pclntab *p;
	const char *src = NULL;
	uint64_t text = 0, md;
	bool rela = false;
	int err;

	err = parse_layout(b->data, b->len, &p);
	if (err)
		return err;
	if (p->magic == MAGIC_GO116 && p->nfunc && !ftab_entry(p, 0)) {
		/* absolute entries left to unapplied relocations (PIE): unusable */
		pclntab__free(p);
		return -ENODATA;
	}
	md = find_moduledata(gb, p, b->vaddr, &text);
	if (!md) {
		md = rela_find_moduledata(gb, p, b->vaddr, &text);
		rela = md != 0;
	}
	if (md)
		src = rela ? "moduledata-rela" : "moduledata";
	else if (p->magic != MAGIC_GO116 && (text = symtab_text(gb)))
		src = "symtab";
	err = set_text_start(p, text);
	if (err) {
		pclntab__free(p);
		return err;
	}
	if (src && p->magic != MAGIC_GO116)
		p->text_src = src;
	p->moduledata = md;
	p->moduledata_rela = rela;
	*out = p;
	return 0;
}

static bool section_blob(const struct gobin *gb, const char *name, struct blob *b)
{
	Elf *elf = gobin__elf(gb);
	size_t shstrndx, fsize;
	const uint8_t *file = (const uint8_t *)elf_rawfile(elf, &fsize);
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;

	if (!file || elf_getshdrstrndx(elf, &shstrndx))
		return false;
	while ((scn = elf_nextscn(elf, scn))) {
		const char *n;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_PROGBITS)
			continue;
		n = elf_strptr(elf, shstrndx, sh.sh_name);
		if (!n || strcmp(n, name))
			continue;
		if (sh.sh_offset > fsize || sh.sh_size > fsize - sh.sh_offset)
			return false;
		b->data = file + sh.sh_offset;
		b->len = sh.sh_size;
		b->vaddr = sh.sh_addr;
		return true;
	}
	return false;
}

/* Cheap pre-filter for the scan: the fixed bytes of a 1.16+ x86-64 header. */
static bool looks_like_header(const uint8_t *d)
{
	uint32_t magic = rd(d, 4);

	return (magic == MAGIC_GO116 || magic == MAGIC_GO118 || magic == MAGIC_GO120) && !d[4] &&
	       !d[5] && d[6] == 1 && d[7] == 8;
}

static int scan_segment(const struct gobin *gb, const struct blob *seg, struct pclntab **out)
{
	/* runtime.pcheader is pointer-aligned */
	size_t off = (8 - seg->vaddr % 8) % 8;
	int err = -ENOENT;

	for (; off < seg->len && seg->len - off >= 8; off += 8) {
		struct blob b = { seg->data + off, seg->len - off, seg->vaddr + off };
		int e;

		if (!looks_like_header(b.data))
			continue;
		e = try_blob(gb, &b, out);
		if (!e)
			return 0;
		/* keep the most telling failure: a real header beats none */
		if (err == -ENOENT || e == -ENODATA)
			err = e;
	}
	return err;
}

static int scan_segments(const struct gobin *gb, struct pclntab **out)
{
	size_t phnum;
	int err = -ENOENT;

	if (elf_getphdrnum(gobin__elf(gb), &phnum))
		return -EINVAL;
	for (size_t i = 0; i < phnum; i++) {
		struct blob seg;
		GElf_Word flags;
		int e;

		if (!load_segment(gb, i, &seg, &flags))
			continue;
		e = scan_segment(gb, &seg, out);
		if (!e)
			return 0;
		if (err == -ENOENT || e == -ENODATA)
			err = e;
	}
	return err;
}

int pclntab__open(const struct gobin *gb, struct pclntab **out)
{
	struct blob b;

	*out = NULL;
	if (section_blob(gb, ".gopclntab", &b))
		return try_blob(gb, &b, out);
	return scan_segments(gb, out);
}
