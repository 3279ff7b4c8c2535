/* SPDX-License-Identifier: MIT */
/*
 * OTLP/JSON encoding (jansson): one ExportTraceServiceRequest per call, with
 * camelCase keys, hex ids, 64-bit integers as decimal strings and enums as
 * integers, as the OTLP/HTTP JSON mapping and the Collector expect.
 */
#ifndef OTRACE_OTLP_H
#define OTRACE_OTLP_H

#include <stddef.h>
#include <stdint.h>

#include "span.h"

struct otlp_resource {
	uint32_t pid;
	const char *service_name;
	const char *executable_path;
	const char *go_version; /* process.runtime.version, may be NULL */
	const char *host_name;
};

/* Spans of one process, emitted as one resourceSpans entry. */
struct otlp_group {
	const struct otlp_resource *resource;
	const struct span *const *spans;
	size_t nspans;
};

/*
 * Encodes the groups as one compact JSON document without a trailing newline.
 * Returns a malloc'd string (caller frees) or NULL on allocation failure.
 */
char *otlp__encode(const struct otlp_group *groups, size_t ngroups, size_t *len);

#endif
