// SPDX-License-Identifier: MIT
/*
 * loadgen.c - wrk2hdr: constant-throughput HTTP/1.1 load generator with
 * coordinated-omission-free latency (wrk2 semantics), HdrHistogram output.
 *
 * This file: command line, target resolution, the request, main().
 * The load loop is in worker.c, the output in report.c.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "loadgen.h"

enum { OPT_JSON = 256, OPT_HGRM, OPT_WARMUP, OPT_TIMEOUT, OPT_CLOSED };

static const struct option long_opts[] = {
	{ "rate", required_argument, NULL, 'R' },
	{ "duration", required_argument, NULL, 'd' },
	{ "connections", required_argument, NULL, 'c' },
	{ "threads", required_argument, NULL, 't' },
	{ "header", required_argument, NULL, 'H' },
	{ "latency", no_argument, NULL, 'L' },
	{ "uncorrected", no_argument, NULL, 'U' },
	{ "json", required_argument, NULL, OPT_JSON },
	{ "hgrm", required_argument, NULL, OPT_HGRM },
	{ "warmup", required_argument, NULL, OPT_WARMUP },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "closed-loop", no_argument, NULL, OPT_CLOSED },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: wrk2hdr -R RATE [options] http://HOST[:PORT][/PATH]\n"
		"       wrk2hdr --closed-loop [options] http://HOST[:PORT][/PATH]\n"
		"  -R, --rate N          total requests/sec, constant schedule "
		"(required; k suffix ok)\n"
		"  -d, --duration T      recorded duration, e.g. 10s, 2m "
		"(default 10s)\n"
		"  -c, --connections N   connections (default 10)\n"
		"  -t, --threads N       threads, connections split across "
		"them (default 2)\n"
		"  -H, --header 'K: V'   add a request header (repeatable)\n"
		"  -L, --latency         print the detailed percentile "
		"spectrum\n"
		"  -U, --uncorrected     also print latency measured from the "
		"actual send time\n"
		"      --json FILE       write a JSON summary (latencies in "
		"us)\n"
		"      --hgrm FILE       write the percentile spectrum "
		"(.hgrm)\n"
		"      --warmup T        run T before recording (default 0)\n"
		"      --timeout T       response timeout (default 2s)\n"
		"      --closed-loop     no schedule: each connection sends its "
		"next request\n"
		"                        as soon as the previous response is "
		"in (saturation\n"
		"                        throughput; latency is uncorrected; "
		"no -R)\n"
		"  -h, --help            this help\n"
		"Durations take us, ms, s, m or h (plain numbers are "
		"seconds).\n");
}

/* "1.5s", "500ms", "2m", "10" (seconds) -> ns; -1 if malformed */
static int64_t parse_duration(const char *s)
{
	static const struct {
		const char *unit;
		double ns;
	} units[] = {
		{ "", 1e9 }, { "s", 1e9 }, { "ms", 1e6 }, { "us", 1e3 },
		{ "m", 60e9 }, { "h", 3600e9 },
	};
	char *end;
	double v = strtod(s, &end);
	size_t i;

	if (end == s || v < 0)
		return -1;
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (!strcmp(end, units[i].unit))
			return (int64_t)(v * units[i].ns);
	return -1;
}

static double parse_rate(const char *s)
{
	char *end;
	double v = strtod(s, &end);

	if (*end == 'k' || *end == 'K') {
		v *= 1e3;
		end++;
	}
	return end == s || *end || v <= 0 ? -1.0 : v;
}

static int parse_count(const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);

	return end == s || *end || v < 1 || v > 100000 ? -1 : (int)v;
}

/* http://host[:port][/path] with an IPv4 (or localhost) host. */
static int parse_url(struct config *cfg, const char *url)
{
	const char *h = url + 7, *end;
	size_t hlen;

	if (strncasecmp(url, "http://", 7)) {
		fprintf(stderr, "wrk2hdr: only http:// URLs: %s\n", url);
		return -1;
	}
	end = h + strcspn(h, ":/");
	hlen = (size_t)(end - h);
	if (!hlen || hlen >= sizeof(cfg->host))
		return -1;
	memcpy(cfg->host, h, hlen);
	cfg->host[hlen] = '\0';
	strcpy(cfg->port, "80");
	if (*end == ':') {
		size_t plen = strcspn(end + 1, "/");

		if (!plen || plen >= sizeof(cfg->port))
			return -1;
		memcpy(cfg->port, end + 1, plen);
		cfg->port[plen] = '\0';
		end += 1 + plen;
	}
	cfg->path = *end ? end : "/";
	cfg->url = url;
	return 0;
}

static int resolve(struct config *cfg)
{
	struct addrinfo hints = { .ai_family = AF_INET,
				  .ai_socktype = SOCK_STREAM };
	struct addrinfo *ai;
	int rc = getaddrinfo(cfg->host, cfg->port, &hints, &ai);

	if (rc) {
		fprintf(stderr, "wrk2hdr: %s:%s: %s\n", cfg->host, cfg->port,
			gai_strerror(rc));
		return -1;
	}
	memcpy(&cfg->addr, ai->ai_addr, sizeof(cfg->addr));
	freeaddrinfo(ai);
	return 0;
}

static bool has_header(const struct config *cfg, const char *name)
{
	size_t n = strlen(name);
	int i;

	for (i = 0; i < cfg->nheaders; i++)
		if (!strncasecmp(cfg->headers[i], name, n) &&
		    cfg->headers[i][n] == ':')
			return true;
	return false;
}

/* The GET every connection sends, keep-alive being HTTP/1.1's default. */
static int build_request(struct config *cfg)
{
	size_t len = strlen(cfg->path) + strlen(cfg->host) + 64;
	char *r, *p;
	int i;

	for (i = 0; i < cfg->nheaders; i++)
		len += strlen(cfg->headers[i]) + 2;
	r = malloc(len);
	if (!r)
		return -1;
	p = r + sprintf(r, "GET %s HTTP/1.1\r\n", cfg->path);
	if (!has_header(cfg, "Host"))
		p += sprintf(p, strcmp(cfg->port, "80") ? "Host: %s:%s\r\n" :
			     "Host: %s\r\n", cfg->host, cfg->port);
	for (i = 0; i < cfg->nheaders; i++)
		p += sprintf(p, "%s\r\n", cfg->headers[i]);
	p += sprintf(p, "\r\n");
	cfg->request = r;
	cfg->request_len = (size_t)(p - r);
	return 0;
}

static int add_header(struct config *cfg, const char *h)
{
	if (cfg->nheaders == MAX_HEADERS || !strchr(h, ':') ||
	    strpbrk(h, "\r\n")) {
		fprintf(stderr, "wrk2hdr: bad or too many headers: %s\n", h);
		return -1;
	}
	cfg->headers[cfg->nheaders++] = h;
	return 0;
}

static int bad_value(const char *opt, const char *v)
{
	fprintf(stderr, "wrk2hdr: invalid value for %s: %s\n", opt, v);
	return -1;
}

static int parse_opt(struct config *cfg, int c, const char *arg)
{
	switch (c) {
	case 'R':
		cfg->rate = parse_rate(arg);
		return cfg->rate > 0 ? 0 : bad_value("-R", arg);
	case 'd':
		cfg->duration_ns = parse_duration(arg);
		return cfg->duration_ns > 0 ? 0 : bad_value("-d", arg);
	case 'c':
		cfg->connections = parse_count(arg);
		return cfg->connections > 0 ? 0 : bad_value("-c", arg);
	case 't':
		cfg->threads = parse_count(arg);
		return cfg->threads > 0 ? 0 : bad_value("-t", arg);
	case 'H':
		return add_header(cfg, arg);
	case 'L':
		cfg->latency = true;
		return 0;
	case 'U':
		cfg->uncorrected = true;
		return 0;
	case OPT_JSON:
		cfg->json_path = arg;
		return 0;
	case OPT_HGRM:
		cfg->hgrm_path = arg;
		return 0;
	case OPT_WARMUP:
		cfg->warmup_ns = parse_duration(arg);
		return cfg->warmup_ns >= 0 ? 0 : bad_value("--warmup", arg);
	case OPT_TIMEOUT:
		cfg->timeout_ns = parse_duration(arg);
		return cfg->timeout_ns > 0 ? 0 : bad_value("--timeout", arg);
	case OPT_CLOSED:
		cfg->closed = true;
		return 0;
	default:
		return -1;
	}
}

/* Returns 0 to run, 1 for --help, -1 on a usage error. */
static int parse_args(struct config *cfg, int argc, char **argv)
{
	int c;

	cfg->duration_ns = 10 * NSEC_PER_SEC;
	cfg->timeout_ns = 2 * NSEC_PER_SEC;
	cfg->connections = 10;
	cfg->threads = 2;
	while ((c = getopt_long(argc, argv, "R:d:c:t:H:LUh", long_opts,
				NULL)) != -1) {
		if (c == 'h')
			return 1;
		if (parse_opt(cfg, c, optarg) < 0)
			return -1;
	}
	if (cfg->closed && cfg->rate > 0) {
		fprintf(stderr, "wrk2hdr: --closed-loop takes no -R\n");
		return -1;
	}
	if (optind != argc - 1 || (cfg->rate <= 0 && !cfg->closed)) {
		fprintf(stderr, "wrk2hdr: need -R RATE (or --closed-loop) "
			"and one URL\n");
		return -1;
	}
	if (cfg->threads > cfg->connections)
		cfg->threads = cfg->connections;
	return parse_url(cfg, argv[optind]);
}

static void on_signal(int sig)
{
	(void)sig;
	atomic_store(&loadgen_stop, 1);
}

static void setup_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

static int write_outputs(const struct config *cfg, const struct result *res)
{
	int err = 0;

	report_summary(cfg, res);
	if (cfg->json_path)
		err |= report_json(cfg, res, cfg->json_path);
	if (cfg->hgrm_path)
		err |= report_hgrm(cfg, res, cfg->hgrm_path);
	return err;
}

int main(int argc, char **argv)
{
	static struct config cfg;
	struct result res;
	int rc = parse_args(&cfg, argc, argv);

	if (rc) {
		usage(rc > 0 ? stdout : stderr);
		return rc > 0 ? 0 : 2;
	}
	if (resolve(&cfg) || build_request(&cfg))
		return 1;
	setup_signals();
	report_start(&cfg);
	rc = run_load(&cfg, &res);
	if (!rc)
		rc = write_outputs(&cfg, &res);
	if (!rc && res.n.completed == 0) {
		fprintf(stderr, "wrk2hdr: no response was received\n");
		rc = -1;
	}
	hdr__free(res.corrected);
	hdr__free(res.uncorrected);
	free(cfg.request);
	return rc ? 1 : 0;
}
