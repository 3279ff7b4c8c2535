// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "otlp_proto.h"
#include "utf8.h"

/* Wire types */
enum { WT_VARINT = 0, WT_I64 = 1, WT_LEN = 2, WT_I32 = 5 };

#define TAG(field, wt) (((field) << 3) | (wt))

/* Field numbers of opentelemetry/proto/{collector/trace/v1,trace/v1,common/v1,resource/v1} */
enum {
	REQUEST_RESOURCE_SPANS = 1,
	RESOURCE_SPANS_RESOURCE = 1,
	RESOURCE_SPANS_SCOPE_SPANS = 2,
	RESOURCE_SPANS_SCHEMA_URL = 3,
	RESOURCE_ATTRIBUTES = 1,
	SCOPE_SPANS_SCOPE = 1,
	SCOPE_SPANS_SPANS = 2,
	SCOPE_SPANS_SCHEMA_URL = 3,
	SCOPE_NAME = 1,
	SCOPE_VERSION = 2,
	SPAN_TRACE_ID = 1,
	SPAN_SPAN_ID = 2,
	SPAN_PARENT_SPAN_ID = 4,
	SPAN_NAME = 5,
	SPAN_KIND = 6,
	SPAN_START = 7,
	SPAN_END = 8,
	SPAN_ATTRIBUTES = 9,
	SPAN_LINKS = 13,
	SPAN_STATUS = 15,
	SPAN_FLAGS = 16,
	LINK_TRACE_ID = 1,
	LINK_SPAN_ID = 2,
	LINK_FLAGS = 6,
	STATUS_CODE = 3,
	SPAN_STATUS_MESSAGE = 2,
	KV_KEY = 1,
	KV_VALUE = 2,
	ANY_STRING = 1,
	ANY_INT = 3,
	RESPONSE_PARTIAL_SUCCESS = 1,
	PARTIAL_REJECTED_SPANS = 1,
	PARTIAL_ERROR_MESSAGE = 2,
	STATUS_MESSAGE = 2, /* google.rpc.Status, the body of OTLP/HTTP failures */
};

/* Room reserved for a nested message's length: a span stays far below 2 MiB. */
#define SPAN_LEN_ROOM  3
#define GROUP_LEN_ROOM 5

static inline size_t varint_len(uint64_t v)
{
	size_t n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

/* Writes v at p (room for it known); returns the end. */
static inline uint8_t *write_varint(uint8_t *p, uint64_t v)
{
	while (v >= 0x80) {
		*p++ = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	*p++ = (uint8_t)v;
	return p;
}

static inline uint8_t *tail(struct otlp_buf *b)
{
	return (uint8_t *)b->data + b->len;
}

static inline void put_varint(struct otlp_buf *b, uint64_t v)
{
	if (otlp_buf__reserve(b, 10))
		b->len = (size_t)((char *)write_varint(tail(b), v) - b->data);
}

static inline void put_fixed(struct otlp_buf *b, uint32_t tag, uint64_t v, size_t n)
{
	uint8_t *p;

	if (!otlp_buf__reserve(b, 2 + n))
		return;
	p = write_varint(tail(b), tag);
	for (size_t i = 0; i < n; i++)
		*p++ = (uint8_t)(v >> (8 * i)); /* little-endian */
	b->len = (size_t)((char *)p - b->data);
}

/* A length-delimited field whose bytes are known (ids, valid strings). */
static void put_len_field(struct otlp_buf *b, uint32_t tag, const void *data, size_t len)
{
	uint8_t *p;

	if (!otlp_buf__reserve(b, 2 + 10 + len))
		return;
	p = write_varint(tail(b), tag);
	p = write_varint(p, len);
	memcpy(p, data, len);
	b->len = (size_t)((char *)p - b->data) + len;
}

/*
 * A string as valid UTF-8, repaired as the JSON encoder repairs it. Returns
 * the bytes to write (s itself, or fixed) and their length; *owned is set
 * when fixed was allocated and must be freed.
 */
static const char *valid_utf8(const char *s, size_t *len, bool truncated, char *stack,
			      size_t stack_cap, char **owned)
{
	char *fixed;

	*owned = NULL;
	if (utf8__valid(s, *len))
		return s;
	fixed = 3 * *len <= stack_cap ? stack : malloc(3 * *len);
	if (!fixed)
		return NULL;
	if (fixed != stack)
		*owned = fixed;
	*len = utf8__repair(s, *len, truncated, fixed);
	return fixed;
}

static void put_string_field(struct otlp_buf *b, uint32_t tag, const char *s, size_t len,
			     bool truncated)
{
	char stack[512], *owned;
	const char *v = valid_utf8(s, &len, truncated, stack, sizeof(stack), &owned);

	if (!v) {
		b->failed = true;
		return;
	}
	put_len_field(b, tag, v, len);
	free(owned);
}

/* Starts a nested message: its tag, then room for its length. Returns where it starts. */
static size_t open_message(struct otlp_buf *b, uint32_t tag, size_t room)
{
	size_t at;

	put_varint(b, tag);
	at = b->len;
	if (otlp_buf__reserve(b, room))
		b->len += room;
	return at;
}

/* Writes the length of the message opened at at, moving its content to follow it. */
static void close_message(struct otlp_buf *b, size_t at, size_t room)
{
	size_t content, n;
	uint8_t *start;

	if (b->failed)
		return;
	content = b->len - at - room;
	n = varint_len(content);
	if (n > room && !otlp_buf__reserve(b, n - room))
		return;
	start = (uint8_t *)b->data + at;
	if (n != room)
		memmove(start + n, start + room, content);
	write_varint(start, content);
	b->len = at + n + content;
}

/*
 * KeyValue{key, AnyValue{string_value | int_value}}, its sizes computed up
 * front: every field's length is known once the value is valid UTF-8.
 */
static void put_attr(struct otlp_buf *b, uint32_t tag, const struct attr *a)
{
	size_t klen = strlen(a->key), vlen = a->len, any, kv;
	char stack[512], *owned = NULL;
	const char *v = NULL;
	uint64_t num = 0;
	uint8_t *p;

	if (a->type == ATTR_INT) {
		num = (uint64_t)a->num; /* int64 as a two's complement varint */
		any = 1 + varint_len(num);
	} else {
		v = valid_utf8(a->str, &vlen, a->truncated, stack, sizeof(stack), &owned);
		if (!v) {
			b->failed = true;
			return;
		}
		any = 1 + varint_len(vlen) + vlen;
	}
	kv = 1 + varint_len(klen) + klen + 1 + varint_len(any) + any;
	if (otlp_buf__reserve(b, 2 + varint_len(kv) + kv)) {
		p = write_varint(tail(b), tag);
		p = write_varint(p, kv);
		*p++ = TAG(KV_KEY, WT_LEN);
		p = write_varint(p, klen);
		memcpy(p, a->key, klen);
		p += klen;
		*p++ = TAG(KV_VALUE, WT_LEN);
		p = write_varint(p, any);
		if (a->type == ATTR_INT) {
			*p++ = TAG(ANY_INT, WT_VARINT);
			p = write_varint(p, num);
		} else {
			*p++ = TAG(ANY_STRING, WT_LEN);
			p = write_varint(p, vlen);
			memcpy(p, v, vlen);
			p += vlen;
		}
		b->len = (size_t)((char *)p - b->data);
	}
	free(owned);
}

static void put_span(struct otlp_buf *b, const struct span *s)
{
	size_t at = open_message(b, TAG(SCOPE_SPANS_SPANS, WT_LEN), SPAN_LEN_ROOM);

	put_len_field(b, TAG(SPAN_TRACE_ID, WT_LEN), s->trace_id, sizeof(s->trace_id));
	put_len_field(b, TAG(SPAN_SPAN_ID, WT_LEN), s->span_id, sizeof(s->span_id));
	if (s->has_parent)
		put_len_field(b, TAG(SPAN_PARENT_SPAN_ID, WT_LEN), s->parent_span_id,
			      sizeof(s->parent_span_id));
	put_string_field(b, TAG(SPAN_NAME, WT_LEN), s->name, s->name_len, false);
	put_varint(b, TAG(SPAN_KIND, WT_VARINT));
	put_varint(b, (uint64_t)s->kind);
	put_fixed(b, TAG(SPAN_START, WT_I64), s->start_unix_ns, 8);
	put_fixed(b, TAG(SPAN_END, WT_I64), s->end_unix_ns, 8);
	for (size_t i = 0; i < s->nattrs; i++)
		put_attr(b, TAG(SPAN_ATTRIBUTES, WT_LEN), &s->attrs[i]);
	if (s->has_link) {
		/* Link{trace_id, span_id, flags}: 33 bytes */
		size_t link = open_message(b, TAG(SPAN_LINKS, WT_LEN), 1);

		put_len_field(b, TAG(LINK_TRACE_ID, WT_LEN), s->link.trace_id,
			      sizeof(s->link.trace_id));
		put_len_field(b, TAG(LINK_SPAN_ID, WT_LEN), s->link.span_id, sizeof(s->link.span_id));
		put_fixed(b, TAG(LINK_FLAGS, WT_I32), s->link.flags, 4);
		close_message(b, link, 1);
	}
	if (s->status_message_len) {
		/* Status{message, code}: the message may need two bytes of length */
		size_t status = open_message(b, TAG(SPAN_STATUS, WT_LEN), 2);

		put_string_field(b, TAG(SPAN_STATUS_MESSAGE, WT_LEN), s->status_message,
				 s->status_message_len, s->status_message_truncated);
		put_varint(b, TAG(STATUS_CODE, WT_VARINT));
		put_varint(b, (uint64_t)s->status);
		close_message(b, status, 2);
	} else if (s->status != STATUS_UNSET) {
		/* Status{code}: two bytes of content */
		uint8_t status[] = { TAG(STATUS_CODE, WT_VARINT), (uint8_t)s->status };

		put_len_field(b, TAG(SPAN_STATUS, WT_LEN), status, sizeof(status));
	}
	if (s->flags)
		put_fixed(b, TAG(SPAN_FLAGS, WT_I32), s->flags, 4);
	close_message(b, at, SPAN_LEN_ROOM);
}

static void put_resource(struct otlp_buf *b, const struct otlp_resource *r)
{
	size_t at = open_message(b, TAG(RESOURCE_SPANS_RESOURCE, WT_LEN), GROUP_LEN_ROOM);

	for (size_t i = 0; i < r->nattrs; i++)
		put_attr(b, TAG(RESOURCE_ATTRIBUTES, WT_LEN), &r->attrs[i]);
	close_message(b, at, GROUP_LEN_ROOM);
}

static void put_scope(struct otlp_buf *b)
{
	static const char name[] = "otrace", version[] = OTRACE_VERSION;
	size_t at = open_message(b, TAG(SCOPE_SPANS_SCOPE, WT_LEN), 1);

	put_len_field(b, TAG(SCOPE_NAME, WT_LEN), name, sizeof(name) - 1);
	put_len_field(b, TAG(SCOPE_VERSION, WT_LEN), version, sizeof(version) - 1);
	close_message(b, at, 1);
}

static void put_group(struct otlp_buf *b, const struct otlp_group *g)
{
	static const char schema[] = OTLP_SCHEMA_URL;
	size_t rs = open_message(b, TAG(REQUEST_RESOURCE_SPANS, WT_LEN), GROUP_LEN_ROOM), ss;

	put_resource(b, g->resource);
	ss = open_message(b, TAG(RESOURCE_SPANS_SCOPE_SPANS, WT_LEN), GROUP_LEN_ROOM);
	put_scope(b);
	for (size_t i = 0; i < g->nspans; i++)
		put_span(b, g->spans[i]);
	put_len_field(b, TAG(SCOPE_SPANS_SCHEMA_URL, WT_LEN), schema, sizeof(schema) - 1);
	close_message(b, ss, GROUP_LEN_ROOM);
	put_len_field(b, TAG(RESOURCE_SPANS_SCHEMA_URL, WT_LEN), schema, sizeof(schema) - 1);
	close_message(b, rs, GROUP_LEN_ROOM);
}

int otlp_proto__encode(struct otlp_buf *b, const struct otlp_group *groups, size_t ngroups)
{
	b->len = 0;
	b->failed = false;
	for (size_t g = 0; g < ngroups; g++)
		put_group(b, &groups[g]);
	return b->failed ? -ENOMEM : 0;
}

/* A bounded reader of protobuf wire data. */
struct reader {
	const uint8_t *p, *end;
};

static int read_varint(struct reader *r, uint64_t *v)
{
	*v = 0;
	for (int shift = 0; shift < 64; shift += 7) {
		if (r->p == r->end)
			return -EINVAL;
		*v |= (uint64_t)(*r->p & 0x7f) << shift;
		if (!(*r->p++ & 0x80))
			return 0;
	}
	return -EINVAL;
}

/* Skips a field's value of wire type wt; a length-delimited one is returned in sub. */
static int read_value(struct reader *r, int wt, uint64_t *num, struct reader *sub)
{
	uint64_t len;

	switch (wt) {
	case WT_VARINT:
		return read_varint(r, num);
	case WT_I64:
	case WT_I32:
		len = wt == WT_I64 ? 8 : 4;
		break;
	case WT_LEN:
		if (read_varint(r, &len))
			return -EINVAL;
		break;
	default:
		return -EINVAL; /* groups are not used by OTLP */
	}
	if (len > (uint64_t)(r->end - r->p))
		return -EINVAL;
	*sub = (struct reader){ r->p, r->p + len };
	r->p += len;
	return 0;
}

/* Calls field(ctx, number, wire type, varint, bytes) for each field of a message. */
static int read_message(struct reader r,
			int (*field)(void *ctx, uint64_t num, int wt, uint64_t v,
				     struct reader sub),
			void *ctx)
{
	while (r.p < r.end) {
		struct reader sub = { 0 };
		uint64_t key, v = 0;

		if (read_varint(&r, &key) || read_value(&r, (int)(key & 7), &v, &sub))
			return -EINVAL;
		if (field(ctx, key >> 3, (int)(key & 7), v, sub))
			return -EINVAL;
	}
	return 0;
}

struct partial {
	int64_t rejected;
	char *msg;
	size_t msgcap;
};

/* Copies a string field as printable text: it ends up in a diagnostic line. */
static void copy_text(char *dst, size_t cap, struct reader sub)
{
	size_t n = (size_t)(sub.end - sub.p), o = 0;

	if (!cap)
		return;
	for (size_t i = 0; i < n && o + 1 < cap; i++)
		dst[o++] = sub.p[i] >= 0x20 && sub.p[i] < 0x7f ? (char)sub.p[i] : '?';
	dst[o] = '\0';
}

static int partial_field(void *ctx, uint64_t num, int wt, uint64_t v, struct reader sub)
{
	struct partial *ps = ctx;

	if (num == PARTIAL_REJECTED_SPANS && wt == WT_VARINT)
		ps->rejected = (int64_t)v;
	else if (num == PARTIAL_ERROR_MESSAGE && wt == WT_LEN)
		copy_text(ps->msg, ps->msgcap, sub);
	return 0;
}

static int response_field(void *ctx, uint64_t num, int wt, uint64_t v, struct reader sub)
{
	(void)v;
	if (num == RESPONSE_PARTIAL_SUCCESS && wt == WT_LEN)
		return read_message(sub, partial_field, ctx);
	return 0;
}

int otlp_proto__parse_response(const void *data, size_t len, int64_t *rejected, char *msg,
			       size_t msgcap)
{
	struct partial ps = { .msg = msg, .msgcap = msgcap };
	struct reader r = { data, (const uint8_t *)data + len };
	int err;

	if (msgcap)
		msg[0] = '\0';
	err = read_message(r, response_field, &ps);
	*rejected = err ? 0 : ps.rejected;
	return err;
}

static int status_field(void *ctx, uint64_t num, int wt, uint64_t v, struct reader sub)
{
	struct partial *ps = ctx;

	(void)v;
	if (num == STATUS_MESSAGE && wt == WT_LEN)
		copy_text(ps->msg, ps->msgcap, sub);
	return 0;
}

int otlp_proto__parse_status(const void *data, size_t len, char *msg, size_t msgcap)
{
	struct partial ps = { .msg = msg, .msgcap = msgcap };
	struct reader r = { data, (const uint8_t *)data + len };

	if (msgcap)
		msg[0] = '\0';
	return read_message(r, status_field, &ps);
}
