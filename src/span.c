// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "itabs.h"
#include "span.h"
#include "sql.h"
#include "../bpf/traceparent.h"

struct span_assembler {
	int64_t mono_to_unix; /* add to CLOCK_MONOTONIC ns to get Unix ns */
	struct span_config cfg;
};

static uint64_t timespec_ns(const struct timespec *ts)
{
	return (uint64_t)ts->tv_sec * 1000000000ull + (uint64_t)ts->tv_nsec;
}

/* Reads both clocks several times and keeps the tightest bracket. */
static int64_t clock_offset(void)
{
	uint64_t best_gap = UINT64_MAX;
	int64_t offset = 0;

	for (int i = 0; i < 5; i++) {
		struct timespec m1, r, m2;

		clock_gettime(CLOCK_MONOTONIC, &m1);
		clock_gettime(CLOCK_REALTIME, &r);
		clock_gettime(CLOCK_MONOTONIC, &m2);
		uint64_t gap = timespec_ns(&m2) - timespec_ns(&m1);
		if (gap < best_gap) {
			best_gap = gap;
			offset = (int64_t)timespec_ns(&r) -
				 (int64_t)(timespec_ns(&m1) + gap / 2);
		}
	}
	return offset;
}

int span_assembler__new(struct span_assembler **out)
{
	struct span_assembler *sa = calloc(1, sizeof(*sa));

	if (!sa)
		return -ENOMEM;
	sa->mono_to_unix = clock_offset();

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

/* Adds a captured string; full_len is its length in the target. */
static void add_captured(struct span *s, const char *key, const char *buf, size_t cap,
			 uint32_t full_len)
{
	struct attr *a = add_attr(s, key);

	if (!a)
		return;
	a->type = ATTR_STRING;
	a->str = buf;
	a->len = full_len > cap ? cap : full_len;
	a->truncated = full_len > cap;
}

static void add_string(struct span *s, const char *key, const char *str, size_t len)
{
	struct attr *a = add_attr(s, key);

	if (a) {
		a->type = ATTR_STRING;
		a->str = str;
		a->len = len;
	}
}

static void add_int(struct span *s, const char *key, int64_t v)
{
	struct attr *a = add_attr(s, key);

	if (a) {
		a->type = ATTR_INT;
		a->num = v;
	}
}

/* Copies a derived string into the span's scratch space. */
static const char *keep(struct span *s, const char *str, size_t len)
{
	char *dst;

	if (s->scratch_used + len > sizeof(s->scratch))
		return NULL;
	dst = s->scratch + s->scratch_used;
	memcpy(dst, str, len);
	s->scratch_used += len;
	return dst;
}

int span__split_host_port(const char *s, size_t len, size_t *host_off, size_t *host_len,
			  int64_t *port)
{
	size_t colon = len;

	*port = -1;
	*host_off = 0;
	if (len && s[0] == '[') { /* [v6]:port */
		const char *end = memchr(s, ']', len);

		if (!end)
			return -EINVAL;
		*host_off = 1;
		*host_len = (size_t)(end - s) - 1;
		colon = (size_t)(end - s) + 1;
		if (colon < len && s[colon] != ':')
			return -EINVAL;
	} else {
		const char *c = memchr(s, ':', len);

		/* a second colon means a bare IPv6 address without a port */
		if (c && !memchr(c + 1, ':', len - (size_t)(c - s) - 1))
			colon = (size_t)(c - s);
		*host_len = colon;
	}
	if (colon + 1 < len) {
		int64_t p = 0;

		for (size_t i = colon + 1; i < len; i++) {
			if (s[i] < '0' || s[i] > '9' || p > 65535)
				return -EINVAL;
			p = p * 10 + (s[i] - '0');
		}
		if (p > 65535)
			return -EINVAL;
		*port = p;
	}
	return 0;
}

int span__parse_traceparent(const char *s, size_t len, uint8_t trace_id[16],
			    uint8_t parent_id[8], uint8_t *trace_flags)
{
	return ot_parse_traceparent(s, len, trace_id, parent_id, trace_flags) ? -EINVAL : 0;
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

/* What every span has: kind, process, times (kernel clock) and ids. */
static void set_identity(struct span_assembler *sa, struct span *s, enum span_kind kind,
			 uint32_t pid, uint64_t start_ns, uint64_t end_ns,
			 const struct ot_span_ids *ids, bool has_parent)
{
	s->kind = kind;
	s->pid = pid;
	s->start_unix_ns = span_assembler__unix_ns(sa, start_ns);
	s->end_unix_ns = span_assembler__unix_ns(sa, end_ns);
	apply_ids(s, ids, has_parent);
}

static bool known_method(const char *m, size_t len)
{
	static const char *const methods[] = { "CONNECT", "DELETE",  "GET",   "HEAD", "OPTIONS",
					       "PATCH",	  "POST",    "PUT",   "TRACE", "QUERY" };

	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (strlen(methods[i]) == len && !memcmp(methods[i], m, len))
			return true;
	return false;
}

/* The route is the pattern's path: "GET example.com/items/{id}" -> "/items/{id}". */
static bool route_of(const struct ot_http_server_rec *r, const char **route, size_t *len)
{
	size_t n = r->pattern_len > OT_PATTERN_CAP ? OT_PATTERN_CAP : r->pattern_len;
	const char *p = r->pattern, *slash;
	const char *space = memchr(p, ' ', n);

	if (!n)
		return false;
	if (space) {
		n -= (size_t)(space - p) + 1;
		p = space + 1;
		while (n && *p == ' ') {
			p++;
			n--;
		}
	}
	slash = memchr(p, '/', n);
	if (!slash)
		return false;
	n -= (size_t)(slash - p);
	*route = slash;
	*len = n;
	return true;
}

static void set_name(struct span *s, const char *method, size_t mlen, const char *route,
		     size_t rlen)
{
	s->name_len = 0;
	memcpy(s->name, method, mlen);
	s->name_len = mlen;
	if (route) {
		s->name[s->name_len++] = ' ';
		memcpy(s->name + s->name_len, route, rlen);
		s->name_len += rlen;
	}
}

static void add_server_address(struct span *s, const struct ot_http_server_rec *r, bool tls)
{
	size_t n = r->host_len > OT_HOST_CAP ? OT_HOST_CAP : r->host_len;
	size_t off, hlen;
	int64_t port;

	if (!n || span__split_host_port(r->host, n, &off, &hlen, &port))
		return;
	add_string(s, "server.address", r->host + off, hlen);
	if (port < 0)
		port = tls ? 443 : 80;
	add_int(s, "server.port", port);
}

static void add_client_address(struct span *s, const struct ot_http_server_rec *r)
{
	size_t n = r->remote_len > OT_ADDR_CAP ? OT_ADDR_CAP : r->remote_len;
	size_t off, hlen;
	int64_t port;

	if (!n || span__split_host_port(r->remote, n, &off, &hlen, &port))
		return;
	add_string(s, "client.address", r->remote + off, hlen);
	if (port >= 0)
		add_int(s, "client.port", port);
	/* the connection's peer: the same address, as net/http does not read X-Forwarded-For */
	add_string(s, "network.peer.address", r->remote + off, hlen);
	if (port >= 0)
		add_int(s, "network.peer.port", port);
}

static void add_protocol_version(struct span *s, int64_t major, int64_t minor)
{
	char buf[3] = { (char)('0' + major), '.', (char)('0' + minor) };
	size_t n = major >= 2 && minor == 0 ? 1 : 3; /* "2", "1.1" */
	const char *kept;

	if (major <= 0 || major > 9 || minor < 0 || minor > 9)
		return;
	kept = keep(s, buf, n);
	if (kept)
		add_string(s, "network.protocol.version", kept, n);
}

/* ERROR status with the status code as error.type (semantic conventions). */
static void set_status_error(struct span *s, int64_t status)
{
	char buf[24];
	int n = snprintf(buf, sizeof(buf), "%lld", (long long)status);
	const char *kept = keep(s, buf, (size_t)n);

	s->status = STATUS_ERROR;
	if (kept)
		add_string(s, "error.type", kept, (size_t)n);
}

/* Adds the method attributes; returns whether it is a known method. */
static bool add_method(struct span *s, const char *method, uint32_t full_len)
{
	size_t mlen = full_len > OT_METHOD_CAP ? OT_METHOD_CAP : full_len;

	if (known_method(method, mlen)) {
		add_captured(s, "http.request.method", method, OT_METHOD_CAP, full_len);
		return true;
	}
	add_string(s, "http.request.method", "_OTHER", 6);
	add_captured(s, "http.request.method_original", method, OT_METHOD_CAP, full_len);
	return false;
}

static int decode_http_server(struct span_assembler *sa, const struct ot_http_server_rec *in,
			      struct span *s)
{
	const struct ot_http_server_rec *r = &s->rec.http_server;
	size_t mlen = in->method_len > OT_METHOD_CAP ? OT_METHOD_CAP : in->method_len;
	bool tls, known;
	const char *route = NULL;
	size_t rlen = 0;
	int64_t status;

	memcpy(&s->rec.http_server, in, sizeof(*in));
	tls = r->flags & OT_HTTP_TLS;
	/* a handler that wrote nothing gets an implicit 200, unless it never returned */
	status = r->status ? r->status : r->flags & (OT_HTTP_PANICKED | OT_HTTP_HIJACKED) ? 0 : 200;

	set_identity(sa, s, SPAN_KIND_SERVER, r->pid, r->start_ns, r->end_ns, &r->ids,
		     r->flags & OT_HTTP_HAS_PARENT);

	known = add_method(s, r->method, r->method_len);
	add_captured(s, "url.path", r->path, OT_PATH_CAP, r->path_len);
	add_string(s, "url.scheme", tls ? "https" : "http", tls ? 5 : 4);
	if (status)
		add_int(s, "http.response.status_code", status);
	if ((r->flags & OT_HTTP_HAS_PATTERN) && route_of(r, &route, &rlen))
		add_string(s, "http.route", route, rlen);
	add_server_address(s, r, tls);
	add_client_address(s, r);
	add_protocol_version(s, r->proto_major, r->proto_minor);
	if (r->flags & OT_HTTP_UA_FOUND)
		add_captured(s, "user_agent.original", r->ua, OT_UA_CAP, r->ua_len);
	if (status >= 500) {
		set_status_error(s, status);
	} else if (r->flags & OT_HTTP_PANICKED) {
		/* net/http recovered the panic and closed the connection */
		s->status = STATUS_ERROR;
		add_string(s, "error.type", "panic", 5);
	}
	/* semconv: "{method} {route}", or "HTTP" for methods outside the known set */
	if (known)
		set_name(s, r->method, mlen, route, rlen);
	else
		set_name(s, "HTTP", 4, route, rlen);
	return 0;
}

/* semantic conventions 1.44's list, and the older one's (AWS signature version 2) */
static const char *const secret_query_params[] = {
	"AWSAccessKeyId",	"Signature",	    "sig",		    "X-Goog-Signature",
	"X-Amz-Signature", "X-Amz-Credential", "X-Amz-Security-Token",
};

static bool is_secret_param(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof(secret_query_params) / sizeof(secret_query_params[0]); i++)
		if (strlen(secret_query_params[i]) == len &&
		    !memcmp(secret_query_params[i], name, len))
			return true;
	return false;
}

static size_t put(char *dst, size_t used, size_t cap, const char *src, size_t n)
{
	if (used >= cap)
		return used;
	if (n > cap - used)
		n = cap - used;
	memcpy(dst + used, src, n);
	return used + n;
}

/* ?query, the values of secret parameters replaced */
static size_t put_query(char *dst, size_t n, size_t cap, const char *query, size_t query_len)
{
	n = put(dst, n, cap, "?", 1);
	for (size_t i = 0; i < query_len;) {
		const char *amp = memchr(query + i, '&', query_len - i);
		size_t end = amp ? (size_t)(amp - query) : query_len;
		const char *eq = memchr(query + i, '=', end - i);

		if (eq && is_secret_param(query + i, (size_t)(eq - query) - i)) {
			n = put(dst, n, cap, query + i, (size_t)(eq - query) - i + 1);
			n = put(dst, n, cap, "REDACTED", 8);
		} else {
			n = put(dst, n, cap, query + i, end - i);
		}
		if (amp)
			n = put(dst, n, cap, "&", 1);
		i = end + 1;
	}
	return n;
}

size_t span__url_full(char *dst, size_t cap, const struct url_parts *u)
{
	size_t n = 0;

	n = put(dst, n, cap, u->scheme, u->scheme_len);
	n = put(dst, n, cap, "://", 3);
	if (u->userinfo)
		n = put(dst, n, cap, "REDACTED:REDACTED@", 18);
	n = put(dst, n, cap, u->host, u->host_len);
	n = put(dst, n, cap, u->path, u->path_len);
	if (u->query_len)
		n = put_query(dst, n, cap, u->query, u->query_len);
	if (u->fragment_len) {
		n = put(dst, n, cap, "#", 1);
		n = put(dst, n, cap, u->fragment, u->fragment_len);
	}
	return n;
}

static size_t captured(uint32_t full_len, size_t cap)
{
	return full_len > cap ? cap : full_len;
}

/* The binary process pid runs, as far as decoding is concerned. */
static const struct span_binary *binary_of(const struct span_assembler *sa, uint32_t pid)
{
	const struct span_binary *b =
		sa->cfg.binary_of ? sa->cfg.binary_of(sa->cfg.binary_ctx, pid) : NULL;

	return b ? b : &sa->cfg.binary;
}

/*
 * error.type for a Go error: its dynamic type ("*net.OpError") when the
 * binary's symbols name the itab, else semconv's fallback _OTHER.
 */
static void add_error_type(struct span_assembler *sa, struct span *s, uint32_t pid,
			   uint64_t itab)
{
	size_t n = 0;
	const char *type = itab_names__type(binary_of(sa, pid)->itabs, itab, &n);

	if (type)
		add_string(s, "error.type", type, n);
	else
		add_string(s, "error.type", "_OTHER", 6);
}

static int decode_http_client(struct span_assembler *sa, const struct ot_http_client_rec *in,
			      struct span *s)
{
	const struct ot_http_client_rec *r = &s->rec.http_client;
	size_t mlen = captured(in->method_len, OT_METHOD_CAP);
	size_t slen, hlen, off, host_len;
	struct url_parts parts;
	char *url = s->scratch;
	int64_t port;
	bool known;

	memcpy(&s->rec.http_client, in, sizeof(*in));
	set_identity(sa, s, SPAN_KIND_CLIENT, r->pid, r->start_ns, r->end_ns, &r->ids,
		     r->flags & OT_HTTP_HAS_PARENT);

	known = add_method(s, r->method, r->method_len);
	slen = captured(r->scheme_len, OT_SCHEME_CAP);
	hlen = captured(r->host_len, OT_HOST_CAP);
	/* url.full first: the other derived strings go after it in scratch */
	parts = (struct url_parts){
		.scheme = r->scheme,
		.scheme_len = slen,
		.host = r->host,
		.host_len = hlen,
		.path = r->path,
		.path_len = captured(r->path_len, OT_PATH_CAP),
		.query = r->query,
		.query_len = captured(r->query_len, OT_QUERY_CAP),
		.fragment = r->fragment,
		.fragment_len = captured(r->fragment_len, OT_FRAGMENT_CAP),
		.userinfo = r->flags & OT_HTTP_USERINFO,
	};
	s->scratch_used = span__url_full(url, sizeof(s->scratch) / 2, &parts);
	add_string(s, "url.full", url, s->scratch_used);
	if (r->path_len > OT_PATH_CAP || r->query_len > OT_QUERY_CAP ||
	    r->host_len > OT_HOST_CAP || r->fragment_len > OT_FRAGMENT_CAP)
		s->attrs[s->nattrs - 1].truncated = true;
	if (hlen && !span__split_host_port(r->host, hlen, &off, &host_len, &port)) {
		add_string(s, "server.address", r->host + off, host_len);
		if (port < 0)
			port = slen == 5 && !memcmp(r->scheme, "https", 5) ? 443 : 80;
		add_int(s, "server.port", port);
	}
	if (r->flags & OT_HTTP_TRANSPORT_ERROR) {
		s->status = STATUS_ERROR;
		add_error_type(sa, s, r->pid, r->error_itab);
	} else {
		add_int(s, "http.response.status_code", r->status);
		add_protocol_version(s, r->proto_major, r->proto_minor);
		if (r->status >= 400)
			set_status_error(s, r->status);
	}
	/* semconv: the client span is named by its method alone */
	if (known)
		set_name(s, r->method, mlen, NULL, 0);
	else
		set_name(s, "HTTP", 4, NULL, 0);
	return 0;
}

/* db.system.name from the type of the connection's driver.Conn. */
static const char *db_system(const struct span_assembler *sa, uint32_t pid, uint64_t conn_itab)
{
	const struct span_binary *b = binary_of(sa, pid);
	size_t len;
	const char *type = itab_names__type(b->itabs, conn_itab, &len);
	const char *system = type ? sql__system_of_type(type, len) : NULL;

	if (system)
		return system;
	return b->db_system ? b->db_system : "other_sql";
}

/* semconv: "{db.operation.name} {db.collection.name}", else the operation, else the system. */
static void set_db_name(struct span *s, const struct sql_summary *sum, const char *system)
{
	size_t cap = sizeof(s->name);

	if (!sum->operation_len) {
		set_name(s, system, strlen(system), NULL, 0);
		return;
	}
	if (sum->collection && sum->operation_len + 1 + sum->collection_len <= cap)
		set_name(s, sum->operation, sum->operation_len, sum->collection,
			 sum->collection_len);
	else
		set_name(s, sum->operation, sum->operation_len, NULL, 0);
}

static int decode_db(struct span_assembler *sa, const struct ot_db_rec *in, struct span *s)
{
	const struct ot_db_rec *r = &s->rec.db;
	size_t qlen = captured(in->query_len, OT_DB_QUERY_CAP);
	const char *system = db_system(sa, in->pid, in->conn_itab);
	struct sql_summary sum;

	memcpy(&s->rec.db, in, sizeof(*in));
	set_identity(sa, s, SPAN_KIND_CLIENT, r->pid, r->start_ns, r->end_ns, &r->ids,
		     r->flags & OT_DB_HAS_PARENT);

	sql__summarize(r->query, qlen, &sum);
	add_string(s, "db.system.name", system, strlen(system));
	if (sum.operation_len) {
		const char *op = keep(s, sum.operation, sum.operation_len);

		if (op)
			add_string(s, "db.operation.name", op, sum.operation_len);
	}
	if (sum.collection)
		add_string(s, "db.collection.name", sum.collection, sum.collection_len);
	if (sa->cfg.db_statement)
		add_captured(s, "db.query.text", r->query, OT_DB_QUERY_CAP, r->query_len);
	if (r->flags & OT_DB_ERROR) {
		s->status = STATUS_ERROR;
		add_error_type(sa, s, r->pid, r->error_itab);
	}
	set_db_name(s, &sum, system);
	return 0;
}

static const char *const grpc_code_names[] = {
	"OK",		     "CANCELLED",	  "UNKNOWN",	    "INVALID_ARGUMENT",
	"DEADLINE_EXCEEDED", "NOT_FOUND",	  "ALREADY_EXISTS", "PERMISSION_DENIED",
	"RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED",	    "OUT_OF_RANGE",
	"UNIMPLEMENTED",     "INTERNAL",	  "UNAVAILABLE",    "DATA_LOSS",
	"UNAUTHENTICATED",
};

const char *span__grpc_code_name(int32_t code)
{
	if (code < 0 || (size_t)code >= sizeof(grpc_code_names) / sizeof(grpc_code_names[0]))
		return NULL;
	return grpc_code_names[code];
}

/* Semantic conventions: the codes a server reports as errors (any non-OK for a client). */
static bool grpc_server_error(int32_t code)
{
	switch (code) {
	case 2:	 /* UNKNOWN */
	case 4:	 /* DEADLINE_EXCEEDED */
	case 12: /* UNIMPLEMENTED */
	case 13: /* INTERNAL */
	case 14: /* UNAVAILABLE */
	case 15: /* DATA_LOSS */
		return true;
	default:
		return code < 0 || code > 16; /* not a gRPC code at all */
	}
}

/*
 * grpc-go's own answer to a method the server does not have: such a name is
 * not recognised, so semconv wants rpc.method "_OTHER" and the name in
 * rpc.method_original.
 */
static bool grpc_unknown_method(const struct ot_grpc_rec *r)
{
	static const char *const prefixes[] = { "unknown service ", "unknown method ",
						"malformed method name" };
	size_t n = captured(r->message_len, OT_GRPC_MESSAGE_CAP);

	if (r->code != 12) /* UNIMPLEMENTED */
		return false;
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (n >= strlen(prefixes[i]) && !memcmp(r->message, prefixes[i], strlen(prefixes[i])))
			return true;
	return false;
}

static void add_grpc_server_address(struct span *s, const struct ot_grpc_rec *r)
{
	size_t n = captured(r->authority_len, OT_HOST_CAP);
	size_t off, hlen;
	int64_t port;

	if (!n || span__split_host_port(r->authority, n, &off, &hlen, &port) || !hlen)
		return;
	add_string(s, "server.address", r->authority + off, hlen);
	add_int(s, "server.port", port < 0 ? 443 : port); /* gRPC's default port */
}

static int decode_grpc(struct span_assembler *sa, const struct ot_grpc_rec *in, struct span *s)
{
	const struct ot_grpc_rec *r = &s->rec.grpc;
	bool server = in->hdr.type == OT_REC_GRPC_SERVER;
	size_t mlen = captured(in->method_len, OT_GRPC_METHOD_CAP);
	size_t cap = OT_GRPC_METHOD_CAP, full = in->method_len;
	const char *method = s->rec.grpc.method, *code_name;
	char code_buf[16];
	bool recognised;

	memcpy(&s->rec.grpc, in, sizeof(*in));
	set_identity(sa, s, server ? SPAN_KIND_SERVER : SPAN_KIND_CLIENT, r->pid, r->start_ns,
		     r->end_ns, &r->ids, r->flags & OT_GRPC_HAS_PARENT);

	/* "/package.Service/Method" on the wire; semconv drops the leading slash */
	if (mlen && method[0] == '/') {
		method++;
		mlen--;
		cap--;
		full--;
	}
	recognised = mlen && full <= cap && !(server && grpc_unknown_method(r));
	add_string(s, "rpc.system.name", "grpc", 4);
	if (recognised) {
		add_string(s, "rpc.method", method, mlen);
	} else {
		add_string(s, "rpc.method", "_OTHER", 6);
		if (mlen)
			add_captured(s, "rpc.method_original", method, cap, (uint32_t)full);
	}
	code_name = span__grpc_code_name(r->code);
	if (!code_name) { /* not a gRPC code: the number itself */
		int n = snprintf(code_buf, sizeof(code_buf), "%d", r->code);

		code_name = keep(s, code_buf, (size_t)n + 1);
	}
	if (code_name)
		add_string(s, "rpc.response.status_code", code_name, strlen(code_name));
	add_grpc_server_address(s, r);
	if (server ? grpc_server_error(r->code) : r->code != 0) {
		s->status = STATUS_ERROR;
		if (code_name)
			add_string(s, "error.type", code_name, strlen(code_name));
	}
	/* semconv: the span is named by rpc.method, by the system when that is _OTHER */
	if (recognised)
		set_name(s, method, mlen, NULL, 0);
	else
		set_name(s, "grpc", 4, NULL, 0);
	return 0;
}

int span_assembler__decode(struct span_assembler *sa, const void *data, size_t size,
			   struct span *span)
{
	struct ot_rec_hdr hdr;

	if (size < sizeof(hdr))
		return -EINVAL;
	memcpy(&hdr, data, sizeof(hdr));
	if (hdr.size > size)
		return -EINVAL;
	memset(span, 0, offsetof(struct span, rec));
	switch (hdr.type) {
	case OT_REC_HTTP_SERVER:
		if (hdr.size < sizeof(struct ot_http_server_rec))
			return -EINVAL;
		return decode_http_server(sa, data, span);
	case OT_REC_HTTP_CLIENT:
		if (hdr.size < sizeof(struct ot_http_client_rec))
			return -EINVAL;
		return decode_http_client(sa, data, span);
	case OT_REC_DB_CLIENT:
		if (hdr.size < sizeof(struct ot_db_rec))
			return -EINVAL;
		return decode_db(sa, data, span);
	case OT_REC_GRPC_SERVER:
	case OT_REC_GRPC_CLIENT:
		if (hdr.size < sizeof(struct ot_grpc_rec))
			return -EINVAL;
		return decode_grpc(sa, data, span);
	default:
		return -EINVAL;
	}
}
