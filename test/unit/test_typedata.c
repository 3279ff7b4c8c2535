// SPDX-License-Identifier: MIT
/*
 * The type-data reader on hand-built images: a small program's descriptors in
 * each layout era (Go 1.17/1.18 offsets with the embedded bit, 1.19 names
 * with it, 1.20-1.25 and 1.26 moduledata, 1.27 contiguous descriptors and
 * itabs), with pointers in place or only in relocations (lld's PIE); then
 * truncated, cyclic, out-of-range and absurd ones.
 *
 * `test_typedata --seeds DIR` writes the images in fuzz_typedata's input
 * format instead (test/fuzz/seed-typedata.sh).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "typedata.h"
#include "unittest.h"

#define TYPES	    0x500000ull /* moduledata.types: the read-only segment starts here */
#define NAMES_OFF   0x2000	/* names, after the descriptors */
#define ITABS_OFF   0x3000	/* 1.27 itabs, at the end of the types range */
#define TYPES_LEN   0x3400
#define OUTSIDE_OFF 0x3400 /* typelinks, itablinks, older itabs, text section map */
#define RO_LEN	    0x4000
#define MD_ADDR	    0x600000ull
#define MD_WORDS    64
#define TEXT	    0x401000ull
#define MAX_RELOCS  256

enum {
	K_INT = 2,
	K_INT64 = 6,
	K_FUNC = 19,
	K_INTERFACE = 20,
	K_MAP = 21,
	K_PTR = 22,
	K_STRING = 24,
	K_STRUCT = 25,
};
#define TF_UNCOMMON 1
#define TF_STAR	    2
#define TF_NAMED    4

static struct image {
	uint8_t ro[RO_LEN];
	uint8_t md[MD_WORDS * 8];
	size_t desc, names, itabs, outside; /* allocation cursors, offsets in ro */
	struct typedata_reloc relocs[MAX_RELOCS];
	size_t nrelocs;
	bool rela; /* pointers only in relocations */
	int minor;
	uint32_t typelinks[16];
	size_t ntypelinks;
	uint64_t itabs_list[8];
	size_t nitabs;
	uint64_t typedesclen;
	uint64_t typelinks_at; /* where finish_moduledata() put them (through 1.26) */
} im;

static void put(uint8_t *p, uint64_t v, unsigned int size)
{
	for (unsigned int i = 0; i < size; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint8_t *ro(uint64_t addr)
{
	if (addr < TYPES || addr - TYPES >= RO_LEN) {
		fprintf(stderr, "test image overflow at %#llx\n", (unsigned long long)addr);
		exit(2);
	}
	return im.ro + (addr - TYPES);
}

static uint64_t bump(size_t *cursor, size_t size, size_t limit)
{
	uint64_t a;

	*cursor = (*cursor + 7) & ~(size_t)7;
	a = TYPES + *cursor;
	*cursor += size;
	if (*cursor > limit) {
		fprintf(stderr, "test image area full\n");
		exit(2);
	}
	return a;
}

/* A pointer as the linker leaves it: in place, or only as a relocation. */
static void put_ptr(uint8_t *p, uint64_t where, uint64_t v)
{
	if (im.rela && v) {
		if (im.nrelocs == MAX_RELOCS)
			exit(2);
		im.relocs[im.nrelocs++] = (struct typedata_reloc){ where, v };
		v = 0;
	}
	put(p, v, 8);
}

static void set_ptr(uint64_t where, uint64_t v)
{
	put_ptr(ro(where), where, v);
}

static void set_md(int word, uint64_t v, bool ptr)
{
	if (ptr)
		put_ptr(im.md + 8 * word, MD_ADDR + 8 * word, v);
	else
		put(im.md + 8 * word, v, 8);
}

/* A name: flags, uvarint length, bytes. Returns its address. */
static uint64_t name_at(uint8_t flags, const char *s)
{
	size_t len = strlen(s), n = 1;
	uint64_t a = bump(&im.names, 1 + 5 + len, ITABS_OFF);
	uint8_t *p = ro(a);

	p[0] = flags;
	for (size_t v = len; ; v >>= 7) {
		p[n++] = (uint8_t)((v & 0x7f) | (v >= 0x80 ? 0x80 : 0));
		if (v < 0x80)
			break;
	}
	memcpy(p + n, s, len);
	return a;
}

static int32_t name_off(const char *s)
{
	return (int32_t)(name_at(0, s) - TYPES);
}

static size_t kind_base(int kind)
{
	switch (kind) {
	case K_FUNC:
	case K_PTR:
		return 56;
	case K_STRUCT:
	case K_INTERFACE:
		return 80;
	case K_MAP:
		return im.minor >= 27 ? 136 : im.minor >= 24 ? 112 : 88;
	default:
		return 48;
	}
}

/*
 * A descriptor followed by its uncommon type (when pkg is given; "" for the
 * built-in named types), then tail bytes (fields, parameters, methods).
 */
static uint64_t new_type(int kind, uint64_t size, const char *str, const char *pkg, size_t tail)
{
	size_t base = kind_base(kind), unc = pkg ? 16 : 0;
	uint64_t t = bump(&im.desc, base + unc + tail, NAMES_OFF);
	uint8_t *h = ro(t);
	char star[512];

	snprintf(star, sizeof(star), "*%s", str);
	put(h, size, 8);
	put(h + 16, t * 2654435761u, 4);
	h[20] = TF_STAR | (pkg ? TF_UNCOMMON | TF_NAMED : 0);
	h[21] = h[22] = 8;
	h[23] = (uint8_t)kind;
	put(h + 40, (uint64_t)name_off(star), 4);
	if (pkg && *pkg)
		put(h + base, (uint64_t)name_off(pkg), 4);
	return t;
}

static void set_ptr_to_this(uint64_t t, uint64_t ptr)
{
	put(ro(t) + 44, ptr - TYPES, 4);
}

struct fspec {
	const char *name;
	uint64_t type;
	uint64_t offset;
	bool embedded;
};

/* A struct of named fields laid out after its uncommon type, then nmethods methods. */
static uint64_t new_struct(const char *str, const char *pkg, uint64_t size,
			   const struct fspec *f, size_t n, size_t nmethods)
{
	uint64_t t = new_type(K_STRUCT, size, str, pkg, n * 24 + nmethods * 16);
	uint64_t fields = t + 80 + (pkg ? 16 : 0);

	set_ptr(t + 48, pkg ? name_at(0, pkg) : 0);
	set_ptr(t + 56, n ? fields : 0);
	put(ro(t) + 64, n, 8);
	put(ro(t) + 72, n, 8);
	for (size_t i = 0; i < n; i++) {
		uint64_t fa = fields + 24 * i;
		bool old = im.minor < 19;
		uint8_t flags = (f[i].name[0] >= 'A' && f[i].name[0] <= 'Z') |
				(!old && f[i].embedded ? 8 : 0);

		set_ptr(fa, name_at(flags, f[i].name));
		set_ptr(fa + 8, f[i].type);
		put(ro(fa + 16), old ? f[i].offset << 1 | f[i].embedded : f[i].offset, 8);
	}
	if (nmethods) {
		uint8_t *u = ro(t + 80);

		put(u + 4, nmethods, 2);
		put(u + 8, 16 + n * 24, 4);
	}
	return t;
}

/* Method i of a struct with n fields: its function type. */
static void set_method(uint64_t st, size_t nfields, size_t i, const char *name, uint64_t fn)
{
	uint8_t *m = ro(st + 96 + nfields * 24 + i * 16);

	put(m, (uint64_t)name_off(name), 4);
	put(m + 4, fn ? fn - TYPES : (uint64_t)-1, 4);
}

static uint64_t new_func(const char *str, size_t in, size_t out)
{
	uint64_t t = new_type(K_FUNC, 8, str, NULL, (in + out) * 8);

	put(ro(t) + 48, in, 2);
	put(ro(t) + 50, out, 2);
	return t;
}

static void set_param(uint64_t fn, size_t i, uint64_t type)
{
	set_ptr(fn + 56 + 8 * i, type);
}

static uint64_t new_ptr(const char *str, uint64_t elem)
{
	uint64_t t = new_type(K_PTR, 8, str, NULL, 0);

	set_ptr(t + 48, elem);
	return t;
}

static void add_typelink(uint64_t t)
{
	im.typelinks[im.ntypelinks++] = (uint32_t)(t - TYPES);
}

/* An itab for a one-method interface. */
static void add_itab(uint64_t inter, uint64_t type)
{
	size_t *cursor = im.minor >= 27 ? &im.itabs : &im.outside;
	uint64_t a = bump(cursor, 32, im.minor >= 27 ? TYPES_LEN : RO_LEN);

	set_ptr(a, inter);
	set_ptr(a + 8, type);
	set_ptr(a + 24, TEXT + 0x40);
	im.itabs_list[im.nitabs++] = a;
}

/* moduledata's words for the era, as runtime/symtab.go orders them. */
struct slots {
	int types, etypes, textsectmap, typelinks, itablinks;
	int typedesclen, itaboffset, itabsize;
};

static struct slots era_slots(int minor)
{
	if (minor <= 17)
		return (struct slots){ 35, 36, 37, 40, 43, -1, -1, -1 };
	if (minor <= 19)
		return (struct slots){ 35, 36, 39, 42, 45, -1, -1, -1 };
	if (minor <= 25)
		return (struct slots){ 37, 38, 41, 44, 47, -1, -1, -1 };
	if (minor == 26)
		return (struct slots){ 37, 38, 42, 45, 48, -1, -1, -1 };
	return (struct slots){ 37, 39, 45, -1, -1, 38, 40, 41 };
}

static void put_slice(int word, uint64_t ptr, uint64_t n)
{
	set_md(word, ptr, true);
	set_md(word + 1, n, false);
	set_md(word + 2, n, false);
}

static void finish_moduledata(void)
{
	struct slots s = era_slots(im.minor);
	uint64_t tsm = bump(&im.outside, 24, RO_LEN);

	set_md(22, TEXT, true);
	set_md(23, TEXT + 0x1000, true);
	for (int k = 24; k < 32; k++)
		set_md(k, MD_ADDR + 0x1000 * (uint64_t)k, true);
	set_md(s.types, TYPES, true);
	set_md(s.etypes, TYPES + TYPES_LEN, true);
	put(ro(tsm), 0, 8);
	put(ro(tsm) + 8, 0x1000, 8);
	set_ptr(tsm + 16, TEXT);
	put_slice(s.textsectmap, tsm, 1);
	if (s.typelinks >= 0) {
		uint64_t tl = bump(&im.outside, 4 * im.ntypelinks, RO_LEN);
		uint64_t il = bump(&im.outside, 8 * im.nitabs, RO_LEN);

		for (size_t i = 0; i < im.ntypelinks; i++)
			put(ro(tl) + 4 * i, im.typelinks[i], 4);
		for (size_t i = 0; i < im.nitabs; i++)
			set_ptr(il + 8 * i, im.itabs_list[i]);
		put_slice(s.typelinks, tl, im.ntypelinks);
		im.typelinks_at = tl;
		put_slice(s.itablinks, il, im.nitabs);
	} else {
		set_md(s.typedesclen, im.typedesclen, false);
		set_md(s.itaboffset, ITABS_OFF, false);
		set_md(s.itabsize, im.itabs - ITABS_OFF, false);
	}
}

/* What the checks look for. */
static struct {
	uint64_t conn, conn_ptr, inner, node, generic, iface, impl, deep, header, int_t, str_t;
} P;

#define PKG  "example.com/pkg"
#define DEEP "example.com/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" \
	     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/deep"

/*
 * The program: Conn {name string; Inner (embedded); next *Conn; status int},
 * reached from the typelink *Conn; Inner's method func(*Conn) G[Inner];
 * yaml.v3's Node and a long package path reached only as parameters of the
 * typelink func(yaml.Node, deep.Long); Impl only through its itab with Iface,
 * whose method returns (int, Dup, Dup, Header): two types of one name and a
 * named map.
 */
static void build_program(int minor, bool rela)
{
	uint64_t fn_node, fn_method, fn_close, int64_t_, dup1, dup2;

	memset(&im, 0, sizeof(im));
	im.minor = minor;
	im.rela = rela;
	im.desc = 8;
	im.names = NAMES_OFF;
	im.itabs = ITABS_OFF;
	im.outside = OUTSIDE_OFF;
	/* typelinks first: Go 1.27 lays them out one after another from types + 8 */
	P.conn_ptr = new_ptr("*pkg.Conn", 0);
	add_typelink(P.conn_ptr);
	fn_node = new_func("func(yaml.Node, deep.Long)", 2, 0);
	add_typelink(fn_node);
	im.typedesclen = im.desc;

	P.int_t = new_type(K_INT, 8, "int", "", 0);
	P.str_t = new_type(K_STRING, 16, "string", "", 0);
	int64_t_ = new_type(K_INT64, 8, "int64", "", 0);
	fn_method = new_func("func(*pkg.Conn) pkg.G[example.com/pkg.Inner]", 1, 1);
	P.inner = new_struct("pkg.Inner", PKG, 8, (struct fspec[]){ { "x", int64_t_, 0 } }, 1, 1);
	set_method(P.inner, 1, 0, "Method", fn_method);
	P.conn = new_struct("pkg.Conn", PKG, 40,
			    (struct fspec[]){ { "name", P.str_t, 0 },
					      { "Inner", P.inner, 16, true },
					      { "next", P.conn_ptr, 24 },
					      { "status", P.int_t, 32 } },
			    4, 0);
	set_ptr(P.conn_ptr + 48, P.conn);
	set_ptr_to_this(P.conn, P.conn_ptr);
	P.generic = new_struct("pkg.G[example.com/pkg.Inner]", PKG, 8,
			       (struct fspec[]){ { "v", P.inner, 0 } }, 1, 0);
	set_param(fn_method, 0, P.conn_ptr);
	set_param(fn_method, 1, P.generic);
	P.node = new_struct("yaml.Node", "gopkg.in/yaml.v3", 8,
			    (struct fspec[]){ { "Kind", P.int_t, 0 } }, 1, 0);
	P.deep = new_struct("deep.Long", DEEP, 16,
			    (struct fspec[]){ { "s", P.str_t, 0 } }, 1, 0);
	set_param(fn_node, 0, P.node);
	set_param(fn_node, 1, P.deep);

	dup1 = new_struct("pkg.Dup", PKG, 8, (struct fspec[]){ { "a", P.int_t, 0 } }, 1, 0);
	dup2 = new_struct("pkg.Dup", PKG, 16, (struct fspec[]){ { "b", P.int_t, 8 } }, 1, 0);
	P.header = new_type(K_MAP, 8, "pkg.Header", PKG, 0);
	set_ptr(P.header + 48, P.str_t);
	set_ptr(P.header + 56, P.int_t);
	fn_close = new_func("func() (int, pkg.Dup, pkg.Dup, pkg.Header)", 0, 4);
	set_param(fn_close, 0, P.int_t);
	set_param(fn_close, 1, dup1);
	set_param(fn_close, 2, dup2);
	set_param(fn_close, 3, P.header);
	P.iface = new_type(K_INTERFACE, 16, "pkg.Iface", PKG, 8);
	set_ptr(P.iface + 56, P.iface + 96);
	put(ro(P.iface) + 64, 1, 8);
	put(ro(P.iface) + 72, 1, 8);
	put(ro(P.iface) + 96, (uint64_t)name_off("Close"), 4);
	put(ro(P.iface) + 100, fn_close - TYPES, 4);
	P.impl = new_struct("pkg.Impl", PKG, 8, (struct fspec[]){ { "n", P.int_t, 0 } }, 1, 0);
	add_itab(P.iface, new_ptr("*pkg.Impl", P.impl));
	finish_moduledata();
}

static char version[32];

static struct typedata_image image_of(struct typedata_segment *segs, size_t ro_len)
{
	snprintf(version, sizeof(version), "go1.%d.3", im.minor);
	segs[0] = (struct typedata_segment){ TYPES, im.ro, ro_len };
	segs[1] = (struct typedata_segment){ MD_ADDR, im.md, sizeof(im.md) };
	return (struct typedata_image){ .segs = segs,
					.nsegs = 2,
					.relocs = im.relocs,
					.nrelocs = im.nrelocs,
					.moduledata = MD_ADDR,
					.go_version = version,
					.pclntab_magic = 0xfffffff1u };
}

static int open_built(struct typedata **td)
{
	struct typedata_segment segs[2];
	struct typedata_image img = image_of(segs, RO_LEN);

	return typedata__open_image(&img, td);
}

static void check_field(struct typedata *td, uint64_t t, const char *name, uint64_t offset,
			uint64_t size, int kind, bool embedded)
{
	struct typedata_field f;

	CHECK(typedata__field(td, t, name, &f) == 0);
	CHECK(f.name_len == strlen(name) && !memcmp(f.name, name, f.name_len));
	CHECK(f.offset == offset);
	CHECK(f.size == size);
	CHECK(f.kind == kind);
	CHECK(f.embedded == embedded);
}

/* maps: whether named maps are indexed (their size is known for the release) */
static void check_program(struct typedata *td, const char *layout, bool maps)
{
	struct typedata_field f;
	uint64_t t, elem, size;
	char buf[256];

	CHECK_STR(typedata__layout(td), layout);
	CHECK(typedata__find(td, PKG ".Conn", &t) == 0 && t == P.conn);
	CHECK(typedata__kind(td, t) == TYPEDATA_STRUCT);
	CHECK(typedata__size(td, t, &size) == 0 && size == 40);
	CHECK(typedata__nfields(td, t) == 4);
	check_field(td, t, "name", 0, 16, TYPEDATA_STRING, false);
	check_field(td, t, "Inner", 16, 8, TYPEDATA_STRUCT, true);
	check_field(td, t, "next", 24, 8, TYPEDATA_POINTER, false);
	check_field(td, t, "status", 32, 8, TYPEDATA_INT, false);
	CHECK(typedata__field(td, t, "Inner", &f) == 0 && f.type == P.inner);
	CHECK(typedata__field(td, t, "next", &f) == 0 && typedata__elem(td, f.type, &elem) == 0 &&
	      elem == P.conn);
	CHECK(typedata__field_at(td, t, 3, &f) == 0 && f.offset == 32);
	CHECK(typedata__field_at(td, t, 4, &f) == -ERANGE);
	CHECK(typedata__field(td, t, "nope", &f) == -ENOENT);
	CHECK(typedata__name(td, t, buf, sizeof(buf)) == (int)strlen(PKG ".Conn"));
	CHECK_STR(buf, PKG ".Conn");
	CHECK(typedata__name(td, P.conn_ptr, buf, sizeof(buf)) > 0);
	CHECK_STR(buf, "*pkg.Conn");
	CHECK(typedata__name(td, t, buf, 8) == (int)strlen(PKG ".Conn"));
	CHECK_STR(buf, "example");

	CHECK(typedata__find(td, PKG ".Inner", &t) == 0 && t == P.inner);
	check_field(td, t, "x", 0, 8, TYPEDATA_INT64, false);
	/* through a method's type */
	CHECK(typedata__find(td, PKG ".G[" PKG ".Inner]", &t) == 0 && t == P.generic);
	/* through a typelink function's parameters; the path escaped as DWARF spells it */
	CHECK(typedata__find(td, "gopkg.in/yaml%2ev3.Node", &t) == 0 && t == P.node);
	CHECK(typedata__find(td, "gopkg.in/yaml.v3.Node", &t) == -ENOENT);
	CHECK(typedata__find(td, DEEP ".Long", &t) == 0 && t == P.deep);
	/* through an itab */
	CHECK(typedata__find(td, PKG ".Impl", &t) == 0 && t == P.impl);
	CHECK(typedata__find(td, PKG ".Iface", &t) == 0 && t == P.iface);
	CHECK(typedata__kind(td, t) == TYPEDATA_INTERFACE);
	CHECK(typedata__find(td, "int", &t) == 0 && t == P.int_t);
	if (maps) {
		CHECK(typedata__find(td, PKG ".Header", &t) == 0 && t == P.header);
		CHECK(typedata__kind(td, t) == TYPEDATA_MAP);
		CHECK(typedata__elem(td, t, &elem) == 0 && elem == P.int_t);
	} else {
		CHECK(typedata__find(td, PKG ".Header", &t) == -ENOENT);
	}
	CHECK(typedata__find(td, PKG ".Dup", &t) == -ENOTUNIQ && !t);
	CHECK(typedata__find(td, PKG ".Nope", &t) == -ENOENT);
	CHECK(typedata__find(td, "", &t) == -ENOENT);
	CHECK(typedata__elem(td, P.conn, &elem) == -EINVAL);
	CHECK(typedata__nfields(td, P.conn_ptr) == -EINVAL);
	CHECK(typedata__kind(td, P.conn + 1) == -EINVAL);
	CHECK(typedata__count(td) >= 15);
}

static const struct {
	int minor;
	const char *layout;
} eras[] = {
	{ 17, "go1.16-1.17" }, { 18, "go1.18-1.19" }, { 19, "go1.18-1.19" }, { 20, "go1.20-1.25" },
	{ 24, "go1.20-1.25" }, { 26, "go1.26" },      { 27, "go1.27" },
};
#define NERAS (sizeof(eras) / sizeof(eras[0]))

static void test_eras(void)
{
	for (size_t i = 0; i < NERAS; i++) {
		for (int rela = 0; rela < 2; rela++) {
			struct typedata *td;

			build_program(eras[i].minor, rela);
			CHECK(open_built(&td) == 0);
			if (!td) {
				fprintf(stderr, "go1.%d rela %d: no type data\n", eras[i].minor,
					rela);
				continue;
			}
			check_program(td, eras[i].layout, true);
			typedata__free(td);
		}
	}
}

/* The binary's release and its moduledata disagree, or it names none. */
static void test_versions(void)
{
	struct typedata_segment segs[2];
	struct typedata_image img;
	struct typedata *td;

	build_program(26, false);
	img = image_of(segs, RO_LEN);
	/* a 1.26 layout under a 1.22 name: found by trying */
	img.go_version = "go1.22.3 X:loopvar";
	CHECK(typedata__open_image(&img, &td) == 0);
	if (td)
		CHECK_STR(typedata__layout(td), "go1.26");
	typedata__free(td);
	img.go_version = NULL; /* 1.20+ pclntab magic: the layout tells */
	CHECK(typedata__open_image(&img, &td) == 0);
	if (td)
		check_program(td, "go1.26", false);
	typedata__free(td);
	img.pclntab_magic = 0xfffffff0u; /* 1.18 or 1.19: the field encoding is unknown */
	CHECK(typedata__open_image(&img, &td) == -ENOTSUP && !td);
	img.go_version = "go1.16.15"; /* 2-byte name lengths */
	CHECK(typedata__open_image(&img, &td) == -ENOTSUP && !td);
	img.go_version = "devel go1.27-0123abc"; /* not a release: the magic decides */
	img.pclntab_magic = 0xfffffff1u;
	CHECK(typedata__open_image(&img, &td) == 0);
	typedata__free(td);
}

/* Every lookup a caller might make, for the hostile images: none may crash or hang. */
static void exercise(struct typedata *td)
{
	static const char *const names[] = { PKG ".Conn", PKG ".Inner", PKG ".Impl", PKG ".Dup",
					     "gopkg.in/yaml%2ev3.Node", "int" };
	struct typedata_field f;
	uint64_t t, elem;
	char buf[64];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (typedata__find(td, names[i], &t))
			continue;
		typedata__field(td, t, "next", &f);
		for (size_t k = 0; !typedata__field_at(td, t, k, &f); k++)
			typedata__elem(td, f.type, &elem);
	}
	for (size_t i = 0; !typedata__named(td, i, &t); i++) {
		typedata__name(td, t, buf, sizeof(buf));
		typedata__nfields(td, t);
	}
}

static void test_truncated(void)
{
	for (int e = 0; e < (int)NERAS; e++) {
		build_program(eras[e].minor, e % 2);
		for (size_t len = 0; len <= RO_LEN; len += 61) {
			struct typedata_segment segs[2];
			struct typedata_image img = image_of(segs, len);
			/* an exact-size copy, so that ASan sees reads past the end */
			uint8_t *copy = malloc(len ? len : 1);
			struct typedata *td;

			memcpy(copy, im.ro, len);
			segs[0].data = copy;
			if (!typedata__open_image(&img, &td)) {
				CHECK(len >= TYPES_LEN);
				exercise(td);
				typedata__free(td);
			}
			free(copy);
		}
	}
}

/* Every byte the image uses, moduledata's too, flipped in turn. */
static void test_mutations(void)
{
	int opened = 0;

	for (int e = 0; e < (int)NERAS; e++) {
		build_program(eras[e].minor, false);
		size_t used[][2] = { { 0, im.desc },
				     { NAMES_OFF, im.names },
				     { ITABS_OFF, im.itabs },
				     { OUTSIDE_OFF, im.outside } };

		for (size_t r = 0; r < sizeof(used) / sizeof(used[0]) + 1; r++) {
			bool md = r == sizeof(used) / sizeof(used[0]);
			size_t from = md ? 0 : used[r][0], to = md ? sizeof(im.md) : used[r][1];

			for (size_t i = from; i < to; i++) {
				uint8_t *p = md ? &im.md[i] : &im.ro[i];
				struct typedata *td;

				*p ^= 0xa5;
				if (!open_built(&td)) {
					opened++;
					exercise(td);
					typedata__free(td);
				}
				*p ^= 0xa5;
			}
		}
	}
	CHECK(opened > 0);
}

static void test_hostile(void)
{
	struct typedata_field f;
	struct typedata *td;
	uint64_t t, fields, nx;

	/* a pointer type that points at itself, and ptrToThis loops */
	build_program(26, false);
	set_ptr(P.conn_ptr + 48, P.conn_ptr);
	set_ptr_to_this(P.inner, P.inner);
	CHECK(open_built(&td) == 0);
	if (td) {
		/* Conn, and Inner with it, now unreachable; the walk ends all the same */
		CHECK(typedata__find(td, PKG ".Conn", &t) == -ENOENT);
		CHECK(typedata__find(td, PKG ".Inner", &t) == -ENOENT);
		CHECK(typedata__find(td, PKG ".Impl", &t) == 0);
		CHECK(typedata__elem(td, P.conn_ptr, &t) == 0 && t == P.conn_ptr);
		typedata__free(td);
	}

	/* fields: offset past the struct, a name and a type outside the range, absurd counts */
	build_program(26, false);
	fields = P.conn + 96;
	put(ro(fields + 3 * 24 + 16), 39, 8); /* status: 8 bytes at 39 of 40 */
	set_ptr(fields + 24, TYPES + TYPES_LEN + 8); /* Inner's name */
	set_ptr(fields + 2 * 24 + 8, 0xdeadbeef); /* next's type */
	CHECK(open_built(&td) == 0);
	if (td) {
		CHECK(typedata__find(td, PKG ".Conn", &t) == 0);
		check_field(td, t, "name", 0, 16, TYPEDATA_STRING, false);
		CHECK(typedata__field(td, t, "status", &f) == -EINVAL);
		CHECK(typedata__field_at(td, t, 1, &f) == -EINVAL);
		CHECK(typedata__field_at(td, t, 2, &f) == -EINVAL);
		CHECK(typedata__field(td, t, "nope", &f) == -EINVAL); /* a name is unreadable */
		typedata__free(td);
	}
	build_program(26, false);
	put(ro(P.conn) + 64, 1ull << 40, 8);
	put(ro(P.conn) + 72, 1ull << 40, 8);
	put(ro(P.inner) + 72, 2, 8); /* len != cap */
	CHECK(open_built(&td) == 0);
	if (td) {
		CHECK(typedata__find(td, PKG ".Conn", &t) == 0);
		CHECK(typedata__nfields(td, t) == -EINVAL);
		CHECK(typedata__field(td, t, "name", &f) == -EINVAL);
		CHECK(typedata__nfields(td, P.inner) == -EINVAL);
		typedata__free(td);
	}

	/* names: an endless varint, a length past the range; counts and offsets out of range */
	build_program(26, false);
	nx = name_at(0, "xy");
	memset(ro(nx), 0xff, 8);
	put(ro(P.inner) + 40, nx - TYPES, 4);
	nx = name_at(0, "xy");
	ro(nx)[1] = 0xff; /* 16383 bytes long: past the range */
	ro(nx)[2] = 0x7f;
	put(ro(P.node) + 40, nx - TYPES, 4);
	put(ro(P.inner + 80) + 4, 0xffff, 2); /* methods */
	put(ro(P.inner + 80) + 8, 0xfffffff0u, 4);
	put(ro(P.conn_ptr) + 44, 0x7fffffff, 4); /* ptrToThis */
	put(ro(im.typelinks_at + 4), 0x80000000u, 4); /* the second typelink */
	CHECK(open_built(&td) == 0);
	if (td) {
		CHECK(typedata__find(td, PKG ".Inner", &t) == -ENOENT);
		CHECK(typedata__find(td, "gopkg.in/yaml%2ev3.Node", &t) == -ENOENT);
		CHECK(typedata__find(td, PKG ".Conn", &t) == 0);
		exercise(td);
		typedata__free(td);
	}

	/* moduledata: the types range beyond the segment, slices that are not */
	build_program(26, false);
	set_md(38, TYPES + RO_LEN + 8, true);
	CHECK(open_built(&td) == -EINVAL && !td);
	build_program(26, false);
	set_md(46, 5, false); /* typelinks len != cap */
	CHECK(open_built(&td) == -EINVAL && !td);
	build_program(27, false);
	set_md(41, TYPES_LEN, false); /* itabs past etypes */
	CHECK(open_built(&td) == -EINVAL && !td);
	build_program(27, false);
	put(ro(P.conn_ptr) + 23, 0, 1); /* the first typelink descriptor is unsound */
	CHECK(open_built(&td) == 0);
	if (td) {
		CHECK(typedata__find(td, PKG ".Conn", &t) == -ENOENT);
		CHECK(typedata__find(td, PKG ".Impl", &t) == 0); /* the itabs still lead there */
		typedata__free(td);
	}
}

/*
 * A walk that would follow more edges than the cap (8M): 1000 structs that
 * share one array of 10000 fields. It ends with -E2BIG, and what it indexed
 * before stays found.
 */
static void test_caps(void)
{
	enum { NSTRUCTS = 1000, NFIELDS = 10000 };
	size_t len = 0x100 + NFIELDS * 24 + NSTRUCTS * 80 + NSTRUCTS * 4 + 0x100;
	uint8_t *ro = calloc(1, len), md[MD_WORDS * 8] = { 0 };
	uint64_t name = TYPES + 0x40, fields = TYPES + 0x100, structs = fields + NFIELDS * 24;
	uint64_t links = structs + NSTRUCTS * 80, tsm = links + NSTRUCTS * 4, named = TYPES + 8;
	struct typedata_segment segs[2] = { { TYPES, ro, len }, { MD_ADDR, md, sizeof(md) } };
	struct typedata_image img = { .segs = segs, .nsegs = 2, .moduledata = MD_ADDR,
				      .go_version = "go1.26.1" };
	struct typedata *td;
	uint64_t t;

	if (!ro)
		exit(2);
	/* a named int, then a name for every field */
	put(ro + 8, 8, 8);
	ro[8 + 20] = TF_NAMED | TF_UNCOMMON;
	ro[8 + 21] = ro[8 + 22] = 8;
	ro[8 + 23] = K_INT;
	put(ro + 8 + 40, name - TYPES, 4);
	memcpy(ro + (name - TYPES), "\0\3" "int", 5);
	memcpy(ro + (name - TYPES) + 16, "\0\1" "f", 3);
	for (size_t i = 0; i < NFIELDS; i++) {
		put(ro + (fields - TYPES) + 24 * i, name + 16, 8);
		put(ro + (fields - TYPES) + 24 * i + 8, named, 8);
	}
	for (size_t i = 0; i < NSTRUCTS; i++) {
		uint8_t *h = ro + (structs - TYPES) + 80 * i;

		put(h, 8, 8);
		h[21] = h[22] = 8;
		h[23] = K_STRUCT;
		put(h + 40, name - TYPES, 4);
		put(h + 56, fields, 8);
		put(h + 64, NFIELDS, 8);
		put(h + 72, NFIELDS, 8);
		put(ro + (links - TYPES) + 4 * i, structs + 80 * i - TYPES, 4);
	}
	put(ro + (tsm - TYPES) + 16, TEXT, 8);
	put(md + 8 * 22, TEXT, 8);
	put(md + 8 * 37, TYPES, 8);
	put(md + 8 * 38, links, 8);
	put(md + 8 * 42, tsm, 8);
	put(md + 8 * 43, 1, 8);
	put(md + 8 * 44, 1, 8);
	put(md + 8 * 45, links, 8);
	put(md + 8 * 46, NSTRUCTS, 8);
	put(md + 8 * 47, NSTRUCTS, 8);
	CHECK(typedata__open_image(&img, &td) == 0);
	if (td) {
		CHECK(typedata__find(td, "nowhere.T", &t) == -E2BIG);
		CHECK(typedata__find(td, "int", &t) == 0 && t == named);
		typedata__free(td);
	}
	free(ro);
}

/* fuzz_typedata's input: see test/fuzz/fuzz_typedata.c. */
static void write_seed(const char *dir, const char *name)
{
	char path[4096];
	uint8_t hdr[24] = "TDI1";
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f) {
		perror(path);
		exit(1);
	}
	hdr[4] = (uint8_t)im.minor;
	put(hdr + 6, 2, 2);
	put(hdr + 8, MD_ADDR, 8);
	put(hdr + 16, 0xfffffff1u, 4);
	put(hdr + 20, im.nrelocs, 4);
	fwrite(hdr, 1, sizeof(hdr), f);
	for (int s = 0; s < 2; s++) {
		uint8_t seg[16] = { 0 };

		put(seg, s ? MD_ADDR : TYPES, 8);
		put(seg + 8, s ? sizeof(im.md) : RO_LEN, 4);
		fwrite(seg, 1, sizeof(seg), f);
	}
	for (size_t i = 0; i < im.nrelocs; i++) {
		uint8_t r[16];

		put(r, im.relocs[i].where, 8);
		put(r + 8, im.relocs[i].addend, 8);
		fwrite(r, 1, sizeof(r), f);
	}
	fwrite(im.ro, 1, RO_LEN, f);
	fwrite(im.md, 1, sizeof(im.md), f);
	if (fclose(f)) {
		perror(path);
		exit(1);
	}
}

static int write_seeds(const char *dir)
{
	for (size_t i = 0; i < NERAS; i++) {
		for (int rela = 0; rela < 2; rela++) {
			char name[64];

			build_program(eras[i].minor, rela);
			snprintf(name, sizeof(name), "image-go1.%d%s", eras[i].minor,
				 rela ? "-rela" : "");
			write_seed(dir, name);
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "--seeds"))
		return write_seeds(argv[2]);
	test_eras();
	test_versions();
	test_hostile();
	test_caps();
	test_truncated();
	test_mutations();
	return ut_summary();
}
