/* SPDX-License-Identifier: MIT */
/*
 * hdr.h - small log-linear (HDR) histogram of int64 latencies in microseconds.
 *
 * Fixed configuration: trackable range 1 us .. 60 s, 3 significant digits.
 * Values are bucketed like HdrHistogram: every power of two is split into
 * 2048 linear sub-buckets (the lower half of each is shared with the
 * previous power), so any recorded value is reported with a relative error
 * below 1/1024 (< 0.1%).
 *
 * Not thread safe: each load thread keeps its own histogram and the results
 * are combined with hdr__merge() once the threads are done.
 */
#ifndef WRK2HDR_HDR_H
#define WRK2HDR_HDR_H

#include <stdint.h>
#include <stdio.h>

#define HDR_LOWEST_US		1LL
#define HDR_HIGHEST_US		60000000LL	/* 60 s */
#define HDR_SIGNIFICANT_DIGITS	3

struct hdr;

struct hdr *hdr__new(void);
void hdr__free(struct hdr *h);
void hdr__reset(struct hdr *h);

/* Values outside [0, HDR_HIGHEST_US] are clamped into range and counted. */
void hdr__record(struct hdr *h, int64_t value);
/*
 * Record @value and, if it exceeds @expected_interval, the values a
 * constant-rate sender would have seen meanwhile (value - k * interval),
 * i.e. HdrHistogram's after-the-fact coordinated-omission back-fill.
 */
void hdr__record_corrected(struct hdr *h, int64_t value,
			   int64_t expected_interval);

/* @percentile in [0, 100]; nearest rank (rounded), reported as the
 * highest value equivalent to the bucket holding that rank. */
int64_t hdr__value_at_percentile(const struct hdr *h, double percentile);
double hdr__mean(const struct hdr *h);
double hdr__stddev(const struct hdr *h);
int64_t hdr__max(const struct hdr *h);
int64_t hdr__min(const struct hdr *h);
int64_t hdr__count(const struct hdr *h);
int64_t hdr__clamped(const struct hdr *h);

/* Add all of @src into @dst. */
void hdr__merge(struct hdr *dst, const struct hdr *src);

/*
 * Print the percentile spectrum in HdrHistogram's classic .hgrm format (as
 * wrk2's "Detailed Percentile spectrum"). Values are divided by
 * @unit_scale (1000.0 prints microseconds as milliseconds).
 * Returns 0, or -1 on a write error.
 */
int hdr__print_percentiles(const struct hdr *h, FILE *f,
			   int ticks_per_half_distance, double unit_scale);

/* Bucketing helpers, exposed for tests. */
int64_t hdr__lowest_equivalent(int64_t value);
int64_t hdr__highest_equivalent(int64_t value);
int hdr__bucket_count(void);
int hdr__sub_bucket_count(void);

#endif /* WRK2HDR_HDR_H */
