/* SPDX-License-Identifier: MIT */
/*
 * The BPF side of a trace session. The plan's struct offsets are read-only
 * config that differs per Go binary, so each distinct layout gets its own
 * instance of the BPF object (copies of one executable share one); all
 * instances share the ring buffer and the other maps, and one reader takes
 * the records of all of them.
 */
#ifndef OTRACE_ATTACH_H
#define OTRACE_ATTACH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <bpf/libbpf.h>

#include "container.h"
#include "plan.h"
#include "records.h"

struct tracer;

struct tracer_config {
	size_t ringbuf_bytes;
	uint32_t max_inflight;	  /* entries of every in-flight map (--max-inflight); 0: their own */
	const struct pidns *pidns; /* the PIDs records carry; NULL: the host's */
	bool pid_filter;	  /* only the records of processes tracer__admit admitted go out */
};

/*
 * Makes the ring buffer and opens and loads one BPF object instance per plan
 * (plans[i] is instance i; none is fine, see tracer__add); records go to
 * cb(ctx, ...). The plans and cfg->pidns must outlive the tracer.
 */
int tracer__new(const struct plan *const *plans, size_t nplans, const struct tracer_config *cfg,
		ring_buffer_sample_fn cb, void *ctx, struct tracer **out);
/*
 * Adds plan (which must outlive the tracer): loads one more instance for it,
 * sharing the maps of the first, unless one loaded already runs the same
 * programs (plan__same_programs), which then serves it too. Returns the
 * plan's index in this tracer (what tracer__attach takes; tracer__new's
 * plans are 0 to nplans-1) or -errno (said on stderr).
 */
int tracer__add(struct tracer *t, const struct plan *plan);
/* pid_filter: lets the records of host PID pid out (admitted) or not; 0 or -errno. */
int tracer__admit(struct tracer *t, pid_t pid, bool admitted);
/*
 * Attaches every probe of plan number index (tracer__add) to binary, for
 * process pid (-1: every process running binary, now or later); returns the
 * count or -errno.
 */
int tracer__attach(struct tracer *t, size_t index, const char *binary, pid_t pid);
/*
 * Removes every probe, from several threads at once (the kernel takes a grace
 * period per uprobe); the counters stay readable.
 */
void tracer__detach(struct tracer *t);
/*
 * Removes the probes of plan number index (tracer__add): silenced at once
 * (their programs return from then on), then removed in a thread of its own
 * (they take seconds: see tracer__detach); tracer__detach and tracer__free
 * wait for it. Its instance stays loaded, to be attached again, at once.
 * 0 or -errno.
 */
int tracer__detach_plan(struct tracer *t, size_t index);
/*
 * Removes the probes attached for process pid alone, as tracer__detach_plan
 * does: it exec'd, and its new image gets probes of its own. 0 or -errno.
 */
int tracer__detach_process(struct tracer *t, pid_t pid);
/* The fd to poll for records (an epoll fd). */
int tracer__fd(const struct tracer *t);
/* Hands every pending record to the callback; returns the count or -errno. */
int tracer__consume(struct tracer *t);
/*
 * Sums the kernel-side drop counters (enum ot_drop_reason) over all
 * instances, with the spans found in flight (OT_DROP_IN_FLIGHT).
 */
void tracer__drops(const struct tracer *t, uint64_t drops[OT_DROP__COUNT]);
/*
 * Process pid ended or exec'd: its spans still in progress will never end.
 * Counts them lost (in flight) when it is traced (admitted, with a PID
 * filter: call this first) and empties the in-flight maps of its entries.
 * Returns the count.
 */
uint64_t tracer__end_process(struct tracer *t, pid_t pid);
/*
 * Tracing stops: counts the spans in progress, of every process traced, lost
 * (in flight). Call it with the probes detached and the records consumed.
 */
uint64_t tracer__end_all(struct tracer *t);
/*
 * Ends (tracer__end_process) every process with in-flight entries for which
 * alive() is false: those whose end otrace was not told of. Returns the
 * spans counted.
 */
uint64_t tracer__sweep(struct tracer *t, bool (*alive)(pid_t pid));
/* Copies the --propagate counters (enum ot_propagate_stat). */
void tracer__propagate_stats(const struct tracer *t, uint64_t stats[OT_PROPAGATE__COUNT]);
/* Detaches and unloads; NULL-safe. */
void tracer__free(struct tracer *t);

#endif
