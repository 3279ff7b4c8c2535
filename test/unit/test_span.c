// SPDX-License-Identifier: MIT
#include <errno.h>

#include "../../src/itabs.h"
#include "../../src/span.h"
#include "records.h"
#include "unittest.h"

static const struct attr *find(const struct span *s, const char *key)
{
	for (size_t i = 0; i < s->nattrs; i++)
		if (!strcmp(s->attrs[i].key, key))
			return &s->attrs[i];
	return NULL;
}

static int str_is(const struct span *s, const char *key, const char *want)
{
	const struct attr *a = find(s, key);

	return a && a->type == ATTR_STRING && a->len == strlen(want) &&
	       !memcmp(a->str, want, a->len);
}

static int int_is(const struct span *s, const char *key, int64_t want)
{
	const struct attr *a = find(s, key);

	return a && a->type == ATTR_INT && a->num == want;
}

static void test_split(void)
{
	size_t off, len;
	int64_t port;

	CHECK(span__split_host_port("a.b:80", 6, &off, &len, &port) == 0);
	CHECK(off == 0 && len == 3 && port == 80);
	CHECK(span__split_host_port("host", 4, &off, &len, &port) == 0);
	CHECK(len == 4 && port == -1);
	CHECK(span__split_host_port("[::1]:8443", 10, &off, &len, &port) == 0);
	CHECK(off == 1 && len == 3 && port == 8443);
	CHECK(span__split_host_port("[::1]", 5, &off, &len, &port) == 0);
	CHECK(off == 1 && len == 3 && port == -1);
	CHECK(span__split_host_port("::1", 3, &off, &len, &port) == 0);
	CHECK(len == 3 && port == -1);
	CHECK(span__split_host_port("h:99999", 7, &off, &len, &port) == -EINVAL);
	CHECK(span__split_host_port("h:8x", 4, &off, &len, &port) == -EINVAL);
	CHECK(span__split_host_port("[::1", 4, &off, &len, &port) == -EINVAL);
}

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

static void test_traceparent(struct span_assembler *sa)
{
	static const char valid[] = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
	uint8_t tid[16], pid[8], flags;
	struct ot_http_server_rec r;
	struct span s;

	CHECK(span__parse_traceparent(valid, 55, tid, pid, &flags) == 0);
	CHECK(tid[0] == 0x0a && tid[15] == 0x9c && pid[0] == 0xb7 && pid[7] == 0x31 && flags == 1);
	/* later versions may carry more fields after a dash */
	CHECK(span__parse_traceparent("01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00-xyz",
				      59, tid, pid, &flags) == 0);
	CHECK(span__parse_traceparent(valid, 54, tid, pid, &flags) == -EINVAL);
	CHECK(span__parse_traceparent("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01x",
				      56, tid, pid, &flags) == -EINVAL);
	CHECK(span__parse_traceparent("ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
				      55, tid, pid, &flags) == -EINVAL);
	CHECK(span__parse_traceparent("00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01",
				      55, tid, pid, &flags) == -EINVAL);
	CHECK(span__parse_traceparent("00-00000000000000000000000000000000-b7ad6b7169203331-01",
				      55, tid, pid, &flags) == -EINVAL);
	CHECK(span__parse_traceparent("00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",
				      55, tid, pid, &flags) == -EINVAL);
	CHECK(span__parse_traceparent("00_0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
				      55, tid, pid, &flags) == -EINVAL);

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

static void test_http_client(struct span_assembler *sa)
{
	struct ot_http_client_rec r;
	struct span s;
	char buf[256];
	size_t n;

	http_client_record(&r);
	CHECK(span_assembler__decode(sa, &r, sizeof(r), &s) == 0);
	CHECK(s.kind == SPAN_KIND_CLIENT && s.status == STATUS_UNSET);
	CHECK(s.name_len == 3 && !memcmp(s.name, "GET", 3));
	CHECK(str_is(&s, "http.request.method", "GET"));
	CHECK(str_is(&s, "url.full", "https://api.example.com/v1/items?a=1&sig=REDACTED&b=2"));
	CHECK(str_is(&s, "server.address", "api.example.com"));
	CHECK(int_is(&s, "server.port", 443));
	CHECK(int_is(&s, "http.response.status_code", 200));
	CHECK(str_is(&s, "network.protocol.version", "1.1"));
	CHECK(!find(&s, "error.type"));

	/* 4xx is an error for a client */
	http_client_record(&r);
	r.status = 404;
	SET_STR(&r, host, "127.0.0.1:8080");
	SET_STR(&r, scheme, "http");
	CHECK(span_assembler__decode(sa, &r, sizeof(r), &s) == 0);
	CHECK(s.status == STATUS_ERROR && str_is(&s, "error.type", "404"));
	CHECK(int_is(&s, "server.port", 8080));

	/* transport error: no status code, error.type set */
	http_client_record(&r);
	r.status = 0;
	r.flags |= OT_HTTP_TRANSPORT_ERROR;
	CHECK(span_assembler__decode(sa, &r, sizeof(r), &s) == 0);
	CHECK(s.status == STATUS_ERROR && str_is(&s, "error.type", "_OTHER"));
	CHECK(!find(&s, "http.response.status_code"));

	/* redaction: every secret parameter, names compared exactly */
	static const char q[] = "Signature=x&AWSAccessKeyId=y&X-Goog-Signature=z&sigx=1&q&"
				"X-Amz-Signature=s&X-Amz-Credential=c&X-Amz-Security-Token=t&"
				"x-amz-signature=case";
	struct url_parts u = { .scheme = "http", .scheme_len = 4, .host = "h", .host_len = 1,
			       .path = "/", .path_len = 1, .query = q, .query_len = sizeof(q) - 1 };

	n = span__url_full(buf, sizeof(buf), &u);
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
	n = span__url_full(buf, sizeof(buf), &u);
	CHECK(n == strlen("http://h/?a=1&&sig=REDACTED&") &&
	      !memcmp(buf, "http://h/?a=1&&sig=REDACTED&", n));
	/* user info replaced, the fragment kept (semantic conventions) */
	u.userinfo = true;
	u.fragment = "sec-2";
	u.fragment_len = 5;
	n = span__url_full(buf, sizeof(buf), &u);
	CHECK(n == strlen("http://REDACTED:REDACTED@h/?a=1&&sig=REDACTED&#sec-2") &&
	      !memcmp(buf, "http://REDACTED:REDACTED@h/?a=1&&sig=REDACTED&#sec-2", n));
	u.query_len = 0;
	n = span__url_full(buf, sizeof(buf), &u);
	CHECK(n == strlen("http://REDACTED:REDACTED@h/#sec-2") &&
	      !memcmp(buf, "http://REDACTED:REDACTED@h/#sec-2", n));
	/* never past the buffer */
	u = (struct url_parts){ .scheme = "http", .scheme_len = 4, .host = "example.com",
				.host_len = 11, .path = "/", .path_len = 1 };
	CHECK(span__url_full(buf, 10, &u) == 10);

	/* from the record: user info and fragment */
	http_client_record(&r);
	r.flags |= OT_HTTP_USERINFO;
	SET_STR(&r, fragment, "top");
	CHECK(span_assembler__decode(sa, &r, sizeof(r), &s) == 0);
	CHECK(str_is(&s, "url.full",
		     "https://REDACTED:REDACTED@api.example.com/v1/items?a=1&sig=REDACTED&b=2#top"));
}

static int name_is(const struct span *s, const char *want)
{
	return s->name_len == strlen(want) && !memcmp(s->name, want, s->name_len);
}

/* The itabs db_record and the cases below point at. */
static const uint64_t itab_addrs[] = { 0x500100, 0x500200, 0x500300, 0x500400 };
static const char *const itab_syms[] = {
	"go:itab.*github.com/jackc/pgx/v5/stdlib.Conn,database/sql/driver.Conn",
	"go:itab.*github.com/jackc/pgx/v5/pgconn.PgError,error",
	"go.itab.main.fakeConn,database/sql/driver.Conn", /* Go <= 1.19 spelling */
	"runtime.main",					  /* not an itab */
};

static const struct span_binary *mysql_for_777(void *ctx, uint32_t pid)
{
	static const struct span_binary mysql = { .db_system = "mysql" };

	(void)ctx;
	return pid == 777 ? &mysql : NULL;
}

static void test_db(struct span_assembler *sa)
{
	struct span_config cfg = { 0 };
	struct itab_names *itabs;
	struct ot_db_rec r;
	struct span s;

	CHECK(itab_names__from_symbols(itab_addrs, itab_syms, 4, &itabs) == 0);
	CHECK(itab_names__count(itabs) == 3);
	cfg.binary.itabs = itabs;
	span_assembler__configure(sa, &cfg);

	/* a query on a pgx connection, made while serving a request */
	db_record(&r);
	r.ids.parent_span_id[0] = 9;
	r.flags = OT_DB_HAS_PARENT;
	CHECK(span_assembler__decode(sa, &r, sizeof(r), &s) == 0);
	CHECK(s.kind == SPAN_KIND_CLIENT && s.status == STATUS_UNSET);
	CHECK(s.has_parent && s.parent_span_id[0] == 9);
	CHECK(s.end_unix_ns - s.start_unix_ns == 300000);
	CHECK(name_is(&s, "SELECT items"));
	CHECK(str_is(&s, "db.system.name", "postgresql"));
	CHECK(str_is(&s, "db.operation.name", "SELECT"));
	CHECK(str_is(&s, "db.collection.name", "items"));
	CHECK(!find(&s, "db.query.text")); /* only with --db-statement */
	CHECK(!find(&s, "error.type"));

	/* --db-statement: the text, as captured */
	cfg.db_statement = true;
	span_assembler__configure(sa, &cfg);
	CHECK(span_assembler__decode(sa, &r, sizeof(r), &s) == 0);
	CHECK(str_is(&s, "db.query.text", "SELECT id, name FROM items WHERE name = $1"));
	CHECK(!find(&s, "db.query.text")->truncated);
	r.query_len = OT_DB_QUERY_CAP + 100; /* longer than the capture */
	CHECK(span_assembler__decode(sa, &r, sizeof(r), &s) == 0);
	CHECK(find(&s, "db.query.text")->len == OT_DB_QUERY_CAP &&
	      find(&s, "db.query.text")->truncated);
	cfg.db_statement = false;
	span_assembler__configure(sa, &cfg);

	/* an error whose type the binary names */
	db_record(&r);
	SET_STR(&r, query, "insert into items values (1)");
	r.flags = OT_DB_ERROR;
	r.error_itab = 0x500200;
	CHECK(span_assembler__decode(sa, &r, sizeof(r), &s) == 0);
	CHECK(s.status == STATUS_ERROR && !s.has_parent);
	CHECK(str_is(&s, "error.type", "*github.com/jackc/pgx/v5/pgconn.PgError"));
	CHECK(str_is(&s, "db.operation.name", "INSERT") && name_is(&s, "INSERT items"));

	/* ... and one it does not: _OTHER */
	r.error_itab = 0x500208;
	CHECK(span_assembler__decode(sa, &r, sizeof(r), &s) == 0);
	CHECK(s.status == STATUS_ERROR && str_is(&s, "error.type", "_OTHER"));

	/* text without a known operation: the span is named after the system */
	db_record(&r);
	SET_STR(&r, query, "SELEC 1");
	CHECK(span_assembler__decode(sa, &r, sizeof(r), &s) == 0);
	CHECK(name_is(&s, "postgresql"));
	CHECK(!find(&s, "db.operation.name") && !find(&s, "db.collection.name"));

	/* an operation without a plain table: named by the operation */
	SET_STR(&r, query, "SELECT now()");
	CHECK(span_assembler__decode(sa, &r, sizeof(r), &s) == 0);
	CHECK(name_is(&s, "SELECT") && !find(&s, "db.collection.name"));

	/* a table name too long for the span name: the attribute keeps it */
	{
		char q[300] = "DELETE FROM ";

		memset(q + strlen(q), 't', 200);
		memcpy(r.query, q, sizeof(q));
		r.query_len = (__u32)strlen(q);
		CHECK(span_assembler__decode(sa, &r, sizeof(r), &s) == 0);
		CHECK(name_is(&s, "DELETE") && find(&s, "db.collection.name")->len == 200);
	}

	/* a driver otrace does not know: the linked driver modules decide, else other_sql */
	db_record(&r);
	r.conn_itab = 0x500300;
	CHECK(span_assembler__decode(sa, &r, sizeof(r), &s) == 0);
	CHECK(str_is(&s, "db.system.name", "other_sql"));
	cfg.binary.db_system = "sqlite";
	span_assembler__configure(sa, &cfg);
	CHECK(span_assembler__decode(sa, &r, sizeof(r), &s) == 0);
	CHECK(str_is(&s, "db.system.name", "sqlite"));
	r.conn_itab = 0; /* driverConn.ci unknown */
	SET_STR(&r, query, "");
	CHECK(span_assembler__decode(sa, &r, sizeof(r), &s) == 0);
	CHECK(str_is(&s, "db.system.name", "sqlite") && name_is(&s, "sqlite"));

	/* several binaries: each process's own decides */
	cfg.binary_of = mysql_for_777;
	span_assembler__configure(sa, &cfg);
	db_record(&r);
	r.conn_itab = 0;
	CHECK(span_assembler__decode(sa, &r, sizeof(r), &s) == 0);
	CHECK(str_is(&s, "db.system.name", "sqlite")); /* pid 4242: the default binary */
	r.pid = 777;
	CHECK(span_assembler__decode(sa, &r, sizeof(r), &s) == 0);
	CHECK(str_is(&s, "db.system.name", "mysql"));

	/* no itab names at all (stripped binary) */
	cfg = (struct span_config){ 0 };
	span_assembler__configure(sa, &cfg);
	db_record(&r);
	r.flags = OT_DB_ERROR;
	r.error_itab = 0x500200;
	CHECK(span_assembler__decode(sa, &r, sizeof(r), &s) == 0);
	CHECK(str_is(&s, "db.system.name", "other_sql") && str_is(&s, "error.type", "_OTHER"));

	/* a record shorter than its type's */
	CHECK(span_assembler__decode(sa, &r, sizeof(r) - 1, &s) == -EINVAL);
	r.hdr.size = sizeof(struct ot_http_client_rec);
	CHECK(span_assembler__decode(sa, &r, sizeof(r), &s) == -EINVAL);
	itab_names__free(itabs);
}

static void test_grpc_client(struct span_assembler *sa)
{
	struct ot_grpc_rec r;
	struct span s;

	grpc_record(&r, OT_REC_GRPC_CLIENT);
	CHECK(span_assembler__decode(sa, &r, sizeof(r), &s) == 0);
	CHECK(s.kind == SPAN_KIND_CLIENT && s.status == STATUS_UNSET);
	CHECK(name_is(&s, "grpc.health.v1.Health/Check"));
	CHECK(str_is(&s, "rpc.system.name", "grpc"));
	CHECK(str_is(&s, "rpc.method", "grpc.health.v1.Health/Check"));
	CHECK(str_is(&s, "rpc.response.status_code", "OK"));
	CHECK(str_is(&s, "server.address", "127.0.0.1"));
	CHECK(int_is(&s, "server.port", 50051));
	CHECK(!find(&s, "error.type") && !find(&s, "rpc.method_original"));
	CHECK(s.end_unix_ns - s.start_unix_ns == 400000);
	CHECK(!s.has_parent);

	/* any non-OK code is an error for a client, NOT_FOUND too */
	grpc_record(&r, OT_REC_GRPC_CLIENT);
	r.code = 5;
	r.ids.parent_span_id[0] = 9;
	r.flags |= OT_GRPC_HAS_PARENT;
	CHECK(span_assembler__decode(sa, &r, sizeof(r), &s) == 0);
	CHECK(s.status == STATUS_ERROR);
	CHECK(str_is(&s, "rpc.response.status_code", "NOT_FOUND"));
	CHECK(str_is(&s, "error.type", "NOT_FOUND"));
	CHECK(s.has_parent && s.parent_span_id[0] == 9);
	CHECK(s.flags == (W3C_SAMPLED | SPAN_FLAGS_HAS_IS_REMOTE)); /* a local parent */

	/* the authority without a port: gRPC's default */
	grpc_record(&r, OT_REC_GRPC_CLIENT);
	SET_STR(&r, authority, "api.example.com");
	CHECK(span_assembler__decode(sa, &r, sizeof(r), &s) == 0);
	CHECK(str_is(&s, "server.address", "api.example.com") && int_is(&s, "server.port", 443));

	/* no authority, no method: no server.address, rpc.method _OTHER, named by the system */
	grpc_record(&r, OT_REC_GRPC_CLIENT);
	r.authority_len = 0;
	r.method_len = 0;
	CHECK(span_assembler__decode(sa, &r, sizeof(r), &s) == 0);
	CHECK(!find(&s, "server.address") && !find(&s, "server.port"));
	CHECK(str_is(&s, "rpc.method", "_OTHER") && !find(&s, "rpc.method_original"));
	CHECK(name_is(&s, "grpc"));

	/* a code outside gRPC's set is kept as a number, and is an error */
	grpc_record(&r, OT_REC_GRPC_CLIENT);
	r.code = 99;
	CHECK(span_assembler__decode(sa, &r, sizeof(r), &s) == 0);
	CHECK(str_is(&s, "rpc.response.status_code", "99") && str_is(&s, "error.type", "99"));
	CHECK(s.status == STATUS_ERROR);
}

static void test_grpc_server(struct span_assembler *sa)
{
	/* semconv: only these codes make a server span an error */
	static const int32_t errors[] = { 2, 4, 12, 13, 14, 15 };
	struct ot_grpc_rec r;
	struct span s;

	for (int32_t code = 0; code <= 16; code++) {
		bool error = false;

		for (size_t i = 0; i < sizeof(errors) / sizeof(errors[0]); i++)
			error |= errors[i] == code;
		grpc_record(&r, OT_REC_GRPC_SERVER);
		r.code = code;
		CHECK(span_assembler__decode(sa, &r, sizeof(r), &s) == 0);
		CHECK(s.kind == SPAN_KIND_SERVER);
		CHECK(str_is(&s, "rpc.response.status_code", span__grpc_code_name(code)));
		CHECK(s.status == (error ? STATUS_ERROR : STATUS_UNSET));
		CHECK(error ? str_is(&s, "error.type", span__grpc_code_name(code)) :
			      !find(&s, "error.type"));
	}
	CHECK(!strcmp(span__grpc_code_name(16), "UNAUTHENTICATED"));
	CHECK(!strcmp(span__grpc_code_name(4), "DEADLINE_EXCEEDED"));
	CHECK(!span__grpc_code_name(17) && !span__grpc_code_name(-1));

	/* a method the server does not have: _OTHER, the name kept as the original */
	grpc_record(&r, OT_REC_GRPC_SERVER);
	r.code = 12;
	SET_STR(&r, method, "/otrace.Nope/Missing");
	SET_STR(&r, message, "unknown service otrace.Nope");
	CHECK(span_assembler__decode(sa, &r, sizeof(r), &s) == 0);
	CHECK(str_is(&s, "rpc.method", "_OTHER"));
	CHECK(str_is(&s, "rpc.method_original", "otrace.Nope/Missing"));
	CHECK(name_is(&s, "grpc") && s.status == STATUS_ERROR);

	/* UNIMPLEMENTED from the handler itself: the method is known */
	SET_STR(&r, message, "not yet");
	CHECK(span_assembler__decode(sa, &r, sizeof(r), &s) == 0);
	CHECK(str_is(&s, "rpc.method", "otrace.Nope/Missing") && !find(&s, "rpc.method_original"));

	/* a method longer than the capture is not a name otrace can vouch for */
	grpc_record(&r, OT_REC_GRPC_SERVER);
	memset(r.method, 'm', sizeof(r.method));
	r.method[0] = '/';
	r.method_len = 300;
	CHECK(span_assembler__decode(sa, &r, sizeof(r), &s) == 0);
	CHECK(str_is(&s, "rpc.method", "_OTHER"));
	CHECK(find(&s, "rpc.method_original")->len == OT_GRPC_METHOD_CAP - 1);
	CHECK(find(&s, "rpc.method_original")->truncated);

	/* an incoming traceparent: remote parent */
	grpc_record(&r, OT_REC_GRPC_SERVER);
	r.ids.parent_span_id[0] = 0xb7;
	r.ids.parent_remote = 1;
	r.flags |= OT_GRPC_HAS_PARENT;
	CHECK(span_assembler__decode(sa, &r, sizeof(r), &s) == 0);
	CHECK(s.has_parent && s.parent_span_id[0] == 0xb7);
	CHECK(s.flags == (W3C_SAMPLED | SPAN_FLAGS_HAS_IS_REMOTE | SPAN_FLAGS_IS_REMOTE));

	/* truncated record */
	grpc_record(&r, OT_REC_GRPC_SERVER);
	CHECK(span_assembler__decode(sa, &r, sizeof(r) - 1, &s) == -EINVAL);
	r.hdr.size = sizeof(r) - 8;
	CHECK(span_assembler__decode(sa, &r, sizeof(r), &s) == -EINVAL);
}

static void test_bad_records(struct span_assembler *sa)
{
	struct ot_http_server_rec r;
	struct span s;

	http_record(&r);
	CHECK(span_assembler__decode(sa, &r, 4, &s) == -EINVAL);
	CHECK(span_assembler__decode(sa, &r, sizeof(r) - 1, &s) == -EINVAL);
	r.hdr.type = 99;
	CHECK(span_assembler__decode(sa, &r, sizeof(r), &s) == -EINVAL);
	http_record(&r);
	r.hdr.size = 16;
	CHECK(span_assembler__decode(sa, &r, sizeof(r), &s) == -EINVAL);
}

int main(void)
{
	struct span_assembler *sa;

	CHECK(span_assembler__new(&sa) == 0);
	test_split();
	test_http_server(sa);
	test_http_variants(sa);
	test_traceparent(sa);
	test_http_client(sa);
	test_db(sa);
	test_grpc_client(sa);
	test_grpc_server(sa);
	test_bad_records(sa);
	span_assembler__free(sa);
	return ut_summary();
}
