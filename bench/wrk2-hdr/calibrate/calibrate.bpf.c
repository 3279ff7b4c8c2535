// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * calibrate.bpf.c - the empty uprobe program whose cost calibrate measures.
 * It only counts its hits, so user space can check that every call of the
 * probed function really trapped.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

__u64 hits;

SEC("uprobe")
int calib_probe(void *ctx)
{
	__sync_fetch_and_add(&hits, 1);
	return 0;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
