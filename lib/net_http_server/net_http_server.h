/* SPDX-License-Identifier: MIT */
/* What the net/http server library's files share. */
#ifndef OTRACE_NET_HTTP_SERVER_H
#define OTRACE_NET_HTTP_SERVER_H

#include "span.h"

struct ot_http_server_rec;

/*
 * A wire record of size bytes (struct ot_http_server_wire: its strings
 * packed) into its decoded form; -EINVAL when its strings do not end where
 * the record does.
 */
int net_http_server__unpack(const void *wire, size_t size, struct ot_http_server_rec *r);
/*
 * The inverse, as BPF writes it (for tests and benchmarks): r's wire form
 * into out (room for sizeof(struct ot_http_server_wire) +
 * OT_HTTP_SERVER_STRINGS_MAX bytes); returns its size.
 */
size_t net_http_server__pack(const struct ot_http_server_rec *r, void *out);

/* OT_REC_HTTP_SERVER -> a SERVER span. */
int net_http_server__decode(const struct span_decoding *d, const void *rec, size_t size,
			    struct span *s);

#endif
