// SPDX-License-Identifier: MIT
/*
 * chi's routes (github.com/go-chi/chi/v5): the matched route of the request
 * in progress on the goroutine, for its server span (route_slot).
 *
 * Each routing level, the router's and every mounted or Route()d
 * sub-router's, runs (*Mux).routeHTTP, which calls (*node).FindRoute(n,
 * rctx, method, path): a found route appends its pattern to
 * rctx.RoutePatterns and returns its handler. Two probes per level: on that
 * call (rctx in RBX), which keeps rctx in the slot, and right after it, where
 * a nil handler (its itab in RCX) means no route. There the route is built
 * from every level's pattern (route.h), since rctx goes back to chi's pool
 * before the server span ends. The innermost level writes last.
 */
#ifndef OTRACE_CHI_BPF_H
#define OTRACE_CHI_BPF_H

#include "common.bpf.h"
#include "chi/config.h"
#include "chi/route.h"

_Static_assert(CHI_ROUTE_CAP == OT_ROUTE_CAP, "a chi route fills the route slot");

/* routing levels a route is built from at most: deeper is "did not fit" */
#define CHI_MAX_LEVELS 8

const volatile struct ot_chi_cfg chi_cfg = {};

/* A route being built: twice the slot, so that a pattern may start anywhere in its first half. */
DEFINE_SLOTS(chi_route_buf, 2 * CHI_ROUTE_CAP);

/* routeHTTP calls FindRoute(n, rctx, method, path) */
OT_UPROBE(chi_find_route)
{
	struct goroutine_route *slot = route_slot(ctx);

	if (!slot)
		return 0;
	route_unmatched(slot);
	slot->scratch[0] = GO_ARG2(ctx);
	return 0;
}

/*
 * Appends the patterns of rctx's routing levels to buf; returns the
 * route's length, more than CHI_ROUTE_CAP when it does not fit, 0 when a
 * read failed.
 */
static __always_inline __u32 chi_join(char *buf, struct go_slice patterns)
{
	__u32 len = 0;

	for (int i = 0; i < CHI_MAX_LEVELS; i++) {
		struct go_string p = {};
		char first = 0;
		__u64 n;
		__u32 at;

		if (i >= patterns.len)
			return len;
		if (bpf_probe_read_user(&p, sizeof(p), (void *)(patterns.ptr + i * sizeof(p))) ||
		    (p.len > 0 && bpf_probe_read_user(&first, 1, (void *)p.ptr)))
			return 0;
		if (p.len <= 0)
			continue;
		at = chi_route__join_at(buf, len, first);
		if (p.len > CHI_ROUTE_CAP - at)
			return CHI_ROUTE_CAP + 1;
		n = p.len;
		/* for the verifier, which does not relate n to at: a bound of its own */
		barrier_var(n);
		if (n > CHI_ROUTE_CAP)
			return CHI_ROUTE_CAP + 1;
		if (bpf_probe_read_user(buf + (at & (CHI_ROUTE_CAP - 1)), n, (void *)p.ptr))
			return 0;
		len = at + (__u32)n;
	}
	return patterns.len > CHI_MAX_LEVELS ? CHI_ROUTE_CAP + 1 : len;
}

/* FindRoute returned (node, endpoints, handler): the handler's itab is in RCX */
OT_UPROBE(chi_route_found)
{
	struct goroutine_route *slot = route_slot(ctx);
	struct go_slice patterns = {};
	struct slot_hold hold;
	__u64 rctx;
	char *buf;
	__u32 len;

	if (!slot || !slot->scratch[0])
		return 0;
	rctx = slot->scratch[0];
	slot->scratch[0] = 0;
	if (!GO_ARG3(ctx))
		return 0; /* no route: unmatched since the call */
	if (bpf_probe_read_user(&patterns, sizeof(patterns),
				(void *)(rctx + chi_cfg.context_route_patterns))) {
		slot->route.state = OT_ROUTE_UNREADABLE;
		return 0;
	}
	buf = slot_get(&chi_route_buf, &hold);
	if (!buf) {
		count_drop(OT_DROP_VALUE_BUSY);
		slot->route.state = OT_ROUTE_UNREADABLE;
		return 0;
	}
	len = chi_join(buf, patterns);
	if (!len) {
		slot->route.state = patterns.len ? OT_ROUTE_UNREADABLE : OT_ROUTE_UNMATCHED;
	} else {
		if (len <= CHI_ROUTE_CAP)
			len = chi_route__trim(buf, len);
		__builtin_memcpy(slot->route.text, buf, OT_ROUTE_CAP);
		slot->route.len = len;
		slot->route.state = len ? OT_ROUTE_MATCHED : OT_ROUTE_UNMATCHED;
	}
	slot_put(&hold);
	return 0;
}

#endif
