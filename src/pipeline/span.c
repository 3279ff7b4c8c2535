// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "library.h"
#include "span.h"
#include "traceparent.h"
#include "validate.h"

/*
 * The wall clock is read again this often: a clock step (NTP, an operator)
 * while tracing then shifts only the spans decoded before the next reading,
 * not every span until otrace exits.
 */
#define CLOCK_RESYNC_NS 1000000000ull

struct span_assembler {
	int64_t mono_to_unix; /* add to CLOCK_MONOTONIC ns to get Unix ns */
	uint64_t synced_mono; /* CLOCK_MONOTONIC when mono_to_unix was taken */
	int (*gettime)(clockid_t clock, struct timespec *ts); /* clock_gettime; tests replace it */
	struct span_config cfg;
};

static uint64_t timespec_ns(const struct timespec *ts)
{
	return (uint64_t)ts->tv_sec * 1000000000ull + (uint64_t)ts->tv_nsec;
}

/* Reads both clocks several times and keeps the tightest bracket. */
static void sync_clock(struct span_assembler *sa)
{
	uint64_t best_gap = UINT64_MAX;

	for (int i = 0; i < 5; i++) {
		struct timespec m1, r, m2;
		uint64_t gap;

		sa->gettime(CLOCK_MONOTONIC, &m1);
		sa->gettime(CLOCK_REALTIME, &r);
		sa->gettime(CLOCK_MONOTONIC, &m2);
		gap = timespec_ns(&m2) - timespec_ns(&m1);
		if (gap < best_gap) {
			best_gap = gap;
			sa->mono_to_unix =
				(int64_t)timespec_ns(&r) - (int64_t)(timespec_ns(&m1) + gap / 2);
			sa->synced_mono = timespec_ns(&m1);
		}
	}
}

void span_assembler__resync_clock(struct span_assembler *sa)
{
	struct timespec now;

	if (sa->gettime(CLOCK_MONOTONIC, &now) == 0 &&
	    timespec_ns(&now) - sa->synced_mono >= CLOCK_RESYNC_NS)
		sync_clock(sa);
}

void span_assembler__set_clock(struct span_assembler *sa,
			       int (*gettime)(clockid_t clock, struct timespec *ts))
{
	sa->gettime = gettime ? gettime : clock_gettime;
	sync_clock(sa);
}

int span_assembler__new(struct span_assembler **out)
{
	struct span_assembler *sa = calloc(1, sizeof(*sa));

	if (!sa)
		return -ENOMEM;
	sa->gettime = clock_gettime;
	sync_clock(sa);

	*out = sa;
	return 0;
}

void span_assembler__free(struct span_assembler *sa)
{
	free(sa);
}

void span_assembler__configure(struct span_assembler *sa, const struct span_config *cfg)
{
	sa->cfg = *cfg;
}

uint64_t span_assembler__unix_ns(const struct span_assembler *sa, uint64_t mono_ns)
{
	return (uint64_t)((int64_t)mono_ns + sa->mono_to_unix);
}

const struct span_config *span__config(const struct span_decoding *d)
{
	return &d->sa->cfg;
}

const struct span_binary *span__binary(const struct span_decoding *d, uint32_t pid)
{
	const struct span_config *cfg = &d->sa->cfg;
	const struct span_binary *b = cfg->binary_of ? cfg->binary_of(cfg->binary_ctx, pid) : NULL;

	return b ? b : &cfg->binary;
}

const void *span__library_data(const struct span_decoding *d, uint32_t pid)
{
	const struct plan *plan = span__binary(d, pid)->plan;

	return plan ? plan->libs[d->library].data : NULL;
}

/*
 * str, or where the span keeps it when it lies in the record being decoded:
 * copied into s->rec at its offset in the record. NULL for a string that
 * begins in the record and runs past its end (a decoder's bug, refused).
 */
static const char *own_string(struct span *s, const char *str, size_t len)
{
	uintptr_t at = (uintptr_t)str, base = (uintptr_t)s->rec_src;

	if (!s->rec_src || at < base || at >= base + s->rec_src_len)
		return str;
	if (len > s->rec_src_len - (at - base))
		return NULL;
	memcpy(s->rec + (at - base), str, len);
	return (const char *)s->rec + (at - base);
}

static struct attr *add_attr(struct span *s, const char *key)
{
	struct attr *a;

	if (s->nattrs >= SPAN_MAX_ATTRS)
		return NULL;
	a = &s->attrs[s->nattrs++];
	memset(a, 0, sizeof(*a));
	a->key = key;
	return a;
}

/* Adds str as attribute key if valid(str) holds, else counts it. */
static bool add_checked(struct span *s, const char *key, const char *str, size_t len,
			bool truncated, bool (*valid)(const char *, size_t))
{
	struct attr *a;

	if (!valid(str, len) || !(str = own_string(s, str, len))) {
		s->invalid++;
		return false;
	}
	a = add_attr(s, key);
	if (!a)
		return false;
	a->type = ATTR_STRING;
	a->str = str;
	a->len = len;
	a->truncated = truncated;
	return true;
}

bool span__add_captured(struct span *s, const char *key, const char *buf, size_t cap,
			uint32_t full_len)
{
	return add_checked(s, key, buf, span__captured(full_len, cap), full_len > cap,
			   validate__line);
}

bool span__add_captured_text(struct span *s, const char *key, const char *buf, size_t cap,
			     uint32_t full_len)
{
	return add_checked(s, key, buf, span__captured(full_len, cap), full_len > cap,
			   validate__text);
}

bool span__add_string(struct span *s, const char *key, const char *str, size_t len)
{
	return add_checked(s, key, str, len, false, validate__line);
}

void span__add_int(struct span *s, const char *key, int64_t v)
{
	struct attr *a = add_attr(s, key);

	if (a) {
		a->type = ATTR_INT;
		a->num = v;
	}
}

const char *span__keep(struct span *s, const char *str, size_t len)
{
	char *dst;

	if (s->scratch_used + len > sizeof(s->scratch))
		return NULL;
	dst = s->scratch + s->scratch_used;
	memcpy(dst, str, len);
	s->scratch_used += len;
	return dst;
}

size_t span__captured(uint32_t full_len, size_t cap)
{
	return full_len > cap ? cap : full_len;
}

const void *span__read_record(struct span *s, const void *rec, size_t size)
{
	if (size > sizeof(s->rec))
		return NULL;
	s->rec_src = rec;
	s->rec_src_len = size;
	return rec;
}

int span__parse_traceparent(const char *s, size_t len, uint8_t trace_id[16],
			    uint8_t parent_id[8], uint8_t *trace_flags)
{
	return ot_parse_traceparent(s, len, trace_id, parent_id, trace_flags) ? -EINVAL : 0;
}

bool span__link_traceparent(struct span *s, const char *tp, size_t len)
{
	uint8_t flags;

	if (span__parse_traceparent(tp, len, s->link.trace_id, s->link.span_id, &flags))
		return s->has_link = false;
	s->link.flags = flags | SPAN_FLAGS_HAS_IS_REMOTE | SPAN_FLAGS_IS_REMOTE;
	return s->has_link = true;
}

/* The ids were made in BPF when the span started (children needed them). */
static void apply_ids(struct span *s, const struct ot_span_ids *ids, bool has_parent)
{
	memcpy(s->trace_id, ids->trace_id, sizeof(s->trace_id));
	memcpy(s->span_id, ids->span_id, sizeof(s->span_id));
	s->has_parent = has_parent;
	if (has_parent)
		memcpy(s->parent_span_id, ids->parent_span_id, sizeof(s->parent_span_id));
	s->flags = ids->trace_flags | SPAN_FLAGS_HAS_IS_REMOTE;
	if (has_parent && ids->parent_remote)
		s->flags |= SPAN_FLAGS_IS_REMOTE;
}

void span__set_identity(const struct span_decoding *d, struct span *s, enum span_kind kind,
			uint32_t pid, uint64_t start_ns, uint64_t end_ns,
			const struct ot_span_ids *ids, bool has_parent)
{
	s->kind = kind;
	s->pid = pid;
	s->start_unix_ns = span_assembler__unix_ns(d->sa, start_ns);
	s->end_unix_ns = span_assembler__unix_ns(d->sa, end_ns);
	if (has_parent && !validate__id(ids->parent_span_id, sizeof(ids->parent_span_id))) {
		has_parent = false; /* a parent without an id is none */
		s->invalid++;
	}
	apply_ids(s, ids, has_parent);
}

void span__set_status_message(struct span *s, const char *buf, size_t cap, uint32_t full_len)
{
	size_t n = span__captured(full_len, cap);

	if (s->status != STATUS_ERROR || !n)
		return;
	if (!validate__line(buf, n) || !(buf = own_string(s, buf, n))) {
		s->invalid++;
		return;
	}
	s->status_message = buf;
	s->status_message_len = n;
	s->status_message_truncated = full_len > cap;
}

void span__set_name(struct span *s, const char *first, size_t first_len, const char *second,
		    size_t second_len)
{
	size_t cap = sizeof(s->name);

	s->name_len = first_len < cap ? first_len : cap;
	memcpy(s->name, first, s->name_len);
	if (second && !validate__line(second, second_len)) {
		s->invalid++;
		return;
	}
	if (second && s->name_len + 1 + second_len <= cap) {
		s->name[s->name_len++] = ' ';
		memcpy(s->name + s->name_len, second, second_len);
		s->name_len += second_len;
	}
}

int span_assembler__decode(struct span_assembler *sa, const void *data, size_t size,
			   struct span *span)
{
	const struct library *lib;
	struct span_decoding d = { .sa = sa };
	struct ot_rec_hdr hdr;
	int err;

	if (size < sizeof(hdr))
		return -EINVAL;
	memcpy(&hdr, data, sizeof(hdr));
	if (hdr.size > size)
		return -EINVAL;
	lib = library__of_record(hdr.type);
	if (!lib)
		return -EINVAL;
	d.library = library__index(lib);
	memset(span, 0, offsetof(struct span, name));
	err = lib->decode(&d, data, hdr.size, span);
	span->rec_src = NULL; /* the record is the ring buffer's again */
	if (err)
		return -EINVAL;
	/* ids are made in BPF: all zero means the record is not what it claims */
	if (!validate__id(span->trace_id, sizeof(span->trace_id)) ||
	    !validate__id(span->span_id, sizeof(span->span_id)))
		return -EINVAL;
	return 0;
}
