// SPDX-License-Identifier: MIT
/*
 * chi's plan (see probe.bpf.h): in (*Mux).routeHTTP, the call of
 * (*node).FindRoute and the first emulated instruction after it that still
 * sees the returned handler. Planned only when another library traces the
 * binary: a route annotates the server span, chi makes none.
 */
#include "chi/config.h"
#include "library.h"
#include "log.h"
#include "plan_internal.h"

static void plan_chi(const struct gobin *gb, struct plan *plan, struct lib_state *state)
{
	static const char lib[] = "chi";
	struct ot_chi_cfg *cfg = LIB_STATE_AS(struct ot_chi_cfg, state->config);
	struct go_func fns[] = { { .name = "github.com/go-chi/chi/v5.(*Mux).routeHTTP" },
				 { .name = "github.com/go-chi/chi/v5.(*node).FindRoute" } };
	struct field_req f[] = { { "github.com/go-chi/chi/v5.Context", "RoutePatterns" } };
	size_t first = plan->nprobes;
	int calls, after;

	if (!plan__router_linked(gb, plan, fns, ARRAY_SIZE(fns)))
		return;
	calls = plan__add_at_calls(gb, plan, lib, &fns[0], &fns[1], 1, "chi_find_route");
	/* the handler FindRoute returns is its third result: its itab in RCX */
	after = plan__add_after_calls(gb, plan, lib, &fns[0], &fns[1], 1, INSN_RCX,
				      "chi_route_found");
	if (after == 1 && !plan->probes[plan->nprobes - 1].point.emulated)
		after = 0; /* a single-stepped probe costs ~10x on every request */
	if (calls != 1 || after != 1) {
		pr_warn("chi: %s calls %s %d times (%d usable), not once: its routes are not "
			"recorded",
			fns[0].name, fns[1].name, calls, after);
		plan__skip_from(plan, first, "not one call of (*node).FindRoute");
		return;
	}
	if (!plan__router_fields(gb, plan, lib, first, f, ARRAY_SIZE(f)))
		return;
	cfg->context_route_patterns = f[0].offset;
	state->active = true;
}

static const char *const programs[] = { "chi_find_route", "chi_route_found", NULL };

const struct library lib_chi = {
	.name = "chi",
	.plan = plan_chi,
	.auxiliary = true,
	.programs = programs,
	.config_name = "chi_cfg",
	.config_size = sizeof(struct ot_chi_cfg),
};
