// SPDX-License-Identifier: MIT
/*
 * Go runtime type descriptors, x86-64 (runtime/type.go through Go 1.20,
 * internal/abi/type.go since; cmd/link/internal/ld/decodesym.go reads the
 * same). Offsets in bytes:
 *
 *   _type/abi.Type (48)  size 0, ptrdata 8, hash 16, tflag 20, align 21,
 *                        fieldAlign 22, kind 23 (low 5 bits), equal 24,
 *                        gcdata 32, str nameOff 40, ptrToThis typeOff 44
 *   then, by kind        array {elem 48, slice 56, len 64} (72)
 *                        chan {elem 48, dir 56} (64)
 *                        func {inCount u16 48, outCount u16 50} (56); the
 *                          in + out (outCount & 0x7fff) parameter pointers
 *                          follow the uncommon type
 *                        interface {pkgPath 48, methods slice 56} (80),
 *                          imethod {name nameOff, typ typeOff} (8)
 *                        map {key 48, elem 56, bucket or group 64, ...}: 88
 *                          bytes through 1.23 (and noswissmap builds), 112
 *                          for the swiss tables of 1.24-1.26, 136 since 1.27
 *                        pointer, slice {elem 48} (56)
 *                        struct {pkgPath 48, fields slice 56} (80),
 *                          field {name *byte, typ 8, offset 16} (24)
 *   uncommonType (16)    after the kind's struct when tflag & 1: pkgPath
 *                        nameOff 0, mcount u16 4, moff u32 8; methods
 *                        {name, mtyp typeOff, ifn, tfn} (16) at moff
 *   name                 flags byte (1 exported, 2 tag, 4 pkgPath, 8
 *                        embedded since 1.19), uvarint length (since 1.17),
 *                        bytes, then the tag and a pkgPath nameOff
 *
 * A field's offset word is offset << 1 | embedded before Go 1.19. nameOff and
 * typeOff are int32 offsets from moduledata.types; every descriptor and name
 * lies in [types, etypes). tflag 4: the type is named; 2: its string starts
 * with a '*' to drop. A named type's package is its uncommon type's pkgPath,
 * its name the string after the last '.' outside brackets (reflect's Name()).
 *
 * Types are reached from moduledata: through Go 1.26 its typelinks (offsets of
 * the unnamed types reflect can build) and itablinks (itab: interface type at
 * 0, concrete type at 8); since 1.27 the typelink descriptors lie one after
 * another from types + 8 to types + typedesclen, and the itabs from types +
 * itaboffset for itabsize bytes. From there every edge (pointer to this type,
 * element, key, field, parameter, method type) leads to the rest.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "pclntab.h"
#include "typedata.h"

#define PTR	       8
#define TYPE_SIZE      48
#define UNCOMMON_SIZE  16
#define METHOD_SIZE    16
#define IMETHOD_SIZE   8
#define FIELD_SIZE     24
#define ITAB_SIZE      32 /* with one fun word */
#define KIND_MASK      0x1f
#define TFLAG_UNCOMMON 0x1
#define TFLAG_STAR     0x2
#define TFLAG_NAMED    0x4
#define NAME_EMBEDDED  0x8

/* Caps against hostile input: real programs stay far below them. */
#define MAX_TYPES    (1u << 19) /* descriptors seen: 22k in a 59 MB program */
#define MAX_EDGES    (1u << 23) /* edges followed */
#define MAX_NAME_LEN (1u << 20)
#define MAX_SEGS     16

/* moduledata words, as runtime/symtab.go orders them (see pclntab.c for the first 24) */
enum { W_TEXT = 22, W_NOPTRDATA = 24, W_ENOPTRBSS = 31, MD_WORDS = 51 };

/* Where a release's moduledata keeps what the type data needs; -1: absent. */
struct md_layout {
	const char *name;
	int first_minor, last_minor;
	int types, etypes, textsectmap;
	int typelinks, itablinks;		  /* slices, through 1.26 */
	int typedesclen, itaboffset, itabsize; /* since 1.27 */
};

static const struct md_layout layouts[] = {
	{ "go1.16-1.17", 16, 17, 35, 36, 37, 40, 43, -1, -1, -1 },
	/* + rodata, gofunc */
	{ "go1.18-1.19", 18, 19, 35, 36, 39, 42, 45, -1, -1, -1 },
	/* + covctrs, ecovctrs before end */
	{ "go1.20-1.25", 20, 25, 37, 38, 41, 44, 47, -1, -1, -1 },
	/* + epclntab */
	{ "go1.26", 26, 26, 37, 38, 42, 45, 48, -1, -1, -1 },
	/* typedesclen after types, itaboffset and itabsize after etypes; no links */
	{ "go1.27", 27, INT_MAX, 37, 39, 45, -1, -1, 38, 40, 41 },
};
#define NLAYOUTS (sizeof(layouts) / sizeof(layouts[0]))

struct named {
	uint64_t type;
	uint32_t hash;
};

struct typedata {
	struct typedata_segment segs[MAX_SEGS];
	size_t nsegs;
	struct typedata_reloc *relocs; /* sorted by where */
	size_t nrelocs;
	const struct md_layout *layout;
	uint64_t md[MD_WORDS];
	bool old_fields;	 /* offset << 1 | embedded: before 1.19 */
	unsigned int map_size; /* 0: unknown */
	uint64_t types;
	const uint8_t *tdata; /* [types, types + tlen) */
	size_t tlen;

	/* the walk, done on first use */
	bool walked;
	int walk_err;
	uint64_t *seen; /* open addressing; 0 is empty */
	size_t seen_cap, nseen;
	size_t nvisited; /* sound descriptors among the seen */
	uint64_t *stack;
	size_t nstack, stack_cap;
	size_t edges;
	struct named *named;
	size_t nnamed, named_cap;
	uint32_t *index; /* into named, + 1; 0 is empty */
	size_t index_cap;
	struct typedata_itab *itabs; /* the walk's itabs, in link order */
	size_t nitabs, itabs_cap;
};

/* A little-endian word of 2, 4 or 8 bytes: x86-64 only, so a plain load. */
static inline uint64_t le(const uint8_t *p, unsigned int size)
{
	uint64_t v = 0;

	memcpy(&v, p, size);
	return v;
}

/* len bytes loaded at addr, or NULL. */
static const uint8_t *seg_bytes(const struct typedata *td, uint64_t addr, uint64_t len)
{
	for (size_t i = 0; i < td->nsegs; i++) {
		const struct typedata_segment *s = &td->segs[i];
		uint64_t off = addr - s->vaddr;

		if (addr >= s->vaddr && off <= s->len && len <= s->len - off)
			return s->data + off;
	}
	return NULL;
}

/* len bytes at addr inside [types, etypes), or NULL. */
static const uint8_t *type_bytes(const struct typedata *td, uint64_t addr, uint64_t len)
{
	uint64_t off = addr - td->types;

	if (addr < td->types || off > td->tlen || len > td->tlen - off)
		return NULL;
	return td->tdata + off;
}

static bool reloc_at(const struct typedata *td, uint64_t addr, uint64_t *v)
{
	size_t lo = 0, hi = td->nrelocs;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (td->relocs[mid].where == addr) {
			*v = td->relocs[mid].addend;
			return true;
		}
		if (td->relocs[mid].where < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

/* A word as the loader leaves it: a relocation's addend where there is one. */
static bool word_at(const struct typedata *td, uint64_t addr, uint64_t *v)
{
	const uint8_t *p = seg_bytes(td, addr, PTR);

	if (!p)
		return false;
	if (!reloc_at(td, addr, v))
		*v = le(p, PTR);
	return true;
}

/* The same inside the types region, which every descriptor word lies in. */
static uint64_t type_word(const struct typedata *td, const uint8_t *p)
{
	uint64_t v;

	if (td->nrelocs && reloc_at(td, td->types + (uint64_t)(p - td->tdata), &v))
		return v;
	return le(p, PTR);
}

/* ---- opening: moduledata and its layout ---- */

struct era {
	int minor; /* 0 when the binary does not say */
	bool noswissmap;
};

static int era_of(const char *go_version, uint32_t magic, struct era *e)
{
	int major, patch;

	memset(e, 0, sizeof(*e));
	if (go_version && !gobin__parse_version(go_version, &major, &e->minor, &patch) &&
	    major == 1) {
		if (e->minor < 17)
			return -ENOTSUP; /* names had 2-byte lengths */
		e->noswissmap = strstr(go_version, "noswissmap") != NULL;
		return 0;
	}
	e->minor = 0;
	/* 1.16 and 1.17 share 0xfffffffa, 1.18 and 1.19 0xfffffff0, and differ in encoding */
	return magic == 0xfffffff1u ? 0 : -ENOTSUP;
}

static bool slice_fits(const struct typedata *td, const uint64_t *s, uint64_t elem)
{
	if (s[1] != s[2] || s[1] > td->tlen / elem + 1)
		return false;
	return !s[1] || seg_bytes(td, s[0], s[1] * elem);
}

/*
 * Cross-checks a candidate layout against moduledata's own words: the types
 * range is loaded, the text section map's first entry is at runtime.text, the
 * slices are slices of loaded memory and the 1.27 extents lie in the range.
 */
static bool layout_fits(struct typedata *td, const struct md_layout *l)
{
	const uint64_t *w = td->md, *ts = &w[l->textsectmap];
	uint64_t types = w[l->types], etypes = w[l->etypes], sect[3];

	if (!types || types % PTR || etypes <= types || !seg_bytes(td, types, etypes - types))
		return false;
	td->types = types;
	td->tlen = etypes - types;
	td->tdata = seg_bytes(td, types, td->tlen);
	for (int k = W_NOPTRDATA; k < W_ENOPTRBSS; k += 2)
		if (w[k] > w[k + 1])
			return false;
	if (ts[1] != ts[2] || !ts[1] || ts[1] > 64)
		return false;
	for (int k = 0; k < 3; k++)
		if (!word_at(td, ts[0] + k * PTR, &sect[k]))
			return false;
	if (sect[0] != 0 || sect[2] != w[W_TEXT])
		return false;
	if (l->typelinks >= 0)
		return slice_fits(td, &w[l->typelinks], 4) && slice_fits(td, &w[l->itablinks], PTR);
	return w[l->typedesclen] <= td->tlen && w[l->itaboffset] >= w[l->typedesclen] &&
	       w[l->itaboffset] <= td->tlen && w[l->itabsize] <= td->tlen - w[l->itaboffset];
}

/*
 * The release's layout if it fits, else the first that does (a release newer
 * than the code, or a build info that lies); minor 0: a 1.20+ binary that
 * does not name its release.
 */
static const struct md_layout *pick_layout(struct typedata *td, int minor)
{
	for (size_t i = 0; i < NLAYOUTS; i++)
		if (minor >= layouts[i].first_minor && minor <= layouts[i].last_minor &&
		    layout_fits(td, &layouts[i]))
			return &layouts[i];
	for (size_t i = 0; i < NLAYOUTS; i++)
		if ((minor || layouts[i].first_minor >= 20) && layout_fits(td, &layouts[i]))
			return &layouts[i];
	return NULL;
}

static int cmp_reloc(const void *a, const void *b)
{
	uint64_t x = ((const struct typedata_reloc *)a)->where;
	uint64_t y = ((const struct typedata_reloc *)b)->where;

	return x < y ? -1 : x > y;
}

static int copy_image(struct typedata *td, const struct typedata_image *img)
{
	if (!img->nsegs || img->nsegs > MAX_SEGS)
		return -EINVAL;
	memcpy(td->segs, img->segs, img->nsegs * sizeof(img->segs[0]));
	td->nsegs = img->nsegs;
	if (!img->nrelocs)
		return 0;
	if (img->nrelocs > SIZE_MAX / sizeof(*td->relocs))
		return -ENOMEM;
	td->relocs = malloc(img->nrelocs * sizeof(*td->relocs));
	if (!td->relocs)
		return -ENOMEM;
	memcpy(td->relocs, img->relocs, img->nrelocs * sizeof(*td->relocs));
	td->nrelocs = img->nrelocs;
	qsort(td->relocs, td->nrelocs, sizeof(*td->relocs), cmp_reloc);
	return 0;
}

/* The map descriptor's size, for the releases whose size is known; 0 otherwise. */
static unsigned int map_size(const struct era *e)
{
	if (!e->minor || e->minor > 27)
		return 0;
	if (e->minor == 27)
		return 136;
	return e->minor >= 24 && !e->noswissmap ? 112 : 88;
}

int typedata__open_image(const struct typedata_image *img, struct typedata **out)
{
	struct typedata *td;
	struct era era;
	int err;

	*out = NULL;
	err = era_of(img->go_version, img->pclntab_magic, &era);
	if (err)
		return err;
	td = calloc(1, sizeof(*td));
	if (!td)
		return -ENOMEM;
	err = copy_image(td, img);
	if (err)
		goto cleanup;
	err = -EINVAL;
	for (int k = 0; k < MD_WORDS; k++)
		if (!word_at(td, img->moduledata + k * PTR, &td->md[k]))
			goto cleanup;
	td->layout = pick_layout(td, era.minor);
	if (!td->layout)
		goto cleanup;
	td->old_fields = era.minor && era.minor < 19;
	td->map_size = map_size(&era);
	*out = td;
	return 0;
cleanup:
	typedata__free(td);
	return err;
}

struct reloc_list {
	struct typedata_reloc *v;
	size_t n, cap;
	bool failed;
};

static void add_reloc(void *ctx, uint64_t where, uint64_t addend)
{
	struct reloc_list *l = ctx;

	if (l->failed)
		return;
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 1024;
		struct typedata_reloc *v = realloc(l->v, cap * sizeof(*v));

		if (!v) {
			l->failed = true;
			return;
		}
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = (struct typedata_reloc){ where, addend };
}

/* The file-backed part of every PT_LOAD segment. */
static size_t load_segments(const struct gobin *gb, struct typedata_segment *segs)
{
	Elf *elf = gobin__elf(gb);
	size_t phnum, n = 0, fsize;
	const uint8_t *file = (const uint8_t *)elf_rawfile(elf, &fsize);

	if (!file || elf_getphdrnum(elf, &phnum))
		return 0;
	for (size_t i = 0; i < phnum && n < MAX_SEGS; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(elf, i, &ph) || ph.p_type != PT_LOAD)
			continue;
		if (ph.p_offset > fsize || ph.p_filesz > fsize - ph.p_offset)
			continue;
		segs[n++] = (struct typedata_segment){ ph.p_vaddr, file + ph.p_offset,
						       ph.p_filesz };
	}
	return n;
}

int typedata__open(const struct gobin *gb, struct typedata **out)
{
	struct typedata_segment segs[MAX_SEGS];
	struct typedata_image img = { .segs = segs, .go_version = gobin__go_version(gb) };
	struct reloc_list relocs = {};
	const struct pclntab *p = gobin__pclntab(gb);
	bool rela = false;
	int err;

	*out = NULL;
	if (!p || !(img.moduledata = pclntab__moduledata(p, &rela)))
		return -ENOENT;
	img.pclntab_magic = pclntab__magic(p);
	img.nsegs = load_segments(gb, segs);
	if (rela) {
		/* the linker left pointers to the loader: take them from there */
		pclntab__relative_relocs(gb, add_reloc, &relocs);
		if (relocs.failed) {
			free(relocs.v);
			return -ENOMEM;
		}
		img.relocs = relocs.v;
		img.nrelocs = relocs.n;
	}
	err = typedata__open_image(&img, out);
	free(relocs.v);
	return err;
}

void typedata__free(struct typedata *td)
{
	if (!td)
		return;
	free(td->relocs);
	free(td->seen);
	free(td->stack);
	free(td->named);
	free(td->index);
	free(td->itabs);
	free(td);
}

const char *typedata__layout(const struct typedata *td)
{
	return td->layout->name;
}

size_t typedata__count(const struct typedata *td)
{
	return td->nvisited;
}

/* ---- descriptors ---- */

/* The header of a sound descriptor at t, or NULL. */
static const uint8_t *type_header(const struct typedata *td, uint64_t t)
{
	const uint8_t *h = type_bytes(td, t, TYPE_SIZE);
	unsigned int kind;

	if (!h || t % PTR)
		return NULL;
	kind = h[23] & KIND_MASK;
	if (!kind || kind > TYPEDATA_UNSAFE_POINTER)
		return NULL;
	/* alignments are powers of two */
	if (!h[21] || h[21] & (h[21] - 1) || !h[22] || h[22] & (h[22] - 1))
		return NULL;
	return h;
}

static int kind_of(const uint8_t *h)
{
	return h[23] & KIND_MASK;
}

/* Size of the kind's struct, where the uncommon type starts; 0 when unknown. */
static unsigned int kind_size(const struct typedata *td, int kind)
{
	switch (kind) {
	case TYPEDATA_ARRAY:
		return 72;
	case TYPEDATA_CHAN:
		return 64;
	case TYPEDATA_FUNC:
	case TYPEDATA_POINTER:
	case TYPEDATA_SLICE:
		return 56;
	case TYPEDATA_INTERFACE:
	case TYPEDATA_STRUCT:
		return 80;
	case TYPEDATA_MAP:
		return td->map_size;
	default:
		return TYPE_SIZE;
	}
}

/* The type at a typeOff; 0 for none (0, or -1 for a method the linker dropped). */
static uint64_t type_off(const struct typedata *td, const uint8_t *p)
{
	int32_t off = (int32_t)le(p, 4);

	return off > 0 && (uint64_t)off < td->tlen ? td->types + (uint64_t)off : 0;
}

/* The uncommon type of the descriptor at t, or NULL. */
static const uint8_t *uncommon(const struct typedata *td, uint64_t t, const uint8_t *h)
{
	unsigned int size = kind_size(td, kind_of(h));

	if (!(h[20] & TFLAG_UNCOMMON) || !size)
		return NULL;
	return type_bytes(td, t + size, UNCOMMON_SIZE);
}

struct name {
	const uint8_t *s;
	size_t len;
	uint8_t flags;
};

static int read_name(const struct typedata *td, uint64_t addr, struct name *n)
{
	const uint8_t *p = type_bytes(td, addr, 2);
	uint64_t avail, len = 0;
	unsigned int i;

	if (!p)
		return -EINVAL;
	avail = td->tlen - (addr - td->types);
	n->flags = p[0];
	for (i = 0;; i++) {
		if (i == 5 || 1 + i >= avail)
			return -EINVAL;
		len |= (uint64_t)(p[1 + i] & 0x7f) << (7 * i);
		if (!(p[1 + i] & 0x80))
			break;
	}
	if (len > MAX_NAME_LEN || len > avail - (2 + i))
		return -EINVAL;
	n->s = p + 2 + i;
	n->len = len;
	return 0;
}

/* The name at a nameOff; an empty name for 0. */
static int name_off(const struct typedata *td, const uint8_t *p, struct name *n)
{
	int32_t off = (int32_t)le(p, 4);

	if (!off) {
		*n = (struct name){ .s = (const uint8_t *)"", .len = 0 };
		return 0;
	}
	if (off < 0)
		return -EINVAL;
	return read_name(td, td->types + (uint64_t)off, n);
}

/* Where reflect's Name() starts in a type string: after the last '.' outside type arguments. */
static size_t short_name_at(const uint8_t *s, size_t len)
{
	int depth = 0;

	for (size_t i = len; i-- > 0;) {
		if (s[i] == ']')
			depth++;
		else if (s[i] == '[')
			depth--;
		else if (s[i] == '.' && !depth)
			return i + 1;
	}
	return 0;
}

/* reflect's String() of a type. */
static int type_string(const struct typedata *td, const uint8_t *h, struct name *name)
{
	int err = name_off(td, h + 40, name);

	if (err)
		return err;
	/* stored as its pointer type's string, which shares the bytes */
	if (h[20] & TFLAG_STAR && name->len && name->s[0] == '*') {
		name->s++;
		name->len--;
	}
	return 0;
}

/* A named type's name without its package. */
static int type_short_name(const struct typedata *td, const uint8_t *h, struct name *name)
{
	int err = type_string(td, h, name);
	size_t at;

	if (err)
		return err;
	at = short_name_at(name->s, name->len);
	name->s += at;
	name->len -= at;
	return 0;
}

/* A named type's package path and name, as DWARF joins them with a '.'. */
static int type_name_parts(const struct typedata *td, uint64_t t, const uint8_t *h,
			   struct name *pkg, struct name *name)
{
	const uint8_t *u = uncommon(td, t, h);
	int err = type_short_name(td, h, name);

	if (err)
		return err;
	return u ? name_off(td, u, pkg) : 0;
}

static uint32_t hash_bytes(uint32_t h, const uint8_t *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		h = (h ^ s[i]) * 16777619u; /* FNV-1a */
	return h;
}

#define HASH_SEED 2166136261u

/*
 * Byte i of a package path as the linker spells it in symbol and DWARF names
 * (cmd/internal/objabi.PathToPrefix): '.' in the last element, '%', '"',
 * spaces, control and non-ASCII bytes become "%xx"
 * ("gopkg.in/yaml%2ev3"). Returns the length of out.
 */
static inline size_t pkg_char(const struct name *pkg, size_t last_slash, size_t i, uint8_t out[3])
{
	static const char hex[] = "0123456789abcdef";
	uint8_t c = pkg->s[i];

	if (c > ' ' && (c != '.' || i < last_slash) && c != '%' && c != '"' && c < 0x7f) {
		out[0] = c;
		return 1;
	}
	out[0] = '%';
	out[1] = (uint8_t)hex[c >> 4];
	out[2] = (uint8_t)hex[c & 15];
	return 3;
}

static size_t last_slash(const struct name *pkg)
{
	const uint8_t *s = memrchr(pkg->s, '/', pkg->len);

	return s ? (size_t)(s - pkg->s) : 0;
}

static bool full_name_is(const struct name *pkg, const struct name *name, const char *want)
{
	size_t n = strlen(want), slash = last_slash(pkg), at = 0;
	uint8_t c[3];

	for (size_t i = 0; i < pkg->len; i++) {
		size_t k = pkg_char(pkg, slash, i, c);

		if (n - at < k || memcmp(want + at, c, k))
			return false;
		at += k;
	}
	if (pkg->len && (at == n || want[at++] != '.'))
		return false;
	return n - at == name->len && !memcmp(want + at, name->s, name->len);
}

/* ---- the walk ---- */

static int grow(void **v, size_t *cap, size_t elem, size_t min)
{
	size_t c = *cap ? *cap : min;
	void *p;

	while (c <= *cap)
		c *= 2;
	p = realloc(*v, c * elem);
	if (!p)
		return -ENOMEM;
	*v = p;
	*cap = c;
	return 0;
}

static size_t hash_addr(uint64_t a)
{
	return (size_t)((a >> 3) * 0x9e3779b97f4a7c15ull >> 20);
}

static void seen_put(uint64_t *slots, size_t cap, uint64_t t)
{
	size_t s = hash_addr(t) & (cap - 1);

	while (slots[s] && slots[s] != t)
		s = (s + 1) & (cap - 1);
	slots[s] = t;
}

static int seen_rehash(struct typedata *td)
{
	size_t cap = td->seen_cap ? 2 * td->seen_cap : 1024;
	uint64_t *slots = calloc(cap, sizeof(*slots));

	if (!slots)
		return -ENOMEM;
	for (size_t i = 0; i < td->seen_cap; i++)
		if (td->seen[i])
			seen_put(slots, cap, td->seen[i]);
	free(td->seen);
	td->seen = slots;
	td->seen_cap = cap;
	return 0;
}

/* 1 when t is new, 0 when seen before. */
static int seen_add(struct typedata *td, uint64_t t)
{
	size_t s;
	int err;

	if (2 * (td->nseen + 1) > td->seen_cap) {
		err = seen_rehash(td);
		if (err)
			return err;
	}
	for (s = hash_addr(t) & (td->seen_cap - 1); td->seen[s];
	     s = (s + 1) & (td->seen_cap - 1))
		if (td->seen[s] == t)
			return 0;
	td->seen[s] = t;
	td->nseen++;
	return 1;
}

/*
 * Queues the descriptor at t once; unsound ones are left out. The seen set
 * comes first: most edges lead to types seen before, and their descriptors
 * are scattered over megabytes.
 */
static int push(struct typedata *td, uint64_t t)
{
	int err;

	if (++td->edges > MAX_EDGES)
		return -E2BIG;
	if (!t)
		return 0;
	err = seen_add(td, t);
	if (err <= 0)
		return err;
	if (!type_header(td, t))
		return 0;
	if (td->nseen > MAX_TYPES)
		return -E2BIG;
	if (td->nstack == td->stack_cap) {
		err = grow((void **)&td->stack, &td->stack_cap, sizeof(*td->stack), 1024);
		if (err)
			return err;
	}
	td->stack[td->nstack++] = t;
	return 0;
}

static int push_word(struct typedata *td, const uint8_t *p)
{
	return push(td, type_word(td, p));
}

/* Pushes the pointers of an array of n elements of size elem at addr, at offset at. */
static int push_array(struct typedata *td, uint64_t addr, uint64_t n, unsigned int elem,
		      unsigned int at, bool is_off)
{
	const uint8_t *p;
	int err = 0;

	if (!n)
		return 0;
	if (n > td->tlen / elem || !(p = type_bytes(td, addr, n * elem)))
		return 0;
	for (uint64_t i = 0; i < n && !err; i++)
		err = is_off ? push(td, type_off(td, p + i * elem + at))
			     : push_word(td, p + i * elem + at);
	return err;
}

/* A (pointer, length, capacity) slice header inside a descriptor. */
static bool slice_at(const struct typedata *td, const uint8_t *p, uint64_t *ptr, uint64_t *n)
{
	*ptr = type_word(td, p);
	*n = le(p + PTR, PTR);
	return *n == le(p + 2 * PTR, PTR);
}

static int push_kind_edges(struct typedata *td, uint64_t t, const uint8_t *h)
{
	const uint8_t *ext = type_bytes(td, t, kind_size(td, kind_of(h)));
	uint64_t ptr, n;
	int err;

	if (!ext)
		return 0;
	switch (kind_of(h)) {
	case TYPEDATA_ARRAY:
		err = push_word(td, ext + 48);
		return err ? err : push_word(td, ext + 56);
	case TYPEDATA_CHAN:
	case TYPEDATA_POINTER:
	case TYPEDATA_SLICE:
		return push_word(td, ext + 48);
	case TYPEDATA_MAP: /* key, elem, bucket or group: the same places in every release */
		if (!(ext = type_bytes(td, t, 72)))
			return 0;
		err = push_word(td, ext + 48);
		if (!err)
			err = push_word(td, ext + 56);
		return err ? err : push_word(td, ext + 64);
	case TYPEDATA_FUNC:
		n = le(ext + 48, 2) + (le(ext + 50, 2) & 0x7fff);
		ptr = t + 56 + (h[20] & TFLAG_UNCOMMON ? UNCOMMON_SIZE : 0);
		return push_array(td, ptr, n, PTR, 0, false);
	case TYPEDATA_INTERFACE:
		if (!slice_at(td, ext + 56, &ptr, &n))
			return 0;
		return push_array(td, ptr, n, IMETHOD_SIZE, 4, true);
	case TYPEDATA_STRUCT:
		if (!slice_at(td, ext + 56, &ptr, &n))
			return 0;
		return push_array(td, ptr, n, FIELD_SIZE, 8, false);
	default:
		return 0;
	}
}

/*
 * Indexes a named type by its name without the package: cheaper to read and
 * hash than the full name, which lookups compare.
 */
static int add_named(struct typedata *td, uint64_t t, const uint8_t *h)
{
	struct name name;
	int err;

	if (kind_of(h) == TYPEDATA_MAP && !td->map_size)
		return 0; /* its package is where the map struct ends */
	if (type_short_name(td, h, &name) || !name.len)
		return 0;
	if (td->nnamed == td->named_cap) {
		err = grow((void **)&td->named, &td->named_cap, sizeof(*td->named), 256);
		if (err)
			return err;
	}
	td->named[td->nnamed++] = (struct named){ t, hash_bytes(HASH_SEED, name.s, name.len) };
	return 0;
}

static int visit(struct typedata *td, uint64_t t)
{
	const uint8_t *h = type_header(td, t), *u;
	int err;

	td->nvisited++;
	if (h[20] & TFLAG_NAMED) {
		err = add_named(td, t, h);
		if (err)
			return err;
	}
	err = push(td, type_off(td, h + 44));
	if (!err)
		err = push_kind_edges(td, t, h);
	if (err)
		return err;
	u = uncommon(td, t, h);
	if (!u)
		return 0;
	/* method types: functions whose parameters lead further */
	return push_array(td, t + kind_size(td, kind_of(h)) + le(u + 8, 4), le(u + 4, 2),
			  METHOD_SIZE, 4, true);
}

static int push_typelinks(struct typedata *td)
{
	const uint64_t *s = &td->md[td->layout->typelinks];
	const uint8_t *p = s[1] ? seg_bytes(td, s[0], s[1] * 4) : NULL;
	int err = 0;

	for (uint64_t i = 0; p && i < s[1] && !err; i++) {
		int32_t off = (int32_t)le(p + 4 * i, 4);

		if (off > 0 && (uint64_t)off < td->tlen)
			err = push(td, td->types + (uint64_t)off);
	}
	return err;
}

/*
 * An itab's interface and concrete types, and the itab itself for
 * typedata__itab; *fun0: its first method, 0 for none.
 */
static int push_itab(struct typedata *td, uint64_t itab, uint64_t *fun0)
{
	uint64_t inter, type;
	int err;

	if (!word_at(td, itab, &inter) || !word_at(td, itab + PTR, &type) ||
	    !word_at(td, itab + 3 * PTR, fun0))
		return -EINVAL;
	if (type_header(td, type) && td->nitabs < MAX_TYPES) {
		if (td->nitabs == td->itabs_cap &&
		    grow((void **)&td->itabs, &td->itabs_cap, sizeof(*td->itabs), 256))
			return -ENOMEM;
		td->itabs[td->nitabs++] = (struct typedata_itab){ .itab = itab, .type = type };
	}
	err = push(td, inter);
	return err ? err : push(td, type);
}

static int push_itablinks(struct typedata *td)
{
	const uint64_t *s = &td->md[td->layout->itablinks];
	int err = 0;

	for (uint64_t i = 0; i < s[1] && !err; i++) {
		uint64_t itab, fun0;

		if (!word_at(td, s[0] + i * PTR, &itab))
			break;
		err = push_itab(td, itab, &fun0);
		if (err == -EINVAL)
			err = 0;
	}
	return err;
}

/* Bytes a 1.27 descriptor takes (abi.Type.DescriptorSize), 0 when unknown. */
static uint64_t descriptor_size(const struct typedata *td, uint64_t t, const uint8_t *h)
{
	uint64_t size = kind_size(td, kind_of(h)), ptr, n = 0;
	const uint8_t *ext = type_bytes(td, t, size), *u = uncommon(td, t, h);

	if (!size || !ext)
		return 0;
	switch (kind_of(h)) {
	case TYPEDATA_FUNC:
		n = (le(ext + 48, 2) + (le(ext + 50, 2) & 0x7fff)) * PTR;
		break;
	case TYPEDATA_INTERFACE:
		if (!slice_at(td, ext + 56, &ptr, &n) || n > td->tlen / IMETHOD_SIZE)
			return 0;
		n *= IMETHOD_SIZE;
		break;
	case TYPEDATA_STRUCT:
		if (!slice_at(td, ext + 56, &ptr, &n) || n > td->tlen / FIELD_SIZE)
			return 0;
		n *= FIELD_SIZE;
		break;
	}
	if (h[20] & TFLAG_UNCOMMON) {
		if (!u)
			return 0;
		n += UNCOMMON_SIZE + le(u + 4, 2) * METHOD_SIZE;
	}
	return n > td->tlen ? 0 : size + n;
}

/* Go 1.27: the typelink descriptors, one after another; stops at the first unsound one. */
static int push_typedescs(struct typedata *td)
{
	uint64_t t = td->types + PTR, end = td->types + td->md[td->layout->typedesclen];
	int err = 0;

	while (t < end && !err) {
		const uint8_t *h;
		uint64_t size;

		t = (t + PTR - 1) & ~(uint64_t)(PTR - 1);
		h = type_header(td, t);
		if (!h || !(size = descriptor_size(td, t, h)))
			break;
		err = push(td, t);
		t += size;
	}
	return err;
}

/* Go 1.27: the itabs, one after another; each is sized by its interface. */
static int push_itabs(struct typedata *td)
{
	uint64_t p = td->types + td->md[td->layout->itaboffset];
	uint64_t end = p + td->md[td->layout->itabsize];
	int err = 0;

	while (p < end && end - p >= ITAB_SIZE && !err) {
		uint64_t inter, fun0, ptr, n = 1;
		const uint8_t *ih;

		err = push_itab(td, p, &fun0);
		if (err)
			break;
		if (fun0) {
			if (!word_at(td, p, &inter) || !(ih = type_bytes(td, inter, 80)) ||
			    !slice_at(td, ih + 56, &ptr, &n) || !n || n > td->tlen / PTR)
				break;
		}
		p += ITAB_SIZE + (n - 1) * PTR;
	}
	return err == -EINVAL ? 0 : err;
}

static int walk(struct typedata *td)
{
	int err;

	if (td->layout->typelinks >= 0) {
		err = push_typelinks(td);
		if (!err)
			err = push_itablinks(td);
	} else {
		err = push_typedescs(td);
		if (!err)
			err = push_itabs(td);
	}
	while (!err && td->nstack)
		err = visit(td, td->stack[--td->nstack]);
	free(td->stack);
	td->stack = NULL;
	td->nstack = td->stack_cap = 0;
	return err;
}

static int build_index(struct typedata *td)
{
	size_t cap = 64;

	while (cap < 2 * td->nnamed)
		cap *= 2;
	td->index = calloc(cap, sizeof(*td->index));
	if (!td->index)
		return -ENOMEM;
	td->index_cap = cap;
	for (size_t i = 0; i < td->nnamed; i++) {
		size_t s = td->named[i].hash & (cap - 1);

		while (td->index[s])
			s = (s + 1) & (cap - 1);
		td->index[s] = (uint32_t)i + 1;
	}
	return 0;
}

/* Walks once; a walk cut short by a cap still indexes what it found. */
static int ensure_walked(struct typedata *td)
{
	int err;

	if (td->walked)
		return td->walk_err;
	td->walked = true;
	err = walk(td);
	if (err == -ENOMEM) {
		td->walk_err = err;
		return err;
	}
	td->walk_err = build_index(td);
	return td->walk_err ? td->walk_err : err;
}

int typedata__find(struct typedata *td, const char *name, uint64_t *type)
{
	int walk_err = ensure_walked(td), matches = 0;
	size_t len = strlen(name), at = short_name_at((const uint8_t *)name, len);
	uint32_t h = hash_bytes(HASH_SEED, (const uint8_t *)name + at, len - at);

	*type = 0;
	if (!td->index)
		return walk_err;
	for (size_t s = h & (td->index_cap - 1); td->index[s]; s = (s + 1) & (td->index_cap - 1)) {
		const struct named *n = &td->named[td->index[s] - 1];
		struct name pkg = { .len = 0 }, tn;

		if (n->hash != h ||
		    type_name_parts(td, n->type, type_header(td, n->type), &pkg, &tn) ||
		    !full_name_is(&pkg, &tn, name))
			continue;
		if (matches++) {
			*type = 0;
			return -ENOTUNIQ;
		}
		*type = n->type;
	}
	if (matches)
		return 0;
	return walk_err == -E2BIG ? -E2BIG : -ENOENT;
}

int typedata__itab(struct typedata *td, size_t i, struct typedata_itab *itab)
{
	int err = ensure_walked(td);

	if (err && err != -E2BIG)
		return err;
	if (i >= td->nitabs)
		return -ERANGE;
	*itab = td->itabs[i];
	return 0;
}

int typedata__named(struct typedata *td, size_t i, uint64_t *type)
{
	int err = ensure_walked(td);

	if (err && err != -E2BIG)
		return err;
	if (i >= td->nnamed)
		return -ERANGE;
	*type = td->named[i].type;
	return 0;
}

/* ---- accessors ---- */

int typedata__kind(const struct typedata *td, uint64_t type)
{
	const uint8_t *h = type_header(td, type);

	return h ? kind_of(h) : -EINVAL;
}

int typedata__size(const struct typedata *td, uint64_t type, uint64_t *size)
{
	const uint8_t *h = type_header(td, type);

	if (!h)
		return -EINVAL;
	*size = le(h, PTR);
	return 0;
}

int typedata__elem(const struct typedata *td, uint64_t type, uint64_t *elem)
{
	const uint8_t *h = type_header(td, type), *ext;
	unsigned int at = 48;

	if (!h)
		return -EINVAL;
	switch (kind_of(h)) {
	case TYPEDATA_MAP:
		at = 56;
		break;
	case TYPEDATA_ARRAY:
	case TYPEDATA_CHAN:
	case TYPEDATA_POINTER:
	case TYPEDATA_SLICE:
		break;
	default:
		return -EINVAL;
	}
	ext = type_bytes(td, type, at + PTR);
	if (!ext)
		return -EINVAL;
	*elem = type_word(td, ext + at);
	return type_header(td, *elem) ? 0 : -EINVAL;
}

/* A struct's fields array. */
static int fields_of(const struct typedata *td, uint64_t type, const uint8_t **fields,
		     uint64_t *n, uint64_t *size)
{
	const uint8_t *h = type_header(td, type), *ext;
	uint64_t ptr;

	if (!h || kind_of(h) != TYPEDATA_STRUCT || !(ext = type_bytes(td, type, 80)))
		return -EINVAL;
	if (!slice_at(td, ext + 56, &ptr, n) || *n > td->tlen / FIELD_SIZE)
		return -EINVAL;
	*fields = *n ? type_bytes(td, ptr, *n * FIELD_SIZE) : ext;
	*size = le(h, PTR);
	return *fields ? 0 : -EINVAL;
}

int typedata__nfields(const struct typedata *td, uint64_t type)
{
	const uint8_t *fields;
	uint64_t n, size;
	int err = fields_of(td, type, &fields, &n, &size);

	if (err)
		return err;
	return n > INT_MAX ? -EINVAL : (int)n;
}

/* Decodes the field record at p of a struct of size struct_size. */
static int decode_field(const struct typedata *td, const uint8_t *p, uint64_t struct_size,
			struct typedata_field *f)
{
	const uint8_t *fh;
	struct name name;
	uint64_t raw = le(p + 16, PTR);
	int err = read_name(td, type_word(td, p), &name);

	if (err)
		return err;
	f->type = type_word(td, p + PTR);
	fh = type_header(td, f->type);
	if (!fh || !name.len)
		return -EINVAL;
	f->name = (const char *)name.s;
	f->name_len = name.len;
	f->kind = kind_of(fh);
	f->size = le(fh, PTR);
	f->offset = td->old_fields ? raw >> 1 : raw;
	f->embedded = td->old_fields ? raw & 1 : name.flags & NAME_EMBEDDED;
	if (f->offset > struct_size || f->size > struct_size - f->offset)
		return -EINVAL;
	return 0;
}

int typedata__field_at(const struct typedata *td, uint64_t type, size_t i,
		       struct typedata_field *f)
{
	const uint8_t *fields;
	uint64_t n, size;
	int err = fields_of(td, type, &fields, &n, &size);

	if (err)
		return err;
	if (i >= n)
		return -ERANGE;
	return decode_field(td, fields + i * FIELD_SIZE, size, f);
}

int typedata__field(const struct typedata *td, uint64_t type, const char *name,
		    struct typedata_field *f)
{
	const uint8_t *fields;
	uint64_t n, size;
	size_t len = strlen(name);
	int err = fields_of(td, type, &fields, &n, &size);

	if (err)
		return err;
	for (uint64_t i = 0; i < n; i++) {
		struct name fname;
		const uint8_t *p = fields + i * FIELD_SIZE;

		if (read_name(td, type_word(td, p), &fname))
			return -EINVAL;
		if (fname.len == len && !memcmp(fname.s, name, len))
			return decode_field(td, p, size, f);
	}
	return -ENOENT;
}

static size_t append(char *buf, size_t len, size_t at, const uint8_t *s, size_t n)
{
	for (size_t i = 0; i < n; i++, at++)
		if (at + 1 < len)
			buf[at] = (char)s[i];
	return at;
}

int typedata__name(const struct typedata *td, uint64_t type, char *buf, size_t len)
{
	const uint8_t *h = type_header(td, type);
	struct name pkg = { .len = 0 }, name;
	size_t n = 0;
	int err;

	if (!h)
		return -EINVAL;
	if (h[20] & TFLAG_NAMED)
		err = type_name_parts(td, type, h, &pkg, &name);
	else
		err = type_string(td, h, &name);
	if (err)
		return err;
	if (pkg.len) {
		n = append(buf, len, n, pkg.s, pkg.len);
		n = append(buf, len, n, (const uint8_t *)".", 1);
	}
	n = append(buf, len, n, name.s, name.len);
	if (len)
		buf[n < len ? n : len - 1] = '\0';
	return n > INT_MAX ? -EINVAL : (int)n;
}
