/* SPDX-License-Identifier: MIT */
/*
 * OTLP/JSON encoding: one ExportTraceServiceRequest per call, with camelCase
 * keys, hex ids, 64-bit integers as decimal strings and enums as integers, as
 * the OTLP/HTTP JSON mapping and the Collector expect.
 *
 * A streaming writer into one reused buffer: building a jansson tree per span
 * cost ~29 us a span (95% of the pipeline, bench/wrk2-hdr/pipeline), which
 * made otrace the bottleneck at the target's saturation rate. Every string is
 * escaped per RFC 8259 (quote, backslash, every control character) after
 * invalid UTF-8 has been replaced by U+FFFD.
 */
#ifndef OTRACE_OTLP_H
#define OTRACE_OTLP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "span.h"

/* The semantic conventions otrace's attributes follow (resource and scope schemaUrl). */
#define OTLP_SCHEMA_URL "https://opentelemetry.io/schemas/1.44.0"

/* A process's resource: its attributes, in the order they are written. */
struct otlp_resource {
	uint32_t pid;
	const struct attr *attrs;
	size_t nattrs;
};

/* Spans of one process, emitted as one resourceSpans entry. */
struct otlp_group {
	const struct otlp_resource *resource;
	const struct span *const *spans;
	size_t nspans;
};

/* A growable output buffer, reused across calls. */
struct otlp_buf {
	char *data;
	size_t len;
	size_t cap;
	bool failed; /* an allocation failed; the content is incomplete */
};

/*
 * Encodes the groups as one compact JSON document without a trailing newline
 * into buf (its previous content is discarded). Returns 0 or -ENOMEM.
 */
int otlp__encode(struct otlp_buf *buf, const struct otlp_group *groups, size_t ngroups);
void otlp_buf__free(struct otlp_buf *buf);
/* Makes room for more bytes; false (and buf->failed) when out of memory. */
bool otlp_buf__grow(struct otlp_buf *buf, size_t more);

static inline bool otlp_buf__reserve(struct otlp_buf *b, size_t more)
{
	return b->len + more <= b->cap || otlp_buf__grow(b, more);
}

/* Appends s as a JSON string literal (exposed for tests). */
void otlp__append_string(struct otlp_buf *buf, const char *s, size_t len, bool truncated);

#endif
