// SPDX-License-Identifier: MIT
/*
 * gorilla/mux's plan (see probe.bpf.h): in (*Router).ServeHTTP, the call of
 * (*Router).Match and the call of requestWithRoute (gorilla/mux 1.7.4 on;
 * before, it passed the route as an interface{} to setCurrentRoute, whose
 * dynamic type otrace cannot check without symbols: not probed). Planned
 * only when another library traces the binary: a route annotates the server
 * span, gorilla/mux makes none.
 */
#include "gorilla_mux/config.h"
#include "library.h"
#include "log.h"
#include "plan_internal.h"

enum { FN_SERVE, FN_MATCH, FN_WITH_ROUTE, FN_MAX };
enum { F_ROUTE_CONF, F_CONF_REGEXP, F_GROUP_PATH, F_TEMPLATE, F_MAX };

static void plan_gorilla_mux(const struct gobin *gb, struct plan *plan, struct lib_state *state)
{
	static const char lib[] = "gorilla/mux";
	struct ot_gorilla_mux_cfg *cfg = LIB_STATE_AS(struct ot_gorilla_mux_cfg, state->config);
	struct go_func fns[FN_MAX] = {
		[FN_SERVE] = { .name = "github.com/gorilla/mux.(*Router).ServeHTTP" },
		[FN_MATCH] = { .name = "github.com/gorilla/mux.(*Router).Match" },
		[FN_WITH_ROUTE] = { .name = "github.com/gorilla/mux.requestWithRoute" },
	};
	/* Route embeds routeConf (1.7 on), which holds the regexps inline */
	struct field_req f[F_MAX] = {
		[F_ROUTE_CONF] = { "github.com/gorilla/mux.Route", "routeConf" },
		[F_CONF_REGEXP] = { "github.com/gorilla/mux.routeConf", "regexp" },
		[F_GROUP_PATH] = { "github.com/gorilla/mux.routeRegexpGroup", "path" },
		[F_TEMPLATE] = { "github.com/gorilla/mux.routeRegexp", "template" },
	};
	size_t first = plan->nprobes;
	int match, route;

	if (!plan__router_linked(gb, plan, fns, FN_MAX))
		return;
	if (!fns[FN_WITH_ROUTE].vaddr) {
		pr_warn("gorilla/mux: %s not found (gorilla/mux before 1.7.4): its routes are not "
			"recorded",
			fns[FN_WITH_ROUTE].name);
		return;
	}
	match = plan__add_at_calls(gb, plan, lib, &fns[FN_SERVE], &fns[FN_MATCH], 1,
				   "gorilla_mux_match");
	route = plan__add_at_calls(gb, plan, lib, &fns[FN_SERVE], &fns[FN_WITH_ROUTE], 1,
				   "gorilla_mux_route");
	if (match != 1 || route != 1) {
		pr_warn("gorilla/mux: %s does not call Match and requestWithRoute once each: its "
			"routes are not recorded",
			fns[FN_SERVE].name);
		plan__skip_from(plan, first, "not one call each of Match and requestWithRoute");
		return;
	}
	if (!plan__router_fields(gb, plan, lib, first, f, F_MAX))
		return;
	cfg->route_path = f[F_ROUTE_CONF].offset + f[F_CONF_REGEXP].offset + f[F_GROUP_PATH].offset;
	cfg->regexp_template = f[F_TEMPLATE].offset;
	state->active = true;
}

static const char *const programs[] = { "gorilla_mux_match", "gorilla_mux_route", NULL };

const struct library lib_gorilla_mux = {
	.name = "gorilla/mux",
	.plan = plan_gorilla_mux,
	.auxiliary = true,
	.programs = programs,
	.config_name = "gorilla_mux_cfg",
	.config_size = sizeof(struct ot_gorilla_mux_cfg),
};
