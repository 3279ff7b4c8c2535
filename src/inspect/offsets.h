/* SPDX-License-Identifier: MIT */
/*
 * Struct field offsets in the target: DWARF first, the generated tables
 * second, never guessed. A field neither source knows stays at offset -1 and
 * the probes needing it are skipped with a warning naming it.
 *
 * Two tables: standard library types by exact Go release, and types of
 * third-party modules (grpc-go, genproto) by the exact version of the module
 * the type lies in, as the binary's build info names it.
 */
#ifndef OTRACE_OFFSETS_H
#define OTRACE_OFFSETS_H

#include <stdbool.h>
#include <stdint.h>

#include "gobin.h"

struct field_req {
	const char *type;  /* Go type name as in DWARF, e.g. "net/http.Request" */
	const char *field; /* member name */
	int64_t offset;	   /* out: -1 when unknown */
	const char *source; /* out: "dwarf" or "table", NULL when unknown */
};

/* Marks every request unknown (offset -1, no source). */
void field_reqs__reset(struct field_req *reqs, size_t n);

/* Fills what DWARF knows; returns -ENODATA when the binary has no DWARF. */
int dwarf__resolve_fields(Elf *elf, struct field_req *reqs, size_t n);

/* Fills what the generated table knows for this Go version. */
int offsets_table__resolve(const char *go_version, struct field_req *reqs, size_t n);

/*
 * Fills what the generated module table knows for the types of gb's
 * dependency modules: a type belongs to the module whose path is the longest
 * prefix of its package, and rows match that module's exact version (a
 * replaced module: the replacement's path and version, no row for a
 * directory) and a Go release line the row was read from. Returns the
 * number filled, -ENOENT when the binary names no Go release.
 */
int offsets_table__resolve_modules(const struct gobin *gb, struct field_req *reqs, size_t n);

/*
 * Fills fields of runtime-internal types without a type descriptor
 * (runtime.g, runtime.m) from a table keyed by Go minor release (see
 * offsets_runtime.c); returns the number filled, -ENOENT for an unknown release.
 */
int offsets_runtime__resolve(const char *go_version, struct field_req *reqs, size_t n);

/* DWARF, then the tables, for every request; returns the number unresolved. */
int offsets__resolve(const struct gobin *gb, struct field_req *reqs, size_t n);

#endif
