/* SPDX-License-Identifier: MIT */
/*
 * One trace session: attach to the targets, turn records into spans, write
 * them in batches, and end when every traced process has exited, on
 * SIGINT/SIGTERM or when the reader of the output goes away.
 */
#ifndef OTRACE_SESSION_H
#define OTRACE_SESSION_H

#include "otel_setup.h"
#include "output.h"
#include "target.h"
#include "traced.h"

struct session_config {
	/*
	 * The binaries to instrument with their PIDs (-p); with --exec one
	 * binary that the session starts; with all_processes (--binary) one
	 * binary, traced in every process that runs it.
	 */
	const struct traced_set *targets;
	char *const *exec_argv; /* --exec: program and arguments */
	struct spawn_attr exec_attr; /* --exec: how the program is started */
	const char *service_name; /* NULL: each executable's base name */
	bool db_statement;	  /* --db-statement */
	struct output *out;	  /* JSON lines; NULL: none (spans are exported) */
	const struct otel_setup *otel; /* export and resource settings */
	const struct otrace_opts *all; /* --all: its filters; targets has no binary */
	bool propagate; /* --all: --propagate, and the kernel allows the writes */
	uint32_t max_inflight; /* --max-inflight: entries of each in-flight map; 0: default */
	enum probe_placement placement; /* of the probes of a program a target execs */
};

/* Runs the session to its end; returns the process exit code. */
int session__run(const struct session_config *cfg);

#endif
