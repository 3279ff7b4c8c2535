// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "itabs.h"
#include "semconv.h"
#include "validate.h"

int semconv__split_host_port(const char *s, size_t len, size_t *host_off, size_t *host_len,
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

static bool known_method(const char *m, size_t len)
{
	static const char *const methods[] = { "CONNECT", "DELETE",  "GET",   "HEAD", "OPTIONS",
					       "PATCH",	  "POST",    "PUT",   "TRACE", "QUERY" };

	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (strlen(methods[i]) == len && !memcmp(methods[i], m, len))
			return true;
	return false;
}

void semconv__add_protocol_version(struct span *s, int64_t major, int64_t minor)
{
	char buf[3] = { (char)('0' + major), '.', (char)('0' + minor) };
	size_t n = major >= 2 && minor == 0 ? 1 : 3; /* "2", "1.1" */
	const char *kept;

	if (major <= 0 || major > 9 || minor < 0 || minor > 9)
		return;
	kept = span__keep(s, buf, n);
	if (kept)
		span__add_string(s, "network.protocol.version", kept, n);
}

void semconv__set_status_error(struct span *s, int64_t status)
{
	char buf[24];
	int n = snprintf(buf, sizeof(buf), "%lld", (long long)status);
	const char *kept = span__keep(s, buf, (size_t)n);

	s->status = STATUS_ERROR;
	if (kept)
		span__add_string(s, "error.type", kept, (size_t)n);
}

bool semconv__add_http_method(struct span *s, const char *method, uint32_t full_len)
{
	size_t mlen = full_len > OT_METHOD_CAP ? OT_METHOD_CAP : full_len;

	if (full_len <= OT_METHOD_CAP && known_method(method, mlen)) {
		span__add_captured(s, "http.request.method", method, OT_METHOD_CAP, full_len);
		return true;
	}
	span__add_string(s, "http.request.method", "_OTHER", 6);
	/* a method is a token: anything else is not one the program received */
	if (validate__token(method, mlen))
		span__add_captured(s, "http.request.method_original", method, OT_METHOD_CAP,
				   full_len);
	else if (mlen)
		s->invalid++;
	return false;
}

enum semconv_route semconv__router_route(struct span *s, const struct ot_route *r,
					 const char **route, size_t *len)
{
	switch (r->state) {
	case OT_ROUTE_NONE:
		return SEMCONV_ROUTE_NOT_ROUTED;
	case OT_ROUTE_MATCHED:
		/* a template cut at the capture is not the route */
		if (r->len && r->len <= OT_ROUTE_CAP && r->text[0] == '/' &&
		    validate__line(r->text, r->len)) {
			*route = r->text;
			*len = r->len;
			return SEMCONV_ROUTE_MATCHED;
		}
		s->invalid++;
		return SEMCONV_ROUTE_NONE;
	case OT_ROUTE_UNMATCHED:
		return SEMCONV_ROUTE_NONE;
	}
	s->invalid++; /* unreadable, or no state a router writes */
	return SEMCONV_ROUTE_NONE;
}

bool semconv__add_http_status(struct span *s, int64_t code)
{
	if (!validate__http_status(code)) {
		s->invalid++;
		return false;
	}
	span__add_int(s, "http.response.status_code", code);
	return true;
}

void semconv__add_port(struct span *s, const char *key, int64_t port)
{
	if (validate__port(port))
		span__add_int(s, key, port);
	else
		s->invalid++;
}

/*
 * The length of the host part of "host[:port]" cut after n bytes, 0 when the
 * cut may lie inside the host.
 */
static size_t whole_host(const char *buf, size_t n)
{
	const char *end;

	if (buf[0] == '[') { /* [v6]:port */
		end = memchr(buf, ']', n);
		return end ? (size_t)(end - buf) + 1 : 0;
	}
	end = memchr(buf, ':', n);
	/* a second colon: a bare IPv6 address, which the cut may have shortened */
	if (!end || memchr(end + 1, ':', n - (size_t)(end - buf) - 1))
		return 0;
	return (size_t)(end - buf);
}

void semconv__add_host_port(struct span *s, const char *addr_key, const char *port_key,
			    const char *buf, size_t cap, uint32_t full_len, int64_t default_port)
{
	size_t n = span__captured(full_len, cap), off, hlen;
	bool cut = full_len > cap;
	int64_t port;

	if (n && cut)
		n = whole_host(buf, n);
	if (!n || semconv__split_host_port(buf, n, &off, &hlen, &port) || !hlen ||
	    !span__add_string(s, addr_key, buf + off, hlen) || cut)
		return;
	if (port < 0)
		port = default_port;
	if (port >= 0)
		semconv__add_port(s, port_key, port);
}

/* semantic conventions 1.44's list, and the older one's (AWS signature version 2) */
static const char *const secret_query_params[] = {
	"AWSAccessKeyId",  "Signature",	       "sig",			 "X-Goog-Signature",
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

/* query's parameters after dst[0..n), the values of secret ones replaced; the new length */
static size_t put_query(char *dst, size_t n, size_t cap, const char *query, size_t query_len)
{
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

size_t semconv__redact_query(char *dst, size_t cap, const char *query, size_t len)
{
	return put_query(dst, 0, cap, query, len);
}

size_t semconv__url_full(char *dst, size_t cap, const struct url_parts *u)
{
	size_t n = 0;

	n = put(dst, n, cap, u->scheme, u->scheme_len);
	n = put(dst, n, cap, "://", 3);
	if (u->userinfo)
		n = put(dst, n, cap, "REDACTED:REDACTED@", 18);
	n = put(dst, n, cap, u->host, u->host_len);
	n = put(dst, n, cap, u->path, u->path_len);
	if (u->query_len)
		n = put_query(dst, put(dst, n, cap, "?", 1), cap, u->query, u->query_len);
	if (u->fragment_len) {
		n = put(dst, n, cap, "#", 1);
		n = put(dst, n, cap, u->fragment, u->fragment_len);
	}
	return n;
}

void semconv__add_error_type(const struct span_decoding *d, struct span *s, uint32_t pid,
			     uint64_t itab)
{
	size_t n = 0;
	const char *type = itab_names__type(span__binary(d, pid)->itabs, itab, &n);

	if (type)
		span__add_string(s, "error.type", type, n);
	else
		span__add_string(s, "error.type", "_OTHER", 6);
}
