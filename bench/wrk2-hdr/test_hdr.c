// SPDX-License-Identifier: MIT
/*
 * test_hdr.c - unit tests for hdr.c: percentile precision against the exact
 * nearest-rank percentiles of known data, clamping, merge, coordinated
 * omission back-fill and the printed .hgrm format.
 *
 * Prints "N passed, N failed" last; exit status 1 if anything failed.
 */
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hdr.h"

static int passed, failed;

static void check(int ok, int line, const char *fmt, ...)
{
	va_list ap;

	if (ok) {
		passed++;
		return;
	}
	failed++;
	fprintf(stderr, "FAIL (line %d): ", line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

#define CHECK(cond, ...) check(!!(cond), __LINE__, __VA_ARGS__)

/* splitmix64: deterministic data, so a failure reproduces exactly */
static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rng_next(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static double rng_unit(void)	/* (0, 1] */
{
	return ((double)(rng_next() >> 11) + 1.0) / 9007199254740992.0;
}

static int64_t rng_range(int64_t lo, int64_t hi)	/* [lo, hi] */
{
	return lo + (int64_t)(rng_next() % (uint64_t)(hi - lo + 1));
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* Same rank rule as hdr__value_at_percentile: nearest rank, rounded. */
static int64_t exact_percentile(const int64_t *sorted, size_t n, double p)
{
	int64_t rank = (int64_t)(p / 100.0 * (double)n + 0.5);

	if (rank < 1)
		rank = 1;
	if (rank > (int64_t)n)
		rank = (int64_t)n;
	return sorted[rank - 1];
}

static const double percentiles[] = {
	0, 0.1, 1, 10, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 99.95, 99.99,
	99.999, 100,
};

#define NPCT (sizeof(percentiles) / sizeof(percentiles[0]))

static struct hdr *hist_of(const int64_t *v, size_t n)
{
	struct hdr *h = hdr__new();
	size_t i;

	for (i = 0; i < n; i++)
		hdr__record(h, v[i]);
	return h;
}

static void check_percentiles(const char *name, const struct hdr *h,
			      const int64_t *sorted, size_t n)
{
	size_t i;

	for (i = 0; i < NPCT; i++) {
		int64_t want = exact_percentile(sorted, n, percentiles[i]);
		int64_t got = hdr__value_at_percentile(h, percentiles[i]);

		CHECK(got >= want && (double)(got - want) <= 0.001 * (double)want,
		      "%s p%g: got %" PRId64 ", exact %" PRId64 " (> 0.1%% off)",
		      name, percentiles[i], got, want);
		CHECK(got == hdr__highest_equivalent(want),
		      "%s p%g: got %" PRId64 ", want bucket top of %" PRId64,
		      name, percentiles[i], got, want);
	}
}

static void exact_moments(const int64_t *v, size_t n, double *mean, double *sd)
{
	double sum = 0.0, sq = 0.0;
	size_t i;

	for (i = 0; i < n; i++)
		sum += (double)v[i];
	*mean = sum / (double)n;
	for (i = 0; i < n; i++)
		sq += ((double)v[i] - *mean) * ((double)v[i] - *mean);
	*sd = sqrt(sq / (double)n);
}

static void check_moments(const char *name, const struct hdr *h,
			  const int64_t *v, size_t n)
{
	double mean, sd;

	exact_moments(v, n, &mean, &sd);
	CHECK(fabs(hdr__mean(h) - mean) <= 0.001 * mean,
	      "%s mean: got %.3f, exact %.3f", name, hdr__mean(h), mean);
	CHECK(fabs(hdr__stddev(h) - sd) <= 0.01 * sd + 1.0,
	      "%s stddev: got %.3f, exact %.3f", name, hdr__stddev(h), sd);
}

/* Record @v (all in range), compare everything with the exact answers. */
static void check_dataset(const char *name, int64_t *v, size_t n)
{
	struct hdr *h = hist_of(v, n);
	int64_t *sorted = malloc(n * sizeof(*sorted));

	memcpy(sorted, v, n * sizeof(*sorted));
	qsort(sorted, n, sizeof(*sorted), cmp_i64);
	CHECK(hdr__count(h) == (int64_t)n, "%s count", name);
	CHECK(hdr__clamped(h) == 0, "%s nothing clamped", name);
	CHECK(hdr__min(h) == sorted[0], "%s min %" PRId64, name, hdr__min(h));
	CHECK(hdr__max(h) == sorted[n - 1], "%s max %" PRId64, name,
	      hdr__max(h));
	check_percentiles(name, h, sorted, n);
	check_moments(name, h, v, n);
	free(sorted);
	hdr__free(h);
}

#define N_BIG 200000

static void test_uniform(void)
{
	int64_t *v = malloc(N_BIG * sizeof(*v));
	size_t i;

	for (i = 0; i < N_BIG; i++)
		v[i] = rng_range(1, 1000000);
	check_dataset("uniform", v, N_BIG);
	free(v);
}

static void test_exponential(void)
{
	int64_t *v = malloc(N_BIG * sizeof(*v));
	size_t i;

	for (i = 0; i < N_BIG; i++)
		v[i] = 1 + (int64_t)(-log(rng_unit()) * 800.0);
	check_dataset("exponential", v, N_BIG);
	free(v);
}

/* 99.9% around 300 us, every 1000th sample a 2..59 s outlier */
static void test_bimodal(void)
{
	int64_t *v = malloc(N_BIG * sizeof(*v));
	size_t i;

	for (i = 0; i < N_BIG; i++)
		v[i] = i % 1000 == 999 ? rng_range(2000000, 59000000) :
					 rng_range(200, 400);
	check_dataset("bimodal", v, N_BIG);
	free(v);
}

static void test_single_value(void)
{
	int64_t v[1000];
	size_t i;

	for (i = 0; i < 1000; i++)
		v[i] = 12345;
	check_dataset("single", v, 1000);
}

/* Bucket and range boundaries; below 2048 every value is exact. */
static void test_edges(void)
{
	static const int64_t edge[] = {
		1, 2, 3, 1023, 1024, 1025, 2047, 2048, 2049, 4095, 4096,
		4097, 1000000, HDR_HIGHEST_US - 1, HDR_HIGHEST_US,
	};
	size_t n = sizeof(edge) / sizeof(edge[0]), i;
	int64_t v[3 * sizeof(edge) / sizeof(edge[0])];
	struct hdr *h;

	for (i = 0; i < 3 * n; i++)
		v[i] = edge[i % n];
	check_dataset("edges", v, 3 * n);
	for (i = 1; i < 2048; i++)
		CHECK(hdr__highest_equivalent((int64_t)i) == (int64_t)i &&
		      hdr__lowest_equivalent((int64_t)i) == (int64_t)i,
		      "value %zu is not exact", i);
	h = hdr__new();
	hdr__record(h, 0);
	CHECK(hdr__count(h) == 1 && hdr__min(h) == 0 && hdr__clamped(h) == 0,
	      "zero is a valid value");
	hdr__free(h);
}

/* Every value in range sits in a bucket narrower than 0.1% of it. */
static void test_bucket_precision(void)
{
	int64_t v, lo, hi;
	int bad = 0;

	for (v = 1; v <= HDR_HIGHEST_US; v = v + 1 + v / 997) {
		lo = hdr__lowest_equivalent(v);
		hi = hdr__highest_equivalent(v);
		if (lo > v || hi < v || (double)(hi - lo) > 0.001 * (double)v)
			bad++;
	}
	CHECK(bad == 0, "%d values with a bucket wider than 0.1%%", bad);
	CHECK(hdr__bucket_count() == 16 && hdr__sub_bucket_count() == 2048,
	      "layout: %d buckets of %d", hdr__bucket_count(),
	      hdr__sub_bucket_count());
}

static void test_clamped(void)
{
	struct hdr *h = hdr__new();
	int i;

	for (i = 0; i < 100; i++)
		hdr__record(h, 500);
	for (i = 0; i < 10; i++)
		hdr__record(h, 1000000000LL);	/* 1000 s */
	for (i = 0; i < 5; i++)
		hdr__record(h, -3);
	CHECK(hdr__count(h) == 115, "clamped values are counted");
	CHECK(hdr__clamped(h) == 15, "clamped counter %" PRId64,
	      hdr__clamped(h));
	CHECK(hdr__max(h) == HDR_HIGHEST_US, "max clamped to range top");
	CHECK(hdr__min(h) == 0, "min clamped to 0");
	CHECK(hdr__value_at_percentile(h, 100) ==
	      hdr__highest_equivalent(HDR_HIGHEST_US), "p100 at range top");
	CHECK(hdr__value_at_percentile(h, 50) == 500, "p50 unaffected");
	hdr__free(h);
}

static void test_empty(void)
{
	struct hdr *h = hdr__new();

	CHECK(hdr__count(h) == 0 && hdr__min(h) == 0 && hdr__max(h) == 0 &&
	      hdr__value_at_percentile(h, 99) == 0 && hdr__mean(h) == 0.0,
	      "empty histogram reads as zeros");
	hdr__free(h);
}

static void compare_hists(const char *name, const struct hdr *a,
			  const struct hdr *b)
{
	int bad = 0;
	double p;

	for (p = 0.0; p <= 100.0; p += 0.1)
		if (hdr__value_at_percentile(a, p) !=
		    hdr__value_at_percentile(b, p))
			bad++;
	CHECK(bad == 0, "%s: %d percentiles differ", name, bad);
	CHECK(hdr__count(a) == hdr__count(b) && hdr__min(a) == hdr__min(b) &&
	      hdr__max(a) == hdr__max(b) && hdr__mean(a) == hdr__mean(b),
	      "%s: count/min/max/mean differ", name);
}

static void test_merge(void)
{
	struct hdr *whole = hdr__new(), *merged = hdr__new(), *part[4];
	int64_t v;
	int i;

	for (i = 0; i < 4; i++)
		part[i] = hdr__new();
	for (i = 0; i < 50000; i++) {
		v = i % 500 ? 1 + (int64_t)(-log(rng_unit()) * 300.0) :
			      rng_range(40000, 60000);
		hdr__record(whole, v);
		hdr__record(part[i % 4], v);
	}
	for (i = 0; i < 4; i++)
		hdr__merge(merged, part[i]);
	compare_hists("merge of 4 parts", whole, merged);
	/* merging an empty histogram changes nothing, min included */
	hdr__reset(part[0]);
	hdr__merge(merged, part[0]);
	compare_hists("merge of empty", whole, merged);
	for (i = 0; i < 4; i++)
		hdr__free(part[i]);
	hdr__free(whole);
	hdr__free(merged);
}

static void test_corrected(void)
{
	struct hdr *h = hdr__new();

	hdr__record_corrected(h, 100, 10);	/* 100, 90, ..., 10 */
	CHECK(hdr__count(h) == 10, "back-fill count %" PRId64, hdr__count(h));
	CHECK(hdr__min(h) == 10 && hdr__max(h) == 100, "back-fill range");
	CHECK(fabs(hdr__mean(h) - 55.0) < 1e-9, "back-fill mean %.3f",
	      hdr__mean(h));
	hdr__reset(h);
	hdr__record_corrected(h, 5, 10);
	hdr__record_corrected(h, 50, 0);
	CHECK(hdr__count(h) == 2, "no back-fill when not late / no interval");
	hdr__free(h);
}

/* --- the printed .hgrm spectrum must parse back --- */

struct spectrum {
	int rows, bad_rows, monotonic;
	double last_pct, p50_value;
	int64_t last_count;
	int last_inf, footer_lines, buckets, sub_buckets;
	int64_t footer_total;
	double footer_max;
};

static void parse_row(struct spectrum *s, const char *line, double *prev_v,
		      double *prev_p, int64_t *prev_c)
{
	double v, p;
	int64_t c;
	char inv[32];

	if (sscanf(line, "%lf %lf %" SCNd64 " %31s", &v, &p, &c, inv) != 4) {
		s->bad_rows++;
		return;
	}
	if (s->rows && (v < *prev_v || p <= *prev_p || c < *prev_c))
		s->monotonic = 0;
	if (p == 0.5)
		s->p50_value = v;
	*prev_v = v;
	*prev_p = p;
	*prev_c = c;
	s->rows++;
	s->last_pct = p;
	s->last_count = c;
	s->last_inf = strcmp(inv, "inf") == 0;
}

static void parse_footer(struct spectrum *s, const char *line)
{
	double mean, sd;

	if (sscanf(line, "#[Mean    = %lf, StdDeviation   = %lf]", &mean,
		   &sd) == 2)
		s->footer_lines++;
	else if (sscanf(line, "#[Max     = %lf, Total count    = %" SCNd64 "]",
			&s->footer_max, &s->footer_total) == 2)
		s->footer_lines++;
	else if (sscanf(line, "#[Buckets = %d, SubBuckets     = %d]",
			&s->buckets, &s->sub_buckets) == 2)
		s->footer_lines++;
}

static int parse_spectrum(FILE *f, struct spectrum *s)
{
	char line[256];
	double pv = 0, pp = 0;
	int64_t pc = 0;
	int n = 0;

	memset(s, 0, sizeof(*s));
	s->monotonic = 1;
	s->p50_value = -1;
	while (fgets(line, sizeof(line), f)) {
		n++;
		if (n == 1 && strcmp(line, "       Value   Percentile   "
				     "TotalCount 1/(1-Percentile)\n"))
			return -1;
		if (n == 2 && strcmp(line, "\n"))
			return -1;
		if (n <= 2)
			continue;
		if (line[0] == '#')
			parse_footer(s, line);
		else
			parse_row(s, line, &pv, &pp, &pc);
	}
	return n >= 5 ? 0 : -1;
}

static void test_print_format(void)
{
	struct hdr *h = hdr__new();
	struct spectrum s;
	FILE *f = tmpfile();
	int i;

	for (i = 0; i < 100000; i++)
		hdr__record(h, 1 + (int64_t)(-log(rng_unit()) * 1500.0));
	hdr__record(h, 52000);
	hdr__record(h, 51000);
	CHECK(f != NULL, "tmpfile");
	if (!f)
		return;
	CHECK(hdr__print_percentiles(h, f, 5, 1000.0) == 0, "print ok");
	rewind(f);
	CHECK(parse_spectrum(f, &s) == 0, "header and blank line");
	CHECK(s.rows > 50 && s.bad_rows == 0, "%d rows, %d unparsable",
	      s.rows, s.bad_rows);
	CHECK(s.monotonic, "values/percentiles/counts monotonic");
	CHECK(s.last_pct == 1.0 && s.last_inf && s.last_count == 100002,
	      "last row is 1.000000 with total count and inf");
	CHECK(fabs(s.p50_value -
		   (double)hdr__value_at_percentile(h, 50) / 1000.0) < 0.0006,
	      "50%% row %.3f matches value_at_percentile", s.p50_value);
	CHECK(s.footer_lines == 3 && s.footer_total == 100002 &&
	      fabs(s.footer_max - 52.0) < 1e-9 && s.buckets == 16 &&
	      s.sub_buckets == 2048, "footer");
	fclose(f);

	/* an empty histogram still prints header and footer */
	f = tmpfile();
	hdr__reset(h);
	hdr__print_percentiles(h, f, 5, 1000.0);
	rewind(f);
	parse_spectrum(f, &s);
	CHECK(s.rows == 0 && s.footer_lines == 3 && s.footer_total == 0,
	      "empty spectrum");
	fclose(f);
	hdr__free(h);
}

int main(void)
{
	test_bucket_precision();
	test_uniform();
	test_exponential();
	test_bimodal();
	test_single_value();
	test_edges();
	test_clamped();
	test_empty();
	test_merge();
	test_corrected();
	test_print_format();
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
