/* SPDX-License-Identifier: MIT */
/*
 * The core's read-only BPF configuration, shared with user space: what is a
 * property of the Go release rather than of any library. Each library's own
 * configuration lives in lib/<library>/config.h.
 */
#ifndef OTRACE_CORE_CONFIG_H
#define OTRACE_CORE_CONFIG_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/*
 * The request contexts' registry (ctx_spans, common.bpf.h): ways per bucket,
 * and buckets unless user space sizes it (inflight__ctx_buckets).
 */
#define OT_CTX_WAYS 8
#define OT_CTX_BUCKETS_DEFAULT 2048

/* Pointers a field path may go through (src/plan/field_path.h). */
#define OT_FIELD_PATH_DEREFS 3

/*
 * Where a field lies from a base address, as the resolver found it: off[0]
 * bytes from the base; a path through pointers reads the pointer there, adds
 * off[1], and so on, derefs times (field_path_addr in common.bpf.h). Inline
 * hops (a struct embedded by value) are folded into the offsets.
 */
struct ot_field_path {
	__s64 off[OT_FIELD_PATH_DEREFS + 1];
	__s32 derefs; /* pointers read on the way; negative: the field is absent */
	__u32 _pad;
};

/*
 * The bytes of a struct that hold every field a probe reads, from the plan
 * (plan__window): read in one piece into a copy (window_read in
 * common.bpf.h) where each field would be a read of its own. len 0: the
 * fields lie too far apart, or none is known; each is read alone.
 */
struct ot_window {
	__s64 lo;  /* the first byte's offset in the struct */
	__u32 len; /* bytes from lo */
	__u32 _pad;
};

/* Layout of the Go runtime map behind http.Header and gRPC metadata. */
enum ot_map_kind {
	OT_MAP_NONE = 0,
	OT_MAP_HMAP = 1,  /* Go <= 1.23 buckets */
	OT_MAP_SWISS = 2, /* Go >= 1.24 Swiss tables */
};

/* Offsets in the runtime's map headers: resolved once, read by bpf/core/go_map.h. */
struct ot_map_cfg {
	__u32 kind; /* enum ot_map_kind; OT_MAP_NONE: maps are not read */
	__u32 _pad;
	__s64 hmap_b;
	__s64 hmap_buckets;
	__s64 hmap_oldbuckets;
	__s64 swiss_dir_ptr;
	__s64 swiss_dir_len;
	__s64 swiss_table_groups; /* offset of groups.data in maps.table */
	__s64 swiss_table_mask;	  /* offset of groups.lengthMask */
	__s64 count;		  /* of the entry count: hmap.count or Map.used */
};

#endif
