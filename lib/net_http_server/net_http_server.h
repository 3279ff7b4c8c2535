/* SPDX-License-Identifier: MIT */
/* What the net/http server library's files share. */
#ifndef OTRACE_NET_HTTP_SERVER_H
#define OTRACE_NET_HTTP_SERVER_H

#include "span.h"

/* OT_REC_HTTP_SERVER -> a SERVER span. */
int net_http_server__decode(const struct span_decoding *d, const void *rec, size_t size,
			    struct span *s);

#endif
