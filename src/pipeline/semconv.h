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
/* Splits "host:port", "[v6]:port" or "host"; port -1 when absent. 0 or -EINVAL. */
int semconv__split_host_port(const char *s, size_t len, size_t *host_off, size_t *host_len,
			     int64_t *port);

#endif
