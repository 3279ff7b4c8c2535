/* SPDX-License-Identifier: MIT */
/* What the gRPC library's files share. */
#ifndef OTRACE_GRPC_H
#define OTRACE_GRPC_H

#include <stdint.h>

#include "span.h"

struct ot_grpc_rec;

/*
 * A wire record of size bytes (struct ot_grpc_wire: its strings packed)
 * into its decoded form; -EINVAL when its strings do not end where the
 * record does.
 */
int grpc__unpack(const void *wire, size_t size, struct ot_grpc_rec *r);
/*
 * The inverse, as BPF writes it (for tests): r's wire form into out (room
 * for sizeof(struct ot_grpc_wire) + OT_GRPC_STRINGS_MAX bytes); returns its
 * size.
 */
size_t grpc__pack(const struct ot_grpc_rec *r, void *out);

/* OT_REC_GRPC_SERVER and OT_REC_GRPC_CLIENT -> SERVER and CLIENT spans. */
int grpc__decode(const struct span_decoding *d, const void *rec, size_t size, struct span *s);
/*
 * The name of a gRPC status code as the semantic conventions write
 * rpc.response.status_code ("OK", "NOT_FOUND"), or NULL outside 0..16.
 */
const char *grpc__code_name(int32_t code);

#endif
