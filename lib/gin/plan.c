// SPDX-License-Identifier: MIT
/*
 * gin's plan (see probe.bpf.h): in (*Engine).handleHTTPRequest, the call of
 * (*Context).Next that serves a matched route, and the calls that answer a
 * request matching none. Planned only when another library traces the
 * binary: a route annotates the server span, gin makes none.
 */
#include <string.h>

#include "gin/config.h"
#include "library.h"
#include "log.h"
#include "plan_internal.h"

enum { FN_HANDLE, FN_NEXT, FN_SERVE_ERROR, FN_REDIRECT_SLASH, FN_REDIRECT_FIXED, FN_MAX };

static void plan_gin(const struct gobin *gb, struct plan *plan, struct lib_state *state)
{
	static const char lib[] = "gin";
	struct ot_gin_cfg *cfg = LIB_STATE_AS(struct ot_gin_cfg, state->config);
	struct go_func fns[FN_MAX] = {
		[FN_HANDLE] = { .name = "github.com/gin-gonic/gin.(*Engine).handleHTTPRequest" },
		[FN_NEXT] = { .name = "github.com/gin-gonic/gin.(*Context).Next" },
		[FN_SERVE_ERROR] = { .name = "github.com/gin-gonic/gin.serveError" },
		[FN_REDIRECT_SLASH] = { .name = "github.com/gin-gonic/gin.redirectTrailingSlash" },
		[FN_REDIRECT_FIXED] = { .name = "github.com/gin-gonic/gin.redirectFixedPath" },
	};
	/* since gin 1.5.0 */
	struct field_req f[] = { { "github.com/gin-gonic/gin.Context", "fullPath" } };
	size_t first = plan->nprobes;
	int matched;

	if (!plan__router_linked(gb, plan, fns, FN_MAX))
		return;
	matched = plan__add_at_calls(gb, plan, lib, &fns[FN_HANDLE], &fns[FN_NEXT], 1, "gin_route");
	if (matched != 1) {
		pr_warn("gin: %d calls of %s found in %s, not one: its routes are not recorded",
			matched, fns[FN_NEXT].name, fns[FN_HANDLE].name);
		plan__skip_from(plan, first, "not one call of (*Context).Next");
		return;
	}
	if (!plan__add_at_calls(gb, plan, lib, &fns[FN_HANDLE], &fns[FN_SERVE_ERROR], 3,
				"gin_no_route"))
		pr_warn("gin: no call of serveError found in %s: a request it finds no route for "
			"keeps the route net/http knows",
			fns[FN_HANDLE].name);
	if (!plan__router_fields(gb, plan, lib, first, f, ARRAY_SIZE(f)))
		return;
	cfg->context_full_path = f[0].offset;
	state->active = true;
}

static const char *const programs[] = { "gin_route", "gin_no_route", NULL };

const struct library lib_gin = {
	.name = "gin",
	.plan = plan_gin,
	.auxiliary = true,
	.programs = programs,
	.config_name = "gin_cfg",
	.config_size = sizeof(struct ot_gin_cfg),
};
