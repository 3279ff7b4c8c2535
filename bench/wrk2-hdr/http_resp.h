/* SPDX-License-Identifier: MIT */
/*
 * http_resp.h - incremental HTTP/1.x response parser for the load generator.
 *
 * Fed with whatever read() returned; finds the end of one response (status
 * line, headers, then a Content-Length, chunked or close-delimited body)
 * without buffering the body. Interim 1xx responses are skipped.
 */
#ifndef WRK2HDR_HTTP_RESP_H
#define WRK2HDR_HTTP_RESP_H

#include <stddef.h>
#include <stdint.h>

#define RESP_LINE_MAX 8192

enum resp_state {
	RESP_STATUS,		/* status line */
	RESP_HEADERS,
	RESP_BODY_LENGTH,	/* Content-Length bytes left in .remaining */
	RESP_CHUNK_SIZE,
	RESP_CHUNK_DATA,	/* chunk bytes left in .remaining */
	RESP_CHUNK_END,		/* CRLF after chunk data */
	RESP_TRAILERS,
	RESP_BODY_EOF,		/* no length: body ends when the peer closes */
	RESP_DONE,
	RESP_ERROR,
};

struct resp_parser {
	enum resp_state state;
	int status;
	int chunked;
	int has_length;
	int close_after;	/* the server will close: reconnect after */
	int64_t remaining;
	size_t line_len;
	char line[RESP_LINE_MAX];
};

void resp__init(struct resp_parser *p);
/*
 * Consume up to @len bytes; returns how many were used. Parsing stops at
 * RESP_DONE (bytes after it belong to no request) or RESP_ERROR.
 */
size_t resp__feed(struct resp_parser *p, const char *buf, size_t len);
/* The peer closed: completes a close-delimited body, else an error. */
void resp__eof(struct resp_parser *p);

#endif /* WRK2HDR_HTTP_RESP_H */
