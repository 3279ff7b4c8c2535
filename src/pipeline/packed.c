// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "packed.h"

/* A string's captured bytes: its full length, at most its cap. */
static size_t captured(const void *r, const struct packed_string *p)
{
	uint32_t full;

	memcpy(&full, (const char *)r + p->len, sizeof(full));
	return full < p->cap ? full : p->cap;
}

int packed__unpack(const struct packed_string *ps, size_t nps, const char *strings, size_t n,
		   void *r)
{
	size_t at = 0, k;

	for (size_t i = 0; i < nps; i++) {
		k = captured(r, &ps[i]);
		if (k > n - at)
			return -EINVAL;
		memcpy((char *)r + ps[i].buf, strings + at, k);
		at += k;
	}
	return at == n ? 0 : -EINVAL;
}

size_t packed__pack(const struct packed_string *ps, size_t nps, const void *r, char *strings)
{
	size_t at = 0, k;

	for (size_t i = 0; i < nps; i++) {
		k = captured(r, &ps[i]);
		memcpy(strings + at, (const char *)r + ps[i].buf, k);
		at += k;
	}
	return at;
}
