/* SPDX-License-Identifier: MIT */
/*
 * Function entries from a Go binary's pclntab (.gopclntab), for binaries
 * stripped of .symtab and DWARF (-ldflags="-s -w"): the runtime needs the
 * pclntab for stack unwinding, so it survives every kind of stripping.
 *
 * Supported layouts: Go 1.16/1.17 (absolute ftab entries), Go 1.18-1.25
 * (32-bit entry offsets from runtime.text, textStart in the header) and
 * Go 1.26+ (same offsets, but the header no longer records textStart).
 */
#ifndef OTRACE_PCLNTAB_H
#define OTRACE_PCLNTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gobin.h"

struct pclntab;

/*
 * Parses a raw pclntab blob. Reads only [data, data + len) and keeps
 * pointers into it: data must outlive *out. text_start is the address of
 * runtime.text (moduledata.text); when non-zero it is used in preference to
 * the header's textStart, which is absent (Go 1.26+) or may be an
 * unrelocated value (PIE). 0 means unknown: layouts that store entries as
 * offsets from the text start then fail with -ENODATA unless the header
 * carries it. Returns 0, -EINVAL (malformed), -ENOTSUP (pre-1.16 layout),
 * -ENODATA or -ENOMEM.
 */
int pclntab__parse(const uint8_t *data, size_t len, uint64_t text_start, struct pclntab **out);

/*
 * Locates and parses the pclntab of an opened Go binary, finding the text
 * start through runtime.firstmoduledata. *out borrows gb's file mapping:
 * free it before gb. Returns 0, -ENOENT (no pclntab), -ENODATA (no sound
 * text start) or an error of pclntab__parse().
 */
int pclntab__open(const struct gobin *gb, struct pclntab **out);

/*
 * Same contract as gobin__find_funcs(): fills vaddr/size (size runs to the
 * next function's entry, padding included) for each wanted name and
 * returns how many were found. One pass over the function table.
 */
int pclntab__find_funcs(const struct pclntab *p, struct go_func *funcs, size_t n);

/*
 * Calls fn with the name of every function in the table until it returns
 * non-zero; returns that value, or 0.
 */
int pclntab__for_each_func(const struct pclntab *p, int (*fn)(void *ctx, const char *name),
			   void *ctx);

void pclntab__free(struct pclntab *p);

/* Layout details, for diagnostics and tests. */
uint32_t pclntab__magic(const struct pclntab *p);
size_t pclntab__nfunc(const struct pclntab *p);
/* runtime.text in use, or 0 for the absolute (Go 1.16/1.17) layout. */
uint64_t pclntab__text_start(const struct pclntab *p);
/*
 * Where it came from: "moduledata", "moduledata-rela" (via PIE relocation
 * addends), "symtab" (runtime.text), "header", "caller" or "absolute".
 */
const char *pclntab__text_source(const struct pclntab *p);

/*
 * The address of runtime.firstmoduledata that pclntab__open() matched to the
 * table, or 0; *rela (may be NULL) is set when its pointers exist only as
 * relocation addends (the file holds zeros there).
 */
uint64_t pclntab__moduledata(const struct pclntab *p, bool *rela);

/*
 * Calls fn for every R_X86_64_RELATIVE entry of gb's dynamic RELA table (found
 * through PT_DYNAMIC): the loader writes addend plus the load bias at where.
 * Returns 0, or -ENOENT when gb has no such table.
 */
int pclntab__relative_relocs(const struct gobin *gb,
			     void (*fn)(void *ctx, uint64_t where, uint64_t addend), void *ctx);

#endif
