/* SPDX-License-Identifier: MIT */
/*
 * Struct field offsets in the target: DWARF first, the binary's runtime type
 * data second (typedata.h), and a small table keyed by Go minor release last,
 * for the runtime-internal types that have no type descriptor; never guessed.
 * Nothing is keyed by an exact Go release or module version. A field no
 * source knows stays at offset -1 and the probes needing it are skipped with
 * a warning naming it and where otrace looked (offsets__explain).
 */
#ifndef OTRACE_OFFSETS_H
#define OTRACE_OFFSETS_H

#include <stdbool.h>
#include <stdint.h>

#include "gobin.h"

struct field_req {
	const char *type;  /* Go type name as in DWARF, e.g. "net/http.Request" */
	const char *field; /* member name */
	/*
	 * Optional: the struct type the field must hold, by value or through a
	 * pointer (a hop of a field path, field_path.h). A field holding
	 * anything else stays unknown.
	 */
	const char *holds;
	int64_t offset;	    /* out: -1 when unknown */
	const char *source; /* out: "dwarf", "typedata" or "table", NULL when unknown */
	bool pointer;	    /* out: the field is a pointer to holds, not holds itself */
};

/* Marks every request unknown (offset -1, no source). */
void field_reqs__reset(struct field_req *reqs, size_t n);

/* Whether the binary carries DWARF (.debug_info). */
bool dwarf__present(Elf *elf);
/* Fills what DWARF knows; returns -ENODATA when the binary has no DWARF. */
int dwarf__resolve_fields(Elf *elf, struct field_req *reqs, size_t n);

/*
 * The binary's DWARF struct types by name, read once for many requests (its
 * inflated sections are kept: free it when planning is done).
 */
struct dwarf_index;
/* -ENODATA when the binary has no DWARF. */
int dwarf__open_index(Elf *elf, struct dwarf_index **out);
/* Fills what the index knows (dwarf__resolve_fields with an open index). */
void dwarf__resolve_indexed(const struct dwarf_index *x, struct field_req *reqs, size_t n);
void dwarf__free_index(struct dwarf_index *x);

/*
 * Fills fields of runtime-internal types that may have no type descriptor
 * (runtime.g, runtime.m, runtime.hmap) from a table keyed by Go minor release
 * (see offsets_runtime.c); returns the number filled, -ENOENT for an unknown
 * release.
 */
int offsets_runtime__resolve(const char *go_version, struct field_req *reqs, size_t n);
/* Whether the runtime table has rows for type at all (in any release). */
bool offsets_runtime__knows(const char *type);

/* DWARF, then the type data, then the runtime table; returns the number unresolved. */
int offsets__resolve(const struct gobin *gb, struct field_req *reqs, size_t n);

/*
 * Writes into buf why req is unknown, naming each place otrace looked and
 * what it found there: "no DWARF; the type data has no descriptor of
 * net/http.response". For warnings after offsets__resolve left req unknown.
 */
void offsets__explain(const struct gobin *gb, const struct field_req *req, char *buf, size_t len);

#endif
