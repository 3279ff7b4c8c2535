// SPDX-License-Identifier: MIT
/*
 * report.c - wrk2hdr output: wrk2-like text summary, the .hgrm spectrum
 * and a JSON summary for scripts.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loadgen.h"

/* Same ticks and unit as wrk2: rows in milliseconds. */
#define SPECTRUM_TICKS	5
#define US_PER_MS	1000.0

static const double summary_pcts[] = {
	50, 75, 90, 99, 99.9, 99.99, 99.999, 100,
};

static void fmt_us(char *buf, size_t len, double us)
{
	if (us < 1000.0)
		snprintf(buf, len, "%.2fus", us);
	else if (us < 1000000.0)
		snprintf(buf, len, "%.2fms", us / 1000.0);
	else
		snprintf(buf, len, "%.2fs", us / 1000000.0);
}

static void fmt_bytes(char *buf, size_t len, double b)
{
	static const char *unit[] = { "B", "KB", "MB", "GB", "TB" };
	int u = 0;

	while (b >= 1024.0 && u < 4) {
		b /= 1024.0;
		u++;
	}
	snprintf(buf, len, "%.2f%s", b, unit[u]);
}

static void fmt_seconds(char *buf, size_t len, int64_t ns)
{
	snprintf(buf, len, "%gs", (double)ns / NSEC_PER_SEC);
}

void report_start(const struct config *cfg)
{
	char d[32], wu[32];

	fmt_seconds(d, sizeof(d), cfg->duration_ns);
	fmt_seconds(wu, sizeof(wu), cfg->warmup_ns);
	printf("Running %s test @ %s\n", d, cfg->url);
	printf("  %d threads and %d connections, ", cfg->threads,
	       cfg->connections);
	if (cfg->closed)
		printf("closed loop (no rate, uncorrected latency)");
	else
		printf("%.0f requests/sec", cfg->rate);
	if (cfg->warmup_ns)
		printf(" (after %s warm-up)", wu);
	printf("\n");
	fflush(stdout);
}

static void print_distribution(const struct config *cfg, const struct hdr *h,
			       const char *title)
{
	char v[32];
	size_t i;

	printf("  Latency Distribution (HdrHistogram - %s)\n", title);
	for (i = 0; i < sizeof(summary_pcts) / sizeof(summary_pcts[0]); i++) {
		fmt_us(v, sizeof(v),
		       (double)hdr__value_at_percentile(h, summary_pcts[i]));
		printf("%7.3f%% %9s\n", summary_pcts[i], v);
	}
	if (!cfg->latency)
		return;
	printf("\n  Detailed Percentile spectrum:\n");
	hdr__print_percentiles(h, stdout, SPECTRUM_TICKS, US_PER_MS);
	printf("----------------------------------------------------------\n");
}

static void print_stats_line(const struct hdr *h)
{
	char avg[32], sd[32], max[32];

	fmt_us(avg, sizeof(avg), hdr__mean(h));
	fmt_us(sd, sizeof(sd), hdr__stddev(h));
	fmt_us(max, sizeof(max), (double)hdr__max(h));
	printf("  Thread Stats   Avg      Stdev     Max\n");
	printf("    Latency %9s %9s %9s\n", avg, sd, max);
}

static void print_counts(const struct result *res)
{
	const struct counters *n = &res->n;
	char b[32], bps[32];
	double secs = res->duration_s > 0 ? res->duration_s : 1.0;

	fmt_bytes(b, sizeof(b), (double)n->bytes);
	fmt_bytes(bps, sizeof(bps), (double)n->bytes / secs);
	printf("  %" PRId64 " requests in %.2fs, %s read%s\n", n->completed,
	       res->duration_s, b, res->interrupted ? " (interrupted)" : "");
	if (n->err_connect || n->err_read || n->err_write || n->err_timeout)
		printf("  Socket errors: connect %" PRId64 ", read %" PRId64
		       ", write %" PRId64 ", timeout %" PRId64 "\n",
		       n->err_connect, n->err_read, n->err_write,
		       n->err_timeout);
	if (n->err_parse)
		printf("  Malformed responses: %" PRId64 "\n", n->err_parse);
	if (n->non2xx)
		printf("  Non-2xx responses: %" PRId64 "\n", n->non2xx);
	if (n->unsent)
		printf("  Due but never sent (backlog at end): %" PRId64 "\n",
		       n->unsent);
	printf("Requests/sec: %10.2f\n", (double)n->completed / secs);
	printf("Transfer/sec: %10s\n", bps);
}

void report_summary(const struct config *cfg, const struct result *res)
{
	print_stats_line(res->corrected);
	print_distribution(cfg, res->corrected, "Recorded Latency");
	if (cfg->uncorrected)
		print_distribution(cfg, res->uncorrected,
				   "Uncorrected Latency (measured from the "
				   "actual send time, hides coordinated "
				   "omission)");
	print_counts(res);
}

static void json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(f, "\\u%04x", (unsigned char)*s);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

static void json_latency(FILE *f, const char *name, const struct hdr *h,
			 const char *sep)
{
	fprintf(f, "    \"%s\": {\"count\": %" PRId64 ", \"min\": %" PRId64
		", \"p50\": %" PRId64 ", \"p90\": %" PRId64 ", \"p99\": %"
		PRId64 ", \"p99_9\": %" PRId64 ", \"p99_99\": %" PRId64
		", \"max\": %" PRId64 ", \"mean\": %.1f, \"stddev\": %.1f}%s\n",
		name, hdr__count(h), hdr__min(h),
		hdr__value_at_percentile(h, 50),
		hdr__value_at_percentile(h, 90),
		hdr__value_at_percentile(h, 99),
		hdr__value_at_percentile(h, 99.9),
		hdr__value_at_percentile(h, 99.99), hdr__max(h), hdr__mean(h),
		hdr__stddev(h), sep);
}

static void json_body(FILE *f, const struct config *cfg,
		      const struct result *res)
{
	const struct counters *n = &res->n;

	fprintf(f, "{\n  \"tool\": \"wrk2hdr\",\n  \"url\": ");
	json_string(f, cfg->url);
	fprintf(f, ",\n  \"mode\": \"%s\"",
		cfg->closed ? "closed" : "constant");
	fprintf(f, ",\n  \"rate_target\": %.3f,\n  \"threads\": %d,\n"
		"  \"connections\": %d,\n  \"duration_s\": %.3f,\n"
		"  \"warmup_s\": %.3f,\n  \"interrupted\": %s,\n",
		cfg->rate, cfg->threads, cfg->connections, res->duration_s,
		(double)cfg->warmup_ns / NSEC_PER_SEC,
		res->interrupted ? "true" : "false");
	fprintf(f, "  \"requests\": %" PRId64 ",\n  \"bytes_read\": %" PRId64
		",\n  \"achieved_rate\": %.3f,\n  \"unsent\": %" PRId64 ",\n",
		n->completed, n->bytes,
		res->duration_s > 0 ? (double)n->completed / res->duration_s :
				      0.0, n->unsent);
	fprintf(f, "  \"errors\": {\"connect\": %" PRId64 ", \"read\": %"
		PRId64 ", \"write\": %" PRId64 ", \"timeout\": %" PRId64
		", \"non2xx\": %" PRId64 ", \"parse\": %" PRId64 "},\n",
		n->err_connect, n->err_read, n->err_write, n->err_timeout,
		n->non2xx, n->err_parse);
	fprintf(f, "  \"latency_us\": {\n");
	json_latency(f, "corrected", res->corrected, ",");
	json_latency(f, "uncorrected", res->uncorrected, "");
	fprintf(f, "  }\n}\n");
}

static int close_checked(FILE *f, const char *path)
{
	int err = ferror(f);

	if (fclose(f) || err) {
		fprintf(stderr, "wrk2hdr: error writing %s\n", path);
		return -1;
	}
	return 0;
}

int report_json(const struct config *cfg, const struct result *res,
		const char *path)
{
	FILE *f = fopen(path, "w");

	if (!f) {
		perror(path);
		return -1;
	}
	json_body(f, cfg, res);
	return close_checked(f, path);
}

static int write_spectrum(const struct hdr *h, const char *path)
{
	FILE *f = fopen(path, "w");

	if (!f) {
		perror(path);
		return -1;
	}
	hdr__print_percentiles(h, f, SPECTRUM_TICKS, US_PER_MS);
	return close_checked(f, path);
}

/* "x.hgrm" -> "x.uncorrected.hgrm"; other names get ".uncorrected". */
static char *uncorrected_name(const char *path)
{
	size_t len = strlen(path);
	char *name = malloc(len + sizeof(".uncorrected.hgrm"));
	bool ext = len > 5 && !strcmp(path + len - 5, ".hgrm");

	if (!name)
		return NULL;
	memcpy(name, path, ext ? len - 5 : len);
	strcpy(name + (ext ? len - 5 : len),
	       ext ? ".uncorrected.hgrm" : ".uncorrected");
	return name;
}

int report_hgrm(const struct config *cfg, const struct result *res,
		const char *path)
{
	char *other;
	int err = write_spectrum(res->corrected, path);

	if (!cfg->uncorrected)
		return err;
	other = uncorrected_name(path);
	if (!other)
		return -1;
	err |= write_spectrum(res->uncorrected, other);
	free(other);
	return err;
}
