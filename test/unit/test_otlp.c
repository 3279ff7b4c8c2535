// SPDX-License-Identifier: MIT
#include <stdlib.h>
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
	CHECK(span_assembler__decode(sa, &r, sizeof(r), &s) == 0);
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
	CHECK(span_assembler__decode(sa, &r, sizeof(r), &s) == 0);
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
	CHECK(span_assembler__decode(sa, &r, sizeof(r), &s) == 0);
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
		CHECK(span_assembler__decode(sa, &r, sizeof(r), &spans[i]) == 0);
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

int main(void)
{
	struct span_assembler *sa;

	CHECK(span_assembler__new(&sa) == 0);
	test_shape(sa);
	test_link(sa);
	test_escaping(sa);
	test_batch(sa);
	test_every_byte();
	span_assembler__free(sa);
	return ut_summary();
}
