// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "packed.h"
#include "records.h"

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

int packed__unpack_record(const struct packed_record *pr, const void *wire, size_t size, void *r)
{
	if (size < pr->head)
		return -EINVAL;
	memset(r, 0, pr->decoded);
	memcpy(r, wire, pr->head); /* the heads are alike */
	return packed__unpack(pr->strings, pr->nstrings, (const char *)wire + pr->head,
			      size - pr->head, r);
}

size_t packed__pack_record(const struct packed_record *pr, const void *r, void *out)
{
	struct ot_rec_hdr *hdr = out;

	memcpy(out, r, pr->head);
	hdr->size = (uint32_t)(pr->head +
			       packed__pack(pr->strings, pr->nstrings, r, (char *)out + pr->head));
	return hdr->size;
}
