/* SPDX-License-Identifier: MIT */
/* What the net/http client library's files share. */
#ifndef OTRACE_NET_HTTP_CLIENT_H
#define OTRACE_NET_HTTP_CLIENT_H

#include "span.h"

struct ot_http_client_rec;

/*
 * A wire record of size bytes (struct ot_http_client_wire: its strings
 * packed) into its decoded form; -EINVAL when its strings do not end where
 * the record does.
 */
int net_http_client__unpack(const void *wire, size_t size, struct ot_http_client_rec *r);
/*
 * The inverse, as BPF writes it (for tests): r's wire form into out (room
 * for sizeof(struct ot_http_client_wire) + OT_HTTP_CLIENT_STRINGS_MAX
 * bytes); returns its size.
 */
size_t net_http_client__pack(const struct ot_http_client_rec *r, void *out);

/* OT_REC_HTTP_CLIENT -> a CLIENT span. */
int net_http_client__decode(const struct span_decoding *d, const void *rec, size_t size,
			    struct span *s);

#endif
