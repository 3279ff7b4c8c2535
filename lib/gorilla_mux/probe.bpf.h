// SPDX-License-Identifier: MIT
/*
 * gorilla/mux's routes (github.com/gorilla/mux): the matched route of the
 * request in progress on the goroutine, for its server span (route_slot).
 *
 * (*Router).ServeHTTP calls r.Match(req, &match), which walks subrouters
 * down to the route that matched (the innermost: its template holds its
 * subrouters' prefixes), then requestWithRoute(req, match.Route) only when
 * one did. Two probes, both on call instructions: Match says the router
 * looks at the request (no route yet), requestWithRoute's *Route (RBX) gives
 * its path template, what route.GetPathTemplate() returns, a string of the
 * route that stays valid.
 */
#ifndef OTRACE_GORILLA_MUX_BPF_H
#define OTRACE_GORILLA_MUX_BPF_H

#include "common.bpf.h"
#include "gorilla_mux/config.h"

const volatile struct ot_gorilla_mux_cfg gorilla_mux_cfg = {};

/* ServeHTTP calls Match(req, &match) */
OT_UPROBE(gorilla_mux_match)
{
	struct goroutine_route *slot = route_slot(ctx);

	if (slot)
		route_unmatched(slot);
	return 0;
}

/* ServeHTTP calls requestWithRoute(req, route *Route) */
OT_UPROBE(gorilla_mux_route)
{
	const volatile struct ot_gorilla_mux_cfg *cfg = &gorilla_mux_cfg;
	struct goroutine_route *slot = route_slot(ctx);
	__u64 route = GO_ARG2(ctx), rr = 0;

	if (!slot)
		return 0;
	if (route && bpf_probe_read_user(&rr, sizeof(rr), (void *)(route + cfg->route_path)))
		slot->route.state = OT_ROUTE_UNREADABLE;
	else if (rr)
		route_matched_at(slot, rr + cfg->regexp_template);
	else
		route_unmatched(slot); /* matched by host, method or headers only: no path template */
	return 0;
}

#endif
