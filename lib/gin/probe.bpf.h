// SPDX-License-Identifier: MIT
/*
 * gin's routes (github.com/gin-gonic/gin): the matched route of the request
 * in progress on the goroutine, for its server span (route_slot). gin keeps
 * every route, groups included, as one full path in its trees, and sets
 * c.fullPath to the matched route's (a string of the tree, which stays
 * valid) or leaves it empty when none matched (404, 405, a redirect).
 *
 * One probe, on (*Engine).ServeHTTP's call of engine.pool.Put(c) once
 * handleHTTPRequest returned: the last route c was dispatched to (a
 * handler's engine.HandleContext dispatches it again), read before c goes
 * back to the pool. Put takes c as an interface (RBX, RCX) that the
 * compiler boxes right there from ServeHTTP's *Context: its type is known.
 * A handler panic that no gin middleware recovers skips the call: that
 * span has no route. A call instruction, which the kernel emulates; c.Next(),
 * where the route is also known, is inlined in gin before 1.7.
 */
#ifndef OTRACE_GIN_BPF_H
#define OTRACE_GIN_BPF_H

#include "common.bpf.h"
#include "gin/config.h"

const volatile struct ot_gin_cfg gin_cfg = {};

/* ServeHTTP calls engine.pool.Put(c): c.fullPath is the route, empty for none */
OT_UPROBE(gin_route)
{
	struct goroutine_route *slot = route_slot(ctx);

	if (slot)
		route_matched_at(slot, GO_ARG3(ctx) + gin_cfg.context_full_path);
	return 0;
}

#endif
