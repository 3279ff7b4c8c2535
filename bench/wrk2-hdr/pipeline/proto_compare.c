// SPDX-License-Identifier: MIT
/*
 * proto_compare - otrace's streaming protobuf encoder against protobuf-c on
 * the same spans, to decide which one the exporter uses.
 *
 * Both encode identical batches of 512 decoded HTTP server spans (the
 * pipeline benchmark's records, bench_records.h) into an ExportTraceServiceRequest, on one
 * core, and must produce the same bytes. protobuf-c gets its best case: its
 * message structs come from an arena reused across batches (no malloc per
 * span), strings go in as bytes fields (no NUL-terminated copies), and it
 * only checks UTF-8 where otrace's encoder also repairs it.
 *
 *	proto_compare [-n BATCHES] [--cpu N]
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_records.h"
#include "otlp_proto.h"
#include "otlp_trace_subset.pb-c.h"
#include "span.h"
#include "utf8.h"
#include "cli.h"

#define BATCH 512

static double cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* protobuf-c's messages for one batch, allocated once. */
struct arena {
	Otracebench__ExportTraceServiceRequest req;
	Otracebench__ResourceSpans rs, *rsp;
	Otracebench__Resource res;
	Otracebench__ScopeSpans ss, *ssp;
	Otracebench__InstrumentationScope scope;
	Otracebench__Span spans[BATCH], *spanp[BATCH];
	Otracebench__Status status[BATCH];
	Otracebench__KeyValue kv[BATCH * SPAN_MAX_ATTRS + 16], *kvp[BATCH * SPAN_MAX_ATTRS + 16];
	Otracebench__AnyValue any[BATCH * SPAN_MAX_ATTRS + 16];
	size_t nkv;
};

static ProtobufCBinaryData bin(const void *p, size_t len)
{
	return (ProtobufCBinaryData){ .len = len, .data = (uint8_t *)p };
}

/* One KeyValue; NULL when a string is not UTF-8 (never, with these spans). */
static Otracebench__KeyValue **add_kv(struct arena *a, const struct attr *at)
{
	Otracebench__KeyValue *kv = &a->kv[a->nkv];
	Otracebench__AnyValue *any = &a->any[a->nkv];

	otracebench__key_value__init(kv);
	otracebench__any_value__init(any);
	kv->key = bin(at->key, strlen(at->key));
	kv->value = any;
	if (at->type == ATTR_INT) {
		any->value_case = OTRACEBENCH__ANY_VALUE__VALUE_INT_VALUE;
		any->int_value = at->num;
	} else {
		if (!utf8__valid(at->str, at->len))
			return NULL;
		any->value_case = OTRACEBENCH__ANY_VALUE__VALUE_STRING_VALUE;
		any->string_value = bin(at->str, at->len);
	}
	a->kvp[a->nkv] = kv;
	return &a->kvp[a->nkv++];
}

static size_t protobuf_c_encode(struct arena *a, const struct otlp_group *g, uint8_t **buf,
				size_t *cap)
{
	static const char schema[] = OTLP_SCHEMA_URL, version[] = OTRACE_VERSION;
	size_t len;

	a->nkv = 0;
	otracebench__export_trace_service_request__init(&a->req);
	otracebench__resource_spans__init(&a->rs);
	otracebench__resource__init(&a->res);
	otracebench__scope_spans__init(&a->ss);
	otracebench__instrumentation_scope__init(&a->scope);
	a->res.attributes = a->kvp;
	for (size_t i = 0; i < g->resource->nattrs; i++)
		add_kv(a, &g->resource->attrs[i]);
	a->res.n_attributes = a->nkv;
	a->scope.name = bin("otrace", 6);
	a->scope.version = bin(version, sizeof(version) - 1);
	for (size_t i = 0; i < g->nspans; i++) {
		const struct span *s = g->spans[i];
		Otracebench__Span *o = &a->spans[i];

		otracebench__span__init(o);
		o->trace_id = bin(s->trace_id, 16);
		o->span_id = bin(s->span_id, 8);
		if (s->has_parent)
			o->parent_span_id = bin(s->parent_span_id, 8);
		o->name = bin(s->name, s->name_len);
		o->kind = s->kind;
		o->start_time_unix_nano = s->start_unix_ns;
		o->end_time_unix_nano = s->end_unix_ns;
		o->flags = s->flags;
		o->attributes = &a->kvp[a->nkv];
		o->n_attributes = s->nattrs;
		for (size_t k = 0; k < s->nattrs; k++)
			add_kv(a, &s->attrs[k]);
		if (s->status != STATUS_UNSET) {
			otracebench__status__init(&a->status[i]);
			a->status[i].code = s->status;
			o->status = &a->status[i];
		}
		a->spanp[i] = o;
	}
	a->ss.scope = &a->scope;
	a->ss.spans = a->spanp;
	a->ss.n_spans = g->nspans;
	a->ss.schema_url = bin(schema, sizeof(schema) - 1);
	a->ssp = &a->ss;
	a->rs.resource = &a->res;
	a->rs.scope_spans = &a->ssp;
	a->rs.n_scope_spans = 1;
	a->rs.schema_url = bin(schema, sizeof(schema) - 1);
	a->rsp = &a->rs;
	a->req.resource_spans = &a->rsp;
	a->req.n_resource_spans = 1;
	len = otracebench__export_trace_service_request__get_packed_size(&a->req);
	if (len > *cap) {
		*cap = len;
		*buf = realloc(*buf, len);
	}
	return otracebench__export_trace_service_request__pack(&a->req, *buf);
}

int main(int argc, char **argv)
{
	static struct bench_wire recs[BATCH];
	static struct span spans[BATCH];
	static struct arena arena;
	static const struct attr rattrs[] = {
		{ .key = "service.name", .str = "checkout", .len = 8 },
		{ .key = "process.pid", .type = ATTR_INT, .num = 4242 },
		{ .key = "process.executable.path", .str = "/srv/checkout/bin/server", .len = 24 },
		{ .key = "host.name", .str = "bench-host-01", .len = 13 },
	};
	struct otlp_resource res = { .pid = 4242, .attrs = rattrs, .nattrs = 4 };
	const struct span *ptrs[BATCH];
	struct otlp_group g = { .resource = &res, .spans = ptrs, .nspans = BATCH };
	struct span_assembler *sa;
	struct otlp_buf ours = { 0 };
	uint8_t *theirs = NULL;
	size_t cap = 0, len = 0;
	long batches = 4000;
	double t0, t_ours, t_theirs;

	for (int a = 1; a < argc; a++) {
		if (!strcmp(argv[a], "-n") && a + 1 < argc) {
			batches = atol(argv[++a]);
		} else if (!strcmp(argv[a], "--cpu") && a + 1 < argc) {
			cpu_set_t set;

			CPU_ZERO(&set);
			CPU_SET(atoi(argv[++a]), &set);
			sched_setaffinity(0, sizeof(set), &set);
		} else {
			fprintf(stderr, "usage: proto_compare [-n BATCHES] [--cpu N]\n");
			return 2;
		}
	}
	if (span_assembler__new(&sa))
		return 1;
	for (int i = 0; i < BATCH; i++) {
		make_wire(&recs[i], i);
		if (span_assembler__decode(sa, recs[i].bytes, recs[i].size, &spans[i]))
			return 1;
		ptrs[i] = &spans[i];
	}
	/* the same bytes, or the comparison means nothing */
	otlp_proto__encode(&ours, &g, 1);
	len = protobuf_c_encode(&arena, &g, &theirs, &cap);
	if (len != ours.len || memcmp(theirs, ours.data, len)) {
		fprintf(stderr, "proto_compare: the encodings differ (%zu vs %zu bytes)\n", ours.len,
			len);
		return 1;
	}
	/* interleaved halves, so that a busy neighbour costs both alike */
	t_ours = t_theirs = 0;
	for (int round = 0; round < 4; round++) {
		t0 = cpu_now();
		for (long b = 0; b < batches / 4; b++)
			otlp_proto__encode(&ours, &g, 1);
		t_ours += cpu_now() - t0;
		t0 = cpu_now();
		for (long b = 0; b < batches / 4; b++)
			protobuf_c_encode(&arena, &g, &theirs, &cap);
		t_theirs += cpu_now() - t0;
	}
	printf("proto_compare: %ld batches of %d spans, %zu bytes each (identical)\n",
	       batches / 4 * 4, BATCH, len);
	printf("  otrace's encoder: %.0f ns/span\n", t_ours * 1e9 / (double)(batches / 4 * 4 * BATCH));
	printf("  protobuf-c:       %.0f ns/span (%.2fx)\n",
	       t_theirs * 1e9 / (double)(batches / 4 * 4 * BATCH), t_theirs / t_ours);
	otlp_buf__free(&ours);
	free(theirs);
	span_assembler__free(sa);
	return 0;
}
