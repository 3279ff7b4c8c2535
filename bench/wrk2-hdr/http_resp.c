// SPDX-License-Identifier: MIT
/*
 * http_resp.c - incremental HTTP/1.x response parser, see http_resp.h.
 *
 * Line-oriented parts (status line, headers, chunk sizes, trailers) are
 * collected into p->line across reads; bodies are only counted.
 */
#define _DEFAULT_SOURCE		/* strcasecmp() under -std=c11 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http_resp.h"

void resp__init(struct resp_parser *p)
{
	p->state = RESP_STATUS;
	p->status = 0;
	p->chunked = 0;
	p->has_length = 0;
	p->close_after = 0;
	p->remaining = 0;
	p->line_len = 0;
}

static int fail(struct resp_parser *p)
{
	p->state = RESP_ERROR;
	return -1;
}

/* "HTTP/1.1 200 OK": version decides the keep-alive default. */
static int parse_status(struct resp_parser *p, const char *l)
{
	if (strncmp(l, "HTTP/1.", 7) || (l[7] != '0' && l[7] != '1') ||
	    l[8] != ' ' || !isdigit((unsigned char)l[9]) ||
	    !isdigit((unsigned char)l[10]) || !isdigit((unsigned char)l[11]) ||
	    (l[12] != ' ' && l[12] != '\0'))
		return fail(p);
	p->status = (l[9] - '0') * 100 + (l[10] - '0') * 10 + (l[11] - '0');
	p->close_after = l[7] == '0';
	p->state = RESP_HEADERS;
	return 0;
}

/* Case-insensitive search for a token in a header value. */
static int value_has(const char *v, const char *token)
{
	size_t n = strlen(token);

	for (; *v; v++)
		if (!strncasecmp(v, token, n))
			return 1;
	return 0;
}

static int parse_length(struct resp_parser *p, const char *v)
{
	char *end;
	long long n;

	if (!isdigit((unsigned char)*v))
		return fail(p);
	n = strtoll(v, &end, 10);
	while (*end == ' ' || *end == '\t')
		end++;
	if (*end || n < 0)
		return fail(p);
	p->has_length = 1;
	p->remaining = n;
	return 0;
}

static int parse_header(struct resp_parser *p, char *l)
{
	char *colon = strchr(l, ':'), *v;

	if (!colon)
		return fail(p);
	*colon = '\0';
	for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
		;
	if (!strcasecmp(l, "Content-Length"))
		return parse_length(p, v);
	if (!strcasecmp(l, "Transfer-Encoding") && value_has(v, "chunked"))
		p->chunked = 1;
	else if (!strcasecmp(l, "Connection") && value_has(v, "close"))
		p->close_after = 1;
	else if (!strcasecmp(l, "Connection") && value_has(v, "keep-alive"))
		p->close_after = 0;
	return 0;
}

/* Blank line after the headers: decide how the body is delimited. */
static int end_of_headers(struct resp_parser *p)
{
	if (p->status >= 100 && p->status < 200 && p->status != 101) {
		resp__init(p);	/* interim response, the real one follows */
		return 0;
	}
	if (p->status == 204 || p->status == 304)
		p->state = RESP_DONE;
	else if (p->chunked)
		p->state = RESP_CHUNK_SIZE;
	else if (p->has_length)
		p->state = p->remaining ? RESP_BODY_LENGTH : RESP_DONE;
	else {
		p->state = RESP_BODY_EOF;
		p->close_after = 1;
	}
	return 0;
}

static int parse_chunk_size(struct resp_parser *p, const char *l)
{
	char *end;
	unsigned long long n;

	if (!isxdigit((unsigned char)*l))
		return fail(p);
	n = strtoull(l, &end, 16);
	if ((*end && *end != ';' && *end != ' ' && *end != '\t') ||
	    n > INT64_MAX)
		return fail(p);
	p->remaining = (int64_t)n;
	p->state = n ? RESP_CHUNK_DATA : RESP_TRAILERS;
	return 0;
}

static int handle_line(struct resp_parser *p, char *l)
{
	switch (p->state) {
	case RESP_STATUS:
		return parse_status(p, l);
	case RESP_HEADERS:
		return *l ? parse_header(p, l) : end_of_headers(p);
	case RESP_CHUNK_SIZE:
		return parse_chunk_size(p, l);
	case RESP_CHUNK_END:
		if (*l)
			return fail(p);
		p->state = RESP_CHUNK_SIZE;
		return 0;
	case RESP_TRAILERS:
		if (!*l)
			p->state = RESP_DONE;
		return 0;
	default:
		return fail(p);
	}
}

/* Collect one line (CRLF or bare LF); returns bytes used. */
static size_t feed_line(struct resp_parser *p, const char *buf, size_t len)
{
	const char *nl = memchr(buf, '\n', len);
	size_t take = nl ? (size_t)(nl - buf) + 1 : len;
	size_t keep = nl ? take - 1 : take;

	if (p->line_len + keep >= RESP_LINE_MAX) {
		fail(p);
		return take;
	}
	memcpy(p->line + p->line_len, buf, keep);
	p->line_len += keep;
	if (!nl)
		return take;
	if (p->line_len && p->line[p->line_len - 1] == '\r')
		p->line_len--;
	p->line[p->line_len] = '\0';
	p->line_len = 0;
	handle_line(p, p->line);
	return take;
}

static size_t feed_body(struct resp_parser *p, size_t len)
{
	size_t take = (uint64_t)p->remaining < len ? (size_t)p->remaining : len;

	p->remaining -= (int64_t)take;
	if (!p->remaining)
		p->state = p->state == RESP_CHUNK_DATA ? RESP_CHUNK_END :
							 RESP_DONE;
	return take;
}

size_t resp__feed(struct resp_parser *p, const char *buf, size_t len)
{
	size_t used = 0;

	while (used < len && p->state != RESP_DONE && p->state != RESP_ERROR) {
		if (p->state == RESP_BODY_EOF)
			used = len;
		else if (p->state == RESP_BODY_LENGTH ||
			 p->state == RESP_CHUNK_DATA)
			used += feed_body(p, len - used);
		else
			used += feed_line(p, buf + used, len - used);
	}
	return used;
}

void resp__eof(struct resp_parser *p)
{
	if (p->state == RESP_BODY_EOF)
		p->state = RESP_DONE;
	else if (p->state != RESP_DONE)
		p->state = RESP_ERROR;
}
