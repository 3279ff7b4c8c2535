/* SPDX-License-Identifier: MIT */
/* What the go-redis library's files share. */
#ifndef OTRACE_GO_REDIS_H
#define OTRACE_GO_REDIS_H

#include "span.h"

/* OT_REC_REDIS -> a CLIENT span. */
int go_redis__decode(const struct span_decoding *d, const void *rec, size_t size, struct span *s);

#endif
