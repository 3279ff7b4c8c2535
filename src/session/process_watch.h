/* SPDX-License-Identifier: MIT */
/*
 * Process events for --all from the kernel's tracepoints (bpf/procwatch.bpf.c):
 * every exec on the host, the exits of the processes watched, and, when
 * asked, every TCP listen. Event driven: no polling of /proc.
 */
#ifndef OTRACE_PROCESS_WATCH_H
#define OTRACE_PROCESS_WATCH_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "procwatch.h"

struct process_watch;

typedef void (*process_watch_fn)(void *ctx, const struct ot_proc_event *e);

/*
 * Loads and attaches the tracepoints; events go to cb(ctx, ...) from
 * process_watch__consume. listen: report TCP listens too; watched_execs:
 * report the execs of the processes watched only, not every one on the
 * host. Returns 0 or -errno (said on stderr).
 */
int process_watch__new(bool listen, bool watched_execs, process_watch_fn cb, void *ctx,
		       struct process_watch **out);
/* The fd to poll for events (an epoll fd). */
int process_watch__fd(const struct process_watch *pw);
/* Hands every pending event to the callback; returns the count or -errno. */
int process_watch__consume(struct process_watch *pw);
/* Reports pid's exit (on) or stops (off), and its execs with watched_execs; 0 or -errno. */
int process_watch__watch(struct process_watch *pw, pid_t pid, bool on);
/* Events the kernel side could not queue (its ring buffer was full). */
uint64_t process_watch__lost(const struct process_watch *pw);
void process_watch__free(struct process_watch *pw);

#endif
