// SPDX-License-Identifier: MIT
/* net/http server records to SERVER spans (HTTP semantic conventions). */
#include <errno.h>
#include <string.h>

#include "net_http_server.h"
#include "net_http_server/record.h"
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

static void add_server_address(struct span *s, const struct ot_http_server_rec *r, bool tls)
{
	size_t n = r->host_len > OT_HOST_CAP ? OT_HOST_CAP : r->host_len;
	size_t off, hlen;
	int64_t port;

	if (!n || semconv__split_host_port(r->host, n, &off, &hlen, &port))
		return;
	span__add_string(s, "server.address", r->host + off, hlen);
	if (port < 0)
		port = tls ? 443 : 80;
	span__add_int(s, "server.port", port);
}

static void add_client_address(struct span *s, const struct ot_http_server_rec *r)
{
	size_t n = r->remote_len > OT_ADDR_CAP ? OT_ADDR_CAP : r->remote_len;
	size_t off, hlen;
	int64_t port;

	if (!n || semconv__split_host_port(r->remote, n, &off, &hlen, &port))
		return;
	span__add_string(s, "client.address", r->remote + off, hlen);
	if (port >= 0)
		span__add_int(s, "client.port", port);
	/* the connection's peer: the same address, as net/http does not read X-Forwarded-For */
	span__add_string(s, "network.peer.address", r->remote + off, hlen);
	if (port >= 0)
		span__add_int(s, "network.peer.port", port);
}

int net_http_server__decode(const struct span_decoding *d, const void *rec, size_t size,
			    struct span *s)
{
	const struct ot_http_server_rec *r;
	bool tls, known;
	const char *route = NULL;
	size_t mlen, rlen = 0;
	int64_t status;

	if (size < sizeof(*r) || !(r = span__keep_record(s, rec, sizeof(*r))))
		return -EINVAL;
	mlen = span__captured(r->method_len, OT_METHOD_CAP);
	tls = r->flags & OT_HTTP_TLS;
	/* a handler that wrote nothing gets an implicit 200, unless it never returned */
	status = r->status ? r->status : r->flags & (OT_HTTP_PANICKED | OT_HTTP_HIJACKED) ? 0 : 200;

	span__set_identity(d, s, SPAN_KIND_SERVER, r->pid, r->start_ns, r->end_ns, &r->ids,
		     r->flags & OT_HTTP_HAS_PARENT);

	known = semconv__add_http_method(s, r->method, r->method_len);
	span__add_captured(s, "url.path", r->path, OT_PATH_CAP, r->path_len);
	span__add_string(s, "url.scheme", tls ? "https" : "http", tls ? 5 : 4);
	if (status)
		span__add_int(s, "http.response.status_code", status);
	if ((r->flags & OT_HTTP_HAS_PATTERN) && route_of(r, &route, &rlen))
		span__add_string(s, "http.route", route, rlen);
	add_server_address(s, r, tls);
	add_client_address(s, r);
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
