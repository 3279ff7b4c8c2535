/* SPDX-License-Identifier: MIT */
/* Command-line parsing; kept apart from main so it is unit-testable. */
#ifndef OTRACE_CLI_H
#define OTRACE_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#define OTRACE_VERSION "0.1.0"

struct otrace_opts {
	pid_t pid;		/* -p, 0 when not given */
	char **exec_argv;	/* --exec or --: NULL-terminated, owned */
	const char *output;	/* -o, NULL for stdout */
	const char *service_name;
	const char *list_binary; /* --list-probes BINARY */
	const char *probe_placement; /* --probe-placement, NULL: default */
	bool list_probes;
	bool propagate; /* --propagate: write traceparent into outgoing requests */
	bool db_statement; /* --db-statement: record db.query.text */
	bool help;
	bool version;
	int verbose;
};

/*
 * Parses argv into opts. Returns 0 on success, or EXIT_USAGE with a one-line
 * reason in err. opts must be released with cli__free either way.
 */
int cli__parse(int argc, char **argv, struct otrace_opts *opts, char *err, size_t errlen);
void cli__free(struct otrace_opts *opts);
void cli__usage(FILE *out);

#endif
