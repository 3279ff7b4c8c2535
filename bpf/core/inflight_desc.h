/* SPDX-License-Identifier: MIT */
/*
 * How the eviction watch (bpf/evictwatch.bpf.c) tells a live entry of an
 * LRU map of spans in progress: user space fills one per map, by map id,
 * from the library table (lib/library.h) and the maps' BTF.
 */
#ifndef OTRACE_INFLIGHT_DESC_H
#define OTRACE_INFLIGHT_DESC_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define OT_INFLIGHT_TESTS 2

/* the same as enum inflight_op of lib/library.h */
enum ot_inflight_op {
	OT_INFLIGHT_NONZERO = 1,
	OT_INFLIGHT_ZERO,
	OT_INFLIGHT_EQUALS,
	OT_INFLIGHT_COUNT,
};

struct ot_inflight_test {
	__u32 offset; /* of the member in the value */
	__u32 size;   /* 1, 2, 4 or 8 */
	__u32 op;     /* enum ot_inflight_op */
	__u32 value;  /* OT_INFLIGHT_EQUALS */
};

struct ot_inflight_desc {
	__u32 key_size;
	__u32 ntests;
	struct ot_inflight_test tests[OT_INFLIGHT_TESTS];
};

#endif
