/* SPDX-License-Identifier: MIT */
/*
 * Synthetic ring-buffer records for tests: the ids and strings every record
 * has, and an HTTP server request, the record the generic tests (OTLP
 * encoding, resources, the pipeline) use. Each library's tests build their
 * own records.
 */
#ifndef OTRACE_TEST_RECORDS_H
#define OTRACE_TEST_RECORDS_H

#include <string.h>

#include "net_http_server/net_http_server.h"
#include "net_http_server/record.h"

#define SET_STR(rec, field, value)                                                         \
	do {                                                                               \
		size_t n_ = sizeof(value) - 1;                                             \
		(rec)->field##_len = (__u32)n_;                                            \
		memcpy((rec)->field, value, n_ < sizeof((rec)->field) ? n_ : sizeof((rec)->field)); \
	} while (0)

/* Distinct, valid ids, as the BPF side makes them. */
static inline void fake_ids(struct ot_span_ids *ids)
{
	static __u8 n;

	n++;
	for (int i = 0; i < 16; i++)
		ids->trace_id[i] = (__u8)(0x10 + i + n);
	for (int i = 0; i < 8; i++)
		ids->span_id[i] = (__u8)(0x40 + i + n);
	ids->trace_flags = 1;
}

static inline void http_record(struct ot_http_server_rec *r)
{
	memset(r, 0, sizeof(*r));
	fake_ids(&r->ids);
	r->hdr.type = OT_REC_HTTP_SERVER;
	r->hdr.size = sizeof(*r);
	r->pid = 4242;
	r->start_ns = 1000000000ull;
	r->end_ns = 1002500000ull;
	r->status = 201;
	r->proto_major = 1;
	r->proto_minor = 1;
	r->flags = OT_HTTP_HAS_PATTERN | OT_HTTP_UA_FOUND;
	SET_STR(r, method, "POST");
	SET_STR(r, path, "/items/7");
	SET_STR(r, host, "example.com:8080");
	SET_STR(r, remote, "127.0.0.1:51234");
	SET_STR(r, pattern, "POST /items/{id}");
	SET_STR(r, ua, "test-agent/1.0");
}

/* A record as the ring buffer carries it: an HTTP server request's packs its strings. */
struct wire_record {
	_Alignas(8) unsigned char bytes[sizeof(struct ot_http_server_wire) +
					OT_HTTP_SERVER_STRINGS_MAX];
	size_t size;
};

/* r's wire form, as BPF writes it (net_http_server__pack). */
static inline const struct wire_record *http_wire(const struct ot_http_server_rec *r,
						  struct wire_record *w)
{
	w->size = net_http_server__pack(r, w->bytes);
	return w;
}

/* Decodes request r from its wire form. */
static inline int decode_http(struct span_assembler *sa, const struct ot_http_server_rec *r,
			      struct span *s)
{
	struct wire_record w;

	http_wire(r, &w);
	return span_assembler__decode(sa, w.bytes, w.size, s);
}

#endif
