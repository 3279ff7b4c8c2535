// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "gobin.h"
#include "name_index.h"

uint32_t name_index__hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h;
}

/* The name entry (slot value) has in table plain or not. */
static const char *slot_name(const struct name_index *x, uint32_t slot, bool plain)
{
	const char *name = x->name(x->ctx, slot - 1);

	return plain ? gobin__devendor(name) : name;
}

/* Entry i into table t under name, unless an entry of that name is there. */
static void insert(struct name_index *x, uint32_t *t, size_t i, const char *name, bool plain)
{
	size_t s = name_index__hash(name) & x->mask;

	for (; t[s]; s = (s + 1) & x->mask)
		if (!strcmp(slot_name(x, t[s], plain), name))
			return;
	t[s] = (uint32_t)i + 1;
}

static long find(const struct name_index *x, const uint32_t *t, const char *name, bool plain)
{
	for (size_t s = name_index__hash(name) & x->mask; t[s]; s = (s + 1) & x->mask)
		if (!strcmp(slot_name(x, t[s], plain), name))
			return (long)t[s] - 1;
	return -1;
}

int name_index__build(struct name_index *x, size_t n, name_index_name_fn name, const void *ctx)
{
	size_t size = 64;

	*x = (struct name_index){ .name = name, .ctx = ctx };
	if (n > UINT32_MAX / 4)
		return -E2BIG;
	/* load factor <= 1/2 keeps probe chains short; a table always has an empty slot */
	while (size < 2 * n)
		size <<= 1;
	x->by_name = calloc(size, sizeof(*x->by_name));
	x->by_plain = calloc(size, sizeof(*x->by_plain));
	if (!x->by_name || !x->by_plain) {
		name_index__free(x);
		return -ENOMEM;
	}
	x->mask = size - 1;
	for (size_t i = 0; i < n; i++) {
		const char *own = name(ctx, i), *plain = gobin__devendor(own);

		insert(x, x->by_name, i, own, false);
		if (plain != own)
			insert(x, x->by_plain, i, plain, true);
	}
	return 0;
}

long name_index__find(const struct name_index *x, const char *name)
{
	long f;

	if (!x->by_name)
		return -1;
	f = find(x, x->by_name, name, false);
	return f >= 0 ? f : find(x, x->by_plain, name, true);
}

void name_index__free(struct name_index *x)
{
	free(x->by_name);
	free(x->by_plain);
	x->by_name = x->by_plain = NULL;
}
