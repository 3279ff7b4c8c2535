// SPDX-License-Identifier: MIT
/*
 * test_http.c - unit tests for the incremental response parser: every
 * response must parse the same whether it arrives in one read, byte by
 * byte, or split at any single point.
 *
 * Prints "N passed, N failed" last; exit status 1 if anything failed.
 */
#include <stdio.h>
#include <string.h>

#include "http_resp.h"

static int passed, failed;

#define CHECK(cond, ...)						\
	do {								\
		if (cond) {						\
			passed++;					\
		} else {						\
			failed++;					\
			fprintf(stderr, "FAIL (line %d): ", __LINE__);	\
			fprintf(stderr, __VA_ARGS__);			\
			fputc('\n', stderr);				\
		}							\
	} while (0)

struct outcome {
	enum resp_state state;
	int status;
	int close_after;
	size_t used;		/* bytes consumed in total */
};

/* Feed @msg in pieces: first @split bytes, then @step bytes at a time. */
static struct outcome run(const char *msg, size_t split, size_t step, int eof)
{
	struct resp_parser p;
	struct outcome o;
	size_t len = strlen(msg), off = 0, n, used;

	resp__init(&p);
	o.used = 0;
	while (off < len) {
		n = off == 0 && split ? split : step;
		if (n > len - off)
			n = len - off;
		used = resp__feed(&p, msg + off, n);
		o.used += used;
		if (used < n || p.state == RESP_DONE || p.state == RESP_ERROR)
			break;
		off += n;
	}
	if (eof)
		resp__eof(&p);
	o.state = p.state;
	o.status = p.status;
	o.close_after = p.close_after;
	return o;
}

#define ALL ((size_t)-1)	/* the whole message is one response */

/* Check @msg under every feeding pattern. */
static void expect(const char *name, const char *msg, enum resp_state state,
		   int status, int close_after, size_t used, int eof)
{
	size_t len = strlen(msg), split;
	struct outcome o;
	int bad = 0;

	if (used == ALL)
		used = len;

	for (split = 0; split < len; split++) {
		o = run(msg, split, len, eof);
		bad += o.state != state || o.status != status ||
		       o.close_after != close_after ||
		       (state == RESP_DONE && o.used != used);
	}
	o = run(msg, 0, 1, eof);
	bad += o.state != state || o.status != status ||
	       (state == RESP_DONE && o.used != used);
	CHECK(bad == 0, "%s: %d feeding patterns disagree (state %d status %d)",
	      name, bad, o.state, o.status);
}

int main(void)
{
	static const char cl[] = "HTTP/1.1 200 OK\r\nContent-Type: application/"
		"json\r\ncontent-length: 19\r\n\r\n{\"message\":\"hello\"}";
	static const char chunked[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: "
		"chunked\r\n\r\n5;ext=1\r\nhello\r\n1A\r\n"
		"abcdefghijklmnopqrstuvwxyz\r\n0\r\nX-Trailer: 1\r\n\r\n";
	static const char extra[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
		"\r\nokGARBAGE";

	expect("content-length", cl, RESP_DONE, 200, 0, ALL, 0);
	expect("chunked", chunked, RESP_DONE, 200, 0, ALL, 0);
	expect("bytes after the response are left", extra, RESP_DONE, 200, 0,
	       strlen(extra) - 7, 0);
	expect("204 has no body", "HTTP/1.1 204 No Content\r\n\r\n",
	       RESP_DONE, 204, 0, ALL, 0);
	expect("100 continue is skipped", "HTTP/1.1 100 Continue\r\n\r\n"
	       "HTTP/1.1 503 Busy\r\nContent-Length: 0\r\n\r\n",
	       RESP_DONE, 503, 0, ALL, 0);
	expect("connection close", "HTTP/1.1 200 OK\r\nConnection: close\r\n"
	       "Content-Length: 1\r\n\r\nx", RESP_DONE, 200, 1, ALL, 0);
	expect("HTTP/1.0 closes", "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n"
	       "\r\nx", RESP_DONE, 200, 1, ALL, 0);
	expect("close-delimited body", "HTTP/1.1 200 OK\r\n\r\nbody until eof",
	       RESP_DONE, 200, 1, ALL, 1);
	expect("bare LF lines", "HTTP/1.1 404 Not Found\nContent-Length: 3\n"
	       "\nabc", RESP_DONE, 404, 0, ALL, 0);
	expect("truncated body is an error at eof", "HTTP/1.1 200 OK\r\n"
	       "Content-Length: 10\r\n\r\nabc", RESP_ERROR, 200, 0, 0, 1);
	expect("garbage status line", "HTTX/1.1 200 OK\r\n\r\n", RESP_ERROR,
	       0, 0, 0, 0);
	expect("bad chunk size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: "
	       "chunked\r\n\r\nzz\r\n", RESP_ERROR, 200, 0, 0, 0);
	expect("bad content-length", "HTTP/1.1 200 OK\r\nContent-Length: 1x"
	       "\r\n\r\n", RESP_ERROR, 200, 0, 0, 0);
	expect("missing CRLF after chunk", "HTTP/1.1 200 OK\r\nTransfer-"
	       "Encoding: chunked\r\n\r\n2\r\nabXY\r\n", RESP_ERROR, 200, 0, 0,
	       0);
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
