/* SPDX-License-Identifier: MIT */
/*
 * Struct layouts from a Go binary's own runtime type descriptors: every type
 * used through an interface, a method or reflection keeps a descriptor with
 * its name, size, kind and, for a struct, each field's name, type and offset,
 * stripped (-s -w) or not. They are reached from runtime.firstmoduledata
 * (typelinks and itabs) and from each other.
 *
 * Go 1.17 to 1.27 on x86-64. A type is a handle: the link-time address of its
 * descriptor (0 is none); it stays valid while the typedata lives.
 */
#ifndef OTRACE_TYPEDATA_H
#define OTRACE_TYPEDATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gobin.h"

struct typedata;

/* reflect.Kind */
enum typedata_kind {
	TYPEDATA_BOOL = 1,
	TYPEDATA_INT,
	TYPEDATA_INT8,
	TYPEDATA_INT16,
	TYPEDATA_INT32,
	TYPEDATA_INT64,
	TYPEDATA_UINT,
	TYPEDATA_UINT8,
	TYPEDATA_UINT16,
	TYPEDATA_UINT32,
	TYPEDATA_UINT64,
	TYPEDATA_UINTPTR,
	TYPEDATA_FLOAT32,
	TYPEDATA_FLOAT64,
	TYPEDATA_COMPLEX64,
	TYPEDATA_COMPLEX128,
	TYPEDATA_ARRAY,
	TYPEDATA_CHAN,
	TYPEDATA_FUNC,
	TYPEDATA_INTERFACE,
	TYPEDATA_MAP,
	TYPEDATA_POINTER,
	TYPEDATA_SLICE,
	TYPEDATA_STRING,
	TYPEDATA_STRUCT,
	TYPEDATA_UNSAFE_POINTER,
};

struct typedata_field {
	const char *name; /* name_len bytes in the binary's mapping, not NUL-terminated */
	size_t name_len;
	uint64_t offset; /* in the struct */
	uint64_t size;	 /* of the field's type */
	uint64_t type;	 /* the field's type */
	int kind;	 /* enum typedata_kind of the field's type */
	bool embedded;
};

/* Bytes loaded at vaddr, for typedata__open_image(). */
struct typedata_segment {
	uint64_t vaddr;
	const uint8_t *data;
	size_t len;
};

/* An R_X86_64_RELATIVE relocation: the loader writes addend (+ bias) at where. */
struct typedata_reloc {
	uint64_t where;
	uint64_t addend;
};

/*
 * A binary's loaded bytes without an ELF file around them (tests, fuzzing).
 * relocs, when given, supply every pointer they cover (a PIE whose linker left
 * the targets zero); go_version may be NULL, then pclntab_magic tells the era.
 */
struct typedata_image {
	const struct typedata_segment *segs;
	size_t nsegs;
	const struct typedata_reloc *relocs;
	size_t nrelocs;
	uint64_t moduledata; /* address of runtime.firstmoduledata */
	const char *go_version;
	uint32_t pclntab_magic;
};

/*
 * Reads the type data of gb (its pclntab leads to moduledata); *out borrows
 * gb's mapping: free it first. Returns 0, -ENOENT (no moduledata found),
 * -ENOTSUP (a release before Go 1.17, or one the binary does not name and
 * its layout cannot tell), -EINVAL (moduledata matches no known layout) or
 * -ENOMEM.
 */
int typedata__open(const struct gobin *gb, struct typedata **out);
/* The same on an image; its segments must outlive *out. */
int typedata__open_image(const struct typedata_image *img, struct typedata **out);
void typedata__free(struct typedata *td);

/*
 * The named type called name as DWARF spells it ("net/http.Request",
 * "google.golang.org/grpc/internal/transport.Stream", "error"). The first call
 * walks the whole type graph (bounded). Returns 0, -ENOENT, -ENOTUNIQ (two
 * descriptors of that name: types local to functions), or -E2BIG when the
 * graph exceeded the caps before the name was found.
 */
int typedata__find(struct typedata *td, const char *name, uint64_t *type);

/* enum typedata_kind of type, or -EINVAL when it is no sound descriptor. */
int typedata__kind(const struct typedata *td, uint64_t type);
int typedata__size(const struct typedata *td, uint64_t type, uint64_t *size);
/* The element type of a pointer, slice, array, channel or map; -EINVAL otherwise. */
int typedata__elem(const struct typedata *td, uint64_t type, uint64_t *elem);

/* Number of fields of a struct type, or -EINVAL. */
int typedata__nfields(const struct typedata *td, uint64_t type);
/* The i-th field; -ERANGE past the end, -EINVAL when malformed. */
int typedata__field_at(const struct typedata *td, uint64_t type, size_t i,
		       struct typedata_field *f);
/* The field called name (the first one, for "_"); -ENOENT when there is none. */
int typedata__field(const struct typedata *td, uint64_t type, const char *name,
		    struct typedata_field *f);

/*
 * Writes the name of type into buf (truncated, always terminated when len > 0):
 * the full name of a named type, reflect's string of others ("*http.Request").
 * Returns the full length, or -EINVAL.
 */
int typedata__name(const struct typedata *td, uint64_t type, char *buf, size_t len);

/* An itab the binary links: its link-time address and its dynamic (concrete) type. */
struct typedata_itab {
	uint64_t itab;
	uint64_t type;
};

/*
 * The itabs the walk started from (itablinks; Go 1.27's itab section), in
 * the binary's order (walks on first use); -ERANGE past the end.
 */
int typedata__itab(struct typedata *td, size_t i, struct typedata_itab *itab);
/* Named types found by the walk, in walk order (walks on first use); -ERANGE past the end. */
int typedata__named(struct typedata *td, size_t i, uint64_t *type);
/* Descriptors visited so far. */
size_t typedata__count(const struct typedata *td);
/* The moduledata layout in use, e.g. "go1.20-1.25". */
const char *typedata__layout(const struct typedata *td);

#endif
