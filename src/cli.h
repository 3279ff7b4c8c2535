/* SPDX-License-Identifier: MIT */
/* Command-line parsing; kept apart from main so it is unit-testable. */
#ifndef OTRACE_CLI_H
#define OTRACE_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "filter.h"

#define OTRACE_VERSION "0.1.0"
#define OTRACE_MAX_PIDS 64 /* -p PID,PID,...: one uprobe set per PID, so keep it bounded */
/* --max-inflight: entries of each in-flight map (BPF memory: ~200 bytes each per map) */
#define OTRACE_INFLIGHT_MIN 64
#define OTRACE_INFLIGHT_MAX (1 << 22)

struct otrace_opts {
	pid_t pids[OTRACE_MAX_PIDS]; /* -p, in the order given, without duplicates */
	size_t npids;
	const char *binary;	/* --binary: every process running this file */
	bool all;		/* --all: every Go process on the host, now or later */
	char **include;		/* --all --include PATTERN, in order, owned array */
	size_t ninclude;
	char **exclude;		/* --exclude PATTERN */
	size_t nexclude;
	uint16_t ports[FILTER_MAX_PORTS]; /* --port N */
	size_t nports;
	char **exec_argv;	/* --exec or --: NULL-terminated, owned */
	const char *output;	/* -o, NULL for stdout */
	const char *user;	/* --user: whom --exec runs the program as */
	const char *service_name;
	const char *list_binary; /* --list-probes BINARY */
	const char *probe_placement; /* --probe-placement, NULL: default */
	bool list_probes;
	bool propagate; /* --propagate: write traceparent into outgoing requests */
	bool db_statement; /* --db-statement: record db.query.text */
	uint32_t max_inflight; /* --max-inflight, 0: default */
	bool help;
	bool version;
	int verbose;
	const char *otlp_endpoint; /* --otlp-endpoint */
	size_t otlp_queue_spans;   /* --otlp-queue-spans, 0: default */
	int otlp_flush_timeout_ms; /* --otlp-flush-timeout, -1: default */
	char **resources;	   /* --resource KEY=VALUE, in order, owned array */
	size_t nresources;
};

/*
 * Parses argv into opts. Returns 0 on success, or EXIT_USAGE with a one-line
 * reason in err. opts must be released with cli__free either way.
 */
int cli__parse(int argc, char **argv, struct otrace_opts *opts, char *err, size_t errlen);
void cli__free(struct otrace_opts *opts);
/*
 * Appends the comma-separated PIDs in s to pids (npids of them so far, at most
 * OTRACE_MAX_PIDS); a PID already there is skipped. Returns 0, or EXIT_USAGE
 * with a one-line reason in err; pids and npids are unchanged on error.
 */
int cli__parse_pid_list(const char *s, pid_t *pids, size_t *npids, char *err, size_t errlen);
void cli__usage(FILE *out);

#endif
