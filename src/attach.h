/* SPDX-License-Identifier: MIT */
/*
 * The BPF side of a trace session: opens the skeletons, hands them the plan's
 * offsets as read-only config, loads them and attaches the planned uprobes to
 * one process. Records arrive through one ring buffer.
 */
#ifndef OTRACE_ATTACH_H
#define OTRACE_ATTACH_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <bpf/libbpf.h>

#include "plan.h"

struct tracer;

/* Opens and loads the programs the plan needs; records go to cb(ctx, ...). */
int tracer__new(const struct plan *plan, size_t ringbuf_bytes, ring_buffer_sample_fn cb,
		void *ctx, struct tracer **out);
/* Attaches every planned probe to binary for process pid; returns the count. */
int tracer__attach(struct tracer *t, const struct plan *plan, const char *binary, pid_t pid);
/* The fd to poll for records (an epoll fd). */
int tracer__fd(const struct tracer *t);
/* Hands every pending record to the callback; returns the count or -errno. */
int tracer__consume(struct tracer *t);
/* Copies the kernel-side drop counters (enum ot_drop_reason). */
void tracer__drops(const struct tracer *t, uint64_t drops[OT_DROP__COUNT]);
/* Copies the --propagate counters (enum ot_propagate_stat). */
void tracer__propagate_stats(const struct tracer *t, uint64_t stats[OT_PROPAGATE__COUNT]);
/* Detaches and unloads; NULL-safe. */
void tracer__free(struct tracer *t);

#endif
