// SPDX-License-Identifier: MIT
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <jansson.h>
#include <zlib.h>

#include "export.h"
#include "http_client.h"
#include "log.h"
#include "otlp_proto.h"

/* Requests are built from at most this many queued batches (one iovec each, two for JSON). */
#define BATCH_CHUNKS_MAX 30
/* zlib's fastest level: on one core it compresses a protobuf batch ~5x at >100 MB/s */
#define GZIP_LEVEL 1

static const char json_head[] = "{\"resourceSpans\":[";
static const char json_tail[] = "]}";

/* One batch as the pipeline submitted it, encoded. */
struct chunk {
	struct chunk *next;
	size_t nspans;
	size_t len;
	char data[];
};

struct exporter {
	const struct otlp_config *cfg;
	struct http_client *http;
	pthread_t thread;
	bool joined;

	pthread_mutex_t lock; /* guards everything down to stop_deadline_ns */
	pthread_cond_t wake;  /* to the export thread: a batch arrived, or stop */
	pthread_cond_t done_cv;
	struct chunk *head, *tail;
	struct exporter_stats st;
	bool stopping, done, abandoned;
	uint64_t stop_deadline_ns;

	struct otlp_buf enc; /* the submitting thread's */

	/* the export thread's */
	z_stream zs;
	bool zs_ready;
	struct otlp_buf gz;
	uint32_t rng;
	bool failing;
	char last_problem[256];
	uint64_t next_stats_ns;
};

static uint64_t now_ns(void)
{
	return tls__now_ns();
}

static struct timespec abs_time(uint64_t ns)
{
	return (struct timespec){ .tv_sec = (time_t)(ns / 1000000000ull),
				  .tv_nsec = (long)(ns % 1000000000ull) };
}

/* Waits on cv until ns (CLOCK_MONOTONIC) at the latest; the lock is held. */
static void wait_until(pthread_cond_t *cv, pthread_mutex_t *lock, uint64_t ns)
{
	struct timespec ts = abs_time(ns);

	pthread_cond_timedwait(cv, lock, &ts);
}

enum export_verdict export__verdict(int status)
{
	if (status >= 200 && status < 300)
		return EXPORT_OK;
	if (status == 429 || status == 502 || status == 503 || status == 504)
		return EXPORT_RETRY;
	return EXPORT_FAIL;
}

uint64_t export__backoff_ms(unsigned int attempt, uint32_t rnd)
{
	uint64_t d = EXPORT_BACKOFF_FIRST_MS;

	while (attempt-- && d < EXPORT_BACKOFF_MAX_MS)
		d *= 2;
	if (d > EXPORT_BACKOFF_MAX_MS)
		d = EXPORT_BACKOFF_MAX_MS;
	/* jitter: anywhere in [d/2, 3d/2), so that many otrace instances spread out */
	return d / 2 + rnd % d;
}

static uint32_t next_random(struct exporter *e)
{
	/* xorshift32: jitter needs spread, not secrecy */
	e->rng ^= e->rng << 13;
	e->rng ^= e->rng >> 17;
	e->rng ^= e->rng << 5;
	return e->rng;
}

int export__parse_json_response(const char *body, size_t len, int64_t *rejected, char *msg,
				size_t msgcap)
{
	json_t *doc = json_loadb(body, len, 0, NULL), *ps, *r, *m;

	*rejected = 0;
	if (msgcap)
		msg[0] = '\0';
	if (!json_is_object(doc)) {
		json_decref(doc);
		return -EINVAL;
	}
	ps = json_object_get(doc, "partialSuccess");
	r = json_object_get(ps, "rejectedSpans");
	m = json_object_get(ps, "errorMessage");
	/* int64 travels as a decimal string in OTLP/JSON; a number is accepted too */
	if (json_is_integer(r))
		*rejected = json_integer_value(r);
	else if (json_is_string(r))
		*rejected = strtoll(json_string_value(r), NULL, 10);
	if (json_is_string(m) && msgcap)
		snprintf(msg, msgcap, "%s", json_string_value(m));
	json_decref(doc);
	return 0;
}

/* -- submitting ------------------------------------------------------------------------------ */

static int encode(struct exporter *e, const struct otlp_group *groups, size_t ngroups)
{
	if (e->cfg->protocol == OTLP_HTTP_JSON)
		return otlp__encode(&e->enc, groups, ngroups);
	return otlp_proto__encode(&e->enc, groups, ngroups);
}

void exporter__submit(struct exporter *e, const struct otlp_group *groups, size_t ngroups,
		      size_t nspans)
{
	struct chunk *c = NULL;

	if (!nspans)
		return;
	pthread_mutex_lock(&e->lock);
	if (e->st.queued + nspans > e->cfg->queue_spans || e->stopping) {
		e->st.queue_full += nspans;
		pthread_mutex_unlock(&e->lock);
		return;
	}
	e->st.queued += nspans; /* room taken now; only this thread adds to the queue */
	pthread_mutex_unlock(&e->lock);

	if (groups && !encode(e, groups, ngroups)) {
		c = malloc(sizeof(*c) + e->enc.len);
		if (c) {
			*c = (struct chunk){ .nspans = nspans, .len = e->enc.len };
			memcpy(c->data, e->enc.data, e->enc.len);
		}
	}

	pthread_mutex_lock(&e->lock);
	if (!c) {
		e->st.queued -= nspans;
		e->st.export_failed += nspans;
	} else {
		if (e->tail)
			e->tail->next = c;
		else
			e->head = c;
		e->tail = c;
		pthread_cond_signal(&e->wake);
	}
	pthread_mutex_unlock(&e->lock);
}

/* -- sending --------------------------------------------------------------------------------- */

/* Takes queued batches off the queue into one request's worth; the lock is held. */
static struct chunk *take_batch(struct exporter *e, size_t *nspans)
{
	struct chunk *first = e->head, *last = NULL, *c;
	size_t spans = 0, bytes = 0, n = 0;

	for (c = e->head; c && n < BATCH_CHUNKS_MAX; c = c->next, n++) {
		if (n &&
		    (spans + c->nspans > EXPORT_BATCH_SPANS || bytes + c->len > EXPORT_BATCH_BYTES))
			break;
		spans += c->nspans;
		bytes += c->len;
		last = c;
	}
	e->head = last->next;
	if (!e->head)
		e->tail = NULL;
	last->next = NULL;
	*nspans = spans;
	return first;
}

/*
 * The request body as iovecs over the batches: protobuf requests
 * concatenate (repeated fields append); JSON ones are merged into one
 * resourceSpans array. Returns the count of iovecs.
 */
static int body_iov(const struct exporter *e, const struct chunk *batch, struct iovec *iov)
{
	const size_t head = sizeof(json_head) - 1, tail = sizeof(json_tail) - 1;
	int n = 0;

	for (const struct chunk *c = batch; c; c = c->next) {
		if (e->cfg->protocol != OTLP_HTTP_JSON) {
			iov[n++] = (struct iovec){ (void *)c->data, c->len };
			continue;
		}
		if (c != batch)
			iov[n++] = (struct iovec){ ",", 1 };
		iov[n++] = (struct iovec){ (void *)(c->data + (c == batch ? 0 : head)),
					   c->len - tail - (c == batch ? 0 : head) };
	}
	if (e->cfg->protocol == OTLP_HTTP_JSON)
		iov[n++] = (struct iovec){ (void *)json_tail, tail };
	return n;
}

/* Compresses the iovecs into e->gz as one gzip member. 0 or -ENOMEM. */
static int gzip_body(struct exporter *e, const struct iovec *iov, int n)
{
	size_t total = 0;
	int ret = Z_OK;

	if (!e->zs_ready) {
		if (deflateInit2(&e->zs, GZIP_LEVEL, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
		    Z_OK)
			return -ENOMEM;
		e->zs_ready = true;
	} else {
		deflateReset(&e->zs);
	}
	for (int i = 0; i < n; i++)
		total += iov[i].iov_len;
	e->gz.len = 0;
	e->gz.failed = false;
	if (!otlp_buf__reserve(&e->gz, deflateBound(&e->zs, total) + 64))
		return -ENOMEM;
	e->zs.next_out = (Bytef *)e->gz.data;
	e->zs.avail_out = (uInt)e->gz.cap;
	for (int i = 0; i < n && ret == Z_OK; i++) {
		e->zs.next_in = iov[i].iov_base;
		e->zs.avail_in = (uInt)iov[i].iov_len;
		ret = deflate(&e->zs, i == n - 1 ? Z_FINISH : Z_NO_FLUSH);
	}
	if (ret != Z_STREAM_END)
		return -ENOMEM;
	e->gz.len = e->gz.cap - e->zs.avail_out;
	return 0;
}

/* Records what became of a request's spans; nothing once abandoned (already counted). */
static void settle(struct exporter *e, size_t nspans, size_t exported, size_t rejected)
{
	pthread_mutex_lock(&e->lock);
	if (!e->abandoned) {
		e->st.queued -= nspans;
		e->st.exported += exported;
		e->st.rejected += rejected;
		e->st.export_failed += nspans - exported - rejected;
	}
	pthread_mutex_unlock(&e->lock);
}

/* Says what went wrong once, not for every request while it lasts. */
static void report_problem(struct exporter *e, const char *problem, bool transient)
{
	if (e->failing && !strcmp(problem, e->last_problem)) {
		pr_debug("export to %s: %s", e->cfg->url, problem);
		return;
	}
	pr_warn("export to %s: %s%s", e->cfg->url, problem,
		transient ? " (retrying; spans wait in the queue)" : "");
	snprintf(e->last_problem, sizeof(e->last_problem), "%s", problem);
	e->failing = true;
}

static void report_success(struct exporter *e)
{
	if (e->failing)
		pr_info("export to %s works again", e->cfg->url);
	e->failing = false;
	e->last_problem[0] = '\0';
}

/* The receiver's own words from a failure's Status body, if it sent any. */
static void failure_text(const struct exporter *e, const struct http_response *r, char *out,
			 size_t cap)
{
	char msg[160] = "";

	if (r->body_len && e->cfg->protocol == OTLP_HTTP_JSON) {
		json_t *doc = json_loadb(r->body, r->body_len, 0, NULL);
		const char *m = json_string_value(json_object_get(doc, "message"));

		if (m)
			snprintf(msg, sizeof(msg), "%s", m);
		json_decref(doc);
	} else if (r->body_len) {
		otlp_proto__parse_status(r->body, r->body_len, msg, sizeof(msg));
	}
	snprintf(out, cap, "HTTP %d%s%s", r->status, msg[0] ? ": " : "", msg);
}

/* A 2xx: the spans are delivered, but for those partial_success says were rejected. */
static void accepted(struct exporter *e, const struct http_response *r, size_t nspans)
{
	char msg[200] = "", problem[256];
	int64_t rejected = 0;
	int err = 0;

	if (r->body_len && (e->cfg->protocol == OTLP_HTTP_JSON || strstr(r->content_type, "json")))
		err =
		    export__parse_json_response(r->body, r->body_len, &rejected, msg, sizeof(msg));
	else if (r->body_len)
		err = otlp_proto__parse_response(r->body, r->body_len, &rejected, msg, sizeof(msg));
	if (err)
		pr_debug("export to %s: HTTP %d with an unreadable response body", e->cfg->url,
			 r->status);
	if (rejected < 0)
		rejected = 0;
	if ((uint64_t)rejected > nspans)
		rejected = (int64_t)nspans;
	report_success(e);
	if (rejected || msg[0]) {
		snprintf(problem, sizeof(problem), "the receiver rejected %lld of %zu spans%s%s",
			 (long long)rejected, nspans, msg[0] ? ": " : "", msg);
		report_problem(e, problem, false);
	}
	settle(e, nspans, nspans - (size_t)rejected, (size_t)rejected);
}

/*
 * When the flush has begun, a retry waits at most half the time left (and at
 * least this long): a last attempt within the deadline beats giving up early.
 */
#define FLUSH_RETRY_MIN_NS 100000000ull

/* The end of a wait that was to end at until, shortened once stopping. */
static uint64_t retry_at(const struct exporter *e, uint64_t until)
{
	uint64_t now = now_ns(), half;

	if (!e->stopping || now >= e->stop_deadline_ns)
		return until;
	half = (e->stop_deadline_ns - now) / 2;
	if (half < FLUSH_RETRY_MIN_NS)
		half = FLUSH_RETRY_MIN_NS;
	return until < now + half ? until : now + half;
}

/* Waits ms before a retry; false when the flush deadline leaves no time for it. */
static bool wait_retry(struct exporter *e, uint64_t ms)
{
	uint64_t end = now_ns() + ms * 1000000ull;
	bool ok = true;

	pthread_mutex_lock(&e->lock);
	for (;;) {
		end = retry_at(e, end); /* only ever earlier */
		if (e->stopping && end >= e->stop_deadline_ns) {
			ok = false;
			break;
		}
		if (now_ns() >= end)
			break;
		wait_until(&e->wake, &e->lock, end);
	}
	pthread_mutex_unlock(&e->lock);
	return ok;
}

/*
 * When the next request must be done by: its timeout, or the flush deadline.
 * 0 once that deadline has passed: nothing is sent then, so that nothing the
 * receiver may still take is counted as export_failed.
 */
static uint64_t request_deadline(struct exporter *e)
{
	uint64_t now = now_ns(), d = now + (uint64_t)e->cfg->timeout_ms * 1000000ull;

	pthread_mutex_lock(&e->lock);
	if (e->stopping && e->stop_deadline_ns < d)
		d = e->stop_deadline_ns;
	if (d <= now)
		d = 0;
	else
		e->st.requests++;
	pthread_mutex_unlock(&e->lock);
	return d;
}

static void count_retry(struct exporter *e)
{
	pthread_mutex_lock(&e->lock);
	e->st.retries++;
	pthread_mutex_unlock(&e->lock);
}

/* Sends one request's batches until they are settled one way or another. */
static void send_batch(struct exporter *e, const struct chunk *batch, size_t nspans)
{
	struct iovec iov[2 * BATCH_CHUNKS_MAX + 1];
	struct http_request req = {
		.content_type = e->cfg->protocol == OTLP_HTTP_JSON ? "application/json"
								   : "application/x-protobuf",
		.content_encoding = e->cfg->gzip ? "gzip" : NULL,
		.headers = &e->cfg->headers,
		.body = iov,
	};
	uint64_t first = now_ns();
	int n = body_iov(e, batch, iov);

	if (e->cfg->gzip) {
		if (gzip_body(e, iov, n)) {
			settle(e, nspans, 0, 0);
			return;
		}
		iov[0] = (struct iovec){ e->gz.data, e->gz.len };
		n = 1;
	}
	req.nbody = (size_t)n;
	for (unsigned int attempt = 0;; attempt++) {
		uint64_t deadline = request_deadline(e);
		struct http_response resp;
		char err[256];
		int64_t delay = -1;
		int ret;
		enum export_verdict v;

		if (!deadline) {
			settle(e, nspans, 0, 0);
			return;
		}
		ret = http_client__post(e->http, &req, deadline, &resp, err, sizeof(err));
		v = ret ? EXPORT_RETRY : export__verdict(resp.status);

		if (v == EXPORT_OK) {
			accepted(e, &resp, nspans);
			return;
		}
		if (!ret) {
			failure_text(e, &resp, err, sizeof(err));
			delay = http__retry_after_ms(resp.retry_after, time(NULL));
		}
		if (v == EXPORT_FAIL) {
			report_problem(e, err, false);
			settle(e, nspans, 0, 0);
			return;
		}
		if (delay < 0)
			delay = (int64_t)export__backoff_ms(attempt, next_random(e));
		if ((now_ns() - first) / 1000000ull + (uint64_t)delay > EXPORT_RETRY_MAX_MS) {
			report_problem(e, err, false);
			settle(e, nspans, 0, 0);
			return;
		}
		report_problem(e, err, true);
		if (!wait_retry(e, (uint64_t)delay)) {
			settle(e, nspans, 0, 0);
			return;
		}
		count_retry(e);
	}
}

static void log_stats(struct exporter *e)
{
	struct exporter_stats st;

	if (log__level() < LOG_DEBUG || now_ns() < e->next_stats_ns)
		return;
	e->next_stats_ns = now_ns() + EXPORT_STATS_EVERY_MS * 1000000ull;
	exporter__stats(e, &st);
	pr_debug("export: %llu spans exported, %llu queued, lost queue_full=%llu "
		 "export_failed=%llu rejected=%llu; %llu requests, %llu retries",
		 (unsigned long long)st.exported, (unsigned long long)st.queued,
		 (unsigned long long)st.queue_full, (unsigned long long)st.export_failed,
		 (unsigned long long)st.rejected, (unsigned long long)st.requests,
		 (unsigned long long)st.retries);
}

static void *run(void *arg)
{
	struct exporter *e = arg;

	pthread_mutex_lock(&e->lock);
	for (;;) {
		struct chunk *batch;
		size_t nspans;

		while (!e->head && !e->stopping) {
			wait_until(&e->wake, &e->lock,
				   now_ns() + EXPORT_STATS_EVERY_MS * 1000000ull);
			pthread_mutex_unlock(&e->lock);
			log_stats(e);
			pthread_mutex_lock(&e->lock);
		}
		if (!e->head || e->abandoned)
			break;
		batch = take_batch(e, &nspans);
		pthread_mutex_unlock(&e->lock);
		send_batch(e, batch, nspans);
		while (batch) {
			struct chunk *next = batch->next;

			free(batch);
			batch = next;
		}
		log_stats(e);
		pthread_mutex_lock(&e->lock);
	}
	e->done = true;
	pthread_cond_broadcast(&e->done_cv);
	pthread_mutex_unlock(&e->lock);
	return NULL;
}

/* -- lifecycle ------------------------------------------------------------------------------- */

int exporter__new(const struct otlp_config *cfg, struct tls_ctx *tls, struct exporter **out)
{
	struct exporter *e = calloc(1, sizeof(*e));
	pthread_condattr_t ca;
	int err;

	*out = NULL;
	if (!e)
		return -ENOMEM;
	e->cfg = cfg;
	e->rng = (uint32_t)now_ns() | 1;
	e->joined = true; /* nothing to join until the thread runs */
	pthread_mutex_init(&e->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&e->wake, &ca);
	pthread_cond_init(&e->done_cv, &ca);
	pthread_condattr_destroy(&ca);
	err = http_client__new(&cfg->target, cfg->target.tls ? tls : NULL, &e->http);
	if (!err)
		err = -pthread_create(&e->thread, NULL, run, e);
	if (err) {
		exporter__free(e);
		return err;
	}
	e->joined = false;
	pr_info("exporting spans to %s (%s%s)", cfg->url,
		cfg->protocol == OTLP_HTTP_JSON ? "http/json" : "http/protobuf",
		cfg->gzip ? ", gzip" : "");
	*out = e;
	return 0;
}

static void free_queue(struct exporter *e)
{
	while (e->head) {
		struct chunk *next = e->head->next;

		free(e->head);
		e->head = next;
	}
	e->tail = NULL;
}

void exporter__stop(struct exporter *e)
{
	/* a request in flight at the deadline gets a moment to report how it went */
	const uint64_t grace_ns = 200000000ull;

	pthread_mutex_lock(&e->lock);
	if (!e->stopping) {
		e->stopping = true;
		e->stop_deadline_ns = now_ns() + (uint64_t)e->cfg->flush_timeout_ms * 1000000ull;
		pthread_cond_broadcast(&e->wake);
	}
	while (!e->done && now_ns() < e->stop_deadline_ns + grace_ns)
		wait_until(&e->done_cv, &e->lock, e->stop_deadline_ns + grace_ns);
	if (!e->done && !e->abandoned) {
		/* stuck past the deadline (a name lookup has none): what is left is lost */
		e->abandoned = true;
		e->st.export_failed += e->st.queued;
		e->st.queued = 0;
		free_queue(e);
	}
	pthread_mutex_unlock(&e->lock);
	if (e->done && !e->joined) {
		pthread_join(e->thread, NULL);
		e->joined = true;
	}
}

void exporter__stats(struct exporter *e, struct exporter_stats *st)
{
	pthread_mutex_lock(&e->lock);
	*st = e->st;
	pthread_mutex_unlock(&e->lock);
}

void exporter__free(struct exporter *e)
{
	if (!e)
		return;
	if (!e->joined)
		exporter__stop(e);
	/* a thread that outlived its deadline still uses e: the process is about to exit */
	if (!e->joined)
		return;
	free_queue(e);
	http_client__free(e->http);
	otlp_buf__free(&e->enc);
	otlp_buf__free(&e->gz);
	if (e->zs_ready)
		deflateEnd(&e->zs);
	pthread_cond_destroy(&e->wake);
	pthread_cond_destroy(&e->done_cv);
	pthread_mutex_destroy(&e->lock);
	free(e);
}
