// SPDX-License-Identifier: MIT
/*
 * Evictions of spans in progress. Many in-flight maps are keyed by goroutine,
 * and a goroutine's end is not seen: only an LRU map bounds them. An LRU map
 * evicts silently when full, live entries too; this program watches the
 * kernel's eviction callback of every LRU hash map, htab_lru_map_delete_node
 * (fexit: its result says whether the entry went), and counts each live
 * entry of one of otrace's maps (inflight_descs, by map id, tell which and
 * how to tell live) that an eviction removed. It costs the probes nothing:
 * it runs only when a full LRU map makes room. An object of its own: a
 * kernel that refuses tracing programs (fexit is denied in lockdown) must not
 * keep otrace's probes from loading.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "inflight_desc.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

__u64 evicted = 0;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u32); /* map id */
	__type(value, struct ot_inflight_desc);
} inflight_descs SEC(".maps");

static __always_inline __u64 evicted_member(const void *value, const struct ot_inflight_test *t)
{
	__u64 v = 0;

	/* little-endian: the low bytes of v */
	if (t->size <= 8)
		bpf_probe_read_kernel(&v, t->size & 0xf, value + (t->offset & 0xffff));
	return v;
}

SEC("fexit/htab_lru_map_delete_node")
int BPF_PROG(inflight_evicted, void *arg, struct bpf_lru_node *node, bool deleted)
{
	struct bpf_htab *htab = arg;
	const struct ot_inflight_desc *d;
	const void *value;
	__u64 spans = 1;
	__u32 id;

	if (!deleted)
		return 0;
	id = BPF_CORE_READ(htab, map.id);
	d = bpf_map_lookup_elem(&inflight_descs, &id);
	if (!d)
		return 0;
	/* the entry is still whole: its node goes back to the free list after this */
	value = (const void *)node - bpf_core_field_offset(struct htab_elem, lru_node) +
		bpf_core_field_offset(struct htab_elem, key) + ((d->key_size + 7) & ~7u);
	for (int i = 0; i < OT_INFLIGHT_TESTS; i++) {
		const struct ot_inflight_test *t = &d->tests[i];
		__u64 v;

		if (i >= d->ntests)
			break;
		v = evicted_member(value, t);
		if ((t->op == OT_INFLIGHT_NONZERO && !v) || (t->op == OT_INFLIGHT_ZERO && v) ||
		    (t->op == OT_INFLIGHT_EQUALS && v != t->value))
			return 0;
		if (t->op == OT_INFLIGHT_COUNT)
			spans = v;
	}
	if (spans)
		__sync_fetch_and_add(&evicted, spans);
	return 0;
}
