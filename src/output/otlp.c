// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "otlp.h"
#include "utf8.h"
#include "word_scan.h"

bool otlp_buf__grow(struct otlp_buf *b, size_t more)
{
	size_t cap;
	char *grown;

	if (b->failed)
		return false;
	cap = b->cap ? b->cap : 4096;
	while (cap < b->len + more)
		cap *= 2;
	grown = realloc(b->data, cap);
	if (!grown) {
		b->failed = true;
		return false;
	}
	b->data = grown;
	b->cap = cap;
	return true;
}

static inline bool reserve(struct otlp_buf *b, size_t more)
{
	return otlp_buf__reserve(b, more);
}

static inline void put(struct otlp_buf *b, const char *s, size_t n)
{
	if (!reserve(b, n))
		return;
	memcpy(b->data + b->len, s, n);
	b->len += n;
}

#define PUT_LIT(b, lit) put((b), (lit), sizeof(lit) - 1)

/* "00".."99": two decimal digits per step, a division where there were two */
static const char digit_pairs[201] = "00010203040506070809101112131415161718192021222324"
				     "25262728293031323334353637383940414243444546474849"
				     "50515253545556575859606162636465666768697071727374"
				     "75767778798081828384858687888990919293949596979899";

static void put_u64(struct otlp_buf *b, uint64_t v)
{
	char tmp[20];
	int n = sizeof(tmp);

	while (v >= 100) {
		unsigned int r = (unsigned int)(v % 100);

		v /= 100;
		n -= 2;
		memcpy(tmp + n, digit_pairs + 2 * r, 2);
	}
	if (v >= 10) {
		n -= 2;
		memcpy(tmp + n, digit_pairs + 2 * v, 2);
	} else {
		tmp[--n] = (char)('0' + v);
	}
	put(b, tmp + n, sizeof(tmp) - (size_t)n);
}

static void put_i64(struct otlp_buf *b, int64_t v)
{
	if (v < 0) {
		PUT_LIT(b, "-");
		put_u64(b, (uint64_t)0 - (uint64_t)v);
	} else {
		put_u64(b, (uint64_t)v);
	}
}

static const char hex_digits[] = "0123456789abcdef";

static void put_hex_string(struct otlp_buf *b, const uint8_t *id, size_t n)
{
	if (!reserve(b, 2 * n + 2))
		return;
	b->data[b->len++] = '"';
	for (size_t i = 0; i < n; i++) {
		b->data[b->len++] = hex_digits[id[i] >> 4];
		b->data[b->len++] = hex_digits[id[i] & 0xf];
	}
	b->data[b->len++] = '"';
}

/* Bytes a JSON string literal cannot hold as they are. */
static const bool must_escape[128] = {
	[0x00 ... 0x1f] = true,
	['"'] = true,
	['\\'] = true,
};

static char *escape_byte(char *o, unsigned char c)
{
	*o++ = '\\';
		switch (c) {
		case '"':
			*o++ = '"';
			break;
		case '\\':
			*o++ = '\\';
			break;
		case '\n':
			*o++ = 'n';
			break;
		case '\r':
			*o++ = 'r';
			break;
		case '\t':
			*o++ = 't';
			break;
		case '\b':
			*o++ = 'b';
			break;
		case '\f':
			*o++ = 'f';
			break;
		default:
			*o++ = 'u';
			*o++ = '0';
			*o++ = '0';
			*o++ = hex_digits[c >> 4];
			*o++ = hex_digits[c & 0xf];
		}
	return o;
}

/*
 * True when one of the eight bytes in w needs a look of its own: a control
 * byte, quote or backslash (escaped), or a byte >= 0x80 (part of a UTF-8
 * sequence to check).
 */
static inline bool word_needs_look(uint64_t w)
{
	return word_has_high(w) || word_has_below(w, 0x20) || word_has(w, '"') ||
	       word_has(w, '\\');
}

/*
 * Writes s as a string literal, checking UTF-8 on the way. Returns false,
 * leaving the buffer as it was, when s holds ill-formed UTF-8. Plain ASCII
 * text is copied eight bytes at a time.
 */
static bool put_escaped(struct otlp_buf *b, const char *s, size_t len)
{
	size_t start = b->len;
	char *o;

	/* worst case: every byte becomes \u00XX */
	if (!reserve(b, 6 * len + 2))
		return true;
	o = b->data + b->len;
	*o++ = '"';
	for (size_t i = 0; i < len;) {
		unsigned char c;
		uint64_t w;
		int n;

		if (len - i >= sizeof(w)) {
			w = word_at(s + i);
			if (!word_needs_look(w)) {
				memcpy(o, &w, sizeof(w));
				o += sizeof(w);
				i += sizeof(w);
				continue;
			}
		}
		c = (unsigned char)s[i];
		if (c < 0x80) {
			if (must_escape[c])
				o = escape_byte(o, c);
			else
				*o++ = (char)c;
			i++;
			continue;
		}
		n = utf8__seq_len(s + i, len - i);
		if (!n) {
			b->len = start;
			return false;
		}
		memcpy(o, s + i, (size_t)n);
		o += n;
		i += (size_t)n;
	}
	*o++ = '"';
	b->len = (size_t)(o - b->data);
	return true;
}

void otlp__append_string(struct otlp_buf *b, const char *s, size_t len, bool truncated)
{
	char stack[512], *fixed;

	if (put_escaped(b, s, len))
		return;
	fixed = 3 * len <= sizeof(stack) ? stack : malloc(3 * len);
	if (!fixed) {
		b->failed = true;
		return;
	}
	put_escaped(b, fixed, utf8__repair(s, len, truncated, fixed)); /* valid now */
	if (fixed != stack)
		free(fixed);
}

static void put_cstring(struct otlp_buf *b, const char *s)
{
	otlp__append_string(b, s, strlen(s), false);
}

/* {"key":"k","value":{ for span attributes: their keys are otrace's own constants, plain ASCII */
static void put_key(struct otlp_buf *b, const char *key)
{
	PUT_LIT(b, "{\"key\":\"");
	put(b, key, strlen(key));
	PUT_LIT(b, "\",\"value\":{");
}

/* The same for resource attributes, whose keys users may set to anything */
static void put_user_key(struct otlp_buf *b, const char *key)
{
	PUT_LIT(b, "{\"key\":");
	put_cstring(b, key);
	PUT_LIT(b, ",\"value\":{");
}

/* "stringValue":"v"}} or "intValue":"123"}}: int64 travels as a decimal string */
static void put_value(struct otlp_buf *b, const struct attr *a)
{
	if (a->type == ATTR_INT) {
		PUT_LIT(b, "\"intValue\":\"");
		put_i64(b, a->num);
		PUT_LIT(b, "\"}}");
	} else {
		PUT_LIT(b, "\"stringValue\":");
		otlp__append_string(b, a->str, a->len, a->truncated);
		PUT_LIT(b, "}}");
	}
}

static void put_attr(struct otlp_buf *b, const struct attr *a)
{
	put_key(b, a->key);
	put_value(b, a);
}

static void put_span(struct otlp_buf *b, const struct span *s)
{
	PUT_LIT(b, "{\"traceId\":");
	put_hex_string(b, s->trace_id, sizeof(s->trace_id));
	PUT_LIT(b, ",\"spanId\":");
	put_hex_string(b, s->span_id, sizeof(s->span_id));
	if (s->has_parent) {
		PUT_LIT(b, ",\"parentSpanId\":");
		put_hex_string(b, s->parent_span_id, sizeof(s->parent_span_id));
	}
	if (s->flags) {
		PUT_LIT(b, ",\"flags\":");
		put_u64(b, s->flags);
	}
	PUT_LIT(b, ",\"name\":");
	otlp__append_string(b, s->name, s->name_len, false);
	PUT_LIT(b, ",\"kind\":");
	put_u64(b, (uint64_t)s->kind);
	PUT_LIT(b, ",\"startTimeUnixNano\":\"");
	put_u64(b, s->start_unix_ns);
	PUT_LIT(b, "\",\"endTimeUnixNano\":\"");
	put_u64(b, s->end_unix_ns);
	PUT_LIT(b, "\",\"attributes\":[");
	for (size_t i = 0; i < s->nattrs; i++) {
		if (i)
			PUT_LIT(b, ",");
		put_attr(b, &s->attrs[i]);
	}
	PUT_LIT(b, "]");
	if (s->has_link) {
		PUT_LIT(b, ",\"links\":[{\"traceId\":");
		put_hex_string(b, s->link.trace_id, sizeof(s->link.trace_id));
		PUT_LIT(b, ",\"spanId\":");
		put_hex_string(b, s->link.span_id, sizeof(s->link.span_id));
		PUT_LIT(b, ",\"flags\":");
		put_u64(b, s->link.flags);
		PUT_LIT(b, "}]");
	}
	PUT_LIT(b, ",\"status\":{");
	if (s->status_message_len) {
		PUT_LIT(b, "\"message\":");
		otlp__append_string(b, s->status_message, s->status_message_len,
				    s->status_message_truncated);
		PUT_LIT(b, ",");
	}
	if (s->status != STATUS_UNSET) {
		PUT_LIT(b, "\"code\":");
		put_u64(b, (uint64_t)s->status);
	}
	PUT_LIT(b, "}}");
}

static void put_resource(struct otlp_buf *b, const struct otlp_resource *r)
{
	PUT_LIT(b, "{\"attributes\":[");
	for (size_t i = 0; i < r->nattrs; i++) {
		if (i)
			PUT_LIT(b, ",");
		put_user_key(b, r->attrs[i].key);
		put_value(b, &r->attrs[i]);
	}
	PUT_LIT(b, "]}");
}

int otlp__encode(struct otlp_buf *b, const struct otlp_group *groups, size_t ngroups)
{
	b->len = 0;
	b->failed = false;
	PUT_LIT(b, "{\"resourceSpans\":[");
	for (size_t g = 0; g < ngroups; g++) {
		if (g)
			PUT_LIT(b, ",");
		PUT_LIT(b, "{\"resource\":");
		put_resource(b, groups[g].resource);
		PUT_LIT(b, ",\"scopeSpans\":[{\"scope\":{\"name\":\"otrace\",\"version\":");
		put_cstring(b, OTRACE_VERSION);
		PUT_LIT(b, "},\"spans\":[");
		for (size_t i = 0; i < groups[g].nspans; i++) {
			if (i)
				PUT_LIT(b, ",");
			put_span(b, groups[g].spans[i]);
		}
		PUT_LIT(b, "],\"schemaUrl\":\"" OTLP_SCHEMA_URL "\"}],\"schemaUrl\":\"" OTLP_SCHEMA_URL
			   "\"}");
	}
	PUT_LIT(b, "]}");
	return b->failed ? -ENOMEM : 0;
}

void otlp_buf__free(struct otlp_buf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}
