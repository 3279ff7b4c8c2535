// SPDX-License-Identifier: MIT
#include <errno.h>

#include "net_http_client/net_http_client.h"
#include "net_http_client/record.h"
#include "fake_records.h"
#include "semconv.h"
#include "spantest.h"
#include "unittest.h"

/* net/http client records, decoded; url.full with its secrets redacted. */

/* A round trip to api.example.com that got a 200. */
static void http_client_record(struct ot_http_client_rec *r)
{
	memset(r, 0, sizeof(*r));
	fake_ids(&r->ids);
	r->hdr.type = OT_REC_HTTP_CLIENT;
	r->hdr.size = sizeof(*r);
	r->pid = 4242;
	r->start_ns = 1000000000ull;
	r->end_ns = 1001000000ull;
	r->status = 200;
	r->proto_major = 1;
	r->proto_minor = 1;
	SET_STR(r, method, "GET");
	SET_STR(r, scheme, "https");
	SET_STR(r, host, "api.example.com");
	SET_STR(r, path, "/v1/items");
	SET_STR(r, query, "a=1&sig=s3cr3t&b=2");
}

/* Decodes round trip r from its wire form, in the ring buffer's place (decode_from_ring). */
static int decode_client_from_ring(struct span_assembler *sa, const struct ot_http_client_rec *r,
				   struct span *s)
{
	_Alignas(8) unsigned char wire[sizeof(struct ot_http_client_wire) +
				       OT_HTTP_CLIENT_STRINGS_MAX];

	return decode_from_ring(sa, wire, net_http_client__pack(r, wire), s);
}

static void test_http_client(struct span_assembler *sa)
{
	struct ot_http_client_rec r;
	struct span s;

	http_client_record(&r);
	CHECK(decode_client_from_ring(sa, &r, &s) == 0);
	CHECK(s.kind == SPAN_KIND_CLIENT && s.status == STATUS_UNSET);
	CHECK(s.name_len == 3 && !memcmp(s.name, "GET", 3));
	CHECK(str_is(&s, "http.request.method", "GET"));
	CHECK(str_is(&s, "url.full", "https://api.example.com/v1/items?a=1&sig=REDACTED&b=2"));
	CHECK(str_is(&s, "server.address", "api.example.com"));
	CHECK(int_is(&s, "server.port", 443));
	CHECK(int_is(&s, "http.response.status_code", 200));
	CHECK(str_is(&s, "network.protocol.version", "1.1"));
	CHECK(!find(&s, "error.type"));
	{
		/* packed strings must end where the record does: a length off by one is refused */
		_Alignas(8) unsigned char wire[sizeof(struct ot_http_client_wire) +
					       OT_HTTP_CLIENT_STRINGS_MAX];
		size_t n = net_http_client__pack(&r, wire);

		((struct ot_http_client_wire *)wire)->path_len++;
		CHECK(decode_from_ring(sa, wire, n, &s) == -EINVAL);
		((struct ot_http_client_wire *)wire)->path_len -= 2;
		CHECK(decode_from_ring(sa, wire, n, &s) == -EINVAL);
		((struct ot_http_client_wire *)wire)->path_len++;
		CHECK(decode_from_ring(sa, wire, n, &s) == 0);
	}

	/* 4xx is an error for a client */
	http_client_record(&r);
	r.status = 404;
	SET_STR(&r, host, "127.0.0.1:8080");
	SET_STR(&r, scheme, "http");
	CHECK(decode_client_from_ring(sa, &r, &s) == 0);
	CHECK(s.status == STATUS_ERROR && str_is(&s, "error.type", "404"));
	CHECK(int_is(&s, "server.port", 8080));

	/* transport error: no status code, error.type set */
	http_client_record(&r);
	r.status = 0;
	r.flags |= OT_HTTP_CLIENT_TRANSPORT_ERROR;
	CHECK(decode_client_from_ring(sa, &r, &s) == 0);
	CHECK(s.status == STATUS_ERROR && str_is(&s, "error.type", "_OTHER"));
	CHECK(!find(&s, "http.response.status_code"));
}

/* Attempts, hosts longer than the capture, statuses that are not statuses. */
static void test_http_client_values(struct span_assembler *sa)
{
	struct ot_http_client_rec r;
	struct span s;

	/* a resent attempt */
	http_client_record(&r);
	r.resend_count = 1;
	CHECK(decode_client_from_ring(sa, &r, &s) == 0);
	CHECK(int_is(&s, "http.request.resend_count", 1));
	http_client_record(&r);
	CHECK(decode_client_from_ring(sa, &r, &s) == 0);
	CHECK(!find(&s, "http.request.resend_count"));

	/* the host's end cut off: no server.address, no default port */
	http_client_record(&r);
	memset(r.host, 'h', sizeof(r.host));
	r.host_len = OT_HOST_CAP + 7;
	CHECK(decode_client_from_ring(sa, &r, &s) == 0);
	CHECK(!find(&s, "server.address") && !find(&s, "server.port"));
	/* cut in the port: the host only */
	memcpy(r.host + OT_HOST_CAP - 3, ":45", 3);
	CHECK(decode_client_from_ring(sa, &r, &s) == 0);
	CHECK(find(&s, "server.address") && !find(&s, "server.port"));

	/* a pointer read as the status: left out, not an error */
	http_client_record(&r);
	r.status = 0xc000123456;
	CHECK(decode_client_from_ring(sa, &r, &s) == 0);
	CHECK(!find(&s, "http.response.status_code") && s.status == STATUS_UNSET && s.invalid == 1);
}

static void test_url_full(struct span_assembler *sa)
{
	static const char q[] = "Signature=x&AWSAccessKeyId=y&X-Goog-Signature=z&sigx=1&q&"
				"X-Amz-Signature=s&X-Amz-Credential=c&X-Amz-Security-Token=t&"
				"x-amz-signature=case";
	struct url_parts u = { .scheme = "http", .scheme_len = 4, .host = "h", .host_len = 1,
			       .path = "/", .path_len = 1, .query = q, .query_len = sizeof(q) - 1 };
	struct ot_http_client_rec r;
	struct span s;
	char buf[256];
	size_t n;

	/* redaction: every secret parameter, names compared exactly */
	n = semconv__url_full(buf, sizeof(buf), &u);
	CHECK(n == strlen("http://h/?Signature=REDACTED&AWSAccessKeyId=REDACTED&"
			  "X-Goog-Signature=REDACTED&sigx=1&q&X-Amz-Signature=REDACTED&"
			  "X-Amz-Credential=REDACTED&X-Amz-Security-Token=REDACTED&"
			  "x-amz-signature=case") &&
	      !memcmp(buf, "http://h/?Signature=REDACTED&AWSAccessKeyId=REDACTED&"
			   "X-Goog-Signature=REDACTED&sigx=1&q&X-Amz-Signature=REDACTED&"
			   "X-Amz-Credential=REDACTED&X-Amz-Security-Token=REDACTED&"
			   "x-amz-signature=case",
		       n));
	/* separators kept as they were, empty parameters too */
	u.query = "a=1&&sig=2&";
	u.query_len = 11;
	n = semconv__url_full(buf, sizeof(buf), &u);
	CHECK(n == strlen("http://h/?a=1&&sig=REDACTED&") &&
	      !memcmp(buf, "http://h/?a=1&&sig=REDACTED&", n));
	/* user info replaced, the fragment kept (semantic conventions) */
	u.userinfo = true;
	u.fragment = "sec-2";
	u.fragment_len = 5;
	n = semconv__url_full(buf, sizeof(buf), &u);
	CHECK(n == strlen("http://REDACTED:REDACTED@h/?a=1&&sig=REDACTED&#sec-2") &&
	      !memcmp(buf, "http://REDACTED:REDACTED@h/?a=1&&sig=REDACTED&#sec-2", n));
	u.query_len = 0;
	n = semconv__url_full(buf, sizeof(buf), &u);
	CHECK(n == strlen("http://REDACTED:REDACTED@h/#sec-2") &&
	      !memcmp(buf, "http://REDACTED:REDACTED@h/#sec-2", n));
	/* never past the buffer */
	u = (struct url_parts){ .scheme = "http", .scheme_len = 4, .host = "example.com",
				.host_len = 11, .path = "/", .path_len = 1 };
	CHECK(semconv__url_full(buf, 10, &u) == 10);

	/* from the record: user info and fragment */
	http_client_record(&r);
	r.flags |= OT_HTTP_CLIENT_USERINFO;
	SET_STR(&r, fragment, "top");
	CHECK(decode_client_from_ring(sa, &r, &s) == 0);
	CHECK(str_is(&s, "url.full",
		     "https://REDACTED:REDACTED@api.example.com/v1/items?a=1&sig=REDACTED&b=2#top"));
}

int main(void)
{
	struct span_assembler *sa;

	CHECK(span_assembler__new(&sa) == 0);
	test_http_client(sa);
	test_http_client_values(sa);
	test_url_full(sa);
	span_assembler__free(sa);
	return ut_summary();
}
