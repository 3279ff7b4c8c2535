// SPDX-License-Identifier: MIT
/*
 * otrace: OpenTelemetry spans from a running Go program, recorded by eBPF
 * uprobes in the kernel and assembled here. main only wires the stages:
 * options -> preflight -> inspect the binary -> plan -> session.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "exitcodes.h"
#include "gobin.h"
#include "itabs.h"
#include "log.h"
#include "output.h"
#include "plan.h"
#include "preflight.h"
#include "session.h"
#include "sql.h"
#include "target.h"

struct target_binary {
	char path[PATH_MAX];	/* what we open and attach to */
	char display[PATH_MAX]; /* what we name in messages */
};

/* Resolves which executable the options point at; returns an exit code. */
static int locate_binary(const struct otrace_opts *o, struct target_binary *tb)
{
	int err;

	if (o->pid) {
		err = target__exists(o->pid);
		if (err) {
			pr_err("no such process: %d", (int)o->pid);
			return EXIT_NO_PROCESS;
		}
		if (target__exe_path(o->pid, tb->display, sizeof(tb->display)))
			snprintf(tb->display, sizeof(tb->display), "PID %d", (int)o->pid);
		/* the magic link still works when the file was replaced or deleted */
		snprintf(tb->path, sizeof(tb->path), "/proc/%d/exe", (int)o->pid);
		return EXIT_OK;
	}
	if (o->list_binary) {
		snprintf(tb->path, sizeof(tb->path), "%s", o->list_binary);
		snprintf(tb->display, sizeof(tb->display), "%s", o->list_binary);
		return EXIT_OK;
	}
	err = target__resolve_program(o->exec_argv[0], tb->path, sizeof(tb->path));
	if (err == -ENOENT) {
		pr_err("%s: program not found", o->exec_argv[0]);
		return EXIT_EXEC_MISSING;
	}
	if (err) {
		pr_err("%s: not executable: %s", o->exec_argv[0], strerror(-err));
		return EXIT_EXEC_NOEXEC;
	}
	snprintf(tb->display, sizeof(tb->display), "%s", tb->path);
	return EXIT_OK;
}

/* Opens the binary and checks it is Go; returns an exit code. */
static int inspect_binary(const struct target_binary *tb, struct gobin **gb)
{
	int err = gobin__open(tb->path, gb);

	if (err == -EACCES || err == -EPERM) {
		pr_err("cannot read %s: %s", tb->display, strerror(-err));
		return EXIT_PRIVILEGE;
	}
	if (err == -ENOENT) {
		pr_err("%s: no such file", tb->display);
		return EXIT_NOT_GO;
	}
	if (err == -EINVAL) {
		pr_err("%s is a truncated or corrupt ELF file", tb->display);
		return EXIT_NOT_GO;
	}
	if (err) {
		pr_err("%s is not an x86-64 ELF executable otrace can read (%s)", tb->display,
		       err == -ENOEXEC ? "wrong format or architecture" : strerror(-err));
		return EXIT_NOT_GO;
	}
	if (!gobin__is_go(*gb)) {
		pr_err("%s is not a Go program", tb->display);
		return EXIT_NOT_GO;
	}
	return EXIT_OK;
}

static int preflight(void)
{
	char missing[128];

	if (preflight__privileges(missing, sizeof(missing))) {
		pr_err("tracing needs %s (run as root)", missing);
		return EXIT_PRIVILEGE;
	}
	if (preflight__kernel(missing, sizeof(missing))) {
		pr_err("this kernel lacks %s", missing);
		return EXIT_KERNEL;
	}
	return EXIT_OK;
}

static enum probe_placement placement_of(const struct otrace_opts *o)
{
	enum probe_placement placement = PLACEMENT_EMULATED;

	if (o->probe_placement)
		plan__parse_placement(o->probe_placement, &placement); /* validated by cli */
	return placement;
}

/* --propagate, unless the kernel's lockdown forbids writing to process memory. */
static void add_propagation(const struct otrace_opts *o, const struct gobin *gb,
			    struct plan *plan)
{
	char why[128];

	if (!o->propagate)
		return;
	if (preflight__write_user(why, sizeof(why))) {
		pr_warn("%s: --propagate is off, spans are traced as usual", why);
		return;
	}
	plan__add_propagation(gb, plan);
}

static int build_plan(const struct otrace_opts *o, const struct gobin *gb, const char *name,
		      struct plan *plan)
{
	if (plan__build(gb, placement_of(o), plan) == 0) {
		pr_err("%s uses no library otrace instruments (%s): nothing to trace", name,
		       plan__libraries);
		return EXIT_NOTHING;
	}
	add_propagation(o, gb, plan);
	if (plan->single_stepped)
		pr_warn("%d probes sit on single-stepped instructions and cost ~14 us per hit",
			plan->single_stepped);
	return EXIT_OK;
}

static int list_probes(const struct otrace_opts *o)
{
	struct target_binary tb;
	struct gobin *gb = NULL;
	struct plan plan;
	int code;

	code = locate_binary(o, &tb);
	if (code == EXIT_OK)
		code = inspect_binary(&tb, &gb);
	if (code == EXIT_OK) {
		plan__build(gb, placement_of(o), &plan);
		/* the plan as it would be where the kernel allows writes */
		if (o->propagate)
			plan__add_propagation(gb, &plan);
		if (plan__print_json(&plan, gb, tb.display, stdout) || fflush(stdout))
			code = EXIT_RUNTIME;
	}
	gobin__free(gb);
	return code;
}

/*
 * How records become spans: options, and the names of the binary's itabs
 * when a library reports interface types (database/sql's errors and drivers).
 */
static int span_config(const struct otrace_opts *o, const struct gobin *gb,
		       const struct plan *plan, struct span_config *cfg,
		       struct itab_names **itabs)
{
	int err;

	*cfg = (struct span_config){ .db_statement = o->db_statement };
	*itabs = NULL;
	if (!plan->sql)
		return 0;
	err = itab_names__load(gb, itabs);
	if (err) {
		pr_err("failed to read the symbol table: %s", strerror(-err));
		return err;
	}
	if (!itab_names__count(*itabs))
		pr_warn("no itab symbols (stripped binary?): error.type is _OTHER and "
			"db.system.name comes from the linked driver modules");
	cfg->itabs = *itabs;
	cfg->db_system = sql__system_of_modules(gb);
	return 0;
}

static int trace(const struct otrace_opts *o)
{
	struct target_binary tb;
	struct output *out = NULL;
	struct gobin *gb = NULL;
	struct itab_names *itabs = NULL;
	struct span_config span_cfg;
	struct plan plan;
	int code, err;

	code = preflight();
	if (code != EXIT_OK)
		return code;
	code = locate_binary(o, &tb);
	if (code == EXIT_OK)
		code = inspect_binary(&tb, &gb);
	if (code == EXIT_OK)
		code = build_plan(o, gb, tb.display, &plan);
	if (code == EXIT_OK && span_config(o, gb, &plan, &span_cfg, &itabs))
		code = EXIT_RUNTIME;
	if (code != EXIT_OK)
		goto cleanup;
	err = output__open(o->output, &out);
	if (err) {
		pr_err("cannot open %s for writing: %s", o->output, strerror(-err));
		code = EXIT_OUTPUT;
		goto cleanup;
	}
	struct session_config cfg = {
		.plan = &plan,
		.binary = tb.path,
		.pid = o->pid,
		.exec_argv = o->exec_argv,
		.service_name = o->service_name,
		.go_version = gobin__go_version(gb),
		.span = &span_cfg,
		.out = out,
	};
	code = session__run(&cfg);
cleanup:
	output__close(out);
	itab_names__free(itabs);
	gobin__free(gb);
	return code;
}

int main(int argc, char **argv)
{
	struct otrace_opts opts;
	char err[256];
	int code;

	code = cli__parse(argc, argv, &opts, err, sizeof(err));
	if (code) {
		fprintf(stderr, "otrace: %s (see otrace --help)\n", err);
		cli__free(&opts);
		return code;
	}
	if (opts.help) {
		cli__usage(stdout);
	} else if (opts.version) {
		printf("otrace %s\n", OTRACE_VERSION);
	} else {
		log__set_level(opts.verbose >= 2 ? LOG_LIBBPF : opts.verbose ? LOG_DEBUG : LOG_INFO);
		log__hook_libbpf();
		code = opts.list_probes ? list_probes(&opts) : trace(&opts);
	}
	cli__free(&opts);
	return code;
}
