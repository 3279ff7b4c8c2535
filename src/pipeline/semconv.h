/* SPDX-License-Identifier: MIT */
/*
 * Semantic-convention helpers more than one library's decoder uses: HTTP
 * methods, protocol versions and error statuses, url.full with its secrets
 * redacted, host:port splitting, and error.type from a Go error's dynamic
 * type.
 */
#ifndef OTRACE_SEMCONV_H
#define OTRACE_SEMCONV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "span.h"

/*
 * Adds http.request.method, or "_OTHER" and http.request.method_original for
 * a method outside the semantic conventions' set; returns whether it is known.
 */
bool semconv__add_http_method(struct span *s, const char *method, uint32_t full_len);
/* http.response.status_code, if a status a response can carry (else counted). */
bool semconv__add_http_status(struct span *s, int64_t code);
/* An integer port attribute, if a port (else counted). */
void semconv__add_port(struct span *s, const char *key, int64_t port);
/*
 * addr_key ("server.address") and port_key from "host[:port]" captured in
 * BPF into cap bytes of buf (full_len: its length in the target). The port
 * is default_port when absent (-1: none). A string longer than the capture
 * gives no port (it was cut) and its host only when the cut came after it.
 */
void semconv__add_host_port(struct span *s, const char *addr_key, const char *port_key,
			    const char *buf, size_t cap, uint32_t full_len, int64_t default_port);
/* network.protocol.version "1.1", "2", ... (nothing for an implausible one). */
void semconv__add_protocol_version(struct span *s, int64_t major, int64_t minor);
/* ERROR status with the HTTP status code as error.type. */
void semconv__set_status_error(struct span *s, int64_t status);
/*
 * error.type for a Go error: its dynamic type ("*net.OpError") when the
 * binary's symbols name the itab (a link-time address), else "_OTHER".
 */
void semconv__add_error_type(const struct span_decoding *d, struct span *s, uint32_t pid,
			     uint64_t itab);
/* What the routers serving a request said about its route (struct ot_route, records.h). */
enum semconv_route {
	SEMCONV_ROUTE_NOT_ROUTED, /* no router saw the request: the server's own route stands */
	SEMCONV_ROUTE_NONE,	  /* a router matched none, or one that is no route (counted) */
	SEMCONV_ROUTE_MATCHED,	  /* the router's route: a path template, a line of text */
};

/* The route r the routers left for span s: *route and *len when SEMCONV_ROUTE_MATCHED. */
enum semconv_route semconv__router_route(struct span *s, const struct ot_route *r,
					 const char **route, size_t *len);
/* The parts of a client request's URL, as the request holds them. */
struct url_parts {
	const char *scheme, *host, *path, *query, *fragment;
	size_t scheme_len, host_len, path_len, query_len, fragment_len;
	bool userinfo; /* the URL has user info (never read: it is replaced) */
};

/*
 * Writes url.full for a client request into dst (capacity cap):
 * scheme://[REDACTED:REDACTED@]host path[?query][#fragment], with the values
 * of well-known secret query parameters replaced by REDACTED (semantic
 * conventions). Returns the length written.
 */
size_t semconv__url_full(char *dst, size_t cap, const struct url_parts *u);
/*
 * Writes the query component query (len bytes, no '?') into dst (capacity
 * cap), the values of the same secret parameters replaced by REDACTED;
 * returns the length written. "sig=x" grows to "sig=REDACTED": a cap of
 * 3 * len always holds it.
 */
size_t semconv__redact_query(char *dst, size_t cap, const char *query, size_t len);
/* Splits "host:port", "[v6]:port" or "host"; port -1 when absent. 0 or -EINVAL. */
int semconv__split_host_port(const char *s, size_t len, size_t *host_off, size_t *host_len,
			     int64_t *port);

#endif
