// SPDX-License-Identifier: MIT
/*
 * gin's plan (see probe.bpf.h): (*Engine).ServeHTTP's call of
 * sync.(*Pool).Put. Planned only when another library traces the binary: a
 * route annotates the server span, gin makes none.
 */
#include "gin/config.h"
#include "library.h"
#include "log.h"
#include "plan_internal.h"

static void plan_gin(const struct gobin *gb, struct plan *plan, struct lib_state *state)
{
	static const char lib[] = "gin";
	struct ot_gin_cfg *cfg = LIB_STATE_AS(struct ot_gin_cfg, state->config);
	struct go_func fns[] = { { .name = "github.com/gin-gonic/gin.(*Engine).ServeHTTP" },
				 { .name = "sync.(*Pool).Put" } };
	/* since gin 1.5.0 */
	struct field_req f[] = { { "github.com/gin-gonic/gin.Context", "fullPath" } };
	size_t first = plan->nprobes;
	int puts;

	if (!plan__router_linked(gb, plan, fns, ARRAY_SIZE(fns)))
		return;
	puts = plan__add_at_calls(gb, plan, lib, &fns[0], &fns[1], 1, "gin_route");
	if (puts != 1) {
		pr_warn("gin: %s calls %s %d times, not once: its routes are not recorded",
			fns[0].name, fns[1].name, puts);
		plan__skip_from(plan, first, "not one call of sync.(*Pool).Put");
		return;
	}
	if (!plan__router_fields(gb, plan, lib, first, f, ARRAY_SIZE(f)))
		return;
	cfg->context_full_path = f[0].offset;
	state->active = true;
}

static const char *const programs[] = { "gin_route", NULL };

const struct library lib_gin = {
	.name = "gin",
	.plan = plan_gin,
	.auxiliary = true,
	.programs = programs,
	.config_name = "gin_cfg",
	.config_size = sizeof(struct ot_gin_cfg),
};
