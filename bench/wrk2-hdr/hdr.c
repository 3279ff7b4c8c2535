// SPDX-License-Identifier: MIT
/*
 * hdr.c - log-linear latency histogram, see hdr.h.
 *
 * Layout (the HdrHistogram scheme, with unit magnitude 0 because the lowest
 * discernible value is 1):
 *  - 3 significant digits need single-unit resolution up to 2 * 10^3, so
 *    each bucket has 2048 sub-buckets (11 bits);
 *  - bucket 0 covers 0..2047 with width 1; bucket b > 0 covers
 *    [1024 << b, 2048 << b) with width 1 << b, so only its upper half of
 *    sub-buckets is stored (the lower half overlaps bucket b - 1);
 *  - the counts array is therefore (buckets + 1) * 1024 long.
 */
#include <limits.h>
#include <math.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "hdr.h"

#define SUB_BUCKET_BITS		11
#define SUB_BUCKET_COUNT	(1 << SUB_BUCKET_BITS)
#define SUB_BUCKET_HALF_BITS	(SUB_BUCKET_BITS - 1)
#define SUB_BUCKET_HALF		(1 << SUB_BUCKET_HALF_BITS)
#define SUB_BUCKET_MASK		((int64_t)SUB_BUCKET_COUNT - 1)

struct hdr {
	int64_t total;
	int64_t min;		/* exact extremes of the (clamped) values */
	int64_t max;
	int64_t clamped;	/* values that were outside the range */
	int counts_len;
	int64_t counts[];
};

int hdr__sub_bucket_count(void)
{
	return SUB_BUCKET_COUNT;
}

/* Number of power-of-two buckets needed so HDR_HIGHEST_US is trackable. */
int hdr__bucket_count(void)
{
	int64_t untrackable = SUB_BUCKET_COUNT;
	int buckets = 1;

	while (untrackable <= HDR_HIGHEST_US) {
		untrackable <<= 1;
		buckets++;
	}
	return buckets;
}

static int bucket_of(int64_t v)
{
	/* OR-ing the mask puts everything below 2048 into bucket 0. */
	int bits = 64 - __builtin_clzll((unsigned long long)(v | SUB_BUCKET_MASK));

	return bits - (SUB_BUCKET_HALF_BITS + 1);
}

static int index_of(int64_t v)
{
	int b = bucket_of(v);
	int sub = (int)(v >> b);

	return ((b + 1) << SUB_BUCKET_HALF_BITS) + sub - SUB_BUCKET_HALF;
}

static int64_t value_of_index(int idx)
{
	int b = (idx >> SUB_BUCKET_HALF_BITS) - 1;
	int sub = (idx & (SUB_BUCKET_HALF - 1)) + SUB_BUCKET_HALF;

	if (b < 0) {
		/* first half of bucket 0: the values 0..1023 themselves */
		sub -= SUB_BUCKET_HALF;
		b = 0;
	}
	return (int64_t)sub << b;
}

int64_t hdr__lowest_equivalent(int64_t value)
{
	return value_of_index(index_of(value));
}

int64_t hdr__highest_equivalent(int64_t value)
{
	return hdr__lowest_equivalent(value) + (1LL << bucket_of(value)) - 1;
}

/* Representative value of a bucket, used for mean and deviation. */
static int64_t median_equivalent(int64_t value)
{
	return hdr__lowest_equivalent(value) + ((1LL << bucket_of(value)) >> 1);
}

struct hdr *hdr__new(void)
{
	int len = (hdr__bucket_count() + 1) * SUB_BUCKET_HALF;
	struct hdr *h = calloc(1, sizeof(*h) + (size_t)len * sizeof(int64_t));

	if (!h)
		return NULL;
	h->counts_len = len;
	h->min = INT64_MAX;
	return h;
}

void hdr__free(struct hdr *h)
{
	free(h);
}

void hdr__reset(struct hdr *h)
{
	memset(h->counts, 0, (size_t)h->counts_len * sizeof(int64_t));
	h->total = 0;
	h->clamped = 0;
	h->max = 0;
	h->min = INT64_MAX;
}

void hdr__record(struct hdr *h, int64_t value)
{
	if (value < 0 || value > HDR_HIGHEST_US) {
		/* keep the sample: dropping it would hide exactly the outliers */
		value = value < 0 ? 0 : HDR_HIGHEST_US;
		h->clamped++;
	}
	h->counts[index_of(value)]++;
	h->total++;
	if (value < h->min)
		h->min = value;
	if (value > h->max)
		h->max = value;
}

void hdr__record_corrected(struct hdr *h, int64_t value,
			   int64_t expected_interval)
{
	int64_t missing;

	hdr__record(h, value);
	if (expected_interval <= 0 || value <= expected_interval)
		return;
	if (value > HDR_HIGHEST_US)
		value = HDR_HIGHEST_US;	/* bound the back-fill loop */
	for (missing = value - expected_interval; missing >= expected_interval;
	     missing -= expected_interval)
		hdr__record(h, missing);
}

int64_t hdr__value_at_percentile(const struct hdr *h, double percentile)
{
	int64_t want, seen = 0;
	int i;

	if (h->total == 0)
		return 0;
	if (percentile > 100.0)
		percentile = 100.0;
	if (percentile < 0.0)
		percentile = 0.0;
	want = (int64_t)(percentile / 100.0 * (double)h->total + 0.5);
	if (want < 1)
		want = 1;
	for (i = 0; i < h->counts_len; i++) {
		seen += h->counts[i];
		if (seen >= want)
			return hdr__highest_equivalent(value_of_index(i));
	}
	return hdr__highest_equivalent(h->max);
}

double hdr__mean(const struct hdr *h)
{
	double sum = 0.0;
	int i;

	if (h->total == 0)
		return 0.0;
	for (i = 0; i < h->counts_len; i++)
		if (h->counts[i])
			sum += (double)h->counts[i] *
			       (double)median_equivalent(value_of_index(i));
	return sum / (double)h->total;
}

double hdr__stddev(const struct hdr *h)
{
	double mean = hdr__mean(h), sq = 0.0, d;
	int i;

	if (h->total == 0)
		return 0.0;
	for (i = 0; i < h->counts_len; i++) {
		if (!h->counts[i])
			continue;
		d = (double)median_equivalent(value_of_index(i)) - mean;
		sq += d * d * (double)h->counts[i];
	}
	return sqrt(sq / (double)h->total);
}

int64_t hdr__max(const struct hdr *h)
{
	return h->max;
}

int64_t hdr__min(const struct hdr *h)
{
	return h->total ? h->min : 0;
}

int64_t hdr__count(const struct hdr *h)
{
	return h->total;
}

int64_t hdr__clamped(const struct hdr *h)
{
	return h->clamped;
}

void hdr__merge(struct hdr *dst, const struct hdr *src)
{
	int i;

	for (i = 0; i < dst->counts_len; i++)
		dst->counts[i] += src->counts[i];
	dst->total += src->total;
	dst->clamped += src->clamped;
	if (src->total && src->min < dst->min)
		dst->min = src->min;
	if (src->max > dst->max)
		dst->max = src->max;
}

/*
 * Reporting steps get finer towards 100%: between 0 and 50% there are
 * 2 * ticks rows, and each following halving of the remaining distance to
 * 100% gets the same number of rows again (HdrHistogram's percentile
 * iteration).
 */
static double next_percentile(double pct, int ticks_per_half_distance)
{
	double halvings = floor(log2(100.0 / (100.0 - pct))) + 1.0;

	return pct + 100.0 / ((double)ticks_per_half_distance *
			      pow(2.0, halvings));
}

static int print_row(FILE *f, int64_t value, double unit_scale, double pct,
		     int64_t cumulative)
{
	double p = pct / 100.0;

	return fprintf(f, "%12.3f %12f %12" PRId64 " %12.2f\n",
		       (double)value / unit_scale, p, cumulative,
		       1.0 / (1.0 - p)) < 0 ? -1 : 0;
}

static int print_rows(const struct hdr *h, FILE *f, int ticks, double scale)
{
	double target = 0.0, reached;
	int64_t cumulative = 0, value = 0;
	int i, err = 0;

	for (i = 0; i < h->counts_len && cumulative < h->total; i++) {
		if (!h->counts[i])
			continue;
		cumulative += h->counts[i];
		reached = 100.0 * (double)cumulative / (double)h->total;
		value = hdr__highest_equivalent(value_of_index(i));
		while (target <= reached && target < 100.0) {
			err |= print_row(f, value, scale, target, cumulative);
			target = next_percentile(target, ticks);
			/* the last bucket gets one row, then the 100% row */
			if (cumulative == h->total)
				break;
		}
	}
	if (h->total)
		err |= print_row(f, value, scale, 100.0, cumulative);
	return err;
}

int hdr__print_percentiles(const struct hdr *h, FILE *f,
			   int ticks_per_half_distance, double unit_scale)
{
	int err = 0;

	if (ticks_per_half_distance < 1)
		ticks_per_half_distance = 1;
	if (unit_scale <= 0.0)
		unit_scale = 1.0;
	if (fprintf(f, "%12s %12s %12s %12s\n\n", "Value", "Percentile",
		    "TotalCount", "1/(1-Percentile)") < 0)
		return -1;
	err |= print_rows(h, f, ticks_per_half_distance, unit_scale);
	if (fprintf(f,
		    "#[Mean    = %12.3f, StdDeviation   = %12.3f]\n"
		    "#[Max     = %12.3f, Total count    = %12" PRId64 "]\n"
		    "#[Buckets = %12d, SubBuckets     = %12d]\n",
		    hdr__mean(h) / unit_scale, hdr__stddev(h) / unit_scale,
		    (double)hdr__max(h) / unit_scale, h->total,
		    hdr__bucket_count(), SUB_BUCKET_COUNT) < 0)
		err = -1;
	return err;
}
