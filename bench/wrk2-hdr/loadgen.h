/* SPDX-License-Identifier: MIT */
/*
 * loadgen.h - shared types of wrk2hdr: options, the run's time schedule,
 * counters and the merged result.
 */
#ifndef WRK2HDR_LOADGEN_H
#define WRK2HDR_LOADGEN_H

#include <netinet/in.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hdr.h"

#define NSEC_PER_SEC	1000000000LL
#define NSEC_PER_MSEC	1000000LL
#define NSEC_PER_USEC	1000LL
#define MAX_HEADERS	64

struct config {
	const char *url;
	char host[256];
	char port[8];
	const char *path;
	struct sockaddr_in addr;
	double rate;		/* requests per second, all connections */
	int64_t duration_ns;
	int64_t warmup_ns;
	int64_t timeout_ns;
	int connections;
	int threads;
	const char *headers[MAX_HEADERS];
	int nheaders;
	bool latency;		/* print the detailed spectrum */
	bool uncorrected;	/* also print latency from actual send time */
	bool closed;		/* closed loop: no schedule, for saturation */
	const char *json_path;
	const char *hgrm_path;
	char *request;		/* the one request every connection sends */
	size_t request_len;
};

/* Absolute CLOCK_MONOTONIC times (ns) shared by all threads. */
struct schedule {
	int64_t t0;		/* first request of connection 0 */
	int64_t rec_start;	/* warm-up over: record from here */
	int64_t end;		/* no request intended at/after this is sent */
	int64_t hard_end;	/* give up on in-flight responses */
	double interval_ns;	/* between two requests of one connection */
	double stagger_ns;	/* between first requests of two connections */
	bool closed;		/* closed loop: a request is due once idle */
};

struct counters {
	int64_t completed;	/* responses to requests in the window */
	int64_t bytes;
	int64_t non2xx;
	int64_t err_connect;
	int64_t err_read;
	int64_t err_write;
	int64_t err_timeout;
	int64_t err_parse;
	int64_t unsent;		/* due in the window, never sent (backlog) */
};

struct result {
	struct hdr *corrected;	/* response done - intended send time */
	struct hdr *uncorrected;	/* response done - actual send time */
	struct counters n;
	double duration_s;	/* measured window actually covered */
	bool interrupted;
};

/* Set from the SIGINT/SIGTERM handler: threads wind down. */
extern atomic_int loadgen_stop;

int64_t now_ns(void);

/* worker.c: run the whole load test, fills @res (histograms allocated). */
int run_load(const struct config *cfg, struct result *res);

/* report.c */
void report_start(const struct config *cfg);
void report_summary(const struct config *cfg, const struct result *res);
int report_json(const struct config *cfg, const struct result *res,
		const char *path);
int report_hgrm(const struct config *cfg, const struct result *res,
		const char *path);

#endif /* WRK2HDR_LOADGEN_H */
