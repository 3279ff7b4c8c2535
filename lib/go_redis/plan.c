// SPDX-License-Identifier: MIT
/*
 * go-redis's probe plan (see probe.bpf.h for what each probe does): v9
 * (github.com/redis/go-redis/v9) or v8 (github.com/go-redis/redis/v8), whose
 * baseClient has kept the same functions, with the same arguments in the
 * registers read, from v8.11 to v9.23. Every probe is on a function entry's
 * stack-check branch. Where releases differ the plan goes by which symbol
 * exists: v9.2x releases every connection through releaseConnToPool, earlier
 * ones through releaseConn.
 */
#include <string.h>

#include "go_redis.h"
#include "go_redis/config.h"
#include "go_redis/record.h"
#include "library.h"
#include "log.h"
#include "plan_internal.h"

enum redis_func {
	FN_PROCESS,	    /* (*baseClient)._process: a command's attempt starts */
	FN_PIPELINE,	    /* (*baseClient).pipelineProcessCmds */
	FN_TX_PIPELINE,	    /* (*baseClient).txPipelineProcessCmds */
	FN_RELEASE_TO_POOL, /* (*baseClient).releaseConnToPool: the end (v9.2x) */
	FN_RELEASE,	    /* (*baseClient).releaseConn: the end before */
	FN_SHOULD_RETRY,    /* shouldRetry: the end of an attempt without a connection */
	FN_REDIS_MAX,
};

enum redis_field {
	F_CMD_ARGS,  /* baseCmd.args: the command's name and arguments */
	F_CMD_EMBED, /* StatusCmd.baseCmd: the command types embed baseCmd first */
	F_REQUIRED,
	F_CLIENT_OPT = F_REQUIRED,
	F_OPT_ADDR,
	F_OPT_DB,
	F_REDIS_MAX,
};

static const char *const programs_of[FN_REDIS_MAX] = {
	[FN_PROCESS] = "redis_cmd_start",
	[FN_PIPELINE] = "redis_pipeline_start",
	[FN_TX_PIPELINE] = "redis_tx_start",
	[FN_RELEASE_TO_POOL] = "redis_release_to_pool",
	[FN_RELEASE] = "redis_release_conn",
	[FN_SHOULD_RETRY] = "redis_should_retry",
};

/* A go-redis major version: its module's functions and the types of its fields. */
struct redis_module {
	const char *path;
	const char *funcs[FN_REDIS_MAX];
	const char *types[F_REDIS_MAX];
};

#define REDIS_MODULE(m)                                                                    \
	{                                                                                  \
		.path = m,                                                                 \
		.funcs = {                                                                 \
			[FN_PROCESS] = m ".(*baseClient)._process",                        \
			[FN_PIPELINE] = m ".(*baseClient).pipelineProcessCmds",            \
			[FN_TX_PIPELINE] = m ".(*baseClient).txPipelineProcessCmds",       \
			[FN_RELEASE_TO_POOL] = m ".(*baseClient).releaseConnToPool",       \
			[FN_RELEASE] = m ".(*baseClient).releaseConn",                     \
			[FN_SHOULD_RETRY] = m ".shouldRetry",                              \
		},                                                                         \
		.types = {                                                                 \
			[F_CMD_ARGS] = m ".baseCmd",                                       \
			[F_CMD_EMBED] = m ".StatusCmd",                                    \
			[F_CLIENT_OPT] = m ".baseClient",                                  \
			[F_OPT_ADDR] = m ".Options",                                       \
			[F_OPT_DB] = m ".Options",                                         \
		},                                                                         \
	}

/* The go-redis major versions traced, newest first. */
static const struct redis_module redis_modules[] = {
	REDIS_MODULE("github.com/redis/go-redis/v9"),
	REDIS_MODULE("github.com/go-redis/redis/v8"),
};

/* The newest go-redis gb links (its functions found into fns), or NULL. */
static const struct redis_module *find_module(const struct gobin *gb, struct go_func *fns)
{
	const struct redis_module *found = NULL;

	for (size_t m = 0; m < ARRAY_SIZE(redis_modules); m++) {
		struct go_func f[FN_REDIS_MAX];

		for (int i = 0; i < FN_REDIS_MAX; i++)
			f[i] = (struct go_func){.name = redis_modules[m].funcs[i]};
		gobin__find_funcs(gb, f, FN_REDIS_MAX);
		if (!f[FN_PROCESS].vaddr)
			continue;
		if (found) {
			pr_warn("go-redis: %s is linked too; only %s is traced",
				redis_modules[m].path, found->path);
			continue;
		}
		found = &redis_modules[m];
		memcpy(fns, f, sizeof(f));
	}
	return found;
}

/* Adds and places the entry probe of fns[i]; the probe, or NULL (plan full or fn absent). */
static struct probe *add_entry(const struct gobin *gb, struct plan *plan, struct go_func *fns,
			       enum redis_func i)
{
	struct probe *p;

	if (!fns[i].vaddr)
		return NULL;
	p = plan__add_probe(plan, "go-redis", fns[i].name, programs_of[i]);
	if (p)
		plan__place_entry(gb, plan, &fns[i], p);
	return p;
}

static uint64_t vaddr_of(const struct probe *p)
{
	return p && p->planned ? p->point.vaddr : 0;
}

/* The fields; false (probes skipped, warned) when a required one is unknown. */
static bool resolve_fields(const struct gobin *gb, struct plan *plan, size_t first,
			   const struct redis_module *m, struct field_req *f)
{
	static const char *const members[F_REDIS_MAX] = {
		[F_CMD_ARGS] = "args",	[F_CMD_EMBED] = "baseCmd", [F_CLIENT_OPT] = "opt",
		[F_OPT_ADDR] = "Addr", [F_OPT_DB] = "DB",
	};
	const struct field_req *missing;

	for (int i = 0; i < F_REDIS_MAX; i++)
		f[i] = (struct field_req){.type = m->types[i], .field = members[i]};
	missing = plan__resolve_fields(gb, plan, f, F_REDIS_MAX, F_REQUIRED);
	if (!missing && f[F_CMD_EMBED].offset != 0) {
		pr_warn("field %s.%s is at offset %lld, not first: go-redis probes skipped",
			f[F_CMD_EMBED].type, f[F_CMD_EMBED].field,
			(long long)f[F_CMD_EMBED].offset);
		plan__skip_from(plan, first, "%s.%s is not the first field", f[F_CMD_EMBED].type,
				f[F_CMD_EMBED].field);
		return false;
	}
	if (missing) {
		pr_warn("field %s.%s unknown (no DWARF, not in the binary's type data): go-redis "
			"probes skipped",
			missing->type, missing->field);
		plan__skip_from(plan, first, "field %s.%s unknown", missing->type, missing->field);
		return false;
	}
	for (int i = F_REQUIRED; i < F_REDIS_MAX; i++)
		if (!f[i].source)
			pr_warn("field %s.%s unknown: go-redis spans have no %s", f[i].type,
				f[i].field, i == F_OPT_DB ? "db.namespace" : "server.address");
	return true;
}

static void plan_redis(const struct gobin *gb, struct plan *plan, struct lib_state *state)
{
	const struct redis_module *m;
	struct go_func fns[FN_REDIS_MAX];
	struct probe *p[FN_REDIS_MAX] = { NULL };
	struct field_req f[F_REDIS_MAX];
	size_t first = plan->nprobes;
	enum redis_func release;

	if (!(m = find_module(gb, fns)))
		return; /* the program does not use go-redis */
	release = fns[FN_RELEASE_TO_POOL].vaddr ? FN_RELEASE_TO_POOL : FN_RELEASE;
	p[FN_PROCESS] = add_entry(gb, plan, fns, FN_PROCESS);
	p[FN_PIPELINE] = add_entry(gb, plan, fns, FN_PIPELINE);
	p[FN_TX_PIPELINE] = add_entry(gb, plan, fns, FN_TX_PIPELINE);
	p[release] = add_entry(gb, plan, fns, release);
	p[FN_SHOULD_RETRY] = add_entry(gb, plan, fns, FN_SHOULD_RETRY);
	if (!vaddr_of(p[FN_PROCESS]) || !vaddr_of(p[release])) {
		const struct probe *bad = !vaddr_of(p[FN_PROCESS]) ? p[FN_PROCESS] : p[release];

		plan__skip_from(plan, first, "%s",
				bad ? bad->reason
				    : "no releaseConn of go-redis's baseClient found");
		pr_warn("go-redis probes skipped: %s", plan->probes[first].reason);
		return;
	}
	if (!vaddr_of(p[FN_SHOULD_RETRY]))
		pr_warn("go-redis: %s not probed: commands failing before they get a connection "
			"give no span",
			fns[FN_SHOULD_RETRY].name);
	if (!resolve_fields(gb, plan, first, m, f))
		return;
	*LIB_STATE_AS(struct ot_redis_cfg, state->config) = (struct ot_redis_cfg){
	    .cmd_args = f[F_CMD_ARGS].offset,
	    .client_opt = plan__offset_or_none(&f[F_CLIENT_OPT]),
	    .opt_addr = plan__offset_or_none(&f[F_OPT_ADDR]),
	    .opt_db = plan__offset_or_none(&f[F_OPT_DB]),
	    .release_vaddr = vaddr_of(p[release]),
	    .retry_vaddr = vaddr_of(p[FN_SHOULD_RETRY]),
	};
	state->active = true;
}

static const char *const programs[] = {
	"redis_cmd_start",    "redis_pipeline_start",  "redis_tx_start",
	"redis_release_conn", "redis_release_to_pool", "redis_should_retry",
	NULL,
};

const struct library lib_go_redis = {
	.name = "go-redis",
	.plan = plan_redis,
	.programs = programs,
	.config_name = "redis_cfg",
	.config_size = sizeof(struct ot_redis_cfg),
	.names_types = true,
	/* a goroutine's stack of commands (depth of them open), pipelines until released */
	.maps = { { "redis_stacks", true, { { "depth", INFLIGHT_COUNT } } },
		  { "redis_pipelines", true } },
	.records = { OT_REC_REDIS },
	.decode = go_redis__decode,
};
