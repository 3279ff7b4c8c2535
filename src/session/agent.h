/* SPDX-License-Identifier: MIT */
/*
 * otrace --all: every Go process on the host that uses a library otrace
 * instruments, those running at the start (a scan of /proc) and those
 * started later (exec events from the kernel, process_watch.h), chosen by
 * the --include/--exclude/--port filters (filter.h).
 *
 * Each distinct executable (st_dev, st_ino, mtime, size) is inspected and
 * planned once, gets one BPF instance, and its probes go into the file
 * itself: every process running it hits them from its first instruction,
 * and a process exiting costs no detaching (the kernel takes a grace period
 * per uprobe removed, 0.1-0.7 s here). When the filters decide per process
 * (a name, a port) the BPF side lets out only the records of the processes
 * admitted (tracer__admit).
 */
#ifndef OTRACE_AGENT_H
#define OTRACE_AGENT_H

#include <stdbool.h>
#include <stdint.h>

#include "attach.h"
#include "cli.h"
#include "resource.h"
#include "span.h"

struct agent;

struct agent_config {
	const struct otrace_opts *opts; /* filters, --probe-placement, --propagate */
	bool propagate;			/* --propagate, and the kernel allows the writes */
	struct tracer *tracer;		/* made with pid_filter = agent__filters_pids() */
	struct resource_cache *resources;
};

/* Whether the filters decide per process, so the tracer must filter by PID. */
bool agent__filters_pids(const struct otrace_opts *opts);
/*
 * Starts watching execs (before the scan, so that no process falls between
 * the two), then traces the processes running now. Returns 0 or -errno
 * (said on stderr).
 */
int agent__new(const struct agent_config *cfg, struct agent **out);
/* The fd to poll for process events (an epoll fd). */
int agent__fd(const struct agent *a);
/* Handles the pending process events: execs, exits, listens. */
void agent__poll(struct agent *a);
/* Forgets the processes that exited a while ago (their last spans are written). */
void agent__tick(struct agent *a);
/* Span decoding: the binary process pid runs (a span_config binary_of). */
const struct span_binary *agent__span_binary(void *agent, uint32_t pid);
/* Says what it traced and skipped (-v) and where its time went. */
void agent__report(const struct agent *a);
void agent__free(struct agent *a);

#endif
