// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gobin.h"
#include "name_index.h"
#include "pclntab.h"
#include "typedata.h"

struct gobin {
	int fd;
	Elf *elf;
	const uint8_t *data; /* whole file, mapped by libelf */
	size_t size;
	char *go_version;
	struct go_module *modules;
	size_t nmodules;
	bool has_symtab;
	bool has_pclntab;
	bool has_runtime_sym;
	struct pclntab *pclntab; /* opened on first need: stripped binaries */
	bool pclntab_tried;
	struct typedata *typedata; /* opened on first need: no DWARF */
	int typedata_err;
	bool typedata_tried;
	struct gobin_cache planning; /* offsets.c's DWARF index, dropped when planning is done */
	struct func_index *funcs; /* .symtab's functions by name, built on first need */
	bool funcs_tried;
};

static const char buildinfo_magic[] = "\xff Go buildinf:";
#define BUILDINFO_MAGIC_LEN 14
#define BUILDINFO_HDR_LEN 32
#define BUILDINFO_FLAG_BIGENDIAN 0x1
#define BUILDINFO_FLAG_INLINE 0x2
#define MODINFO_SENTINEL_LEN 16

Elf *gobin__elf(const struct gobin *gb)
{
	return gb->elf;
}

const char *gobin__go_version(const struct gobin *gb)
{
	return gb->go_version;
}

size_t gobin__module_count(const struct gobin *gb)
{
	return gb->nmodules;
}

const struct go_module *gobin__module(const struct gobin *gb, size_t i)
{
	return i < gb->nmodules ? &gb->modules[i] : NULL;
}

bool gobin__is_go(const struct gobin *gb)
{
	return gb->go_version || gb->has_pclntab || gb->has_runtime_sym;
}

bool gobin__has_symtab(const struct gobin *gb)
{
	return gb->has_symtab;
}

int gobin__vaddr_to_offset(const struct gobin *gb, uint64_t vaddr, uint64_t *offset)
{
	size_t phnum;

	if (elf_getphdrnum(gb->elf, &phnum))
		return -EINVAL;
	for (size_t i = 0; i < phnum; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(gb->elf, i, &ph) || ph.p_type != PT_LOAD)
			continue;
		if (vaddr >= ph.p_vaddr && vaddr - ph.p_vaddr < ph.p_filesz) {
			*offset = vaddr - ph.p_vaddr + ph.p_offset;
			return 0;
		}
	}
	return -ENOENT;
}

const uint8_t *gobin__bytes_at(const struct gobin *gb, uint64_t vaddr, size_t len)
{
	uint64_t off;

	if (gobin__vaddr_to_offset(gb, vaddr, &off))
		return NULL;
	if (off > gb->size || len > gb->size - off)
		return NULL;
	return gb->data + off;
}

static uint64_t read_uint(const uint8_t *p, int size)
{
	uint64_t v = 0;

	for (int i = size - 1; i >= 0; i--) /* little endian: x86-64 only */
		v = v << 8 | p[i];
	return v;
}

/* Reads a uvarint; returns bytes consumed or 0 when malformed. */
static size_t read_uvarint(const uint8_t *p, size_t avail, uint64_t *out)
{
	uint64_t v = 0;

	for (size_t i = 0; i < avail && i < 10; i++) {
		v |= (uint64_t)(p[i] & 0x7f) << (7 * i);
		if (!(p[i] & 0x80)) {
			*out = v;
			return i + 1;
		}
	}
	return 0;
}

/* Reads a Go string header {ptr, len} at vaddr (pointer-format build info). */
static const uint8_t *read_go_string_at(const struct gobin *gb, uint64_t vaddr, int ptrsize,
					size_t *len)
{
	const uint8_t *hdr = gobin__bytes_at(gb, vaddr, 2 * ptrsize);
	uint64_t ptr, n;

	if (!hdr)
		return NULL;
	ptr = read_uint(hdr, ptrsize);
	n = read_uint(hdr + ptrsize, ptrsize);
	if (n > (1u << 24))
		return NULL;
	*len = n;
	return n ? gobin__bytes_at(gb, ptr, n) : hdr;
}

static char *strndup_checked(const char *s, size_t n)
{
	char *d = malloc(n + 1);

	if (d) {
		memcpy(d, s, n);
		d[n] = '\0';
	}
	return d;
}

static void free_module(struct go_module *m)
{
	free(m->path);
	free(m->version);
	free(m->sum);
	free(m->replace_path);
	free(m->replace_version);
}

/* Splits one tab-separated modinfo line into at most 4 fields. */
static int split_tabs(const char *line, size_t len, const char **f, size_t *flen, int max)
{
	int n = 0;
	size_t start = 0;

	for (size_t i = 0; i <= len && n < max; i++) {
		if (i == len || line[i] == '\t') {
			f[n] = line + start;
			flen[n++] = i - start;
			start = i + 1;
		}
	}
	return n;
}

static int add_module(struct gobin *gb, const char **f, size_t *flen, int nf, bool is_main)
{
	struct go_module *m, *grown;

	grown = realloc(gb->modules, (gb->nmodules + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	gb->modules = grown;
	m = &gb->modules[gb->nmodules];
	memset(m, 0, sizeof(*m));
	m->main = is_main;
	m->path = strndup_checked(f[1], flen[1]);
	m->version = strndup_checked(nf > 2 ? f[2] : "", nf > 2 ? flen[2] : 0);
	m->sum = strndup_checked(nf > 3 ? f[3] : "", nf > 3 ? flen[3] : 0);
	if (!m->path || !m->version || !m->sum) {
		free_module(m);
		return -ENOMEM;
	}
	gb->nmodules++;
	return 0;
}

static int replace_last_module(struct gobin *gb, const char **f, size_t *flen, int nf)
{
	struct go_module *m;

	if (!gb->nmodules)
		return 0; /* "=>" without a module: ignore, as Go does */
	m = &gb->modules[gb->nmodules - 1];
	free(m->replace_path);
	free(m->replace_version);
	m->replace_path = strndup_checked(f[1], flen[1]);
	m->replace_version = strndup_checked(nf > 2 ? f[2] : "", nf > 2 ? flen[2] : 0);
	return m->replace_path && m->replace_version ? 0 : -ENOMEM;
}

int gobin__parse_modinfo(struct gobin *gb, const char *info, size_t len)
{
	/* modinfo is framed by 16-byte sentinels; the last one follows a newline */
	if (len >= 2 * MODINFO_SENTINEL_LEN + 1 && info[len - MODINFO_SENTINEL_LEN - 1] == '\n') {
		info += MODINFO_SENTINEL_LEN;
		len -= 2 * MODINFO_SENTINEL_LEN;
	}
	while (len) {
		const char *nl = memchr(info, '\n', len);
		size_t llen = nl ? (size_t)(nl - info) : len;
		const char *f[4];
		size_t flen[4];
		int nf = split_tabs(info, llen, f, flen, 4);
		int err = 0;

		if (nf >= 2 && flen[0] == 3 && !memcmp(f[0], "mod", 3))
			err = add_module(gb, f, flen, nf, true);
		else if (nf >= 2 && flen[0] == 3 && !memcmp(f[0], "dep", 3))
			err = add_module(gb, f, flen, nf, false);
		else if (nf >= 2 && flen[0] == 2 && !memcmp(f[0], "=>", 2))
			err = replace_last_module(gb, f, flen, nf);
		if (err)
			return err;
		if (!nl)
			break;
		len -= llen + 1;
		info = nl + 1;
	}
	return 0;
}

static Elf_Scn *find_section(Elf *elf, const char *name, GElf_Shdr *shdr)
{
	size_t shstrndx;
	Elf_Scn *scn = NULL;

	if (elf_getshdrstrndx(elf, &shstrndx))
		return NULL;
	while ((scn = elf_nextscn(elf, scn))) {
		const char *n;

		if (!gelf_getshdr(scn, shdr))
			continue;
		n = elf_strptr(elf, shstrndx, shdr->sh_name);
		if (n && !strcmp(n, name))
			return scn;
	}
	return NULL;
}

/* Locates build info: its section, else a scan of writable PT_LOAD data. */
static const uint8_t *find_buildinfo(const struct gobin *gb, size_t *avail)
{
	GElf_Shdr sh;
	size_t phnum;

	if (find_section(gb->elf, ".go.buildinfo", &sh) && sh.sh_type != SHT_NOBITS &&
	    sh.sh_offset < gb->size && sh.sh_size <= gb->size - sh.sh_offset) {
		*avail = sh.sh_size;
		return gb->data + sh.sh_offset;
	}
	/* without section headers: Go aligns build info to 16 bytes in data */
	if (elf_getphdrnum(gb->elf, &phnum))
		return NULL;
	for (size_t i = 0; i < phnum; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(gb->elf, i, &ph) || ph.p_type != PT_LOAD || !(ph.p_flags & PF_W))
			continue;
		if (ph.p_offset >= gb->size)
			continue;
		size_t end = ph.p_offset + ph.p_filesz > gb->size ? gb->size : ph.p_offset + ph.p_filesz;
		for (size_t off = ph.p_offset; off + BUILDINFO_HDR_LEN <= end; off += 16) {
			if (!memcmp(gb->data + off, buildinfo_magic, BUILDINFO_MAGIC_LEN)) {
				*avail = end - off;
				return gb->data + off;
			}
		}
	}
	return NULL;
}

static int parse_buildinfo(struct gobin *gb)
{
	const uint8_t *bi, *ver, *mod = NULL;
	size_t avail = 0, vlen, mlen = 0;
	int ptrsize, flags;

	bi = find_buildinfo(gb, &avail);
	if (!bi || avail < BUILDINFO_HDR_LEN || memcmp(bi, buildinfo_magic, BUILDINFO_MAGIC_LEN))
		return -ENOENT;
	ptrsize = bi[14];
	flags = bi[15];
	if (flags & BUILDINFO_FLAG_BIGENDIAN || (ptrsize != 4 && ptrsize != 8))
		return -EINVAL;
	if (flags & BUILDINFO_FLAG_INLINE) {
		/* Go >= 1.18: two varint-prefixed strings right after the header */
		const uint8_t *p = bi + BUILDINFO_HDR_LEN, *end = bi + avail;
		uint64_t n;
		size_t k = read_uvarint(p, end - p, &n);

		if (!k || n > (size_t)(end - p - k))
			return -EINVAL;
		ver = p + k;
		vlen = n;
		p = ver + vlen;
		k = read_uvarint(p, end - p, &n);
		if (k && n <= (size_t)(end - p - k)) {
			mod = p + k;
			mlen = n;
		}
	} else {
		/* Go < 1.18: pointers to two string headers follow the magic */
		ver = read_go_string_at(gb, read_uint(bi + 16, ptrsize), ptrsize, &vlen);
		if (!ver)
			return -EINVAL;
		mod = read_go_string_at(gb, read_uint(bi + 16 + ptrsize, ptrsize), ptrsize, &mlen);
	}
	gb->go_version = strndup_checked((const char *)ver, vlen);
	if (!gb->go_version)
		return -ENOMEM;
	return mod ? gobin__parse_modinfo(gb, (const char *)mod, mlen) : 0;
}

int gobin__parse_version(const char *v, int *major, int *minor, int *patch)
{
	int n = 0, a = 0, b = 0, c = 0;

	if (strncmp(v, "go", 2))
		return -EINVAL;
	/* "go1.21rc2", "go1.22.3 X:loopvar", "go1.26.0-devel_...+" all parse */
	if (sscanf(v + 2, "%d.%d%n", &a, &b, &n) < 2)
		return -EINVAL;
	if (v[2 + n] == '.')
		sscanf(v + 3 + n, "%d", &c);
	*major = a;
	*minor = b;
	*patch = c;
	return 0;
}

static void scan_sections(struct gobin *gb)
{
	GElf_Shdr sh;

	gb->has_symtab = find_section(gb->elf, ".symtab", &sh) != NULL && sh.sh_type == SHT_SYMTAB;
	gb->has_pclntab = find_section(gb->elf, ".gopclntab", &sh) != NULL;
}

const struct pclntab *gobin__pclntab(const struct gobin *gb)
{
	struct gobin *mut = (struct gobin *)gb; /* the table is a lazily filled cache */

	if (!gb->pclntab_tried) {
		mut->pclntab_tried = true;
		if (pclntab__open(gb, &mut->pclntab))
			mut->pclntab = NULL;
	}
	return gb->pclntab;
}

int gobin__typedata(const struct gobin *gb, struct typedata **out)
{
	struct gobin *mut = (struct gobin *)gb; /* a lazily filled cache too */

	if (!gb->typedata_tried) {
		mut->typedata_tried = true;
		mut->typedata_err = typedata__open(gb, &mut->typedata);
	}
	*out = gb->typedata;
	return gb->typedata_err;
}

struct gobin_cache *gobin__planning_cache(const struct gobin *gb)
{
	return &((struct gobin *)gb)->planning; /* a lazily filled cache too */
}

void gobin__planned(const struct gobin *gb)
{
	struct gobin_cache *c = gobin__planning_cache(gb);

	if (c->data && c->free)
		c->free(c->data);
	*c = (struct gobin_cache){};
}

/* Function entries from .gopclntab, for binaries without .symtab (-s -w). */
static int find_funcs_pclntab(const struct gobin *gb, struct go_func *funcs, size_t n)
{
	struct go_func missing[32];
	size_t nmissing = 0;
	int found = 0;

	if (!gobin__pclntab(gb))
		return 0;
	for (size_t i = 0; i < n && nmissing < 32; i++)
		if (!funcs[i].vaddr)
			missing[nmissing++] = (struct go_func){ .name = funcs[i].name };
	pclntab__find_funcs(gb->pclntab, missing, nmissing);
	for (size_t i = 0, m = 0; i < n && m < nmissing; i++) {
		if (funcs[i].vaddr)
			continue;
		if (missing[m].vaddr) {
			funcs[i].vaddr = missing[m].vaddr;
			funcs[i].size = missing[m].size;
			found++;
		}
		m++;
	}
	return found;
}

const char *gobin__devendor(const char *name)
{
	const char *p = name, *hit;

	if (!strncmp(p, "vendor/", 7))
		p += 7;
	/* nested vendoring: the innermost copy's path follows the last marker */
	while ((hit = strstr(p, "/vendor/")))
		p = hit + 8;
	return p;
}

/* A symbol matches a wanted name exactly or, when vendored, without the prefix. */
static bool name_matches(const char *symbol, const char *wanted, bool vendored)
{
	return !strcmp(vendored ? gobin__devendor(symbol) : symbol, wanted);
}

int gobin__for_each_symbol(const struct gobin *gb,
			   int (*fn)(void *ctx, const GElf_Sym *sym, const char *name), void *ctx)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(gb->elf, scn))) {
		GElf_Shdr sh;
		Elf_Data *data;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_SYMTAB || !sh.sh_entsize)
			continue;
		data = elf_getdata(scn, NULL);
		if (!data)
			continue;
		for (size_t s = 0; s < sh.sh_size / sh.sh_entsize; s++) {
			GElf_Sym sym;
			const char *name;
			int ret;

			if (!gelf_getsym(data, (int)s, &sym))
				continue;
			name = elf_strptr(gb->elf, sh.sh_link, sym.st_name);
			if (name && (ret = fn(ctx, &sym, name)))
				return ret;
		}
	}
	return 0;
}

/*
 * .symtab's functions, indexed by name (name_index.h) on the first lookup:
 * a pass over a large program's symbols for each library's few names (two
 * when one was missing: vendored copies) took 40% of planning a 59 MB
 * program. The first symbol of a name wins, as that pass in symbol order did.
 */
struct func_sym {
	const char *name; /* in the file's string table, mapped by libelf */
	uint64_t vaddr, size;
};

struct func_index {
	struct func_sym *syms;
	size_t nsyms, cap;
	struct name_index index;
};

static void func_index_free(struct func_index *x)
{
	if (!x)
		return;
	name_index__free(&x->index);
	free(x->syms);
	free(x);
}

static int collect_func(void *ctx, const GElf_Sym *sym, const char *name)
{
	struct func_index *x = ctx;

	if (GELF_ST_TYPE(sym->st_info) != STT_FUNC)
		return 0;
	if (x->nsyms == x->cap) {
		size_t cap = x->cap ? 2 * x->cap : 4096;
		struct func_sym *more = cap < UINT32_MAX / 4 ? realloc(x->syms, cap * sizeof(*more)) : NULL;

		if (!more)
			return -ENOMEM;
		x->syms = more;
		x->cap = cap;
	}
	x->syms[x->nsyms++] = (struct func_sym){ name, sym->st_value, sym->st_size };
	return 0;
}

static const char *func_sym_name(const void *ctx, size_t i)
{
	const struct func_index *x = ctx;

	return x->syms[i].name;
}

static struct func_index *func_index_build(const struct gobin *gb)
{
	struct func_index *x = calloc(1, sizeof(*x));

	if (!x || gobin__for_each_symbol(gb, collect_func, x) ||
	    name_index__build(&x->index, x->nsyms, func_sym_name, x)) {
		func_index_free(x);
		return NULL;
	}
	return x;
}

struct find_funcs_pass {
	struct go_func *funcs;
	size_t n;
	bool vendored;
	int found;
};

static int match_func(void *ctx, const GElf_Sym *sym, const char *name)
{
	struct find_funcs_pass *p = ctx;

	if (GELF_ST_TYPE(sym->st_info) != STT_FUNC)
		return 0;
	if (p->vendored && gobin__devendor(name) == name)
		return 0;
	for (size_t i = 0; i < p->n; i++) {
		if (!p->funcs[i].vaddr && name_matches(name, p->funcs[i].name, p->vendored)) {
			p->funcs[i].vaddr = sym->st_value;
			p->funcs[i].size = sym->st_size;
			p->found++;
		}
	}
	/* every name found: the rest of the symbols need not be read */
	return p->found >= 0 && (size_t)p->found == p->n;
}

/* A pass over every symbol: without the index (memory short), and before it is worth building. */
static int find_funcs_symtab_pass(const struct gobin *gb, struct go_func *funcs, size_t n,
				  bool vendored)
{
	struct find_funcs_pass pass = { .funcs = funcs, .n = n, .vendored = vendored };

	if (!vendored)
		for (size_t i = 0; i < n; i++)
			funcs[i].vaddr = funcs[i].size = 0;
	else
		for (size_t i = 0; i < n; i++)
			pass.found += funcs[i].vaddr != 0;
	gobin__for_each_symbol(gb, match_func, &pass);
	return pass.found;
}

static int find_funcs_scanning(const struct gobin *gb, struct go_func *funcs, size_t n)
{
	int found = find_funcs_symtab_pass(gb, funcs, n, false);

	if ((size_t)found < n)
		found = find_funcs_symtab_pass(gb, funcs, n, true);
	return found;
}

static int find_funcs_symtab(const struct gobin *gb, struct go_func *funcs, size_t n)
{
	struct gobin *mut = (struct gobin *)gb; /* the index is a lazily built cache */
	const struct func_index *x;
	int found = 0;

	if (!gb->funcs_tried) {
		mut->funcs_tried = true;
		mut->funcs = func_index_build(gb);
	}
	x = gb->funcs;
	if (!x)
		return find_funcs_scanning(gb, funcs, n);
	for (size_t i = 0; i < n; i++) {
		/* an exact name wins; only then may a vendored copy stand in */
		long f = name_index__find(&x->index, funcs[i].name);

		funcs[i].vaddr = funcs[i].size = 0;
		if (f < 0)
			continue;
		funcs[i].vaddr = x->syms[f].vaddr;
		funcs[i].size = x->syms[f].size;
		found++;
	}
	return found;
}

/*
 * A .symtab with at least as many functions as .gopclntab lists is whole
 * (Go's linker writes every function into both): a name it lacks, the
 * pclntab lacks too, and indexing the pclntab only to learn that took a
 * fifth of planning a large program. A partial .symtab leaves the pclntab
 * to look in.
 */
static bool symtab_complete(const struct gobin *gb)
{
	const struct pclntab *p;

	if (!gb->funcs)
		return false;
	p = gobin__pclntab(gb);
	return p && gb->funcs->nsyms >= pclntab__nfunc(p);
}

int gobin__find_funcs(const struct gobin *gb, struct go_func *funcs, size_t n)
{
	int found = gb->has_symtab ? find_funcs_symtab(gb, funcs, n) : 0;

	if ((size_t)found < n && !symtab_complete(gb)) {
		for (size_t i = 0; i < n; i++)
			if (!funcs[i].vaddr)
				funcs[i].size = 0;
		found += find_funcs_pclntab(gb, funcs, n);
	}
	return found;
}

/* At open: one pass, ended by the find, where an index would read every symbol. */
static bool has_runtime_symbol(const struct gobin *gb)
{
	struct go_func f = { .name = "runtime.main" };

	return gb->has_symtab && find_funcs_scanning(gb, &f, 1) == 1;
}

/* A cut or corrupt file points its header tables past its end. */
static bool tables_in_file(const struct gobin *gb, const GElf_Ehdr *eh)
{
	size_t phnum = 0, shnum = 0;

	if (elf_getphdrnum(gb->elf, &phnum) || elf_getshdrnum(gb->elf, &shnum))
		return false;
	if (eh->e_phoff > gb->size || phnum * eh->e_phentsize > gb->size - eh->e_phoff)
		return false;
	if (eh->e_shoff &&
	    (eh->e_shoff > gb->size || shnum * eh->e_shentsize > gb->size - eh->e_shoff))
		return false;
	for (size_t i = 0; i < phnum; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(gb->elf, i, &ph))
			return false;
		if (ph.p_type == PT_LOAD &&
		    (ph.p_offset > gb->size || ph.p_filesz > gb->size - ph.p_offset))
			return false;
	}
	return true;
}

/* Validates the ELF handle in gb and reads what the rest of otrace needs. */
static int gobin__init(struct gobin *gb)
{
	GElf_Ehdr eh;
	int err;

	if (!gb->elf || elf_kind(gb->elf) != ELF_K_ELF)
		return -ENOEXEC;
	if (!gelf_getehdr(gb->elf, &eh) || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_machine != EM_X86_64)
		return -ENOEXEC;
	gb->data = (const uint8_t *)elf_rawfile(gb->elf, &gb->size);
	if (!gb->data || !tables_in_file(gb, &eh))
		return -EINVAL;
	scan_sections(gb);
	err = parse_buildinfo(gb);
	if (err && err != -ENOENT && err != -EINVAL)
		return err;
	/* a full symbol-table pass: only when nothing cheaper says it is Go */
	if (!gb->go_version && !gb->has_pclntab)
		gb->has_runtime_sym = has_runtime_symbol(gb);
	return 0;
}

/* Takes ownership of fd (-1 for none) and elf; frees everything on failure. */
static int gobin__finish_open(int fd, Elf *elf, struct gobin **out)
{
	struct gobin *gb = calloc(1, sizeof(*gb));
	int err;

	if (!gb) {
		if (elf)
			elf_end(elf);
		if (fd >= 0)
			close(fd);
		return -ENOMEM;
	}
	gb->fd = fd;
	gb->elf = elf;
	err = gobin__init(gb);
	if (err) {
		gobin__free(gb);
		return err;
	}
	*out = gb;
	return 0;
}

int gobin__open(const char *path, struct gobin **out)
{
	int fd;

	*out = NULL;
	if (elf_version(EV_CURRENT) == EV_NONE)
		return -EINVAL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	return gobin__finish_open(fd, elf_begin(fd, ELF_C_READ_MMAP, NULL), out);
}

int gobin__open_mem(const void *data, size_t len, struct gobin **out)
{
	*out = NULL;
	if (elf_version(EV_CURRENT) == EV_NONE)
		return -EINVAL;
	return gobin__finish_open(-1, elf_memory((char *)data, len), out);
}

void gobin__free(struct gobin *gb)
{
	if (!gb)
		return;
	typedata__free(gb->typedata);
	gobin__planned(gb);
	func_index_free(gb->funcs);
	pclntab__free(gb->pclntab);
	for (size_t i = 0; i < gb->nmodules; i++)
		free_module(&gb->modules[i]);
	free(gb->modules);
	free(gb->go_version);
	if (gb->elf)
		elf_end(gb->elf);
	if (gb->fd >= 0)
		close(gb->fd);
	free(gb);
}
