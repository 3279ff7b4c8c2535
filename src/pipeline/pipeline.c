// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "pipeline.h"
#include "span.h"

struct pipeline {
	struct resource_cache *resources;
	struct output *out;
	struct span_assembler *assembler;
	struct span *pending;
	const struct span **ptrs; /* pending, sorted by process at write time */
	struct otlp_group *groups;
	size_t npending;
	uint64_t first_pending_ns;
	struct pipeline_stats stats;
	struct otlp_buf line;
	bool output_closed;
	struct exporter *exporter;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int pipeline__new(struct resource_cache *resources, struct output *out, struct pipeline **pp)
{
	struct pipeline *p = calloc(1, sizeof(*p));
	int err;

	if (!p)
		return -ENOMEM;
	p->resources = resources;
	p->out = out;
	p->pending = calloc(PIPELINE_BATCH_MAX, sizeof(*p->pending));
	p->ptrs = calloc(PIPELINE_BATCH_MAX, sizeof(*p->ptrs));
	p->groups = calloc(PIPELINE_BATCH_MAX, sizeof(*p->groups));
	if (!p->pending || !p->ptrs || !p->groups) {
		pipeline__free(p);
		return -ENOMEM;
	}
	err = span_assembler__new(&p->assembler);
	if (err) {
		pipeline__free(p);
		return err;
	}
	*pp = p;
	return 0;
}

void pipeline__free(struct pipeline *p)
{
	if (!p)
		return;
	span_assembler__free(p->assembler);
	otlp_buf__free(&p->line);
	free(p->pending);
	free(p->ptrs);
	free(p->groups);
	free(p);
}

void pipeline__configure(struct pipeline *p, const struct span_config *cfg)
{
	span_assembler__configure(p->assembler, cfg);
}

void pipeline__set_exporter(struct pipeline *p, struct exporter *exporter)
{
	p->exporter = exporter;
}

/* By process, then in arrival order (pending is an array in arrival order). */
static int by_pid_then_arrival(const void *a, const void *b)
{
	const struct span *x = *(const struct span *const *)a, *y = *(const struct span *const *)b;

	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return x < y ? -1 : x > y;
}

/* Groups ptrs[0..n) (sorted by process) into p->groups; returns the group count or -ENOMEM. */
static int make_groups(struct pipeline *p, const struct span **ptrs, size_t n)
{
	size_t ngroups = 0;

	for (size_t i = 0; i < n; i++) {
		if (i == 0 || ptrs[i]->pid != ptrs[i - 1]->pid)
			p->groups[ngroups++] = (struct otlp_group){ .spans = &ptrs[i] };
		p->groups[ngroups - 1].nspans++;
	}
	for (size_t g = 0; g < ngroups; g++) {
		p->groups[g].resource = resource_cache__get(p->resources, p->groups[g].spans[0]->pid);
		if (!p->groups[g].resource)
			return -ENOMEM;
	}
	return (int)ngroups;
}

/* Sorts the pending spans by process and makes room for their resources. */
static void sort_by_process(struct pipeline *p)
{
	size_t nprocs = 0;

	for (size_t i = 0; i < p->npending; i++)
		p->ptrs[i] = &p->pending[i];
	qsort(p->ptrs, p->npending, sizeof(*p->ptrs), by_pid_then_arrival);
	for (size_t i = 0; i < p->npending; i++)
		nprocs += i == 0 || p->ptrs[i]->pid != p->ptrs[i - 1]->pid;
	resource_cache__make_room(p->resources, nprocs);
}

/*
 * Writes ptrs[0..n) as one line, or as several when it would be longer than
 * PIPELINE_LINE_MAX: readers such as the Collector's file receiver cut longer
 * lines into pieces that do not decode. Returns the spans written; stops at
 * the first failed write.
 */
static size_t write_lines(struct pipeline *p, const struct span **ptrs, size_t n)
{
	int err, ngroups = make_groups(p, ptrs, n);
	size_t done;

	if (ngroups < 0 || otlp__encode(&p->line, p->groups, (size_t)ngroups))
		return 0;
	if (p->line.len > PIPELINE_LINE_MAX && n > 1) {
		done = write_lines(p, ptrs, n / 2);
		if (done < n / 2)
			return done;
		return done + write_lines(p, ptrs + n / 2, n - n / 2);
	}
	err = output__write_line(p->out, p->line.data, p->line.len);
	if (err) {
		if (err != -EPIPE)
			pr_err("failed to write output: %s", strerror(-err));
		p->output_closed = true;
		return 0;
	}
	return n;
}

static void write_batch(struct pipeline *p)
{
	int ngroups;
	size_t written;

	sort_by_process(p);
	if (p->exporter) {
		ngroups = make_groups(p, p->ptrs, p->npending);
		exporter__submit(p->exporter, ngroups < 0 ? NULL : p->groups,
				 ngroups < 0 ? 0 : (size_t)ngroups, p->npending);
	}
	if (!p->out)
		return;
	if (p->output_closed) {
		p->stats.unwritten += p->npending;
		return;
	}
	written = write_lines(p, p->ptrs, p->npending);
	p->stats.written += written;
	p->stats.unwritten += p->npending - written;
}

void pipeline__flush(struct pipeline *p, bool force)
{
	/* the event loop flushes every few ms: the clock is read again from here */
	span_assembler__resync_clock(p->assembler);
	if (!p->npending)
		return;
	if (!force && now_ns() < p->first_pending_ns + PIPELINE_FLUSH_AFTER_NS)
		return;
	write_batch(p);
	p->npending = 0;
}

int pipeline__record(struct pipeline *p, const void *data, size_t size)
{
	if (span_assembler__decode(p->assembler, data, size, &p->pending[p->npending])) {
		p->stats.undecodable++;
		return -EINVAL;
	}
	if (p->npending++ == 0)
		p->first_pending_ns = now_ns();
	if (p->npending == PIPELINE_BATCH_MAX)
		pipeline__flush(p, true);
	return 0;
}

int pipeline__ms_until_flush(const struct pipeline *p)
{
	uint64_t now, due;

	if (!p->npending)
		return -1;
	now = now_ns();
	due = p->first_pending_ns + PIPELINE_FLUSH_AFTER_NS;
	return due <= now ? 0 : (int)((due - now) / 1000000) + 1;
}

bool pipeline__output_closed(const struct pipeline *p)
{
	return p->output_closed;
}

void pipeline__stats(const struct pipeline *p, struct pipeline_stats *stats)
{
	*stats = p->stats;
}
