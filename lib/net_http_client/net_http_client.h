/* SPDX-License-Identifier: MIT */
/* What the net/http client library's files share. */
#ifndef OTRACE_NET_HTTP_CLIENT_H
#define OTRACE_NET_HTTP_CLIENT_H

#include "span.h"

/* OT_REC_HTTP_CLIENT -> a CLIENT span. */
int net_http_client__decode(const struct span_decoding *d, const void *rec, size_t size,
			    struct span *s);

#endif
