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
};

#endif
