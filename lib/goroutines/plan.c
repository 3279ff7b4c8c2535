// SPDX-License-Identifier: MIT
/*
 * Goroutine ancestry's plan (see probe.bpf.h): one probe on runtime.newproc's
 * closure, planned only when another library traces the binary, since it
 * makes no spans of its own.
 */
#include <string.h>

#include "goroutines/config.h"
#include "library.h"
#include "log.h"
#include "plan_internal.h"

enum { F_G_M, F_M_CURG, F_MAX };

static const struct field_req fields[F_MAX] = {
	[F_G_M] = { "runtime.g", "m" },
	[F_M_CURG] = { "runtime.m", "curg" },
};

static void plan_goroutines(const struct gobin *gb, struct plan *plan, struct lib_state *state)
{
	static const char lib[] = "goroutines";
	struct ot_goroutines_cfg *cfg = LIB_STATE_AS(struct ot_goroutines_cfg, state->config);
	struct go_func fns[] = { { .name = "runtime.newproc.func1" },
				 { .name = "runtime.runqput" } };
	const struct field_req *missing;
	struct field_req f[F_MAX];

	if (!plan__active(plan))
		return; /* nothing else is traced: no span to inherit */
	gobin__find_funcs(gb, fns, ARRAY_SIZE(fns));
	memcpy(f, fields, sizeof(f));
	missing = plan__resolve_fields(gb, plan, f, F_MAX, F_MAX);
	if (missing) {
		plan__warn_field(gb, lib, missing,
				 "goroutines started while serving a request do not inherit its "
				 "span (calls they make with context.Background() start their "
				 "own trace)");
		return;
	}
	if (plan__add_at_calls(gb, plan, lib, &fns[0], &fns[1], 1, "goroutine_spawn") != 1) {
		pr_warn("goroutines: no single call of %s found in %s; goroutines started while "
			"serving a request do not inherit its span",
			fns[1].name, fns[0].name);
		for (size_t i = 0; i < plan->nprobes; i++)
			if (!strcmp(plan->probes[i].program, "goroutine_spawn"))
				plan__skip(&plan->probes[i], "more than one call of %s", fns[1].name);
		return;
	}
	cfg->g_m = f[F_G_M].offset;
	cfg->m_curg = f[F_M_CURG].offset;
	state->active = true;
}

static const char *const programs[] = { "goroutine_spawn", NULL };

const struct library lib_goroutines = {
	.name = "goroutines",
	.plan = plan_goroutines,
	.auxiliary = true,
	.programs = programs,
	.config_name = "goroutines_cfg",
	.config_size = sizeof(struct ot_goroutines_cfg),
};
