/* SPDX-License-Identifier: MIT */
/*
 * A small HTTP/1.1 client for OTLP/HTTP: POST on one keep-alive connection,
 * plain or TLS, every step bounded by a deadline, responses with a
 * Content-Length, chunked or read to the end of the connection, their head
 * and body bounded in size. It is all the exporter needs, without a libcurl
 * (and its dozen libraries) in a static binary.
 */
#ifndef OTRACE_HTTP_CLIENT_H
#define OTRACE_HTTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <sys/uio.h>

#include "kvlist.h"
#include "otlp_config.h"
#include "tls.h"

#define HTTP_HEAD_MAX (16u << 10) /* status line and headers */
#define HTTP_BODY_MAX (64u << 10) /* response bodies kept; longer ones are cut */

struct http_response {
	int status;
	bool keep_alive;      /* the connection can carry the next request */
	char retry_after[64]; /* the Retry-After value, "" when absent */
	char content_type[64];
	const char *body; /* valid until the next request */
	size_t body_len;
	bool body_truncated;
};

struct http_request {
	const char *content_type;
	const char *content_encoding; /* NULL: none */
	const struct kvlist *headers; /* the user's (OTEL_EXPORTER_OTLP_HEADERS) */
	const struct iovec *body;
	size_t nbody;
};

struct http_client;

/* tls NULL: plain HTTP. target and tls must outlive the client. */
int http_client__new(const struct otlp_url *target, struct tls_ctx *tls, struct http_client **out);
void http_client__free(struct http_client *c);
/*
 * POSTs req to the target's path and reads the response, all by deadline_ns
 * (CLOCK_MONOTONIC). A request that fails on a reused connection before any
 * response byte arrived is sent once more on a new one (the server may have
 * closed it while idle). Returns 0 with resp filled (any status), or a
 * negative errno with a one-line reason in err: -ETIMEDOUT, a connection
 * error, -EPROTO (TLS, malformed response).
 */
int http_client__post(struct http_client *c, const struct http_request *req, uint64_t deadline_ns,
		      struct http_response *resp, char *err, size_t errlen);
/* Closes the connection (the next request opens a new one). */
void http_client__close(struct http_client *c);

/*
 * Parses the response in buf[0..len) (exposed for tests). eof: the
 * connection has ended after these bytes. Returns 0 when it is complete (a
 * chunked body is decoded in place), -EAGAIN when more bytes are needed,
 * -EINVAL when malformed, -E2BIG when the head exceeds HTTP_HEAD_MAX.
 */
int http_response__parse(char *buf, size_t len, bool eof, struct http_response *r);

/*
 * The delay a Retry-After value asks for, in milliseconds (delay-seconds or
 * an HTTP-date, against now), 0 for a date in the past, -1 when the value is
 * not valid.
 */
int64_t http__retry_after_ms(const char *value, time_t now);

#endif
