/* SPDX-License-Identifier: MIT */
/*
 * Names of the interface tables (itabs) a Go binary links, from its .symtab:
 * "go:itab.*github.com/jackc/pgx/v5/pgconn.PgError,error" says that the itab
 * at that address pairs the dynamic type *pgconn.PgError with the interface
 * error. BPF records an interface value's itab; this names its type. Without
 * .symtab, the runtime type data's itab list names them the same way. Itabs
 * the runtime builds at run time stay unnamed.
 */
#ifndef OTRACE_ITABS_H
#define OTRACE_ITABS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gobin.h"

struct itab_names;

/*
 * Reads the itab symbols of gb, or without .symtab its type data's itabs
 * (none when neither can be read); gb must outlive the table.
 */
int itab_names__load(const struct gobin *gb, struct itab_names **out);
/* Builds a table from symbols (address, name); the names must outlive it. */
int itab_names__from_symbols(const uint64_t *vaddrs, const char *const *names, size_t n,
			     struct itab_names **out);
void itab_names__free(struct itab_names *t);
size_t itab_names__count(const struct itab_names *t);
/*
 * The dynamic type of the itab at link-time address vaddr, as Go's linker
 * spells it ("*github.com/jackc/pgx/v5/pgconn.PgError", not NUL-terminated:
 * *len bytes), or NULL when no itab symbol starts there. t may be NULL.
 */
const char *itab_names__type(const struct itab_names *t, uint64_t vaddr, size_t *len);

/* An itab a probe compares an interface value's itab with: its dynamic type. */
struct go_itab {
	const char *type;  /* in: the dynamic type as Go spells it: "*net/http.response" */
	const char *iface; /* in: the interface: "net/http.ResponseWriter" */
	uint64_t vaddr;	   /* out: the itab's link-time address, 0 when not known */
};

/*
 * Fills vaddr of each itab that gb links, from its .symtab (a vendored copy's
 * types match without their vendor prefix). A binary without symbols leaves
 * them 0: its runtime itablinks are not read yet. Returns how many were found.
 */
int itabs__find(const struct gobin *gb, struct go_itab *itabs, size_t n);
/* Whether symbol names the itab pairing type with iface (see itabs__find). */
bool itabs__symbol_is(const char *symbol, const char *type, const char *iface);

#endif
