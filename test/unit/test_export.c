// SPDX-License-Identifier: MIT
/*
 * The exporter against a scripted HTTP server in a thread: retries and
 * Retry-After, refusals, partial success, a full queue, the flush deadline,
 * and the JSON and gzip bodies; every span must land in exactly one counter.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <sys/socket.h>

#include "export.h"
#include "http_client.h"
#include "unittest.h"

struct server {
	int fd;
	char port[8];
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cv;
	const char *const *script; /* responses in order; then 200 */
	size_t nscript, next;
	bool hold; /* answer nothing until released */
	int requests;
	int json_spans; /* spans counted in JSON bodies */
	bool gzip_seen, bad_body;
};

static size_t read_request(int fd, char *buf, size_t cap, char **body, size_t *body_len)
{
	size_t len = 0, clen;
	char *end, *cl;

	for (;;) {
		ssize_t n = read(fd, buf + len, cap - 1 - len);

		if (n <= 0)
			return 0;
		len += (size_t)n;
		buf[len] = '\0';
		end = strstr(buf, "\r\n\r\n");
		if (end)
			break;
	}
	cl = strcasestr(buf, "Content-Length:");
	clen = cl ? strtoul(cl + 15, NULL, 10) : 0;
	while (len < (size_t)(end + 4 - buf) + clen) {
		ssize_t n = read(fd, buf + len, cap - 1 - len);

		if (n <= 0)
			return 0;
		len += (size_t)n;
	}
	*body = end + 4;
	*body_len = clen;
	return len;
}

/* Counts the spans of an OTLP/JSON body (gunzipped first when need be). */
static void count_json(struct server *s, const char *head, const char *body, size_t len)
{
	static char plain[1 << 20];
	uLongf plain_len = sizeof(plain);
	json_t *doc, *rss, *rs, *ss;
	size_t i, j;

	if (!strstr(head, "application/json"))
		return;
	if (strstr(head, "Content-Encoding: gzip")) {
		z_stream zs = { .next_in = (Bytef *)body,
				.avail_in = (uInt)len,
				.next_out = (Bytef *)plain,
				.avail_out = sizeof(plain) };

		s->gzip_seen = true;
		if (inflateInit2(&zs, 15 + 16) != Z_OK || inflate(&zs, Z_FINISH) != Z_STREAM_END)
			s->bad_body = true;
		plain_len = zs.total_out;
		inflateEnd(&zs);
		body = plain;
		len = plain_len;
	}
	doc = json_loadb(body, len, 0, NULL);
	if (!doc)
		s->bad_body = true;
	rss = json_object_get(doc, "resourceSpans");
	json_array_foreach(rss, i, rs) json_array_foreach(json_object_get(rs, "scopeSpans"), j, ss)
	    s->json_spans += (int)json_array_size(json_object_get(ss, "spans"));
	json_decref(doc);
}

static void *serve(void *arg)
{
	struct server *s = arg;
	static char buf[4 << 20];

	for (;;) {
		int c = accept(s->fd, NULL, NULL);
		char *body;
		size_t body_len;

		if (c < 0)
			return NULL;
		while (read_request(c, buf, sizeof(buf), &body, &body_len)) {
			const char *resp = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";

			pthread_mutex_lock(&s->lock);
			s->requests++;
			count_json(s, buf, body, body_len);
			while (s->hold)
				pthread_cond_wait(&s->cv, &s->lock);
			if (s->next < s->nscript)
				resp = s->script[s->next++];
			pthread_mutex_unlock(&s->lock);
			if (write(c, resp, strlen(resp)) < 0 || strstr(resp, "Connection: close"))
				break;
		}
		close(c);
	}
}

static void server_start(struct server *s, const char *const *script, size_t n)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);

	memset(s, 0, sizeof(*s));
	s->script = script;
	s->nscript = n;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cv, NULL);
	s->fd = socket(AF_INET, SOCK_STREAM, 0);
	CHECK(bind(s->fd, (struct sockaddr *)&a, sizeof(a)) == 0);
	CHECK(listen(s->fd, 8) == 0);
	getsockname(s->fd, (struct sockaddr *)&a, &al);
	snprintf(s->port, sizeof(s->port), "%u", ntohs(a.sin_port));
	pthread_create(&s->thread, NULL, serve, s);
}

static void server_release(struct server *s)
{
	pthread_mutex_lock(&s->lock);
	s->hold = false;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->lock);
}

static void server_stop(struct server *s)
{
	shutdown(s->fd, SHUT_RDWR);
	close(s->fd);
	pthread_join(s->thread, NULL);
}

static struct otlp_config config(const char *port, enum otlp_protocol proto)
{
	struct otlp_config cfg = {
		.enabled = true,
		.protocol = proto,
		.timeout_ms = 2000,
		.queue_spans = 100000,
		.flush_timeout_ms = 10000,
		.target = { .port = "", .host = "127.0.0.1", .path = "/v1/traces" },
	};

	snprintf(cfg.target.port, sizeof(cfg.target.port), "%s", port);
	snprintf(cfg.url, sizeof(cfg.url), "http://127.0.0.1:%s/v1/traces", port);
	return cfg;
}

/* Submits batches of n spans each, all alike. */
static void submit(struct exporter *e, int batches, size_t n)
{
	static const struct attr rattr = { .key = "service.name", .str = "t", .len = 1 };
	static struct otlp_resource res = { .pid = 1, .attrs = &rattr, .nattrs = 1 };
	static struct span s = { .kind = SPAN_KIND_SERVER,
				 .name = "GET",
				 .name_len = 3,
				 .trace_id = { 1 },
				 .span_id = { 2 } };
	const struct span **ptrs = calloc(n, sizeof(*ptrs));
	struct otlp_group g = { .resource = &res, .spans = ptrs, .nspans = n };

	for (size_t i = 0; i < n; i++)
		ptrs[i] = &s;
	for (int b = 0; b < batches; b++)
		exporter__submit(e, &g, 1, n);
	free(ptrs);
}

/* Every span in exactly one counter once stopped. */
static void check_settled(const struct exporter_stats *st, uint64_t submitted)
{
	CHECK(st->queued == 0);
	CHECK(st->exported + st->queue_full + st->export_failed + st->rejected == submitted);
}

static struct exporter_stats run(struct otlp_config *cfg, int batches, size_t n)
{
	struct exporter_stats st;
	struct exporter *e;

	CHECK(exporter__new(cfg, NULL, &e) == 0);
	submit(e, batches, n);
	exporter__stop(e);
	exporter__stats(e, &st);
	exporter__free(e);
	check_settled(&st, (uint64_t)batches * n);
	return st;
}

/* One batch of n spans sent to a server answering script[0..nscript), then 200s. */
static struct exporter_stats scripted(const char *const *script, size_t nscript, size_t n,
				      int flush_timeout_ms)
{
	struct server s;
	struct otlp_config cfg;
	struct exporter_stats st;

	server_start(&s, script, nscript);
	cfg = config(s.port, OTLP_HTTP_PROTOBUF);
	cfg.flush_timeout_ms = flush_timeout_ms;
	st = run(&cfg, 1, n);
	server_stop(&s);
	return st;
}

static void test_retry_after(void)
{
	static const char *const script[] = {
		"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 429 Too Many Requests\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
	};
	struct exporter_stats st = scripted(script, 2, 10, 10000);

	CHECK(st.exported == 10 && st.retries == 2 && st.requests == 3);
}

/* At stop, a long wait before a retry is cut short so the retry still happens in time. */
static void test_flush_retries(void)
{
	static const char *const script[] = {
		"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 30\r\nContent-Length: 0\r\n\r\n",
	};
	struct exporter_stats st = scripted(script, 1, 4, 2000);

	CHECK(st.exported == 4 && st.retries == 1);
}

static void test_refused(void)
{
	static const char *const script[] = {
		"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
	};
	struct exporter_stats st = scripted(script, 2, 7, 10000);

	CHECK(st.export_failed == 7 && st.exported == 0 && st.retries == 0);
}

static void test_partial_success(void)
{
	/* partial_success { rejected_spans: 3, error_message: "x" } */
	static const char *const script[] = {
		"HTTP/1.1 200 OK\r\nContent-Type: application/x-protobuf\r\nContent-Length: "
		"7\r\n\r\n"
		"\x0a\x05\x08\x03\x12\x01x",
	};
	struct exporter_stats st = scripted(script, 1, 10, 10000);

	CHECK(st.exported == 7 && st.rejected == 3);
}

/* The queue holds what is waiting and what is being sent; beyond it, new batches are dropped. */
static void test_queue_full(void)
{
	struct server s;
	struct otlp_config cfg;
	struct exporter_stats st;
	struct exporter *e;

	server_start(&s, NULL, 0);
	s.hold = true;
	cfg = config(s.port, OTLP_HTTP_PROTOBUF);
	cfg.queue_spans = 1000;
	CHECK(exporter__new(&cfg, NULL, &e) == 0);
	submit(e, 15, 100);
	exporter__stats(e, &st);
	CHECK(st.queued == 1000 && st.queue_full == 500);
	server_release(&s);
	exporter__stop(e);
	exporter__stats(e, &st);
	exporter__free(e);
	check_settled(&st, 1500);
	CHECK(st.exported == 1000 && st.queue_full == 500);
	server_stop(&s);
}

/* Still failing at the flush deadline: what is left is export_failed, and stop returns. */
static void test_flush_deadline(void)
{
	static const char *const script[] = {
		"HTTP/1.1 503 x\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 503 x\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 503 x\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 503 x\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 503 x\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 503 x\r\nContent-Length: 0\r\n\r\n",
	};
	struct server s;
	struct otlp_config cfg;
	struct exporter_stats st;

	server_start(&s, script, 6);
	cfg = config(s.port, OTLP_HTTP_PROTOBUF);
	cfg.flush_timeout_ms = 300;
	st = run(&cfg, 3, 5);
	CHECK(st.export_failed == 15 && st.exported == 0);
	server_stop(&s);

	/* nobody listening: connection errors are retried the same way */
	cfg = config("9", OTLP_HTTP_PROTOBUF);
	cfg.flush_timeout_ms = 300;
	st = run(&cfg, 2, 5);
	CHECK(st.export_failed == 10);
}

/* JSON batches merge into one valid request; gzip bodies inflate to it. */
static void test_json_gzip(void)
{
	struct server s;
	struct otlp_config cfg;
	struct exporter_stats st;
	struct exporter *e;

	for (int gz = 0; gz < 2; gz++) {
		server_start(&s, NULL, 0);
		s.hold = true; /* so that batches queue up and are sent together */
		cfg = config(s.port, OTLP_HTTP_JSON);
		cfg.gzip = gz;
		CHECK(exporter__new(&cfg, NULL, &e) == 0);
		submit(e, 12, 9);
		server_release(&s);
		exporter__stop(e);
		exporter__stats(e, &st);
		exporter__free(e);
		check_settled(&st, 108);
		CHECK(st.exported == 108);
		CHECK(s.json_spans == 108 && !s.bad_body && s.gzip_seen == gz);
		CHECK(s.requests < 12); /* batched */
		server_stop(&s);
	}
}

static void test_policy(void)
{
	CHECK(export__verdict(200) == EXPORT_OK && export__verdict(204) == EXPORT_OK);
	CHECK(export__verdict(429) == EXPORT_RETRY && export__verdict(502) == EXPORT_RETRY);
	CHECK(export__verdict(503) == EXPORT_RETRY && export__verdict(504) == EXPORT_RETRY);
	CHECK(export__verdict(400) == EXPORT_FAIL && export__verdict(413) == EXPORT_FAIL);
	CHECK(export__verdict(500) == EXPORT_FAIL && export__verdict(301) == EXPORT_FAIL);
	for (unsigned a = 0; a < 12; a++) {
		uint64_t d = EXPORT_BACKOFF_FIRST_MS << (a < 4 ? a : 4);

		if (d > EXPORT_BACKOFF_MAX_MS)
			d = EXPORT_BACKOFF_MAX_MS;
		/* jittered within [d/2, 3d/2) */
		CHECK(export__backoff_ms(a, 0) == d / 2);
		CHECK(export__backoff_ms(a, UINT32_MAX) < d / 2 + d);
		CHECK(export__backoff_ms(a, 12345) >= d / 2);
	}
}

static void test_json_response(void)
{
	static const char ok[] =
	    "{\"partialSuccess\":{\"rejectedSpans\":\"4\",\"errorMessage\":\"m\"}}";
	int64_t rejected;
	char msg[16];

	CHECK(export__parse_json_response(ok, sizeof(ok) - 1, &rejected, msg, sizeof(msg)) == 0);
	CHECK(rejected == 4);
	CHECK_STR(msg, "m");
	CHECK(export__parse_json_response("{}", 2, &rejected, msg, sizeof(msg)) == 0 && !rejected);
	CHECK(export__parse_json_response("{\"partialSuccess\":{\"rejectedSpans\":2}}", 38,
					  &rejected, msg, sizeof(msg)) == 0 &&
	      rejected == 2);
	CHECK(export__parse_json_response("nope", 4, &rejected, msg, sizeof(msg)) == -EINVAL);
}

int main(void)
{
	test_policy();
	test_json_response();
	test_retry_after();
	test_flush_retries();
	test_refused();
	test_partial_success();
	test_queue_full();
	test_flush_deadline();
	test_json_gzip();
	return ut_summary();
}
