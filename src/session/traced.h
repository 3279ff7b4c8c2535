/* SPDX-License-Identifier: MIT */
/*
 * What a session instruments, resolved from the options: each distinct
 * executable once (same st_dev/st_ino), with its Go inspection, its probe plan
 * and the PIDs running it. The plan's struct offsets differ per binary, so
 * each one gets its own BPF object instance (attach.h).
 */
#ifndef OTRACE_TRACED_H
#define OTRACE_TRACED_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "cli.h"
#include "container.h"
#include "gobin.h"
#include "itabs.h"
#include "plan.h"
#include "span.h"

struct traced_binary {
	char path[PATH_MAX];	     /* what we open and attach to */
	char exe[PATH_MAX];	     /* the executable's own path, as /proc/PID/exe names it */
	char display[PATH_MAX + 32]; /* what we name in messages */
	dev_t dev;
	ino_t ino;
	struct gobin *gb;
	struct plan plan;
	int nplanned;		     /* plan__build's result: 0 means nothing to trace */
	pid_t pids[OTRACE_MAX_PIDS]; /* -p: the processes running this binary */
	size_t npids;
	struct itab_names *itabs;    /* traced__load_names */
	struct span_binary span;     /* what span decoding needs from it */
};

struct traced_set {
	struct traced_binary *bins;
	size_t nbins;
	/* --binary: attach to the file for every process, now or later (pid -1) */
	bool all_processes;
	struct pidns pidns; /* otrace's own: the PIDs it names and records carry */
};

/*
 * Resolves -p, --binary, --exec or the --list-probes BINARY into set,
 * inspects each binary and builds its plan. Reports a failure on stderr,
 * naming the PID or file, and returns its exit code (EXIT_OK on success).
 * set must be released with traced__free either way.
 */
int traced__resolve(const struct otrace_opts *o, struct traced_set *set);
/*
 * Reads what span decoding needs from each binary: the names of its itabs
 * (error and driver types) and its database driver modules. Returns 0 or -errno.
 */
int traced__load_names(struct traced_set *set);
/* --probe-placement, or the default. */
enum probe_placement traced__placement(const struct otrace_opts *o);
/*
 * Opens b->path (named b->display in messages), checks it is Go and plans its
 * probes into b; returns an exit code, said on stderr when not EXIT_OK.
 */
int traced__inspect(struct traced_binary *b, enum probe_placement placement);
/* traced__load_names for one binary. */
int traced__load_binary_names(struct traced_binary *b);
/* The binary process pid runs among set's -p binaries; NULL if unknown. */
const struct traced_binary *traced__binary_of(const struct traced_set *set, pid_t pid);
void traced__free(struct traced_set *set);

#endif
