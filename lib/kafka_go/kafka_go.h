/* SPDX-License-Identifier: MIT */
/* What the kafka-go library's files share. */
#ifndef OTRACE_KAFKA_GO_H
#define OTRACE_KAFKA_GO_H

#include <stddef.h>
#include <stdint.h>

#include "span.h"

struct ot_kafka_rec;

/*
 * A wire record of size bytes (struct ot_kafka_wire: its strings packed)
 * into its decoded form; -EINVAL when its strings do not end where the
 * record does.
 */
int kafka_go__unpack(const void *wire, size_t size, struct ot_kafka_rec *r);
/*
 * The inverse, as BPF writes it (for tests): r's wire form into out (room
 * for sizeof(struct ot_kafka_wire) + OT_KAFKA_STRINGS_MAX bytes); returns
 * its size.
 */
size_t kafka_go__pack(const struct ot_kafka_rec *r, void *out);

/* OT_REC_KAFKA_SEND -> a PRODUCER span, OT_REC_KAFKA_RECEIVE -> a CLIENT span (receive). */
int kafka_go__decode(const struct span_decoding *d, const void *rec, size_t size, struct span *s);

/*
 * For the call at call_vaddr in the function at [vaddr, vaddr + len): the
 * RSP displacement of the frame slot its error argument was loaded from,
 * "mov rax, [rsp + disp]" and "mov rbx, [rsp + disp + 8]", with no branch
 * landing between those loads and the call. 0, or -ENOENT when the
 * arguments come otherwise, -EINVAL when the code cannot be decoded.
 */
int kafka__frame_arg_slot(const uint8_t *code, size_t len, uint64_t vaddr, uint64_t call_vaddr,
			  int64_t *disp);

#endif
