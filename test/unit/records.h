/* SPDX-License-Identifier: MIT */
/* Builds synthetic ring-buffer records for tests. */
#ifndef OTRACE_TEST_RECORDS_H
#define OTRACE_TEST_RECORDS_H

#include <string.h>

#include "../../bpf/otrace.h"

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

static inline void http_client_record(struct ot_http_client_rec *r)
{
	memset(r, 0, sizeof(*r));
	fake_ids(&r->ids);
	r->hdr.type = OT_REC_HTTP_CLIENT;
	r->hdr.size = sizeof(*r);
	r->pid = 4242;
	r->start_ns = 1000000000ull;
	r->end_ns = 1001000000ull;
	r->status = 200;
	r->proto_major = 1;
	r->proto_minor = 1;
	SET_STR(r, method, "GET");
	SET_STR(r, scheme, "https");
	SET_STR(r, host, "api.example.com");
	SET_STR(r, path, "/v1/items");
	SET_STR(r, query, "a=1&sig=s3cr3t&b=2");
}

/* A query on a pgx connection (itab addresses as in test_span.c). */
static inline void db_record(struct ot_db_rec *r)
{
	memset(r, 0, sizeof(*r));
	fake_ids(&r->ids);
	r->hdr.type = OT_REC_DB_CLIENT;
	r->hdr.size = sizeof(*r);
	r->pid = 4242;
	r->start_ns = 1000000000ull;
	r->end_ns = 1000300000ull;
	r->conn_itab = 0x500100;
	SET_STR(r, query, "SELECT id, name FROM items WHERE name = $1");
}

/* A client call of grpc.health.v1.Health/Check that ended OK. */
static inline void grpc_record(struct ot_grpc_rec *r, __u32 type)
{
	memset(r, 0, sizeof(*r));
	fake_ids(&r->ids);
	r->hdr.type = type;
	r->hdr.size = sizeof(*r);
	r->pid = 4242;
	r->start_ns = 1000000000ull;
	r->end_ns = 1000400000ull;
	SET_STR(r, method, "/grpc.health.v1.Health/Check");
	SET_STR(r, authority, "127.0.0.1:50051");
}

#endif
