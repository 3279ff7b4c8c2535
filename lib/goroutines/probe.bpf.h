// SPDX-License-Identifier: MIT
/*
 * Goroutine ancestry: a goroutine started while its parent serves a request
 * inherits that request's span, so a call it makes with context.Background()
 * is still the request's child (find_goroutine_parent), however deep the
 * chain of `go` statements.
 *
 * One probe per `go` statement, on an emulated instruction: the call of
 * runqput(pp, newg, next) in runtime.newproc's closure, which runs on the
 * system stack right after newproc1 made the goroutine. There newg is the
 * call's second argument (RBX), R14 is the M's g0, and the goroutine that
 * ran the `go` statement is g0.m.curg.
 */
#ifndef OTRACE_GOROUTINES_BPF_H
#define OTRACE_GOROUTINES_BPF_H

#include "common.bpf.h"
#include "goroutines/config.h"

const volatile struct ot_goroutines_cfg goroutines_cfg = {};

OT_UPROBE(goroutine_spawn)
{
	const volatile struct ot_goroutines_cfg *cfg = &goroutines_cfg;
	struct goroutine_key parent = { .pid = pid_of_current() };
	struct goroutine_key child = { .pid = parent.pid, .g = GO_ARG2(ctx) };
	struct goroutine_span inherited = { .live = 1, .owner = GOROUTINE_INHERITED };
	const struct goroutine_span *gs;
	struct goroutine_span *cs;
	__u64 m = read_ptr(GO_G(ctx) + cfg->g_m);

	parent.g = m ? read_ptr(m + cfg->m_curg) : 0;
	gs = parent.g ? bpf_map_lookup_elem(&goroutine_spans, &parent) : NULL;
	/*
	 * A reused g (Go keeps dead goroutines' g for new ones) has an entry
	 * from its earlier life, which is not its parent's: it is overwritten
	 * in place, as the entry of a goroutine that inherits nothing (owned by
	 * nobody, not live) or that inherits the parent's span. In place: a
	 * delete or a replacement would take an element from the LRU map's
	 * free lists, or return one, at every `go` statement.
	 */
	cs = bpf_map_lookup_elem(&goroutine_spans, &child);
	if (!gs || !gs->live) {
		if (cs) {
			cs->live = 0;
			cs->owner = 0;
		}
		return 0;
	}
	if (cs) {
		cs->ids = gs->ids;
		cs->owner = GOROUTINE_INHERITED;
		cs->live = 1;
		return 0;
	}
	inherited.ids = gs->ids;
	if (bpf_map_update_elem(&goroutine_spans, &child, &inherited, BPF_ANY))
		count_drop(OT_DROP_INFLIGHT_FULL);
	return 0;
}

#endif
