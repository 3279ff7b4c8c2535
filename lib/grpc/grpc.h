/* SPDX-License-Identifier: MIT */
/* What the gRPC library's files share. */
#ifndef OTRACE_GRPC_H
#define OTRACE_GRPC_H

#include <stdint.h>

#include "span.h"

/* OT_REC_GRPC_SERVER and OT_REC_GRPC_CLIENT -> SERVER and CLIENT spans. */
int grpc__decode(const struct span_decoding *d, const void *rec, size_t size, struct span *s);
/*
 * The name of a gRPC status code as the semantic conventions write
 * rpc.response.status_code ("OK", "NOT_FOUND"), or NULL outside 0..16.
 */
const char *grpc__code_name(int32_t code);

#endif
