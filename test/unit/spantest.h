/* SPDX-License-Identifier: MIT */
/* Looking into decoded spans, for the decoders' tests. */
#ifndef OTRACE_TEST_SPANTEST_H
#define OTRACE_TEST_SPANTEST_H

#include <stdlib.h>
#include <string.h>

#include "span.h"

/*
 * Decodes size bytes of rec as otrace does a record in the ring buffer,
 * which is the kernel's again once decoding returns: from a copy that is
 * cleared and freed right after (explicit_bzero: a memset before free is
 * optimised away), so that a span pointing into its record shows zeros,
 * and the sanitizers a use after free.
 */
static inline int decode_from_ring(struct span_assembler *sa, const void *rec, size_t size,
				   struct span *s)
{
	void *ring = malloc(size ? size : 1);
	int err;

	if (!ring)
		abort();
	memcpy(ring, rec, size);
	err = span_assembler__decode(sa, ring, size, s);
	explicit_bzero(ring, size);
	free(ring);
	return err;
}

static inline const struct attr *find(const struct span *s, const char *key)
{
	for (size_t i = 0; i < s->nattrs; i++)
		if (!strcmp(s->attrs[i].key, key))
			return &s->attrs[i];
	return NULL;
}

static inline int str_is(const struct span *s, const char *key, const char *want)
{
	const struct attr *a = find(s, key);

	return a && a->type == ATTR_STRING && a->len == strlen(want) &&
	       !memcmp(a->str, want, a->len);
}

static inline int int_is(const struct span *s, const char *key, int64_t want)
{
	const struct attr *a = find(s, key);

	return a && a->type == ATTR_INT && a->num == want;
}

static inline int name_is(const struct span *s, const char *want)
{
	return s->name_len == strlen(want) && !memcmp(s->name, want, s->name_len);
}

#endif
