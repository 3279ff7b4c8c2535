/* SPDX-License-Identifier: MIT */
/*
 * The user-space data path: ring-buffer record -> span -> batch -> OTLP-JSON
 * line -> output. Shared by the trace session and the pipeline benchmark, so
 * the benchmark measures the real code.
 */
#ifndef OTRACE_PIPELINE_H
#define OTRACE_PIPELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "export.h"
#include "otlp.h"
#include "output.h"
#include "resource.h"

#define PIPELINE_BATCH_MAX 512		  /* spans per output line at most */
#define PIPELINE_FLUSH_AFTER_NS 100000000ull /* a span waits at most this long */
#define PIPELINE_LINE_MAX (1u << 20)	  /* bytes per output line at most (split beyond) */

struct pipeline_stats {
	uint64_t written;
	uint64_t undecodable;
	uint64_t unwritten; /* encoded or decoded, but not written (output closed) */
};

struct pipeline;

/*
 * resources gives each span its process's resource and must outlive the
 * pipeline; out receives the lines, one resourceSpans entry per process
 * (NULL: no lines, spans are only exported).
 */
int pipeline__new(struct resource_cache *resources, struct output *out, struct pipeline **pp);
void pipeline__free(struct pipeline *p);
/* Configures span decoding (see span_assembler__configure). */
void pipeline__configure(struct pipeline *p, const struct span_config *cfg);
/* Hands every batch to exporter too (NULL: none); it must outlive the pipeline. */
void pipeline__set_exporter(struct pipeline *p, struct exporter *exporter);
/* Takes one ring-buffer record; flushes when the batch is full. */
int pipeline__record(struct pipeline *p, const void *data, size_t size);
/* Writes pending spans when the oldest has waited long enough (or force). */
void pipeline__flush(struct pipeline *p, bool force);
/* Milliseconds until the next flush is due, or -1 when nothing is pending. */
int pipeline__ms_until_flush(const struct pipeline *p);
bool pipeline__output_closed(const struct pipeline *p);
void pipeline__stats(const struct pipeline *p, struct pipeline_stats *stats);

#endif
