/* SPDX-License-Identifier: MIT */
/*
 * The synthetic ring-buffer records the pipeline benchmarks feed: HTTP
 * server requests with the kind of strings a real service produces.
 */
#ifndef OTRACE_BENCH_RECORDS_H
#define OTRACE_BENCH_RECORDS_H

#include <stdio.h>
#include <string.h>

#include "net_http_server/net_http_server.h"
#include "net_http_server/record.h"

static const char *const methods[] = { "GET", "GET", "GET", "POST", "PUT",
				       "DELETE" };
static const char *const routes[] = {
	"/api/v1/users/{id}",	     "/api/v1/users/{id}/orders",
	"/api/v1/products/{sku}",    "/healthz",
	"/api/v1/cart/{id}/items",   "/static/{path...}",
};
static const char *const agents[] = {
	"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like "
	"Gecko) Chrome/126.0.0.0 Safari/537.36",
	"curl/8.5.0",
	"Go-http-client/1.1",
	"okhttp/4.12.0",
};
static const int statuses[] = { 200, 200, 200, 200, 201, 204, 404, 500 };

static void set_str(char *dst, size_t cap, __u32 *len, const char *s)
{
	size_t n = strlen(s);

	*len = (__u32)n;
	memcpy(dst, s, n < cap ? n : cap);
}

/* Expands "{id}"-style wildcards of @route into a concrete path. */
static void concrete_path(char *out, size_t cap, const char *route, int i)
{
	size_t o = 0;

	for (const char *p = route; *p && o + 16 < cap; p++) {
		if (*p != '{') {
			out[o++] = *p;
			continue;
		}
		o += (size_t)snprintf(out + o, cap - o, "%d", 100000 + i * 7919);
		p = strchr(p, '}');
		if (!p)
			break;
	}
	out[o] = '\0';
}

static void make_record(struct ot_http_server_rec *r, int i)
{
	const char *method = methods[i % 6];
	const char *route = routes[(i / 6) % 6];
	char buf[256];

	memset(r, 0, sizeof(*r));
	r->hdr.type = OT_REC_HTTP_SERVER;
	r->hdr.size = sizeof(*r);
	r->pid = 4242;
	r->flags = OT_HTTP_HAS_PATTERN | OT_HTTP_UA_FOUND;
	r->goroutine = 0xc000102000ull + (__u64)i * 0x1000;
	r->start_ns = 5000000000ull + (__u64)i * 100000;
	r->end_ns = r->start_ns + 180000 + (__u64)(i % 13) * 25000;
	r->status = statuses[i % 8];
	r->proto_major = 1;
	r->proto_minor = 1;
	/* ids as the BPF side makes them: random, never zero */
	for (int b = 0; b < 16; b++)
		r->ids.trace_id[b] = (__u8)(i * 31 + b * 7 + 1);
	for (int b = 0; b < 8; b++)
		r->ids.span_id[b] = (__u8)(i * 17 + b * 5 + 1);
	r->ids.trace_flags = 1;
	set_str(r->method, OT_METHOD_CAP, &r->method_len, method);
	concrete_path(buf, sizeof(buf), route, i);
	set_str(r->path, OT_PATH_CAP, &r->path_len, buf);
	set_str(r->host, OT_HOST_CAP, &r->host_len, "shop.example.com:8080");
	snprintf(buf, sizeof(buf), "10.%d.%d.%d:%d", 1 + i % 3, i % 250,
		 1 + i % 200, 40000 + i * 37);
	set_str(r->remote, OT_ADDR_CAP, &r->remote_len, buf);
	snprintf(buf, sizeof(buf), "%s %s", method, route);
	set_str(r->pattern, OT_PATTERN_CAP, &r->pattern_len, buf);
	set_str(r->ua, OT_UA_CAP, &r->ua_len, agents[i % 4]);
}

/* A record as the ring buffer carries it (its strings packed). */
struct bench_wire {
	_Alignas(8) unsigned char bytes[sizeof(struct ot_http_server_wire) +
					OT_HTTP_SERVER_STRINGS_MAX];
	size_t size;
};

/* make_record's i-th request in its wire form. */
static void make_wire(struct bench_wire *w, int i)
{
	struct ot_http_server_rec r;

	make_record(&r, i);
	w->size = net_http_server__pack(&r, w->bytes);
}

#endif
