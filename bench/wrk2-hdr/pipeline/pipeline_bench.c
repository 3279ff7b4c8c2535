// SPDX-License-Identifier: MIT
/*
 * pipeline_bench - throughput of otrace's user-space data path on one core.
 *
 * Feeds synthetic ring-buffer records (struct ot_http_server_rec, with the
 * kind of strings a real service produces) through the same
 * pipeline__record()/pipeline__flush() calls the trace session makes:
 * decode -> span assembly -> OTLP-JSON encoding -> write, by default to
 * /dev/null. What it leaves out is the ring buffer itself (the kernel side
 * and ring_buffer__poll's callback dispatch).
 *
 * With --export URL, the spans go through the exporter instead, as with
 * --otlp-endpoint: protobuf (or JSON with --protocol http/json) encoding on
 * this thread, batching, gzip (--gzip) and HTTP on the export thread, to a
 * receiver at URL (the sink in ../sink). The feed waits while the export
 * queue is more than half full, so the figure is the sustained rate, not a
 * count of drops; the CPU time is the whole process's (both threads).
 *
 *	pipeline_bench [-n SPANS] [-o FILE] [--cpu N] [--json]
 *	pipeline_bench --export URL [--gzip] [--protocol P] [-n SPANS] [--cpu N] [--json]
 *
 * Prints spans/s (wall clock and CPU time), ns per span and peak RSS
 * (getrusage ru_maxrss). Exit 1 if any span was not written or exported.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>

#include "bench_records.h"
#include "export.h"
#include "otlp_config.h"
#include "output.h"
#include "pipeline.h"

#define NRECS 64
#define GOAL_SPANS_PER_S 1000000.0
#define GOAL_RSS_MB 16.0
/* the export path's goals (issue 13): one core, a local receiver */
#define GOAL_EXPORT_SPANS_PER_S 500000.0
#define GOAL_EXPORT_GZIP_SPANS_PER_S 200000.0
#define GOAL_EXPORT_RSS_MB 32.0

static double now_s(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: pipeline_bench [-n SPANS] [-o FILE] [--cpu N] "
		"[--json]\n"
		"       pipeline_bench --export URL [--gzip] [--protocol P] "
		"[-n SPANS] [--cpu N] [--json]\n");
}

struct export_run {
	const char *url; /* NULL: JSON lines to the output */
	bool gzip;
	const char *protocol;
	struct otlp_config cfg;
	struct exporter *exporter;
};

/* The exporter as --otlp-endpoint URL sets it up, with its queue bound. */
static int export_start(struct export_run *x)
{
	struct otlp_options o = { .endpoint = x->url, .flush_timeout_ms = 60000 };
	char err[256];
	int ret;

	setenv("OTEL_EXPORTER_OTLP_COMPRESSION", x->gzip ? "gzip" : "none", 1);
	setenv("OTEL_EXPORTER_OTLP_PROTOCOL", x->protocol, 1);
	ret = otlp_config__load(&o, &x->cfg, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "pipeline_bench: %s\n", err);
		return ret;
	}
	return exporter__new(&x->cfg, NULL, &x->exporter);
}

/* Waits while the export queue is more than half full: the sustained rate, not drops. */
static void export_backpressure(struct export_run *x)
{
	struct exporter_stats st;

	for (;;) {
		exporter__stats(x->exporter, &st);
		if (st.queued <= x->cfg.queue_spans / 2)
			return;
		usleep(200);
	}
}

static double process_cpu_s(void)
{
	return now_s(CLOCK_PROCESS_CPUTIME_ID);
}

int main(int argc, char **argv)
{
	static struct bench_wire recs[NRECS];
	struct resource_defaults resource = {
		.service_name = "checkout",
		.exe_path = "/srv/checkout/bin/checkout-server",
		.go_version = "go1.26.0",
		.host_name = "bench-host-01",
	};
	struct resource_cache *resources;
	const char *path = "/dev/null";
	long long n = 2000000, i;
	int cpu = -1, err;
	bool json = false;
	struct pipeline_stats st;
	struct exporter_stats ex = { 0 };
	struct export_run x = { .protocol = "http/protobuf" };
	struct pipeline *p;
	struct output *out = NULL;
	struct rusage ru;
	double w0, c0, wall, cpu_s, rss_mb, goal, goal_rss;
	unsigned long long done;

	for (int a = 1; a < argc; a++) {
		if (!strcmp(argv[a], "-n") && a + 1 < argc) {
			n = atoll(argv[++a]);
		} else if (!strcmp(argv[a], "-o") && a + 1 < argc) {
			path = argv[++a];
		} else if (!strcmp(argv[a], "--cpu") && a + 1 < argc) {
			cpu = atoi(argv[++a]);
		} else if (!strcmp(argv[a], "--json")) {
			json = true;
		} else if (!strcmp(argv[a], "--export") && a + 1 < argc) {
			x.url = argv[++a];
		} else if (!strcmp(argv[a], "--gzip")) {
			x.gzip = true;
		} else if (!strcmp(argv[a], "--protocol") && a + 1 < argc) {
			x.protocol = argv[++a];
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (n < 1) {
		usage(stderr);
		return 2;
	}
	if (cpu >= 0) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
		if (sched_setaffinity(0, sizeof(set), &set))
			perror("sched_setaffinity");
	}
	for (i = 0; i < NRECS; i++)
		make_wire(&recs[i], (int)i);
	err = x.url ? export_start(&x) : output__open(path, &out);
	if (err) {
		fprintf(stderr, "pipeline_bench: %s: %s\n", x.url ?: path, strerror(-err));
		return 1;
	}
	/* the records' PID, pinned so that no run depends on /proc/4242 */
	err = resource_cache__new(&resource, &resources);
	if (!err)
		err = resource_cache__pin(resources, 4242, resource.exe_path, NULL, NULL, NULL);
	if (err) {
		fprintf(stderr, "pipeline_bench: resource_cache__new: %s\n", strerror(-err));
		return 1;
	}
	err = pipeline__new(resources, out, &p);
	if (err) {
		fprintf(stderr, "pipeline_bench: pipeline__new: %s\n",
			strerror(-err));
		return 1;
	}

	pipeline__set_exporter(p, x.exporter);

	w0 = now_s(CLOCK_MONOTONIC);
	c0 = x.url ? process_cpu_s() : now_s(CLOCK_THREAD_CPUTIME_ID);
	for (i = 0; i < n; i++) {
		if (x.url && i % PIPELINE_BATCH_MAX == 0)
			export_backpressure(&x);
		pipeline__record(p, recs[i % NRECS].bytes, recs[i % NRECS].size);
	}
	pipeline__flush(p, true);
	if (x.url) {
		exporter__stop(x.exporter);
		exporter__stats(x.exporter, &ex);
	}
	cpu_s = (x.url ? process_cpu_s() : now_s(CLOCK_THREAD_CPUTIME_ID)) - c0;
	wall = now_s(CLOCK_MONOTONIC) - w0;

	pipeline__stats(p, &st);
	pipeline__free(p);
	exporter__free(x.exporter);
	otlp_config__free(&x.cfg);
	resource_cache__free(resources);
	output__close(out);
	getrusage(RUSAGE_SELF, &ru);
	rss_mb = (double)ru.ru_maxrss / 1024.0;
	done = x.url ? ex.exported : st.written;
	goal = !x.url ? GOAL_SPANS_PER_S : x.gzip ? GOAL_EXPORT_GZIP_SPANS_PER_S
						   : GOAL_EXPORT_SPANS_PER_S;
	goal_rss = x.url ? GOAL_EXPORT_RSS_MB : GOAL_RSS_MB;
	if (x.url)
		path = x.url;

	if (json) {
		printf("{\"spans\": %lld, \"written\": %llu, \"wall_s\": %.4f, "
		       "\"cpu_s\": %.4f, \"spans_per_s_wall\": %.0f, "
		       "\"spans_per_s_cpu\": %.0f, \"ns_per_span_cpu\": %.1f, "
		       "\"max_rss_mb\": %.2f, \"output\": \"%s\", \"export\": %s, "
		       "\"gzip\": %s, \"requests\": %llu, "
		       "\"goal_spans_per_s\": %.0f, \"goal_rss_mb\": %.0f}\n",
		       n, done, wall, cpu_s,
		       (double)n / wall, (double)n / cpu_s, cpu_s * 1e9 / (double)n,
		       rss_mb, path, x.url ? "true" : "false", x.gzip ? "true" : "false",
		       (unsigned long long)ex.requests, goal, goal_rss);
	} else {
		printf("pipeline_bench: %lld spans -> %s%s%s, %llu %s\n", n,
		       path, x.url ? " " : "", x.url ? x.protocol : "", done,
		       x.url ? "exported" : "written");
		if (x.url)
			printf("  %s, %llu requests\n", x.gzip ? "gzip" : "no compression",
			       (unsigned long long)ex.requests);
		printf("  wall %.3f s: %.0f spans/s\n", wall, (double)n / wall);
		printf("  cpu  %.3f s: %.0f spans/s, %.0f ns/span (%s)\n",
		       cpu_s, (double)n / cpu_s, cpu_s * 1e9 / (double)n,
		       x.url ? "the process, both threads" : "one core");
		printf("  peak RSS %.2f MB\n", rss_mb);
		printf("  goal >= %.0f spans/s: %s; RSS <= %.0f MB: %s\n",
		       goal, (double)n / cpu_s >= goal ? "met" : "NOT met",
		       goal_rss, rss_mb <= goal_rss ? "met" : "NOT met");
	}
	if (done != (unsigned long long)n) {
		fprintf(stderr, "pipeline_bench: %llu of %lld spans %s "
			"(%llu undecodable, %llu unwritten, %llu queue_full, "
			"%llu export_failed, %llu rejected)\n",
			done, n, x.url ? "exported" : "written",
			(unsigned long long)st.undecodable,
			(unsigned long long)st.unwritten,
			(unsigned long long)ex.queue_full,
			(unsigned long long)ex.export_failed,
			(unsigned long long)ex.rejected);
		return 1;
	}
	return 0;
}
