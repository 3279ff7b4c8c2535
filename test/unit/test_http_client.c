// SPDX-License-Identifier: MIT
/* The HTTP client's response parser and Retry-After, fed byte by byte and whole. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http_client.h"
#include "unittest.h"

/* Parses text, also fed in every split: incomplete until the last byte, then the same result. */
static int parse_all(const char *text, bool eof, struct http_response *r, char **copy)
{
	size_t len = strlen(text);
	int ret;

	for (size_t cut = 0; cut < len; cut++) {
		char *part = malloc(len + 1);
		struct http_response pr;

		memcpy(part, text, cut);
		ret = http_response__parse(part, cut, false, &pr);
		if (ret != -EAGAIN) {
			fprintf(stderr, "cut at %zu of %zu: %d\n", cut, len, ret);
			CHECK(ret == -EAGAIN);
		}
		free(part);
	}
	*copy = malloc(len + 1);
	memcpy(*copy, text, len + 1);
	return http_response__parse(*copy, len, eof, r);
}

static void test_content_length(void)
{
	struct http_response r;
	char *buf;

	CHECK(parse_all("HTTP/1.1 200 OK\r\nContent-Type: application/x-protobuf\r\n"
			"Content-Length: 5\r\n\r\nhello",
			false, &r, &buf) == 0);
	CHECK(r.status == 200 && r.keep_alive && !r.body_truncated);
	CHECK(r.body_len == 5 && !memcmp(r.body, "hello", 5));
	CHECK_STR(r.content_type, "application/x-protobuf");
	free(buf);

	/* bare LF line ends, an empty body, a reason phrase left out */
	CHECK(parse_all("HTTP/1.1 503\nRetry-After:  7 \ncontent-length: 0\n\n", false, &r, &buf) ==
	      0);
	CHECK(r.status == 503 && r.body_len == 0);
	CHECK_STR(r.retry_after, "7");
	free(buf);

	/* Connection: close, and HTTP/1.0 without keep-alive, end the connection */
	CHECK(parse_all(
		  "HTTP/1.1 200 OK\r\nConnection: keep-alive, close\r\nContent-Length: 0\r\n\r\n",
		  false, &r, &buf) == 0);
	CHECK(!r.keep_alive);
	free(buf);
	CHECK(parse_all("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", false, &r, &buf) == 0);
	CHECK(!r.keep_alive);
	free(buf);
	CHECK(parse_all("HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n",
			false, &r, &buf) == 0);
	CHECK(r.keep_alive);
	free(buf);
}

static void test_chunked(void)
{
	struct http_response r;
	char *buf;

	CHECK(parse_all("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
			"4;ext=1\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\n"
			"Trailer: x\r\n\r\n",
			false, &r, &buf) == 0);
	CHECK(r.status == 200 && r.keep_alive);
	CHECK(r.body_len == 23 && !memcmp(r.body, "Wikipedia in\r\n\r\nchunks.", 23));
	free(buf);
	/* chunk data longer than its size */
	buf = strdup("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n");
	CHECK(http_response__parse(buf, strlen(buf), false, &r) == -EINVAL);
	free(buf);
	/* the connection ends inside the body: what came is kept, the connection is not */
	buf = strdup("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab");
	CHECK(http_response__parse(buf, strlen(buf), true, &r) == 0);
	CHECK(r.body_truncated && !r.keep_alive && r.body_len == 2 && !memcmp(r.body, "ab", 2));
	free(buf);
}

static void test_other_framing(void)
{
	struct http_response r;
	char *buf;

	/* interim responses are skipped */
	CHECK(parse_all("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n", false, &r,
			&buf) == 0);
	CHECK(r.status == 204 && r.body_len == 0);
	free(buf);
	/* no length: the body runs to the end of the connection */
	buf = strdup("HTTP/1.1 200 OK\r\n\r\nall of it");
	CHECK(http_response__parse(buf, strlen(buf), false, &r) == -EAGAIN);
	CHECK(http_response__parse(buf, strlen(buf), true, &r) == 0);
	CHECK(r.body_len == 9 && !r.keep_alive);
	free(buf);
	/* a Content-Length the connection did not deliver */
	buf = strdup("HTTP/1.1 502 Bad Gateway\r\nContent-Length: 100\r\n\r\nshort");
	CHECK(http_response__parse(buf, strlen(buf), true, &r) == 0);
	CHECK(r.status == 502 && r.body_truncated && r.body_len == 5 && !r.keep_alive);
	free(buf);
}

static void test_malformed(void)
{
	static const char *const bad[] = {
		"HTTP/2 200 OK\r\n\r\n",
		"HTTP/1.1 20 OK\r\n\r\n",
		"HTTP/1.1 2000 OK\r\n\r\n",
		"SMTP/1.1 200 OK\r\n\r\n",
		"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
	};
	struct http_response r;
	char *big;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *buf = strdup(bad[i]);
		int ret = http_response__parse(buf, strlen(buf), false, &r);

		if (ret != -EINVAL)
			fprintf(stderr, "accepted: %s\n", bad[i]);
		CHECK(ret == -EINVAL);
		free(buf);
	}
	/* the connection ended inside the head */
	big = strdup("HTTP/1.1 200 OK\r\nContent-");
	CHECK(http_response__parse(big, strlen(big), true, &r) == -EINVAL);
	free(big);
	/* a head that never ends is bounded */
	big = malloc(HTTP_HEAD_MAX + 100);
	memcpy(big, "HTTP/1.1 200 OK\r\n", 17);
	for (size_t i = 17; i < HTTP_HEAD_MAX + 100; i += 10)
		memcpy(big + i, "X-Pad: a\r\n",
		       i + 10 <= HTTP_HEAD_MAX + 100 ? 10 : HTTP_HEAD_MAX + 100 - i);
	CHECK(http_response__parse(big, HTTP_HEAD_MAX + 100, false, &r) == -E2BIG);
	free(big);
}

static void test_retry_after(void)
{
	struct tm tm = {
		.tm_year = 94, .tm_mon = 10, .tm_mday = 6, .tm_hour = 8, .tm_min = 49, .tm_sec = 30
	};
	time_t now = timegm(&tm);

	CHECK(http__retry_after_ms("3", now) == 3000);
	CHECK(http__retry_after_ms("0", now) == 0);
	CHECK(http__retry_after_ms("Sun, 06 Nov 1994 08:49:37 GMT", now) == 7000);
	CHECK(http__retry_after_ms("Sun, 06 Nov 1994 08:49:00 GMT", now) == 0); /* past */
	CHECK(http__retry_after_ms("", now) == -1);
	CHECK(http__retry_after_ms("soon", now) == -1);
	CHECK(http__retry_after_ms("-5", now) == -1);
	CHECK(http__retry_after_ms("3s", now) == -1);
	CHECK(http__retry_after_ms("Sun, 06 Nov 1994 08:49:37 PST", now) == -1);
	CHECK(http__retry_after_ms("99999999999999", now) == -1);
}

int main(void)
{
	test_content_length();
	test_chunked();
	test_other_framing();
	test_malformed();
	test_retry_after();
	return ut_summary();
}
