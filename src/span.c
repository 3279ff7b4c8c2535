// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/random.h>

#include "span.h"

struct span_assembler {
	int64_t mono_to_unix; /* add to CLOCK_MONOTONIC ns to get Unix ns */
	uint64_t rng[4];      /* xoshiro256** state, seeded from getrandom */
};

static uint64_t timespec_ns(const struct timespec *ts)
{
	return (uint64_t)ts->tv_sec * 1000000000ull + (uint64_t)ts->tv_nsec;
}

/* Reads both clocks several times and keeps the tightest bracket. */
static int64_t clock_offset(void)
{
	uint64_t best_gap = UINT64_MAX;
	int64_t offset = 0;

	for (int i = 0; i < 5; i++) {
		struct timespec m1, r, m2;

		clock_gettime(CLOCK_MONOTONIC, &m1);
		clock_gettime(CLOCK_REALTIME, &r);
		clock_gettime(CLOCK_MONOTONIC, &m2);
		uint64_t gap = timespec_ns(&m2) - timespec_ns(&m1);
		if (gap < best_gap) {
			best_gap = gap;
			offset = (int64_t)timespec_ns(&r) -
				 (int64_t)(timespec_ns(&m1) + gap / 2);
		}
	}
	return offset;
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static uint64_t rng_next(uint64_t *s)
{
	uint64_t result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

/* Random, never all-zero ids (an all-zero id is invalid in W3C and OTLP). */
static void random_id(uint64_t *rng, uint8_t *id, size_t len)
{
	do {
		for (size_t i = 0; i < len; i += 8) {
			uint64_t v = rng_next(rng);
			memcpy(id + i, &v, len - i < 8 ? len - i : 8);
		}
	} while (!memcmp(id, (uint8_t[16]){ 0 }, len));
}

int span_assembler__new(struct span_assembler **out)
{
	struct span_assembler *sa = calloc(1, sizeof(*sa));

	if (!sa)
		return -ENOMEM;
	if (getrandom(sa->rng, sizeof(sa->rng), 0) != sizeof(sa->rng)) {
		free(sa);
		return -EIO;
	}
	sa->mono_to_unix = clock_offset();
	*out = sa;
	return 0;
}

void span_assembler__free(struct span_assembler *sa)
{
	free(sa);
}

uint64_t span_assembler__unix_ns(const struct span_assembler *sa, uint64_t mono_ns)
{
	return (uint64_t)((int64_t)mono_ns + sa->mono_to_unix);
}

static struct attr *add_attr(struct span *s, const char *key)
{
	struct attr *a;

	if (s->nattrs >= SPAN_MAX_ATTRS)
		return NULL;
	a = &s->attrs[s->nattrs++];
	memset(a, 0, sizeof(*a));
	a->key = key;
	return a;
}

/* Adds a captured string; full_len is its length in the target. */
static void add_captured(struct span *s, const char *key, const char *buf, size_t cap,
			 uint32_t full_len)
{
	struct attr *a = add_attr(s, key);

	if (!a)
		return;
	a->type = ATTR_STRING;
	a->str = buf;
	a->len = full_len > cap ? cap : full_len;
	a->truncated = full_len > cap;
}

static void add_string(struct span *s, const char *key, const char *str, size_t len)
{
	struct attr *a = add_attr(s, key);

	if (a) {
		a->type = ATTR_STRING;
		a->str = str;
		a->len = len;
	}
}

static void add_int(struct span *s, const char *key, int64_t v)
{
	struct attr *a = add_attr(s, key);

	if (a) {
		a->type = ATTR_INT;
		a->num = v;
	}
}

/* Copies a derived string into the span's scratch space. */
static const char *keep(struct span *s, const char *str, size_t len)
{
	char *dst;

	if (s->scratch_used + len > sizeof(s->scratch))
		return NULL;
	dst = s->scratch + s->scratch_used;
	memcpy(dst, str, len);
	s->scratch_used += len;
	return dst;
}

int span__split_host_port(const char *s, size_t len, size_t *host_off, size_t *host_len,
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

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1; /* W3C allows lowercase hex only */
}

/* Decodes 2*n lowercase hex digits; false on anything else. */
static bool parse_hex(const char *s, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int hi = hex_value(s[2 * i]), lo = hex_value(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return false;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

static bool all_zero(const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

int span__parse_traceparent(const char *s, size_t len, uint8_t trace_id[16],
			    uint8_t parent_id[8], uint8_t *trace_flags)
{
	uint8_t version;

	/* version "-" trace-id "-" parent-id "-" flags: 2+1+32+1+16+1+2 = 55 */
	if (len < 55 || s[2] != '-' || s[35] != '-' || s[52] != '-')
		return -EINVAL;
	if (!parse_hex(s, &version, 1) || version == 0xff)
		return -EINVAL;
	/* version 00 is exactly 55 bytes; later versions may append "-..." */
	if ((version == 0 && len != 55) || (len > 55 && s[55] != '-'))
		return -EINVAL;
	if (!parse_hex(s + 3, trace_id, 16) || !parse_hex(s + 36, parent_id, 8) ||
	    !parse_hex(s + 53, trace_flags, 1))
		return -EINVAL;
	if (all_zero(trace_id, 16) || all_zero(parent_id, 8))
		return -EINVAL;
	return 0;
}

/* Continues the caller's trace when the request carried a valid traceparent. */
static void apply_incoming_context(struct span_assembler *sa, struct span *s,
				   const struct ot_http_server_rec *r)
{
	size_t n = r->traceparent_len > OT_TRACEPARENT_CAP ? OT_TRACEPARENT_CAP :
							     r->traceparent_len;
	uint8_t trace_flags;

	random_id(sa->rng, s->span_id, sizeof(s->span_id));
	/*
	 * A capture cut at OT_TRACEPARENT_CAP still decides: version 00 must be 55
	 * bytes (a longer one is invalid either way), later versions only need
	 * the dash after the flags.
	 */
	if ((r->flags & OT_HTTP_TRACEPARENT_FOUND) &&
	    span__parse_traceparent(r->traceparent, n, s->trace_id, s->parent_span_id,
				    &trace_flags) == 0) {
		s->has_parent = true;
		s->flags = trace_flags | SPAN_FLAGS_HAS_IS_REMOTE | SPAN_FLAGS_IS_REMOTE;
		return;
	}
	random_id(sa->rng, s->trace_id, sizeof(s->trace_id));
	/* otrace records every request: its own traces are sampled */
	s->flags = W3C_SAMPLED | SPAN_FLAGS_HAS_IS_REMOTE;
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

static void set_name(struct span *s, const char *method, size_t mlen, const char *route,
		     size_t rlen)
{
	s->name_len = 0;
	memcpy(s->name, method, mlen);
	s->name_len = mlen;
	if (route) {
		s->name[s->name_len++] = ' ';
		memcpy(s->name + s->name_len, route, rlen);
		s->name_len += rlen;
	}
}

static void add_server_address(struct span *s, const struct ot_http_server_rec *r, bool tls)
{
	size_t n = r->host_len > OT_HOST_CAP ? OT_HOST_CAP : r->host_len;
	size_t off, hlen;
	int64_t port;

	if (!n || span__split_host_port(r->host, n, &off, &hlen, &port))
		return;
	add_string(s, "server.address", r->host + off, hlen);
	if (port < 0)
		port = tls ? 443 : 80;
	add_int(s, "server.port", port);
}

static void add_client_address(struct span *s, const struct ot_http_server_rec *r)
{
	size_t n = r->remote_len > OT_ADDR_CAP ? OT_ADDR_CAP : r->remote_len;
	size_t off, hlen;
	int64_t port;

	if (!n || span__split_host_port(r->remote, n, &off, &hlen, &port))
		return;
	add_string(s, "client.address", r->remote + off, hlen);
	if (port >= 0)
		add_int(s, "client.port", port);
}

static void add_protocol_version(struct span *s, const struct ot_http_server_rec *r)
{
	char buf[3] = { (char)('0' + r->proto_major), '.', (char)('0' + r->proto_minor) };
	size_t n = r->proto_major >= 2 && r->proto_minor == 0 ? 1 : 3; /* "2", "1.1" */
	const char *kept;

	if (r->proto_major <= 0 || r->proto_major > 9 || r->proto_minor < 0 || r->proto_minor > 9)
		return;
	kept = keep(s, buf, n);
	if (kept)
		add_string(s, "network.protocol.version", kept, n);
}

static int decode_http_server(struct span_assembler *sa, const struct ot_http_server_rec *in,
			      struct span *s)
{
	const struct ot_http_server_rec *r = &s->rec.http_server;
	size_t mlen = in->method_len > OT_METHOD_CAP ? OT_METHOD_CAP : in->method_len;
	bool tls, known;
	const char *route = NULL;
	size_t rlen = 0;
	int64_t status;

	memcpy(&s->rec.http_server, in, sizeof(*in));
	tls = r->flags & OT_HTTP_TLS;
	known = known_method(r->method, mlen);
	status = r->status ? r->status : 200; /* handler wrote nothing: Go sends 200 */

	s->kind = SPAN_KIND_SERVER;
	s->pid = r->pid;
	s->start_unix_ns = span_assembler__unix_ns(sa, r->start_ns);
	s->end_unix_ns = span_assembler__unix_ns(sa, r->end_ns);
	apply_incoming_context(sa, s, r);

	if (known) {
		add_captured(s, "http.request.method", r->method, OT_METHOD_CAP, r->method_len);
	} else {
		add_string(s, "http.request.method", "_OTHER", 6);
		add_captured(s, "http.request.method_original", r->method, OT_METHOD_CAP,
			     r->method_len);
	}
	add_captured(s, "url.path", r->path, OT_PATH_CAP, r->path_len);
	add_string(s, "url.scheme", tls ? "https" : "http", tls ? 5 : 4);
	add_int(s, "http.response.status_code", status);
	if ((r->flags & OT_HTTP_HAS_PATTERN) && route_of(r, &route, &rlen))
		add_string(s, "http.route", route, rlen);
	add_server_address(s, r, tls);
	add_client_address(s, r);
	add_protocol_version(s, r);
	if (r->flags & OT_HTTP_UA_FOUND)
		add_captured(s, "user_agent.original", r->ua, OT_UA_CAP, r->ua_len);
	if (status >= 500) {
		char buf[24];
		int n = snprintf(buf, sizeof(buf), "%lld", (long long)status);
		const char *kept = keep(s, buf, (size_t)n);

		s->status = STATUS_ERROR;
		if (kept)
			add_string(s, "error.type", kept, (size_t)n);
	}
	/* semconv: "{method} {route}", or "HTTP" for methods outside the known set */
	if (known)
		set_name(s, r->method, mlen, route, rlen);
	else
		set_name(s, "HTTP", 4, route, rlen);
	return 0;
}

int span_assembler__decode(struct span_assembler *sa, const void *data, size_t size,
			   struct span *span)
{
	struct ot_rec_hdr hdr;

	if (size < sizeof(hdr))
		return -EINVAL;
	memcpy(&hdr, data, sizeof(hdr));
	if (hdr.size > size)
		return -EINVAL;
	memset(span, 0, offsetof(struct span, rec));
	switch (hdr.type) {
	case OT_REC_HTTP_SERVER:
		if (hdr.size < sizeof(struct ot_http_server_rec))
			return -EINVAL;
		return decode_http_server(sa, data, span);
	default:
		return -EINVAL;
	}
}
