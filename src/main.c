// SPDX-License-Identifier: MIT
/*
 * otrace: OpenTelemetry spans from a running Go program, recorded by eBPF
 * uprobes in the kernel and assembled here. main only wires the stages:
 * options -> preflight -> inspect each binary and plan (traced.c) -> session.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <jansson.h>

#include "cli.h"
#include "exitcodes.h"
#include "log.h"
#include "otel_setup.h"
#include "output.h"
#include "plan.h"
#include "prefetch.h"
#include "preflight.h"
#include "session.h"
#include "traced.h"
#include "user.h"

static int preflight(const struct otrace_opts *o)
{
	char missing[128];

	if (o->user && preflight__switch_user(missing, sizeof(missing))) {
		pr_err("--user needs %s", missing);
		return EXIT_PRIVILEGE;
	}
	if (preflight__privileges(missing, sizeof(missing))) {
		pr_err("tracing needs %s (run as root)", missing);
		return EXIT_PRIVILEGE;
	}
	if (preflight__kernel(missing, sizeof(missing))) {
		pr_err("this kernel lacks %s", missing);
		return EXIT_KERNEL;
	}
	if (preflight__uprobes(missing, sizeof(missing))) {
		pr_err("tracing needs %s", missing);
		return EXIT_PRIVILEGE;
	}
	return EXIT_OK;
}

/* Every binary must have something to trace; returns an exit code. */
static int check_plans(const struct traced_set *set)
{
	for (size_t i = 0; i < set->nbins; i++) {
		const struct traced_binary *b = &set->bins[i];

		char why[512];

		if (b->nplanned == 0) {
			if (plan__not_traced(&b->plan, why, sizeof(why)))
				pr_err("%s: nothing to trace: %s", b->display, why);
			else
				pr_err("%s uses no library otrace instruments (%s): nothing to "
				       "trace",
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
static int print_plans(const struct otrace_opts *o, const struct traced_set *set, FILE *out)
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
	if (!err && !doc)
		err = -ENOMEM;
	errno = 0;
	if (!err && (json_dumpf(doc, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER) ||
		     fputc('\n', out) == EOF || fflush(out)))
		err = errno ? -errno : -EIO;
	json_decref(doc);
	return err;
}

/*
 * --propagate: adds the probes that write traceparent to every plan. Tracing
 * checks first that the kernel allows BPF writes and says once when not; the
 * listing shows the plan as it would be where writes are allowed. Returns
 * whether traceparent is written (--all adds the probes to each binary it finds).
 */
static bool add_propagation(const struct otrace_opts *o, struct traced_set *set, bool listing)
{
	char why[128];

	if (!o->propagate)
		return false;
	if (!listing && preflight__write_user(why, sizeof(why))) {
		pr_warn("%s: --propagate is off, spans are traced as usual", why);
		return false;
	}
	for (size_t i = 0; i < set->nbins; i++)
		plan__add_propagation(set->bins[i].gb, &set->bins[i].plan);
	return true;
}

/* stdout, or the -o file; NULL (said why) when it cannot be opened. */
static FILE *open_plan_output(const char *path)
{
	FILE *f;
	int fd;

	if (!path && output__check_stdout()) {
		pr_err("standard output is closed or read-only: give -o FILE");
		return NULL;
	}
	if (!path)
		return stdout;
	fd = output__create(path);
	f = fd < 0 ? NULL : fdopen(fd, "w");
	if (!f) {
		pr_err("cannot open %s for writing: %s", path, strerror(fd < 0 ? -fd : errno));
		if (fd >= 0)
			close(fd);
	}
	return f;
}

static int list_probes(const struct otrace_opts *o)
{
	struct traced_set set;
	FILE *out = NULL;
	int code, err;

	code = traced__resolve(o, &set);
	if (code == EXIT_OK)
		add_propagation(o, &set, true);
	if (code == EXIT_OK) {
		signal(SIGXFSZ, SIG_IGN); /* a file over its size limit: EFBIG, said */
		out = open_plan_output(o->output);
		if (!out)
			code = EXIT_OUTPUT;
	}
	if (out) {
		err = print_plans(o, &set, out);
		if (out != stdout && fclose(out))
			err = err ? err : -errno;
		if (err == -ENOMEM) {
			pr_err("out of memory");
			code = EXIT_RUNTIME;
		} else if (err) {
			pr_err("cannot write the probe plan to %s: %s",
			       o->output ? o->output : "standard output", strerror(-err));
			code = EXIT_WRITE;
		}
	}
	traced__free(&set);
	return code;
}

/* Whether JSON lines go to stdout: "-o -", or no -o and no endpoint to export to. */
static bool spans_on_stdout(const struct otrace_opts *o, const struct otel_setup *otel)
{
	return o->output ? !strcmp(o->output, "-") : !otel->otlp.enabled;
}

/*
 * Where JSON lines go: -o FILE, or stdout ("-o -", or no endpoint to export
 * to); NULL out: nowhere, spans are only exported.
 */
static int open_output(const struct otrace_opts *o, const struct otel_setup *otel,
		       struct output **out)
{
	const char *path = spans_on_stdout(o, otel) ? NULL : o->output;
	int err;

	*out = NULL;
	if (!path && !spans_on_stdout(o, otel))
		return EXIT_OK;
	err = output__open(path, out);
	if (err) {
		if (path)
			pr_err("cannot open %s for writing: %s", path, strerror(-err));
		else
			pr_err("standard output is closed or read-only: give -o FILE");
		return EXIT_OUTPUT;
	}
	return EXIT_OK;
}

/* --user NAME: its credentials, or an exit code. */
static int find_user(const char *user, struct credentials *creds)
{
	int err = credentials__lookup(user, NULL, creds);

	if (err == -ENOENT) {
		pr_err("no such user: %s (in /etc/passwd)", user);
		return EXIT_USAGE;
	}
	if (err) {
		pr_err("cannot look up user %s: %s", user, strerror(-err));
		return EXIT_RUNTIME;
	}
	return EXIT_OK;
}

static int trace(const struct otrace_opts *o)
{
	struct credentials creds = {};
	struct output *out = NULL;
	struct otel_setup otel;
	struct traced_set set;
	bool propagate;
	int code;

	/* settings first: a mistake there is found without privileges or a target */
	code = otel_setup__load(o, &otel);
	if (code == EXIT_OK && o->user)
		code = find_user(o->user, &creds);
	if (code == EXIT_OK)
		code = preflight(o);
	if (code != EXIT_OK) {
		credentials__free(&creds);
		otel_setup__free(&otel);
		return code;
	}
	/* the BPF watches load while the binaries are planned: -p and --exec follow execs */
	prefetch__start(!o->all && !o->binary);
	code = traced__resolve(o, &set);
	if (code == EXIT_OK)
		code = check_plans(&set);
	if (code == EXIT_OK && traced__load_names(&set))
		code = EXIT_RUNTIME;
	if (code != EXIT_OK)
		goto cleanup;
	propagate = add_propagation(o, &set, false);
	code = open_output(o, &otel, &out);
	if (code != EXIT_OK)
		goto cleanup;
	struct session_config cfg = {
		.targets = &set,
		.exec_argv = o->exec_argv,
		/* stdout carries spans only */
		.exec_attr = { .stdout_to_stderr = spans_on_stdout(o, &otel),
			       .creds = o->user ? &creds : NULL },
		.service_name = o->service_name,
		.db_statement = o->db_statement,
		.out = out,
		.otel = &otel,
		.all = o->all ? o : NULL,
		.propagate = propagate,
		.max_inflight = o->max_inflight,
		.placement = traced__placement(o),
	};
	code = session__run(&cfg);
cleanup:
	prefetch__end();
	output__close(out);
	traced__free(&set);
	otel_setup__free(&otel);
	credentials__free(&creds);
	return code;
}

int main(int argc, char **argv)
{
	struct otrace_opts opts;
	char err[256];
	int code;

	if (output__guard_std_fds())
		return EXIT_RUNTIME; /* without a stderr, nothing can be said */
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
