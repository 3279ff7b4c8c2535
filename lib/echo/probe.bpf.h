// SPDX-License-Identifier: MIT
/*
 * echo's routes (github.com/labstack/echo/v4): the matched route of the
 * request in progress on the goroutine, for its server span (route_slot).
 *
 * (*Echo).ServeHTTP, or its closure when the program has pre-middleware,
 * calls (*Router).Find(r, method, path, c), which sets c.path to the matched
 * route's path (groups included: echo keeps full paths), the string c.Path()
 * returns. Two probes: on that call, which keeps c (R9) and the path's
 * pointer (RDI) in the slot, and after it, where c.path is read (in the
 * closure, which goes on with an indirect call, on its next direct call,
 * of applyMiddleware). Find starts
 * with c.(*context), so a Find that returned had a *context: its layout is
 * the one read. echo before 4.11.1 leaves the request's own path in c.path
 * when nothing matched: the same pointer as the path it was given, no route.
 */
#ifndef OTRACE_ECHO_BPF_H
#define OTRACE_ECHO_BPF_H

#include "common.bpf.h"
#include "echo/config.h"

const volatile struct ot_echo_cfg echo_cfg = {};

/* ServeHTTP calls Find(r, method, path string, c Context) */
OT_UPROBE(echo_find)
{
	struct goroutine_route *slot = route_slot(ctx);

	if (!slot)
		return 0;
	route_unmatched(slot);
	slot->scratch[0] = GO_ARG7(ctx);
	slot->scratch[1] = GO_ARG4(ctx);
	return 0;
}

/* Find returned: c.path is the route */
OT_UPROBE(echo_found)
{
	struct goroutine_route *slot = route_slot(ctx);
	struct go_string path = {};
	__u64 c;

	if (!slot || !slot->scratch[0])
		return 0;
	c = slot->scratch[0];
	slot->scratch[0] = 0;
	if (bpf_probe_read_user(&path, sizeof(path), (void *)(c + echo_cfg.context_path))) {
		slot->route.state = OT_ROUTE_UNREADABLE;
		return 0;
	}
	if (path.ptr == slot->scratch[1])
		return 0; /* the request's path: no route matched */
	route_matched(slot, path);
	return 0;
}

#endif
