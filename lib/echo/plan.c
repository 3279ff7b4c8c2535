// SPDX-License-Identifier: MIT
/*
 * echo's plan (see probe.bpf.h): the call of (*Router).Find in
 * (*Echo).ServeHTTP and in its pre-middleware closure, and the first
 * emulated instruction after each. Planned only when another library traces
 * the binary: a route annotates the server span, echo makes none.
 */
#include "echo/config.h"
#include "library.h"
#include "log.h"
#include "plan_internal.h"

/* ServeHTTP and the closures it may call Find from (their numbers are the compiler's) */
enum { FN_FIND, FN_APPLY, FN_SERVE, FN_CLOSURE1, FN_CLOSURE2, FN_MAX };

/*
 * Probes on each call of Find from caller and where its route can be read:
 * the first emulated instruction after the call, else (the closure goes on
 * with an indirect call) caller's one call of applyMiddleware, which comes
 * next. Returns the number of calls probed so, -1 when one is not.
 */
static int plan_find_calls(const struct gobin *gb, struct plan *plan, const char *lib,
			   const struct go_func *caller, const struct go_func *fns)
{
	size_t first = plan->nprobes;
	int calls = plan__add_at_calls(gb, plan, lib, caller, &fns[FN_FIND], 1, "echo_find");
	int after = plan__add_after_calls(gb, plan, lib, caller, &fns[FN_FIND], 1, 0, "echo_found");

	if (calls == 1 && after == 1 && !plan->probes[plan->nprobes - 1].point.emulated) {
		plan__skip(&plan->probes[plan->nprobes - 1],
			   "single-stepped: the call of applyMiddleware serves instead");
		after = plan__add_at_calls(gb, plan, lib, caller, &fns[FN_APPLY], 1, "echo_found");
	}
	if (calls == after)
		return calls;
	plan__skip_from(plan, first, "no emulated probe where Find's route can be read");
	return -1;
}

static void plan_echo(const struct gobin *gb, struct plan *plan, struct lib_state *state)
{
	static const char lib[] = "echo";
	struct ot_echo_cfg *cfg = LIB_STATE_AS(struct ot_echo_cfg, state->config);
	struct go_func fns[FN_MAX] = {
		[FN_FIND] = { .name = "github.com/labstack/echo/v4.(*Router).Find" },
		[FN_APPLY] = { .name = "github.com/labstack/echo/v4.applyMiddleware" },
		[FN_SERVE] = { .name = "github.com/labstack/echo/v4.(*Echo).ServeHTTP" },
		[FN_CLOSURE1] = { .name = "github.com/labstack/echo/v4.(*Echo).ServeHTTP.func1" },
		[FN_CLOSURE2] = { .name = "github.com/labstack/echo/v4.(*Echo).ServeHTTP.func2" },
	};
	struct field_req f[] = { { "github.com/labstack/echo/v4.context", "path" } };
	size_t first = plan->nprobes;
	int pairs = 0;

	if (!plan__router_linked(gb, plan, fns, FN_MAX))
		return;
	for (int i = FN_SERVE; i < FN_MAX; i++) {
		int n = fns[i].vaddr ? plan_find_calls(gb, plan, lib, &fns[i], fns) : 0;

		if (n < 0 || (i == FN_SERVE && n != 1)) {
			pr_warn(
			    "echo: %s does not call %s once with emulated probes around it: its "
			    "routes are not recorded",
			    fns[i].name, fns[FN_FIND].name);
			plan__skip_from(plan, first, "not one usable call of (*Router).Find");
			return;
		}
		pairs += n;
	}
	if (pairs < 2)
		pr_warn("echo: no call of %s found in ServeHTTP's closures: with pre-middleware "
			"(Echo.Pre), its routes are not recorded",
			fns[FN_FIND].name);
	if (!plan__router_fields(gb, plan, lib, first, f, ARRAY_SIZE(f)))
		return;
	cfg->context_path = f[0].offset;
	state->active = true;
}

static const char *const programs[] = { "echo_find", "echo_found", NULL };

const struct library lib_echo = {
	.name = "echo",
	.plan = plan_echo,
	.auxiliary = true,
	.programs = programs,
	.config_name = "echo_cfg",
	.config_size = sizeof(struct ot_echo_cfg),
};
