// SPDX-License-Identifier: MIT
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "otlp.h"
#include "fake_records.h"
#include "unittest.h"

static const struct attr resource_attrs[] = {
	{ .key = "service.name", .str = "svc\"quoted\"", .len = 11 },
	{ .key = "process.pid", .type = ATTR_INT, .num = 4242 },
	{ .key = "process.executable.path", .str = "/srv/api", .len = 8 },
	{ .key = "user \"key\"", .str = "v", .len = 1 }, /* a user's key needs escaping */
};

static const struct otlp_resource resource = {
	.pid = 4242,
	.attrs = resource_attrs,
	.nattrs = sizeof(resource_attrs) / sizeof(resource_attrs[0]),
};

static json_t *encode_and_parse(const struct span *const *spans, size_t n)
{
	struct otlp_group g = { .resource = &resource, .spans = spans, .nspans = n };
	struct otlp_buf buf = {};
	json_error_t jerr;
	size_t len;
	char *line;
	json_t *doc;

	CHECK(otlp__encode(&buf, &g, 1) == 0);
	len = buf.len;
	line = strndup(buf.data, buf.len);
	otlp_buf__free(&buf);
	CHECK(line != NULL);
	if (!line)
		return NULL;
	CHECK(strlen(line) == len);
	CHECK(strchr(line, '\n') == NULL); /* one document, one line */
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)line[i] < 0x20) {
			CHECK(!"raw control character in output");
			break;
		}
	doc = json_loads(line, 0, &jerr);
	CHECK(doc != NULL);
	free(line);
	return doc;
}

static const char *attr_string(json_t *attrs, const char *key)
{
	size_t i;
	json_t *kv;

	json_array_foreach(attrs, i, kv) {
		if (!strcmp(json_string_value(json_object_get(kv, "key")), key))
			return json_string_value(
				json_object_get(json_object_get(kv, "value"), "stringValue"));
	}
	return NULL;
}

static const char *attr_int(json_t *attrs, const char *key)
{
	size_t i;
	json_t *kv;

	json_array_foreach(attrs, i, kv) {
		if (!strcmp(json_string_value(json_object_get(kv, "key")), key))
			return json_string_value(
				json_object_get(json_object_get(kv, "value"), "intValue"));
	}
	return NULL;
}

static void test_shape(struct span_assembler *sa)
{
	struct ot_http_server_rec r;
	struct span s;
	const struct span *ptr = &s;
	json_t *doc, *rs, *ss, *sp;

	http_record(&r);
	r.status = 500;
	CHECK(decode_http(sa, &r, &s) == 0);
	doc = encode_and_parse(&ptr, 1);
	if (!doc)
		return;
	rs = json_array_get(json_object_get(doc, "resourceSpans"), 0);
	CHECK_STR(attr_string(json_object_get(json_object_get(rs, "resource"), "attributes"),
			      "service.name"),
		  "svc\"quoted\"");
	CHECK_STR(attr_int(json_object_get(json_object_get(rs, "resource"), "attributes"),
			   "process.pid"),
		  "4242");
	CHECK_STR(attr_string(json_object_get(json_object_get(rs, "resource"), "attributes"),
			      "user \"key\""),
		  "v");
	CHECK_STR(json_string_value(json_object_get(rs, "schemaUrl")), OTLP_SCHEMA_URL);
	ss = json_array_get(json_object_get(rs, "scopeSpans"), 0);
	CHECK_STR(json_string_value(json_object_get(json_object_get(ss, "scope"), "name")),
		  "otrace");
	CHECK_STR(json_string_value(json_object_get(ss, "schemaUrl")), OTLP_SCHEMA_URL);
	sp = json_array_get(json_object_get(ss, "spans"), 0);
	CHECK(strlen(json_string_value(json_object_get(sp, "traceId"))) == 32);
	CHECK(strlen(json_string_value(json_object_get(sp, "spanId"))) == 16);
	CHECK(json_object_get(sp, "parentSpanId") == NULL);
	CHECK(json_integer_value(json_object_get(sp, "kind")) == 2);
	CHECK(json_is_string(json_object_get(sp, "startTimeUnixNano")));
	CHECK(json_is_string(json_object_get(sp, "endTimeUnixNano")));
	CHECK(json_integer_value(json_object_get(json_object_get(sp, "status"), "code")) == 2);
	CHECK_STR(attr_int(json_object_get(sp, "attributes"), "http.response.status_code"), "500");
	CHECK_STR(json_string_value(json_object_get(sp, "name")), "POST /items/{id}");
	CHECK(json_object_get(sp, "links") == NULL);
	json_decref(doc);
}

/* A span linked to a message's creation context: one link, remote. */
static void test_link(struct span_assembler *sa)
{
	static const char tp[] = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
	struct ot_http_server_rec r;
	struct span s;
	const struct span *ptr = &s;
	json_t *doc, *sp, *link;

	http_record(&r);
	CHECK(decode_http(sa, &r, &s) == 0);
	CHECK(!span__link_traceparent(&s, "00-zz", 5) && !s.has_link);
	CHECK(span__link_traceparent(&s, tp, sizeof(tp) - 1));
	doc = encode_and_parse(&ptr, 1);
	if (!doc)
		return;
	sp = json_array_get(json_object_get(doc, "resourceSpans"), 0);
	sp = json_array_get(json_object_get(sp, "scopeSpans"), 0);
	sp = json_array_get(json_object_get(sp, "spans"), 0);
	CHECK(json_array_size(json_object_get(sp, "links")) == 1);
	link = json_array_get(json_object_get(sp, "links"), 0);
	CHECK_STR(json_string_value(json_object_get(link, "traceId")),
		  "0af7651916cd43dd8448eb211c80319c");
	CHECK_STR(json_string_value(json_object_get(link, "spanId")), "b7ad6b7169203331");
	CHECK(json_integer_value(json_object_get(link, "flags")) ==
	      (W3C_SAMPLED | SPAN_FLAGS_HAS_IS_REMOTE | SPAN_FLAGS_IS_REMOTE));
	json_decref(doc);
}

static void test_escaping(struct span_assembler *sa)
{
	struct ot_http_server_rec r;
	struct span s;
	const struct span *ptr = &s;
	char ua[64], want[160];
	size_t n = 0, w = 0;
	json_t *doc, *sp;

	/* every control character, DEL, quote, backslash, then invalid UTF-8 */
	for (int c = 1; c < 0x20; c++)
		ua[n++] = (char)c;
	ua[n++] = 0x7f;
	ua[n++] = '"';
	ua[n++] = '\\';
	memcpy(want, ua, n);
	w = n;
	ua[n++] = (char)0xff;
	ua[n++] = (char)0xfe;
	memcpy(want + w, "\xef\xbf\xbd\xef\xbf\xbd", 6);
	w += 6;
	want[w] = '\0';

	/*
	 * the decoders drop text with control bytes (validate.h), so the bytes
	 * are put into a decoded span's attribute directly: the encoder must
	 * escape whatever it is given
	 */
	http_record(&r);
	CHECK(decode_http(sa, &r, &s) == 0);
	for (size_t i = 0; i < s.nattrs; i++) {
		if (!strcmp(s.attrs[i].key, "user_agent.original")) {
			s.attrs[i].str = ua;
			s.attrs[i].len = n;
		}
	}
	doc = encode_and_parse(&ptr, 1);
	if (!doc)
		return;
	sp = json_array_get(json_object_get(json_array_get(json_object_get(json_array_get(
		json_object_get(doc, "resourceSpans"), 0), "scopeSpans"), 0), "spans"), 0);
	CHECK_STR(attr_string(json_object_get(sp, "attributes"), "user_agent.original"), want);
	json_decref(doc);
}

static void test_batch(struct span_assembler *sa)
{
	struct ot_http_server_rec r;
	struct span spans[3];
	const struct span *ptrs[3] = { &spans[0], &spans[1], &spans[2] };
	json_t *doc;

	http_record(&r);
	for (int i = 0; i < 3; i++)
		CHECK(decode_http(sa, &r, &spans[i]) == 0);
	doc = encode_and_parse(ptrs, 3);
	if (!doc)
		return;
	CHECK(json_array_size(json_object_get(json_array_get(json_object_get(json_array_get(
		json_object_get(doc, "resourceSpans"), 0), "scopeSpans"), 0), "spans")) == 3);
	json_decref(doc);
}

/* The literal for every byte value 1..0x7f, parsed back by jansson. */
static void test_every_byte(void)
{
	struct otlp_buf buf = {};
	json_error_t jerr;

	for (int c = 0; c < 0x80; c++) {
		char in = (char)c;
		json_t *j;

		buf.len = 0;
		otlp__append_string(&buf, &in, 1, false);
		j = json_loadb(buf.data, buf.len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
		CHECK(j && json_string_length(j) == 1 && json_string_value(j)[0] == in);
		for (size_t i = 0; i < buf.len; i++)
			CHECK((unsigned char)buf.data[i] >= 0x20);
		json_decref(j);
	}
	otlp_buf__free(&buf);
}

/*
 * The literal of a string as the byte-at-a-time rules make it: quote,
 * backslash and control bytes escaped, everything else (valid UTF-8 here)
 * as it is.
 */
static size_t reference_literal(const char *in, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	out[o++] = '"';
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)in[i];

		if (c == '"' || c == '\\') {
			out[o++] = '\\';
			out[o++] = (char)c;
		} else if (c < 0x20) {
			const char *named = c == '\n' ? "n" : c == '\r' ? "r" : c == '\t' ? "t" :
					    c == '\b' ? "b" : c == '\f' ? "f" : NULL;

			out[o++] = '\\';
			if (named) {
				out[o++] = named[0];
			} else {
				memcpy(out + o, "u00", 3);
				o += 3;
				out[o++] = hex[c >> 4];
				out[o++] = hex[c & 0xf];
			}
		} else {
			out[o++] = (char)c;
		}
	}
	out[o++] = '"';
	return o;
}

/*
 * Strings long enough for the eight-bytes-at-a-time copy: every byte value
 * at every offset of a 24-byte string, as the only byte that is not a plain
 * letter and beside others; UTF-8 sequences across word boundaries; and
 * ill-formed bytes at every offset, repaired to U+FFFD.
 */
static void test_long_strings(void)
{
	struct otlp_buf buf = {};
	char in[24], want[6 * sizeof(in) + 8];
	size_t wn;

	for (int c = 0; c < 0x80; c++) {
		for (size_t at = 0; at < sizeof(in); at++) {
			memset(in, 'a', sizeof(in));
			in[at] = (char)c;
			if (at + 9 < sizeof(in))
				in[at + 9] = (char)(0x7f - c); /* a second odd byte in the next word */
			buf.len = 0;
			otlp__append_string(&buf, in, sizeof(in), false);
			wn = reference_literal(in, sizeof(in), want);
			CHECK(buf.len == wn && !memcmp(buf.data, want, wn));
		}
	}
	for (size_t at = 0; at + 3 <= sizeof(in); at++) {
		memset(in, 'b', sizeof(in));
		memcpy(in + at, "\xe2\x82\xac", 3); /* U+20AC, straddling words at 6 and 7 */
		buf.len = 0;
		otlp__append_string(&buf, in, sizeof(in), false);
		wn = reference_literal(in, sizeof(in), want);
		CHECK(buf.len == wn && !memcmp(buf.data, want, wn));

		in[at + 2] = 'x'; /* cut short: ill-formed, one U+FFFD for the two bytes */
		buf.len = 0;
		otlp__append_string(&buf, in, sizeof(in), false);
		memset(want, 'b', sizeof(in) + 1);
		memcpy(want + at, "\xef\xbf\xbdx", 4);
		wn = reference_literal(want, sizeof(in) + 1, want + 64);
		CHECK(buf.len == wn && !memcmp(buf.data, want + 64, wn));
	}
	otlp_buf__free(&buf);
}

/* Integers in their decimal form, every digit count and its edges. */
static void test_integers(struct span_assembler *sa)
{
	static const uint64_t values[] = { 0,	 1,    9,    10,    11,	    99,	   100,	 101,
					   999,	 1000, 12345, 99999, 100000, 1000001,
					   1764000000123456789ULL, 9999999999999999999ULL,
					   10000000000000000000ULL, UINT64_MAX };
	struct ot_http_server_rec r;
	struct span s;
	const struct span *ptr = &s;
	char want[32];
	json_t *doc, *sp;

	http_record(&r);
	CHECK(decode_http(sa, &r, &s) == 0);
	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		s.start_unix_ns = values[i];
		s.end_unix_ns = UINT64_MAX - values[i];
		doc = encode_and_parse(&ptr, 1);
		if (!doc)
			return;
		sp = json_array_get(json_object_get(json_array_get(json_object_get(json_array_get(
			json_object_get(doc, "resourceSpans"), 0), "scopeSpans"), 0), "spans"), 0);
		snprintf(want, sizeof(want), "%llu", (unsigned long long)values[i]);
		CHECK_STR(json_string_value(json_object_get(sp, "startTimeUnixNano")), want);
		snprintf(want, sizeof(want), "%llu", (unsigned long long)(UINT64_MAX - values[i]));
		CHECK_STR(json_string_value(json_object_get(sp, "endTimeUnixNano")), want);
		json_decref(doc);
	}
}

int main(void)
{
	struct span_assembler *sa;

	CHECK(span_assembler__new(&sa) == 0);
	test_shape(sa);
	test_link(sa);
	test_escaping(sa);
	test_batch(sa);
	test_every_byte();
	test_long_strings();
	test_integers(sa);
	span_assembler__free(sa);
	return ut_summary();
}
