// SPDX-License-Identifier: MIT
#include <errno.h>

#include "fake_records.h"
#include "spantest.h"
#include "unittest.h"

/* net/http server records, decoded. */

static void test_http_server(struct span_assembler *sa)
{
	struct ot_http_server_rec r;
	struct span s;

	http_record(&r);
	CHECK(span_assembler__decode(sa, &r, sizeof(r), &s) == 0);
	CHECK(s.kind == SPAN_KIND_SERVER);
	CHECK(s.status == STATUS_UNSET);
	CHECK(s.pid == 4242);
	CHECK(s.name_len == strlen("POST /items/{id}") && !memcmp(s.name, "POST /items/{id}", s.name_len));
	CHECK(s.end_unix_ns - s.start_unix_ns == 2500000);
	CHECK(s.start_unix_ns > 1600000000ull * 1000000000ull); /* Unix time, not boot time */
	CHECK(str_is(&s, "http.request.method", "POST"));
	CHECK(str_is(&s, "url.path", "/items/7"));
	CHECK(str_is(&s, "url.scheme", "http"));
	CHECK(int_is(&s, "http.response.status_code", 201));
	CHECK(str_is(&s, "http.route", "/items/{id}"));
	CHECK(str_is(&s, "server.address", "example.com"));
	CHECK(int_is(&s, "server.port", 8080));
	CHECK(str_is(&s, "client.address", "127.0.0.1"));
	CHECK(int_is(&s, "client.port", 51234));
	CHECK(str_is(&s, "network.peer.address", "127.0.0.1"));
	CHECK(int_is(&s, "network.peer.port", 51234));
	CHECK(str_is(&s, "network.protocol.version", "1.1"));
	CHECK(str_is(&s, "user_agent.original", "test-agent/1.0"));
	CHECK(!find(&s, "error.type"));
	CHECK(memcmp(s.trace_id, (uint8_t[16]){ 0 }, 16) != 0);
	CHECK(memcmp(s.span_id, (uint8_t[8]){ 0 }, 8) != 0);
}

static void test_http_variants(struct span_assembler *sa)
{
	struct ot_http_server_rec r;
	struct span s;

	/* no pattern, no UA, implicit 200, TLS, default port, HTTP/2 */
	http_record(&r);
	r.flags = OT_HTTP_TLS | OT_HTTP_HAS_PATTERN;
	r.status = 0;
	r.proto_major = 2;
	r.proto_minor = 0;
	r.pattern_len = 0;
	SET_STR(&r, host, "example.com");
	CHECK(span_assembler__decode(sa, &r, sizeof(r), &s) == 0);
	CHECK(s.name_len == 4 && !memcmp(s.name, "POST", 4));
	CHECK(int_is(&s, "http.response.status_code", 200));
	CHECK(str_is(&s, "url.scheme", "https"));
	CHECK(int_is(&s, "server.port", 443));
	CHECK(str_is(&s, "network.protocol.version", "2"));
	CHECK(!find(&s, "http.route"));
	CHECK(!find(&s, "user_agent.original"));

	/* 5xx: ERROR status and error.type */
	http_record(&r);
	r.status = 503;
	CHECK(span_assembler__decode(sa, &r, sizeof(r), &s) == 0);
	CHECK(s.status == STATUS_ERROR);
	CHECK(str_is(&s, "error.type", "503"));

	/* unknown method: _OTHER, original kept, name "HTTP" */
	http_record(&r);
	SET_STR(&r, method, "BREW");
	r.pattern_len = 0;
	CHECK(span_assembler__decode(sa, &r, sizeof(r), &s) == 0);
	CHECK(str_is(&s, "http.request.method", "_OTHER"));
	CHECK(str_is(&s, "http.request.method_original", "BREW"));
	CHECK(s.name_len == 4 && !memcmp(s.name, "HTTP", 4));

	/* pattern with a host: the route is the path */
	http_record(&r);
	SET_STR(&r, pattern, "GET example.com/a/{b}");
	CHECK(span_assembler__decode(sa, &r, sizeof(r), &s) == 0);
	CHECK(str_is(&s, "http.route", "/a/{b}"));

	/* a path longer than the capture is truncated and flagged */
	http_record(&r);
	r.path_len = 5000;
	CHECK(span_assembler__decode(sa, &r, sizeof(r), &s) == 0);
	CHECK(find(&s, "url.path")->len == OT_PATH_CAP && find(&s, "url.path")->truncated);
}

static void test_continued_trace(struct span_assembler *sa)
{
	static const char valid[] = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
	uint8_t tid[16], pid[8], flags;
	struct ot_http_server_rec r;
	struct span s;

	/* a continued trace: the BPF side parsed the header into the ids */
	CHECK(span__parse_traceparent(valid, 55, tid, pid, &flags) == 0);
	http_record(&r);
	memcpy(r.ids.trace_id, tid, 16);
	memcpy(r.ids.parent_span_id, pid, 8);
	r.ids.parent_remote = 1;
	r.flags |= OT_HTTP_HAS_PARENT;
	CHECK(span_assembler__decode(sa, &r, sizeof(r), &s) == 0);
	CHECK(s.has_parent && s.trace_id[0] == 0x0a);
	CHECK(s.parent_span_id[0] == 0xb7);
	CHECK(s.flags == (0x01 | SPAN_FLAGS_HAS_IS_REMOTE | SPAN_FLAGS_IS_REMOTE));

	/* no header: a root, sampled, not remote */
	http_record(&r);
	CHECK(span_assembler__decode(sa, &r, sizeof(r), &s) == 0);
	CHECK(!s.has_parent && s.flags == (W3C_SAMPLED | SPAN_FLAGS_HAS_IS_REMOTE));

	/* a local parent (a client call made while serving) is not remote */
	http_record(&r);
	r.ids.parent_span_id[0] = 7;
	r.flags |= OT_HTTP_HAS_PARENT;
	CHECK(span_assembler__decode(sa, &r, sizeof(r), &s) == 0);
	CHECK(s.has_parent && s.parent_span_id[0] == 7 &&
	      s.flags == (W3C_SAMPLED | SPAN_FLAGS_HAS_IS_REMOTE));
}

int main(void)
{
	struct span_assembler *sa;

	CHECK(span_assembler__new(&sa) == 0);
	test_http_server(sa);
	test_http_variants(sa);
	test_continued_trace(sa);
	span_assembler__free(sa);
	return ut_summary();
}
