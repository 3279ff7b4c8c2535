// SPDX-License-Identifier: MIT
/*
 * The protobuf encoder, read back by a decoder written here from the wire
 * format alone. The Collector's own decoder reads the same encoder's output
 * in test/go (TestProtoMatchesJSON, and every export integration test).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "otlp.h"
#include "otlp_proto.h"
#include "fake_records.h"
#include "unittest.h"

/* One decoded field: its number, wire type, and varint value or bytes. */
struct field {
	unsigned num, wt;
	uint64_t v;
	const uint8_t *p;
	size_t len;
};

static bool varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	*v = 0;
	for (int s = 0; s < 64 && *p < end; s += 7) {
		uint8_t b = *(*p)++;

		*v |= (uint64_t)(b & 0x7f) << s;
		if (!(b & 0x80))
			return true;
	}
	return false;
}

/* Reads every field of a message into out (at most max); returns the count or -1. */
static int fields(const uint8_t *p, size_t len, struct field *out, int max)
{
	const uint8_t *end = p + len;
	int n = 0;

	while (p < end && n < max) {
		struct field *f = &out[n++];
		uint64_t key, l;

		if (!varint(&p, end, &key))
			return -1;
		f->num = (unsigned)(key >> 3);
		f->wt = (unsigned)(key & 7);
		if (f->wt == 0) {
			if (!varint(&p, end, &f->v))
				return -1;
			continue;
		}
		if (f->wt == 2) {
			if (!varint(&p, end, &l) || l > (uint64_t)(end - p))
				return -1;
		} else if (f->wt == 1 || f->wt == 5) {
			l = f->wt == 1 ? 8 : 4;
			if (l > (uint64_t)(end - p))
				return -1;
			f->v = 0;
			for (uint64_t i = 0; i < l; i++)
				f->v |= (uint64_t)p[i] << (8 * i);
		} else {
			return -1;
		}
		f->p = p;
		f->len = (size_t)l;
		p += l;
	}
	return p == end ? n : -1;
}

/* The first field numbered num, or NULL. */
static const struct field *get(const struct field *f, int n, unsigned num)
{
	for (int i = 0; i < n; i++)
		if (f[i].num == num)
			return &f[i];
	return NULL;
}

static bool bytes_eq(const struct field *f, const void *s, size_t len)
{
	return f && f->wt == 2 && f->len == len && !memcmp(f->p, s, len);
}

/* The value of attribute key among the KeyValue fields numbered num. */
static const struct field *attr(const struct field *f, int n, unsigned num, const char *key,
				struct field any[4], int *nany)
{
	for (int i = 0; i < n; i++) {
		struct field kv[4];
		int m;

		if (f[i].num != num)
			continue;
		m = fields(f[i].p, f[i].len, kv, 4);
		if (m < 2 || !bytes_eq(get(kv, m, 1), key, strlen(key)))
			continue;
		*nany = fields(get(kv, m, 2)->p, get(kv, m, 2)->len, any, 4);
		return *nany == 1 ? &any[0] : NULL;
	}
	return NULL;
}

static struct span sample_span(void)
{
	struct span s = {
		.kind = SPAN_KIND_SERVER,
		.status = STATUS_ERROR,
		.has_parent = true,
		.flags = 0x301,
		.start_unix_ns = 1700000000123456789ull,
		.end_unix_ns = 1700000000223456789ull,
		.name_len = 16,
		.nattrs = 3,
	};

	memcpy(s.name, "GET /items/{id}\xff", 16); /* ends in a byte that is not UTF-8 */
	for (int i = 0; i < 16; i++)
		s.trace_id[i] = (uint8_t)(0xa0 + i);
	for (int i = 0; i < 8; i++) {
		s.span_id[i] = (uint8_t)(0x10 + i);
		s.parent_span_id[i] = (uint8_t)(0x20 + i);
	}
	s.attrs[0] =
	    (struct attr){ .key = "http.response.status_code", .type = ATTR_INT, .num = 503 };
	s.attrs[1] = (struct attr){ .key = "neg", .type = ATTR_INT, .num = -2 };
	s.attrs[2] = (struct attr){ .key = "url.path", .str = "/items/7", .len = 8 };
	return s;
}

/* A message's creation context, as messaging spans link to it. */
static const char link_tp[] = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

static void test_span(void)
{
	static const struct attr rattrs[] = {
		{ .key = "service.name", .str = "api", .len = 3 },
		{ .key = "process.pid", .type = ATTR_INT, .num = 4242 },
	};
	struct otlp_resource res = { .pid = 4242, .attrs = rattrs, .nattrs = 2 };
	struct span s = sample_span();
	const struct span *ptr = &s;
	struct otlp_group g = { .resource = &res, .spans = &ptr, .nspans = 1 };
	struct field req[4], rs[8], resource[8], ss[8], scope[4], span[24], any[4], st[2];
	struct otlp_buf b = { 0 };
	const struct field *a;
	int n, nrs, nres, nss, nsp, nany;

	CHECK(otlp_proto__encode(&b, &g, 1) == 0);
	n = fields((uint8_t *)b.data, b.len, req, 4);
	CHECK(n == 1 && req[0].num == 1);
	nrs = fields(req[0].p, req[0].len, rs, 8);
	CHECK(nrs == 3);
	CHECK(bytes_eq(get(rs, nrs, 3), OTLP_SCHEMA_URL, strlen(OTLP_SCHEMA_URL)));
	nres = fields(get(rs, nrs, 1)->p, get(rs, nrs, 1)->len, resource, 8);
	a = attr(resource, nres, 1, "service.name", any, &nany);
	CHECK(a && a->num == 1 && bytes_eq(a, "api", 3));
	a = attr(resource, nres, 1, "process.pid", any, &nany);
	CHECK(a && a->num == 3 && a->v == 4242);

	nss = fields(get(rs, nrs, 2)->p, get(rs, nrs, 2)->len, ss, 8);
	CHECK(nss == 3);
	CHECK(bytes_eq(get(ss, nss, 3), OTLP_SCHEMA_URL, strlen(OTLP_SCHEMA_URL)));
	n = fields(get(ss, nss, 1)->p, get(ss, nss, 1)->len, scope, 4);
	CHECK(n == 2 && bytes_eq(get(scope, n, 1), "otrace", 6));

	nsp = fields(get(ss, nss, 2)->p, get(ss, nss, 2)->len, span, 24);
	CHECK(nsp > 0);
	CHECK(bytes_eq(get(span, nsp, 1), s.trace_id, 16));
	CHECK(bytes_eq(get(span, nsp, 2), s.span_id, 8));
	CHECK(bytes_eq(get(span, nsp, 4), s.parent_span_id, 8));
	/* repaired as the JSON encoder repairs it: U+FFFD */
	CHECK(bytes_eq(get(span, nsp, 5), "GET /items/{id}\xef\xbf\xbd", 18));
	CHECK(get(span, nsp, 6) && get(span, nsp, 6)->v == SPAN_KIND_SERVER);
	CHECK(get(span, nsp, 7) && get(span, nsp, 7)->wt == 1 &&
	      get(span, nsp, 7)->v == s.start_unix_ns);
	CHECK(get(span, nsp, 8) && get(span, nsp, 8)->v == s.end_unix_ns);
	CHECK(get(span, nsp, 16) && get(span, nsp, 16)->wt == 5 && get(span, nsp, 16)->v == 0x301);
	a = attr(span, nsp, 9, "http.response.status_code", any, &nany);
	CHECK(a && a->num == 3 && a->v == 503);
	a = attr(span, nsp, 9, "neg", any, &nany);
	CHECK(a && a->num == 3 && (int64_t)a->v == -2); /* int64: two's complement, 10 bytes */
	a = attr(span, nsp, 9, "url.path", any, &nany);
	CHECK(a && bytes_eq(a, "/items/7", 8));
	n = fields(get(span, nsp, 15)->p, get(span, nsp, 15)->len, st, 2);
	CHECK(n == 1 && st[0].num == 3 && st[0].v == STATUS_ERROR);
	CHECK(!get(span, nsp, 13));
	otlp_buf__free(&b);

	/* a link: Link{trace_id, span_id, flags} */
	CHECK(span__link_traceparent(&s, link_tp, sizeof(link_tp) - 1));
	b = (struct otlp_buf){ 0 };
	CHECK(otlp_proto__encode(&b, &g, 1) == 0);
	fields((uint8_t *)b.data, b.len, req, 4);
	fields(req[0].p, req[0].len, rs, 8);
	nss = fields(get(rs, 3, 2)->p, get(rs, 3, 2)->len, ss, 8);
	nsp = fields(get(ss, nss, 2)->p, get(ss, nss, 2)->len, span, 24);
	CHECK(get(span, nsp, 13) != NULL);
	if (get(span, nsp, 13)) {
		struct field link[4];

		n = fields(get(span, nsp, 13)->p, get(span, nsp, 13)->len, link, 4);
		CHECK(n == 3 && bytes_eq(get(link, n, 1), s.link.trace_id, 16));
		CHECK(bytes_eq(get(link, n, 2), s.link.span_id, 8));
		CHECK(get(link, n, 6) && get(link, n, 6)->wt == 5 && get(link, n, 6)->v == 0x301);
	}
	otlp_buf__free(&b);
}

/* Lengths of 1, 2 and 3 varint bytes: the room reserved for them is moved either way. */
static void test_long_values(void)
{
	static const size_t sizes[] = { 0, 100, 200, 20000, 300000 };
	static const struct attr rattr = { .key = "k", .str = "v", .len = 1 };
	struct otlp_resource res = { .attrs = &rattr, .nattrs = 1 };

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		char *text = malloc(sizes[i] + 1);
		struct span s = sample_span();
		const struct span *ptrs[3] = { &s, &s, &s };
		struct otlp_group g = { .resource = &res, .spans = ptrs, .nspans = 3 };
		struct field req[2], rs[4], ss[8], span[24], any[4];
		struct otlp_buf b = { 0 };
		const struct field *a;
		int n, nss, nsp, nany;

		memset(text, 'x', sizes[i]);
		s.attrs[2].str = text;
		s.attrs[2].len = sizes[i];
		CHECK(otlp_proto__encode(&b, &g, 1) == 0);
		n = fields((uint8_t *)b.data, b.len, req, 2);
		CHECK(n == 1);
		n = fields(req[0].p, req[0].len, rs, 4);
		nss = fields(get(rs, n, 2)->p, get(rs, n, 2)->len, ss, 8);
		CHECK(nss == 5); /* scope, three spans, schema */
		nsp = fields(ss[1].p, ss[1].len, span, 24);
		a = attr(span, nsp, 9, "url.path", any, &nany);
		CHECK(a && a->len == sizes[i]);
		otlp_buf__free(&b);
		free(text);
	}
}

/* Serialized requests concatenate into one: the exporter batches that way. */
static void test_concatenation(void)
{
	static const struct attr rattr = { .key = "k", .str = "v", .len = 1 };
	struct otlp_resource res = { .attrs = &rattr, .nattrs = 1 };
	struct span s = sample_span();
	const struct span *ptr = &s;
	struct otlp_group g = { .resource = &res, .spans = &ptr, .nspans = 1 };
	struct otlp_buf a = { 0 }, b = { 0 };
	struct field req[4];
	uint8_t *both;

	CHECK(otlp_proto__encode(&a, &g, 1) == 0);
	CHECK(otlp_proto__encode(&b, &g, 1) == 0);
	both = malloc(a.len + b.len);
	memcpy(both, a.data, a.len);
	memcpy(both + a.len, b.data, b.len);
	CHECK(fields(both, a.len + b.len, req, 4) == 2);
	free(both);
	otlp_buf__free(&a);
	otlp_buf__free(&b);
}

static void test_response(void)
{
	/* partial_success { rejected_spans: 300, error_message: "bad\n" } */
	static const uint8_t partial[] = { 0x0a, 0x09, 0x08, 0xac, 0x02, 0x12,
					   0x04, 'b',  'a',  'd',  '\n' };
	static const uint8_t unknown_field[] = { 0x10, 0x01 };
	static const uint8_t truncated[] = { 0x0a, 0x09, 0x08 };
	/* google.rpc.Status { code: 3, message: "no" } */
	static const uint8_t status[] = { 0x08, 0x03, 0x12, 0x02, 'n', 'o' };
	int64_t rejected;
	char msg[64];

	CHECK(otlp_proto__parse_response(partial, sizeof(partial), &rejected, msg, sizeof(msg)) ==
	      0);
	CHECK(rejected == 300);
	CHECK_STR(msg, "bad?"); /* control characters never reach a diagnostic line */
	CHECK(otlp_proto__parse_response("", 0, &rejected, msg, sizeof(msg)) == 0 && rejected == 0);
	CHECK(otlp_proto__parse_response(unknown_field, 2, &rejected, msg, sizeof(msg)) == 0);
	CHECK(otlp_proto__parse_response(truncated, 3, &rejected, msg, sizeof(msg)) == -EINVAL);
	CHECK(otlp_proto__parse_response(partial, sizeof(partial), &rejected, msg, 3) == 0);
	CHECK_STR(msg, "ba");
	CHECK(otlp_proto__parse_status(status, sizeof(status), msg, sizeof(msg)) == 0);
	CHECK_STR(msg, "no");
}

/* Writes both encodings of groups as DIR/NAME.pb and DIR/NAME.json. */
static void write_pair(const char *dir, const char *name, const struct otlp_group *g, size_t n)
{
	struct otlp_buf b = { 0 };
	char path[4096];
	FILE *f;

	CHECK(otlp_proto__encode(&b, g, n) == 0);
	snprintf(path, sizeof(path), "%s/%s.pb", dir, name);
	f = fopen(path, "w");
	CHECK(f && fwrite(b.data, 1, b.len, f) == b.len);
	fclose(f);
	CHECK(otlp__encode(&b, g, n) == 0);
	snprintf(path, sizeof(path), "%s/%s.json", dir, name);
	f = fopen(path, "w");
	CHECK(f && fwrite(b.data, 1, b.len, f) == b.len);
	fclose(f);
	otlp_buf__free(&b);
}

/*
 * Samples for the Collector's decoders (test/go/internal/otlp,
 * TestProtoSamples): a decoded HTTP server record, and spans with values
 * that stress the encoders: bytes that are not UTF-8, NUL bytes, strings cut
 * mid-character, long values, negative and large integers, client, server and
 * producer kinds, a link, several processes, users' resource keys.
 */
static void write_samples(const char *dir)
{
	static const struct attr ra[] = {
		{ .key = "service.name", .str = "svc\"q\"\x01", .len = 7 },
		{ .key = "process.pid", .type = ATTR_INT, .num = 4242 },
		{ .key = "user key \xc3\xa9", .str = "caf\xc3", .len = 4 },
		{ .key = "big", .type = ATTR_INT, .num = INT64_MIN },
	};
	static const struct attr rb[] = { { .key = "service.name", .str = "b", .len = 1 } };
	static const char query[] = "SELECT \xff\xfe\0 FROM t WHERE x = '\xe2\x82'";
	struct otlp_resource res_a = { .pid = 1, .attrs = ra, .nattrs = 4 };
	struct otlp_resource res_b = { .pid = 2, .attrs = rb, .nattrs = 1 };
	static struct ot_http_server_rec hs;
	static struct span spans[6];
	const struct span *ptrs[6];
	struct span_assembler *sa;
	struct otlp_group groups[2];
	char *long_text = malloc(70000);

	CHECK(span_assembler__new(&sa) == 0);
	http_record(&hs);
	CHECK(decode_http(sa, &hs, &spans[0]) == 0);
	spans[1] = sample_span();
	spans[1].kind = SPAN_KIND_CLIENT;
	spans[1].attrs[2] = (struct attr){
		.key = "db.query.text", .str = query, .len = sizeof(query) - 1, .truncated = true
	};
	spans[2] = sample_span();
	spans[2].kind = SPAN_KIND_PRODUCER;
	CHECK(span__link_traceparent(&spans[2], link_tp, sizeof(link_tp) - 1));
	spans[3] = sample_span();
	memset(long_text, 'a', 70000);
	long_text[69999] = '\xe2'; /* a character cut at the end */
	spans[3].attrs[2] =
	    (struct attr){ .key = "url.path", .str = long_text, .len = 70000, .truncated = true };
	spans[3].status = STATUS_UNSET;
	spans[3].has_parent = false;
	spans[3].flags = 0;
	spans[4] = sample_span();
	spans[4].attrs[1].num = INT64_MAX;
	spans[5] = sample_span();
	spans[5].nattrs = 0;
	spans[5].name_len = 0;
	for (int i = 0; i < 6; i++)
		ptrs[i] = &spans[i];
	groups[0] = (struct otlp_group){ .resource = &res_a, .spans = ptrs, .nspans = 3 };
	groups[1] = (struct otlp_group){ .resource = &res_b, .spans = ptrs + 3, .nspans = 3 };
	write_pair(dir, "records", groups, 1);
	write_pair(dir, "edge", groups + 1, 1);
	write_pair(dir, "two-processes", groups, 2);
	span_assembler__free(sa);
	free(long_text);
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "--samples")) {
		write_samples(argv[2]);
		return ut_summary();
	}
	test_span();
	test_long_values();
	test_concatenation();
	test_response();
	return ut_summary();
}
