// SPDX-License-Identifier: MIT
#include <errno.h>

#include "fake_records.h"
#include "spantest.h"
#include "unittest.h"

/* Decodes request r from its wire form, in the ring buffer's place (decode_from_ring). */
static int decode_http_from_ring(struct span_assembler *sa, const struct ot_http_server_rec *r,
				 struct span *s)
{
	struct wire_record w;

	http_wire(r, &w);
	return decode_from_ring(sa, w.bytes, w.size, s);
}

/* net/http server records, decoded. */

static void test_http_server(struct span_assembler *sa)
{
	struct ot_http_server_rec r;
	struct span s;

	http_record(&r);
	CHECK(decode_http_from_ring(sa, &r, &s) == 0);
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
	CHECK(decode_http_from_ring(sa, &r, &s) == 0);
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
	CHECK(decode_http_from_ring(sa, &r, &s) == 0);
	CHECK(s.status == STATUS_ERROR);
	CHECK(str_is(&s, "error.type", "503"));

	/* unknown method: _OTHER, original kept, name "HTTP" */
	http_record(&r);
	SET_STR(&r, method, "BREW");
	r.pattern_len = 0;
	CHECK(decode_http_from_ring(sa, &r, &s) == 0);
	CHECK(str_is(&s, "http.request.method", "_OTHER"));
	CHECK(str_is(&s, "http.request.method_original", "BREW"));
	CHECK(s.name_len == 4 && !memcmp(s.name, "HTTP", 4));

	/* pattern with a host: the route is the path */
	http_record(&r);
	SET_STR(&r, pattern, "GET example.com/a/{b}");
	CHECK(decode_http_from_ring(sa, &r, &s) == 0);
	CHECK(str_is(&s, "http.route", "/a/{b}"));

	/* a path longer than the capture is truncated and flagged */
	http_record(&r);
	memset(r.path, 'a', sizeof(r.path));
	r.path[0] = '/';
	r.path_len = 5000;
	CHECK(decode_http_from_ring(sa, &r, &s) == 0);
	CHECK(find(&s, "url.path")->len == OT_PATH_CAP && find(&s, "url.path")->truncated);
}

/* What the probes could not vouch for, and memory that was something else. */
static void test_http_false_data(struct span_assembler *sa)
{
	struct ot_http_server_rec r;
	struct span s;

	/* a heap pointer read as the status: no status code, no error, counted */
	http_record(&r);
	r.status = 58370529246432;
	CHECK(decode_http_from_ring(sa, &r, &s) == 0);
	CHECK(!find(&s, "http.response.status_code") && !find(&s, "error.type"));
	CHECK(s.status == STATUS_UNSET && s.invalid == 1);

	/* a writer whose status could not be read: no implicit 200 */
	http_record(&r);
	r.status = 0;
	r.flags |= OT_HTTP_STATUS_UNKNOWN;
	CHECK(decode_http_from_ring(sa, &r, &s) == 0);
	CHECK(!find(&s, "http.response.status_code"));

	/* bytes past a short string (what a stale length reads): not text */
	http_record(&r);
	r.path_len = 200;
	CHECK(decode_http_from_ring(sa, &r, &s) == 0);
	CHECK(!find(&s, "url.path") && s.invalid == 1);
	http_record(&r);
	memcpy(r.ua, "\x60\x34\x12\x00\xc0\x00\x00\x00", 8); /* a pointer */
	r.ua_len = 8;
	CHECK(decode_http_from_ring(sa, &r, &s) == 0);
	CHECK(!find(&s, "user_agent.original") && s.invalid == 1);

	/* a method that is no token: _OTHER, the original left out */
	http_record(&r);
	SET_STR(&r, method, "GE\0T");
	CHECK(decode_http_from_ring(sa, &r, &s) == 0);
	CHECK(str_is(&s, "http.request.method", "_OTHER"));
	CHECK(!find(&s, "http.request.method_original") && s.invalid == 1);
	CHECK(s.name_len > 4 && !memcmp(s.name, "HTTP ", 5));

	/* a route with a control byte: neither attribute nor name */
	http_record(&r);
	SET_STR(&r, pattern, "POST /items/\x01");
	CHECK(decode_http_from_ring(sa, &r, &s) == 0);
	CHECK(!find(&s, "http.route") && s.name_len == 4);

	/* port 0 is no peer's */
	http_record(&r);
	SET_STR(&r, remote, "127.0.0.1:0");
	CHECK(decode_http_from_ring(sa, &r, &s) == 0);
	CHECK(str_is(&s, "client.address", "127.0.0.1") && !find(&s, "client.port"));

	/* all-zero ids: not a span */
	http_record(&r);
	memset(r.ids.span_id, 0, sizeof(r.ids.span_id));
	CHECK(decode_http_from_ring(sa, &r, &s) == -EINVAL);
	/* a parent flagged but all zero: a root */
	http_record(&r);
	r.flags |= OT_HTTP_HAS_PARENT;
	CHECK(decode_http_from_ring(sa, &r, &s) == 0);
	CHECK(!s.has_parent && s.invalid == 1);
}

/* A Host header longer than the capture: no port parsed from a cut string. */
static void test_http_cut_host(struct span_assembler *sa)
{
	struct ot_http_server_rec r;
	struct span s;

	/* cut inside the port ("...:4567" kept as "...:4"): the host, no port */
	http_record(&r);
	memset(r.host, 'h', sizeof(r.host));
	memcpy(r.host + OT_HOST_CAP - 2, ":4", 2);
	r.host_len = OT_HOST_CAP + 3;
	CHECK(decode_http_from_ring(sa, &r, &s) == 0);
	CHECK(find(&s, "server.address") && find(&s, "server.address")->len == OT_HOST_CAP - 2);
	CHECK(!find(&s, "server.port"));

	/* cut inside the host: neither (no default 80 either) */
	http_record(&r);
	memset(r.host, 'h', sizeof(r.host));
	r.host_len = OT_HOST_CAP + 6;
	CHECK(decode_http_from_ring(sa, &r, &s) == 0);
	CHECK(!find(&s, "server.address") && !find(&s, "server.port"));

	/* [v6] whole, its port cut */
	http_record(&r);
	memset(r.host, '1', sizeof(r.host));
	memcpy(r.host, "[::1]:", 6);
	r.host_len = OT_HOST_CAP + 1;
	CHECK(decode_http_from_ring(sa, &r, &s) == 0);
	CHECK(str_is(&s, "server.address", "::1") && !find(&s, "server.port"));
}

/* A record whose path is the RequestURI uri (OT_HTTP_PATH_RAW), decoded into s. */
static int decode_request_uri(struct span_assembler *sa, const char *uri, struct span *s)
{
	struct ot_http_server_rec r;
	size_t n = strlen(uri);

	http_record(&r);
	r.flags |= OT_HTTP_PATH_RAW;
	r.path_len = (__u32)n;
	memcpy(r.path, uri, n < sizeof(r.path) ? n : sizeof(r.path));
	return decode_http_from_ring(sa, &r, s);
}

/* HTTP/2 answers, and paths recorded as received. */
static void test_http_h2_and_paths(struct span_assembler *sa)
{
	struct ot_http_server_rec r;
	struct span s;

	/* an h2c upgrade's request: HTTP/1.1 on the wire, answered over HTTP/2 */
	http_record(&r);
	r.flags |= OT_HTTP_SERVED_H2;
	CHECK(decode_http_from_ring(sa, &r, &s) == 0);
	CHECK(str_is(&s, "network.protocol.version", "2"));

	/* RequestURI: its path, decoded as net/http decodes URL.Path ('+' stays) */
	CHECK(decode_request_uri(sa, "/spa/a%20b+c%2fd?x=%20", &s) == 0);
	CHECK(str_is(&s, "url.path", "/spa/a b+c/d"));
	/* an escape net/http would have refused: kept as received */
	CHECK(decode_request_uri(sa, "/a%zzb", &s) == 0);
	CHECK(str_is(&s, "url.path", "/a%zzb"));
	/* a decoded control character is no path */
	CHECK(decode_request_uri(sa, "/a%0Ab", &s) == 0);
	CHECK(!find(&s, "url.path"));
	CHECK(decode_request_uri(sa, "http://example.com/p?q", &s) == 0);
	CHECK(str_is(&s, "url.path", "/p"));
	CHECK(decode_request_uri(sa, "example.com:443", &s) == 0); /* CONNECT: no path */
	CHECK(!find(&s, "url.path"));
	/* a capture cut inside an escape: the escapes before it, marked cut */
	http_record(&r);
	r.flags |= OT_HTTP_PATH_RAW;
	memset(r.path, 'p', sizeof(r.path));
	r.path[0] = '/';
	memcpy(r.path + OT_PATH_CAP - 5, "%41%4", 5);
	r.path_len = OT_PATH_CAP + 10;
	CHECK(decode_http_from_ring(sa, &r, &s) == 0);
	CHECK(find(&s, "url.path") && find(&s, "url.path")->len == OT_PATH_CAP - 4 &&
	      find(&s, "url.path")->truncated);
	http_record(&r);
	r.flags |= OT_HTTP_PATH_RAW;
	memset(r.path, 'p', sizeof(r.path));
	r.path[0] = '/';
	r.path_len = OT_PATH_CAP + 10;
	CHECK(decode_http_from_ring(sa, &r, &s) == 0);
	CHECK(find(&s, "url.path") && find(&s, "url.path")->len == OT_PATH_CAP &&
	      find(&s, "url.path")->truncated);
}

/* url.query: the RequestURI's query as received, secret values redacted */
static void test_url_query(struct span_assembler *sa)
{
	struct ot_http_server_rec r;
	const struct attr *a;
	struct span s;

	CHECK(decode_request_uri(sa, "/spa/a%20b?x=%20&y=1+2", &s) == 0);
	CHECK(str_is(&s, "url.query", "x=%20&y=1+2") && !find(&s, "url.query")->truncated);
	CHECK(decode_request_uri(sa, "/p?a=1&sig=abc&X-Goog-Signature=z&sigx=k&sig", &s) == 0);
	CHECK(str_is(&s, "url.query", "a=1&sig=REDACTED&X-Goog-Signature=REDACTED&sigx=k&sig"));
	CHECK(decode_request_uri(sa, "http://example.com/p?q", &s) == 0);
	CHECK(str_is(&s, "url.query", "q"));
	/* none, or empty: no attribute */
	CHECK(decode_request_uri(sa, "/p", &s) == 0);
	CHECK(!find(&s, "url.query"));
	CHECK(decode_request_uri(sa, "/p?", &s) == 0);
	CHECK(!find(&s, "url.query"));
	/* URL.Path (no RequestURI in the layout): no query known */
	http_record(&r);
	memcpy(r.path, "/p?q", 4);
	r.path_len = 4;
	CHECK(decode_http_from_ring(sa, &r, &s) == 0);
	CHECK(!find(&s, "url.query"));
	/* a capture cut inside the query: what was read, marked cut, still redacted */
	http_record(&r);
	r.flags |= OT_HTTP_PATH_RAW;
	memset(r.path, 'v', sizeof(r.path));
	memcpy(r.path, "/p?a=1&Signature=", 17);
	r.path_len = OT_PATH_CAP + 40;
	CHECK(decode_http_from_ring(sa, &r, &s) == 0);
	a = find(&s, "url.query");
	CHECK(a && a->truncated && a->len == 22 && !memcmp(a->str, "a=1&Signature=REDACTED", 22));
	/* cut before the '?': none */
	memset(r.path, 'p', sizeof(r.path));
	r.path[0] = '/';
	CHECK(decode_http_from_ring(sa, &r, &s) == 0);
	CHECK(!find(&s, "url.query"));
	/* many secret values, each growing to REDACTED, all kept */
	http_record(&r);
	r.flags |= OT_HTTP_PATH_RAW;
	memcpy(r.path, "/?", 2);
	for (size_t i = 2; i + 5 <= OT_PATH_CAP; i += 5)
		memcpy(r.path + i, "sig=&", 5);
	r.path_len = 2 + (OT_PATH_CAP - 2) / 5 * 5;
	CHECK(decode_http_from_ring(sa, &r, &s) == 0);
	a = find(&s, "url.query");
	CHECK(a && a->len == (OT_PATH_CAP - 2) / 5 * 13 && !a->truncated);
}

/*
 * Every attribute a server span can carry at once (an unknown method adds
 * http.request.method_original, a 5xx error.type): none lost for room.
 */
static void test_http_all_attributes(struct span_assembler *sa)
{
	static const char *const keys[] = {
		"http.request.method",	"http.request.method_original",
		"url.path",		"url.query",
		"url.scheme",		"http.response.status_code",
		"http.route",		"server.address",
		"server.port",		"client.address",
		"client.port",		"network.peer.address",
		"network.peer.port",	"network.protocol.version",
		"user_agent.original",	"error.type",
	};
	struct ot_http_server_rec r;
	struct span s;

	http_record(&r);
	r.flags |= OT_HTTP_PATH_RAW;
	SET_STR(&r, method, "PURGE");
	SET_STR(&r, path, "/items/7?sig=x&a=1");
	r.status = 503;
	CHECK(decode_http_from_ring(sa, &r, &s) == 0);
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		CHECK(find(&s, keys[i]) != NULL);
	CHECK(s.nattrs == sizeof(keys) / sizeof(keys[0]) && s.nattrs < SPAN_MAX_ATTRS);
	CHECK(str_is(&s, "http.request.method", "_OTHER") &&
	      str_is(&s, "http.request.method_original", "PURGE"));
	CHECK(str_is(&s, "url.query", "sig=REDACTED&a=1") && str_is(&s, "error.type", "503"));
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
	CHECK(decode_http_from_ring(sa, &r, &s) == 0);
	CHECK(s.has_parent && s.trace_id[0] == 0x0a);
	CHECK(s.parent_span_id[0] == 0xb7);
	CHECK(s.flags == (0x01 | SPAN_FLAGS_HAS_IS_REMOTE | SPAN_FLAGS_IS_REMOTE));

	/* no header: a root, sampled, not remote */
	http_record(&r);
	CHECK(decode_http_from_ring(sa, &r, &s) == 0);
	CHECK(!s.has_parent && s.flags == (W3C_SAMPLED | SPAN_FLAGS_HAS_IS_REMOTE));

	/* a local parent (a client call made while serving) is not remote */
	http_record(&r);
	r.ids.parent_span_id[0] = 7;
	r.flags |= OT_HTTP_HAS_PARENT;
	CHECK(decode_http_from_ring(sa, &r, &s) == 0);
	CHECK(s.has_parent && s.parent_span_id[0] == 7 &&
	      s.flags == (W3C_SAMPLED | SPAN_FLAGS_HAS_IS_REMOTE));
}

/* A router's route in the record (records.h: struct ot_route). */
static void set_route(struct ot_http_server_rec *r, uint32_t state, const char *text)
{
	size_t n = strlen(text);

	memset(&r->route, 0, sizeof(r->route));
	r->route.state = state;
	r->route.len = (uint32_t)n;
	memcpy(r->route.text, text, n < OT_ROUTE_CAP ? n : OT_ROUTE_CAP);
}

static bool named(const struct span *s, const char *name)
{
	return s->name_len == strlen(name) && !memcmp(s->name, name, s->name_len);
}

/* A router's route wins over ServeMux's pattern; a router's miss leaves none. */
static void test_http_router_route(struct span_assembler *sa)
{
	char longer[OT_ROUTE_CAP + 2];
	struct ot_http_server_rec r;
	struct span s;

	http_record(&r); /* pattern "POST /items/{id}" */
	set_route(&r, OT_ROUTE_MATCHED, "/api/items/:id");
	CHECK(decode_http_from_ring(sa, &r, &s) == 0);
	CHECK(str_is(&s, "http.route", "/api/items/:id"));
	CHECK(named(&s, "POST /api/items/:id"));
	CHECK(s.invalid == 0);

	/* the router matched nothing: no route, though ServeMux matched */
	http_record(&r);
	set_route(&r, OT_ROUTE_UNMATCHED, "");
	CHECK(decode_http_from_ring(sa, &r, &s) == 0);
	CHECK(!find(&s, "http.route"));
	CHECK(named(&s, "POST"));
	CHECK(s.invalid == 0);

	/* no router: ServeMux's pattern */
	http_record(&r);
	set_route(&r, OT_ROUTE_NONE, "/ignored");
	CHECK(decode_http_from_ring(sa, &r, &s) == 0);
	CHECK(str_is(&s, "http.route", "/items/{id}"));

	/* not a route, cut at the capture, unreadable, an unknown state: none, counted */
	memset(longer, 'a', sizeof(longer) - 1);
	longer[0] = '/';
	longer[sizeof(longer) - 1] = 0;
	const struct {
		uint32_t state;
		const char *text;
	} bad[] = {
		{ OT_ROUTE_MATCHED, "users/:id" },   { OT_ROUTE_MATCHED, "/users/\n:id" },
		{ OT_ROUTE_MATCHED, "/a\x01b" },     { OT_ROUTE_MATCHED, longer },
		{ OT_ROUTE_MATCHED, "" },	     { OT_ROUTE_UNREADABLE, "" },
		{ 77, "/users/:id" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		http_record(&r);
		set_route(&r, bad[i].state, bad[i].text);
		CHECK(decode_http_from_ring(sa, &r, &s) == 0);
		CHECK(!find(&s, "http.route"));
		CHECK(named(&s, "POST"));
		CHECK(s.invalid == 1);
	}
}

int main(void)
{
	struct span_assembler *sa;

	CHECK(span_assembler__new(&sa) == 0);
	test_http_server(sa);
	test_http_variants(sa);
	test_continued_trace(sa);
	test_url_query(sa);
	test_http_all_attributes(sa);
	test_http_false_data(sa);
	test_http_cut_host(sa);
	test_http_h2_and_paths(sa);
	test_http_router_route(sa);
	span_assembler__free(sa);
	return ut_summary();
}
