// SPDX-License-Identifier: MIT
/* net/http server records to SERVER spans (HTTP semantic conventions). */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "net_http_server.h"
#include "net_http_server/record.h"
#include "packed.h"
#include "percent.h"
#include "semconv.h"

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

/*
 * The path of a RequestURI as received (OT_HTTP_PATH_RAW): origin form
 * "/p?q", absolute form "http://host/p?q", "*"; the authority form of a
 * CONNECT has none.
 */
static size_t path_of_request_uri(const char *uri, size_t n, const char **path)
{
	const char *scheme_end = n > 3 ? memmem(uri, n, "://", 3) : NULL;
	const char *p = uri, *end;

	if (scheme_end && uri[0] != '/') {
		p = memchr(scheme_end + 3, '/', n - (size_t)(scheme_end + 3 - uri));
		if (!p)
			return 0;
	} else if (!n || (uri[0] != '/' && uri[0] != '*')) {
		return 0;
	}
	end = memchr(p, '?', n - (size_t)(p - uri));
	*path = p;
	return (size_t)((end ? end : uri + n) - p);
}

/*
 * url.path: URL.Path as net/http parsed it. A record of RequestURI
 * (OT_HTTP_PATH_RAW, the usual) has its path percent-decoded here as
 * url.ParseRequestURI decodes it; one whose escapes net/http could not
 * have accepted keeps them as received.
 */
static void add_url_path(struct span *s, const struct ot_http_server_rec *r)
{
	size_t got = span__captured(r->path_len, OT_PATH_CAP), n;
	const char *path = NULL;
	char decoded[OT_PATH_CAP];
	ssize_t dn;
	bool cut;

	if (!(r->flags & OT_HTTP_PATH_RAW)) {
		span__add_captured(s, "url.path", r->path, OT_PATH_CAP, r->path_len);
		return;
	}
	n = path_of_request_uri(r->path, got, &path);
	if (!path)
		return;
	/* the capture ended inside the path, maybe inside an escape */
	cut = r->path_len > OT_PATH_CAP && path + n == r->path + got;
	if (cut)
		n = percent__whole_escapes(path, n);
	if (memchr(path, '%', n) && (dn = percent__decode(path, n, decoded)) >= 0) {
		/* the span keeps a copy: decoded is gone when this returns */
		path = span__keep(s, decoded, (size_t)dn);
		n = (size_t)dn;
		if (!path)
			return;
	}
	span__add_captured(s, "url.path", path, n, (uint32_t)(n + cut));
}

/*
 * url.query: the RequestURI's query component as received (not decoded),
 * the values of secret parameters redacted as in a client's url.full.
 * None without a query, nor when the capture ended before its '?', nor in
 * a record of URL.Path (a layout without RequestURI).
 */
static void add_url_query(struct span *s, const struct ot_http_server_rec *r)
{
	size_t got = span__captured(r->path_len, OT_PATH_CAP), n;
	const char *q = r->flags & OT_HTTP_PATH_RAW ? memchr(r->path, '?', got) : NULL;
	char redacted[3 * OT_PATH_CAP]; /* each secret value may grow to REDACTED */
	const char *kept;

	if (!q || !(n = got - (size_t)(q + 1 - r->path)))
		return;
	n = semconv__redact_query(redacted, sizeof(redacted), q + 1, n);
	kept = span__keep(s, redacted, n);
	if (kept && span__add_string(s, "url.query", kept, n) && r->path_len > OT_PATH_CAP)
		s->attrs[s->nattrs - 1].truncated = true;
}

/* The strings of a record, in the order its wire form packs them. */
static const struct packed_string packed[] = {
	PACKED_STRING(struct ot_http_server_rec, method_len, method),
	PACKED_STRING(struct ot_http_server_rec, path_len, path),
	PACKED_STRING(struct ot_http_server_rec, host_len, host),
	PACKED_STRING(struct ot_http_server_rec, remote_len, remote),
	PACKED_STRING(struct ot_http_server_rec, pattern_len, pattern),
	PACKED_STRING(struct ot_http_server_rec, ua_len, ua),
	PACKED_STRING(struct ot_http_server_rec, route.len, route.text),
};
#define NPACKED (sizeof(packed) / sizeof(packed[0]))

int net_http_server__unpack(const void *wire, size_t size, struct ot_http_server_rec *r)
{
	const struct ot_http_server_wire *w = wire;

	if (size < sizeof(*w))
		return -EINVAL;
	memset(r, 0, sizeof(*r));
	memcpy(r, w, offsetof(struct ot_http_server_wire, route_state)); /* the heads are alike */
	r->route.state = w->route_state;
	r->route.len = w->route_len;
	return packed__unpack(packed, NPACKED, w->strings, size - sizeof(*w), r);
}

size_t net_http_server__pack(const struct ot_http_server_rec *r, void *out)
{
	struct ot_http_server_wire *w = out;

	memcpy(w, r, offsetof(struct ot_http_server_wire, route_state));
	w->route_state = r->route.state;
	w->route_len = r->route.len;
	w->hdr.size = (uint32_t)(sizeof(*w) + packed__pack(packed, NPACKED, r, w->strings));
	return w->hdr.size;
}

int net_http_server__decode(const struct span_decoding *d, const void *rec, size_t size,
			    struct span *s)
{
	const struct ot_http_server_rec *r;
	struct ot_http_server_rec unpacked;
	bool tls, known;
	const char *route = NULL;
	enum semconv_route routed;
	size_t mlen, rlen = 0;
	int64_t status;

	if (net_http_server__unpack(rec, size, &unpacked) ||
	    !(r = span__read_record(s, &unpacked, sizeof(unpacked))))
		return -EINVAL;
	mlen = span__captured(r->method_len, OT_METHOD_CAP);
	tls = r->flags & OT_HTTP_TLS;
	/*
	 * a handler that wrote nothing gets an implicit 200, unless it never
	 * returned or its writer could not be read
	 */
	status = r->status ? r->status :
		 r->flags & (OT_HTTP_PANICKED | OT_HTTP_HIJACKED | OT_HTTP_STATUS_UNKNOWN) ? 0 :
											       200;

	span__set_identity(d, s, SPAN_KIND_SERVER, r->pid, r->start_ns, r->end_ns, &r->ids,
		     r->flags & OT_HTTP_HAS_PARENT);

	known = semconv__add_http_method(s, r->method, r->method_len);
	add_url_path(s, r);
	add_url_query(s, r);
	span__add_string(s, "url.scheme", tls ? "https" : "http", tls ? 5 : 4);
	if (status && !semconv__add_http_status(s, status))
		status = 0; /* not a status: memory that was something else */
	/* a router's route wins; without a router, ServeMux's pattern is the route */
	routed = semconv__router_route(s, &r->route, &route, &rlen);
	if (routed == SEMCONV_ROUTE_NOT_ROUTED && (r->flags & OT_HTTP_HAS_PATTERN))
		route_of(r, &route, &rlen);
	if (route && !span__add_string(s, "http.route", route, rlen)) {
		route = NULL;
		rlen = 0;
	}
	semconv__add_host_port(s, "server.address", "server.port", r->host, OT_HOST_CAP,
			       r->host_len, tls ? 443 : 80);
	semconv__add_host_port(s, "client.address", "client.port", r->remote, OT_ADDR_CAP,
			       r->remote_len, -1);
	/* the connection's peer: the same address, as net/http does not read X-Forwarded-For */
	semconv__add_host_port(s, "network.peer.address", "network.peer.port", r->remote,
			       OT_ADDR_CAP, r->remote_len, -1);
	/* an h2c upgrade's request came as HTTP/1.1 and was answered over HTTP/2 */
	if (r->flags & OT_HTTP_SERVED_H2)
		semconv__add_protocol_version(s, 2, 0);
	else
		semconv__add_protocol_version(s, r->proto_major, r->proto_minor);
	if (r->flags & OT_HTTP_UA_FOUND)
		span__add_captured(s, "user_agent.original", r->ua, OT_UA_CAP, r->ua_len);
	if (status >= 500) {
		semconv__set_status_error(s, status);
	} else if (r->flags & OT_HTTP_PANICKED) {
		/* net/http recovered the panic and closed the connection */
		s->status = STATUS_ERROR;
		span__add_string(s, "error.type", "panic", 5);
	}
	/* semconv: "{method} {route}", or "HTTP" for methods outside the known set */
	if (known)
		span__set_name(s, r->method, mlen, route, rlen);
	else
		span__set_name(s, "HTTP", 4, route, rlen);
	return 0;
}
