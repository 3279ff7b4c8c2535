// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "pipeline.h"
#include "span.h"

struct pipeline {
	const struct otlp_resource *resource;
	struct output *out;
	struct span_assembler *assembler;
	struct span *pending;
	const struct span **ptrs;
	size_t npending;
	uint64_t first_pending_ns;
	struct pipeline_stats stats;
	struct otlp_buf line;
	bool output_closed;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int pipeline__new(const struct otlp_resource *resource, struct output *out,
		  struct pipeline **pp)
{
	struct pipeline *p = calloc(1, sizeof(*p));
	int err;

	if (!p)
		return -ENOMEM;
	p->resource = resource;
	p->out = out;
	p->pending = calloc(PIPELINE_BATCH_MAX, sizeof(*p->pending));
	p->ptrs = calloc(PIPELINE_BATCH_MAX, sizeof(*p->ptrs));
	if (!p->pending || !p->ptrs) {
		pipeline__free(p);
		return -ENOMEM;
	}
	for (size_t i = 0; i < PIPELINE_BATCH_MAX; i++)
		p->ptrs[i] = &p->pending[i];
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
	free(p);
}

void pipeline__configure(struct pipeline *p, const struct span_config *cfg)
{
	span_assembler__configure(p->assembler, cfg);
}

static void write_batch(struct pipeline *p)
{
	struct otlp_group group = { .resource = p->resource, .spans = p->ptrs,
				    .nspans = p->npending };
	int err;

	if (p->output_closed) {
		p->stats.unwritten += p->npending;
		return;
	}
	if (otlp__encode(&p->line, &group, 1)) {
		p->stats.unwritten += p->npending;
		return;
	}
	err = output__write_line(p->out, p->line.data, p->line.len);
	if (err) {
		if (err != -EPIPE)
			pr_err("failed to write output: %s", strerror(-err));
		p->output_closed = true;
		p->stats.unwritten += p->npending;
		return;
	}
	p->stats.written += p->npending;
}

void pipeline__flush(struct pipeline *p, bool force)
{
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
