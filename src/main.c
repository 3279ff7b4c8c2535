// SPDX-License-Identifier: MIT
/*
 * otrace: OpenTelemetry spans from a running Go program, recorded by eBPF
 * uprobes in the kernel and assembled here. main only wires the stages:
 * options -> preflight -> inspect each binary and plan (traced.c) -> session.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <jansson.h>

#include "cli.h"
#include "exitcodes.h"
#include "log.h"
#include "otel_setup.h"
#include "output.h"
#include "plan.h"
#include "preflight.h"
#include "session.h"
#include "traced.h"

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

/* Every binary must have something to trace; returns an exit code. */
static int check_plans(const struct traced_set *set)
{
	for (size_t i = 0; i < set->nbins; i++) {
		const struct traced_binary *b = &set->bins[i];

		if (b->nplanned == 0) {
			pr_err("%s uses no library otrace instruments (%s): nothing to trace",
			       b->display, plan__libraries());
			return EXIT_NOTHING;
		}
		if (b->plan.single_stepped)
			pr_warn("%s: %d probes sit on single-stepped instructions and cost ~14 us per "
				"hit",
				b->display, b->plan.single_stepped);
	}
	return EXIT_OK;
}

/*
 * One plan document; with several PIDs, an array of them, one per distinct
 * executable, each naming its PIDs.
 */
static int print_plans(const struct otrace_opts *o, const struct traced_set *set)
{
	json_t *doc = o->npids > 1 ? json_array() : NULL;
	int err = 0;

	for (size_t i = 0; i < set->nbins && !err; i++) {
		const struct traced_binary *b = &set->bins[i];
		json_t *plan = plan__to_json(&b->plan, b->gb, b->exe), *pids = json_array();

		for (size_t j = 0; j < b->npids && pids; j++)
			if (json_array_append_new(pids, json_integer(b->pids[j])))
				err = -ENOMEM;
		if (!plan || !pids || (o->npids && json_object_set(plan, "pids", pids)))
			err = -ENOMEM;
		json_decref(pids);
		if (doc && !err && json_array_append(doc, plan))
			err = -ENOMEM;
		if (!doc && !err)
			doc = json_incref(plan);
		json_decref(plan);
	}
	if (!err && (!doc || json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER) ||
		     fputc('\n', stdout) == EOF || fflush(stdout)))
		err = -EIO;
	json_decref(doc);
	return err;
}

/*
 * --propagate: adds the probes that write traceparent to every plan. Tracing
 * checks first that the kernel allows BPF writes and says once when not; the
 * listing shows the plan as it would be where writes are allowed.
 */
static void add_propagation(const struct otrace_opts *o, struct traced_set *set, bool listing)
{
	char why[128];

	if (!o->propagate)
		return;
	if (!listing && preflight__write_user(why, sizeof(why))) {
		pr_warn("%s: --propagate is off, spans are traced as usual", why);
		return;
	}
	for (size_t i = 0; i < set->nbins; i++)
		plan__add_propagation(set->bins[i].gb, &set->bins[i].plan);
}

static int list_probes(const struct otrace_opts *o)
{
	struct traced_set set;
	int code;

	code = traced__resolve(o, &set);
	if (code == EXIT_OK)
		add_propagation(o, &set, true);
	if (code == EXIT_OK && print_plans(o, &set))
		code = EXIT_RUNTIME;
	traced__free(&set);
	return code;
}

/*
 * Where JSON lines go: -o FILE, or stdout ("-o -", or no endpoint to export
 * to); NULL out: nowhere, spans are only exported.
 */
static int open_output(const struct otrace_opts *o, const struct otel_setup *otel,
		       struct output **out)
{
	const char *path = o->output && strcmp(o->output, "-") ? o->output : NULL;
	int err;

	*out = NULL;
	if (!o->output && otel->otlp.enabled)
		return EXIT_OK;
	err = output__open(path, out);
	if (err) {
		pr_err("cannot open %s for writing: %s", path, strerror(-err));
		return EXIT_OUTPUT;
	}
	return EXIT_OK;
}

static int trace(const struct otrace_opts *o)
{
	struct output *out = NULL;
	struct otel_setup otel;
	struct traced_set set;
	int code;

	/* settings first: a mistake there is found without privileges or a target */
	code = otel_setup__load(o, &otel);
	if (code == EXIT_OK)
		code = preflight();
	if (code != EXIT_OK) {
		otel_setup__free(&otel);
		return code;
	}
	code = traced__resolve(o, &set);
	if (code == EXIT_OK)
		code = check_plans(&set);
	if (code == EXIT_OK && traced__load_names(&set))
		code = EXIT_RUNTIME;
	if (code != EXIT_OK)
		goto cleanup;
	add_propagation(o, &set, false);
	code = open_output(o, &otel, &out);
	if (code != EXIT_OK)
		goto cleanup;
	struct session_config cfg = {
		.targets = &set,
		.exec_argv = o->exec_argv,
		.service_name = o->service_name,
		.db_statement = o->db_statement,
		.out = out,
		.otel = &otel,
	};
	code = session__run(&cfg);
cleanup:
	output__close(out);
	traced__free(&set);
	otel_setup__free(&otel);
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
