// SPDX-License-Identifier: MIT
/*
 * gin's routes (github.com/gin-gonic/gin): the matched route of the request
 * in progress on the goroutine, for its server span (route_slot). gin keeps
 * every route, groups included, as one full path in its trees, and
 * (*Engine).handleHTTPRequest knows the match where it calls c.Next(): it has
 * just set c.fullPath to the route's path, a string of the tree that stays
 * valid. Its calls of serveError (404, 405) and of the redirects for a path
 * that differs by a slash or by case are the requests it found no route for.
 * All on call instructions, which the kernel emulates.
 */
#ifndef OTRACE_GIN_BPF_H
#define OTRACE_GIN_BPF_H

#include "common.bpf.h"
#include "gin/config.h"

const volatile struct ot_gin_cfg gin_cfg = {};

/* handleHTTPRequest calls c.Next() (c in RAX) with the route matched */
SEC("uprobe")
int gin_route(struct pt_regs *ctx)
{
	struct goroutine_key key = goroutine_of(ctx);
	struct goroutine_route *slot = route_slot(&key);
	struct go_string path = {};

	if (!slot)
		return 0;
	if (bpf_probe_read_user(&path, sizeof(path),
				(void *)(GO_ARG1(ctx) + gin_cfg.context_full_path))) {
		slot->route.state = OT_ROUTE_UNREADABLE;
		return 0;
	}
	route_matched(slot, path);
	return 0;
}

/* handleHTTPRequest answers a request it found no route for */
SEC("uprobe")
int gin_no_route(struct pt_regs *ctx)
{
	struct goroutine_key key = goroutine_of(ctx);
	struct goroutine_route *slot = route_slot(&key);

	if (slot)
		route_unmatched(slot);
	return 0;
}

#endif
