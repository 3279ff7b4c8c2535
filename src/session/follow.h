/* SPDX-License-Identifier: MIT */
/*
 * The processes -p and --exec trace, followed through their execs: a program
 * that restarts itself in place (/proc/self/exe) or hands over to another
 * program keeps its PID, and otrace keeps tracing it. The exec events come
 * from the sched_process_exec tracepoint (process_watch.h), for the watched
 * processes only. On each one, the old image's spans in flight are counted
 * (tracer__end_process); a new executable is inspected, planned and gets
 * its probes (its own BPF instance), or otrace says why it cannot be traced
 * and counts it.
 */
#ifndef OTRACE_FOLLOW_H
#define OTRACE_FOLLOW_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "attach.h"
#include "plan.h"
#include "resource.h"
#include "span.h"
#include "traced.h"

struct follower;

struct follower_config {
	struct tracer *tracer;		  /* instance i is targets->bins[i]'s */
	struct resource_cache *resources; /* each process's resource is pinned there */
	const struct traced_set *targets; /* the binaries traced from the start */
	enum probe_placement placement;
	bool propagate; /* --propagate, and the kernel allows the writes */
};

/* Starts watching execs (none reported yet); 0 or -errno (said on stderr). */
int follower__new(const struct follower_config *cfg, struct follower **out);
/* Follows process pid, which runs b (one of cfg->targets); 0 or -errno. */
int follower__add(struct follower *f, pid_t pid, const struct traced_binary *b);
/* The fd to poll for exec events (an epoll fd). */
int follower__fd(const struct follower *f);
/* Handles the pending execs. */
void follower__poll(struct follower *f);
/* Span decoding: the binary process pid runs now (a span_config binary_of). */
const struct span_binary *follower__span_binary(void *f, uint32_t pid);
/* Execs into a program that could not be traced (not Go, nothing instrumented...). */
uint64_t follower__untraceable(const struct follower *f);
/* Frees f; the binaries it inspected go too: free the tracer first. */
void follower__free(struct follower *f);

#endif
