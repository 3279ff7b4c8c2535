/* SPDX-License-Identifier: MIT */
/*
 * Claiming one of a per-CPU buffer's slots, shared by the BPF programs and
 * the unit test (test/unit/test_slots.c), which exercises exactly this code.
 *
 * Why slots. A program builds a record, or copies a request, in a per-CPU
 * buffer too large for its stack. otrace attaches through uprobe links whose
 * programs run with migration disabled, not preemption: on a kernel booted
 * preempt=full (PREEMPT_DYNAMIC kernels such as Debian's, RT kernels) another
 * thread scheduled on the same CPU can run a program that takes the same
 * buffer between this one's writes and its copy, and two requests' strings
 * would mix in one span. Each program therefore claims a slot of its own:
 * one busy bit per slot, set and cleared by atomic instructions, which no
 * preemption can split. Threads preempted inside a program hold at most one
 * slot of a buffer each, so a few slots are enough; when all are held the
 * caller goes without (a counted drop, or a slower path).
 *
 * Claims need not be released in the order they were made (a preempted
 * program may finish after the one that preempted it): a bit per slot, not a
 * nesting depth.
 */
#ifndef OTRACE_SLOTS_H
#define OTRACE_SLOTS_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

/* slots per buffer and CPU: programs preempted on one CPU inside the same buffer's use */
#define OT_SLOTS 4

/*
 * Claims a free slot of busy: its index, or -1 when every slot is held.
 *
 * The slot is the lowest clear bit of what busy held when read, and its index
 * is computed from that bit, with no branch per slot: a loop that tried each
 * slot in turn returned a constant index on each of its paths, and the
 * verifier then walked everything after the claim once per slot (the array
 * lookup by that index made it precise): kafka-go's batch end took 91,481
 * instructions to verify, 11,489 now (Linux 6.18). Another program preempted
 * here may take the bit between the read and the atomic or; then the next
 * clear bit is tried.
 */
static __always_inline int ot_slot_claim(__u64 *busy)
{
	for (int tries = 0; tries < OT_SLOTS; tries++) {
		__u64 held = *(volatile __u64 *)busy;
		__u64 bit = ~held & (held + 1);

		if (bit >= 1ULL << OT_SLOTS)
			return -1;
		/* setting a bit already set changes nothing: only a clear one is ours */
		if (!(__sync_fetch_and_or(busy, bit) & bit))
			return __builtin_popcountll(bit - 1);
	}
	return -1;
}

/* Releases slot i of busy, claimed by ot_slot_claim. */
static __always_inline void ot_slot_release(__u64 *busy, int i)
{
	__sync_fetch_and_and(busy, ~(1ULL << (i & (OT_SLOTS - 1))));
}

#endif
