/* SPDX-License-Identifier: MIT */
/* What the go-redis library's files share. */
#ifndef OTRACE_GO_REDIS_H
#define OTRACE_GO_REDIS_H

#include "span.h"

struct ot_redis_rec;

/*
 * A wire record of size bytes (struct ot_redis_wire: its strings packed)
 * into its decoded form; -EINVAL when its strings do not end where the
 * record does.
 */
int go_redis__unpack(const void *wire, size_t size, struct ot_redis_rec *r);
/*
 * The inverse, as BPF writes it (for tests): r's wire form into out (room
 * for sizeof(struct ot_redis_wire) + OT_REDIS_STRINGS_MAX bytes); returns
 * its size.
 */
size_t go_redis__pack(const struct ot_redis_rec *r, void *out);

/* OT_REC_REDIS -> a CLIENT span. */
int go_redis__decode(const struct span_decoding *d, const void *rec, size_t size, struct span *s);

#endif
