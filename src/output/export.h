/* SPDX-License-Identifier: MIT */
/*
 * OTLP/HTTP export off the tracing path. The pipeline's thread encodes each
 * batch (protobuf or JSON) and queues it; that never waits on the network.
 * One export thread sends the queue, concatenating queued batches into
 * requests of at most EXPORT_BATCH_SPANS spans and EXPORT_BATCH_BYTES bytes,
 * retrying transient failures (429, 502, 503, 504, connection errors,
 * timeouts) with exponential backoff and jitter or as Retry-After says, for
 * at most EXPORT_RETRY_MAX_MS per request. Every span submitted ends up in
 * exactly one counter: exported, queue_full (the queue was full when it
 * arrived), export_failed (refused, retried in vain, or still queued at the
 * flush deadline) or rejected (partial_success).
 */
#ifndef OTRACE_EXPORT_H
#define OTRACE_EXPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "otlp.h"
#include "otlp_config.h"
#include "tls.h"

#define EXPORT_BATCH_SPANS	4096
#define EXPORT_BATCH_BYTES	(4u << 20) /* before compression; receivers take 20 MiB */
#define EXPORT_BACKOFF_FIRST_MS 500
#define EXPORT_BACKOFF_MAX_MS	5000
#define EXPORT_RETRY_MAX_MS	60000 /* a request is given up after retrying this long */
#define EXPORT_STATS_EVERY_MS	10000 /* -v: the export counters this often */

struct exporter_stats {
	uint64_t exported;	/* accepted by the receiver */
	uint64_t queue_full;	/* dropped on arrival: the queue was full */
	uint64_t export_failed; /* refused, given up, or left at the flush deadline */
	uint64_t rejected;	/* partial_success.rejected_spans */
	uint64_t queued;	/* waiting or being sent now */
	uint64_t requests;	/* HTTP requests sent, retries included */
	uint64_t retries;
};

struct exporter;

/* Starts the export thread. cfg and tls (NULL for http://) must outlive the exporter. */
int exporter__new(const struct otlp_config *cfg, struct tls_ctx *tls, struct exporter **out);
/*
 * Encodes nspans spans in groups and queues them, or counts them as
 * queue_full when the queue has no room (groups NULL: they could not be
 * grouped, export_failed). Called from one thread only; never blocks on the
 * network.
 */
void exporter__submit(struct exporter *e, const struct otlp_group *groups, size_t ngroups,
		      size_t nspans);
/*
 * Sends what is queued until the flush deadline (cfg->flush_timeout_ms from
 * now), then counts what is left as export_failed and stops the thread.
 */
void exporter__stop(struct exporter *e);
void exporter__stats(struct exporter *e, struct exporter_stats *stats);
void exporter__free(struct exporter *e);

/* Exposed for tests. */
enum export_verdict { EXPORT_OK, EXPORT_RETRY, EXPORT_FAIL };
/* What an HTTP status means for a request: 2xx done, 429/502/503/504 retry, else fail. */
enum export_verdict export__verdict(int http_status);
/* The wait before retry number attempt (0-based): exponential, capped, jittered by rnd. */
uint64_t export__backoff_ms(unsigned int attempt, uint32_t rnd);
/* Rejected spans in a JSON ExportTraceServiceResponse; -EINVAL when malformed. */
int export__parse_json_response(const char *body, size_t len, int64_t *rejected, char *msg,
				size_t msgcap);

#endif
