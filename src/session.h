/* SPDX-License-Identifier: MIT */
/*
 * One trace session: attach to the target, turn records into spans, write
 * them in batches, and end when the target exits, on SIGINT/SIGTERM or when
 * the reader of the output goes away.
 */
#ifndef OTRACE_SESSION_H
#define OTRACE_SESSION_H

#include <sys/types.h>

#include "otlp.h"
#include "output.h"
#include "plan.h"

struct session_config {
	const struct plan *plan;
	const char *binary;	/* file the uprobes go into */
	pid_t pid;		/* -p: the running target */
	char *const *exec_argv; /* --exec: program and arguments */
	const char *service_name; /* NULL: executable's base name */
	const char *go_version;
	const struct span_config *span; /* NULL: defaults */
	struct output *out;
};

/* Runs the session to its end; returns the process exit code. */
int session__run(const struct session_config *cfg);

#endif
