/* SPDX-License-Identifier: MIT */
/*
 * A binary's functions by name, for .symtab (gobin.c) and .gopclntab
 * (pclntab.c): each library's plan looks up a few names, and a pass over
 * every function for each was most of planning a large program. Built once,
 * in one pass over n entries whose names a callback gives: open-addressed
 * tables of entry + 1, one with every entry under its own name, one with
 * vendored copies under their names without the vendor prefix
 * (gobin__devendor). The first entry of a name wins, as a pass in the
 * entries' order would find; an exact name wins over a vendored copy.
 */
#ifndef OTRACE_NAME_INDEX_H
#define OTRACE_NAME_INDEX_H

#include <stddef.h>
#include <stdint.h>

typedef const char *(*name_index_name_fn)(const void *ctx, size_t i);

struct name_index {
	name_index_name_fn name;
	const void *ctx;
	uint32_t *by_name, *by_plain;
	size_t mask;
};

/* FNV-1a of the NUL-terminated s. */
uint32_t name_index__hash(const char *s);

/* Indexes entries 0..n-1 named by name(ctx, i): 0, -E2BIG or -ENOMEM. */
int name_index__build(struct name_index *x, size_t n, name_index_name_fn name, const void *ctx);

/* The entry named name, exactly, else a vendored copy of it; -1 when none. */
long name_index__find(const struct name_index *x, const char *name);

void name_index__free(struct name_index *x);

#endif
