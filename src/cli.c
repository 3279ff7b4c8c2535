// SPDX-License-Identifier: MIT
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "exitcodes.h"

enum {
	OPT_EXEC = 256,
	OPT_SERVICE_NAME,
	OPT_LIST_PROBES,
	OPT_PLACEMENT,
	OPT_PROPAGATE,
	OPT_DB_STATEMENT,
	OPT_OTLP_ENDPOINT,
	OPT_OTLP_QUEUE,
	OPT_OTLP_FLUSH,
	OPT_RESOURCE,
	OPT_ALL,
	OPT_INCLUDE,
	OPT_EXCLUDE,
	OPT_PORT,
	OPT_MAX_INFLIGHT,
};

static const struct option long_options[] = {
	{ "pid", required_argument, NULL, 'p' },
	{ "binary", required_argument, NULL, 'b' },
	{ "exec", required_argument, NULL, OPT_EXEC },
	{ "all", no_argument, NULL, OPT_ALL },
	{ "include", required_argument, NULL, OPT_INCLUDE },
	{ "exclude", required_argument, NULL, OPT_EXCLUDE },
	{ "port", required_argument, NULL, OPT_PORT },
	{ "output", required_argument, NULL, 'o' },
	{ "user", required_argument, NULL, 'u' },
	{ "service-name", required_argument, NULL, OPT_SERVICE_NAME },
	{ "list-probes", no_argument, NULL, OPT_LIST_PROBES },
	{ "probe-placement", required_argument, NULL, OPT_PLACEMENT },
	{ "propagate", no_argument, NULL, OPT_PROPAGATE },
	{ "db-statement", no_argument, NULL, OPT_DB_STATEMENT },
	{ "max-inflight", required_argument, NULL, OPT_MAX_INFLIGHT },
	{ "otlp-endpoint", required_argument, NULL, OPT_OTLP_ENDPOINT },
	{ "otlp-queue-spans", required_argument, NULL, OPT_OTLP_QUEUE },
	{ "otlp-flush-timeout", required_argument, NULL, OPT_OTLP_FLUSH },
	{ "resource", required_argument, NULL, OPT_RESOURCE },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

void cli__usage(FILE *out)
{
	fputs("Usage: otrace [OPTIONS] -p PID[,PID...]\n"
	      "       otrace [OPTIONS] -b BINARY\n"
	      "       otrace [OPTIONS] --all [--include PAT] [--exclude PAT] [--port N]\n"
	      "       otrace [OPTIONS] --exec PROG [ARGS...]\n"
	      "       otrace [OPTIONS] -- PROG [ARGS...]\n"
	      "       otrace --list-probes [-o FILE] (BINARY | -b BINARY | -p PID[,PID...])\n"
	      "\n"
	      "Trace Go programs with eBPF uprobes; export their spans over OTLP/HTTP or write\n"
	      "them as OTLP-JSON lines.\n"
	      "\n"
	      "  -p, --pid PID[,PID...]  trace these running Go processes (at most 64; -p may\n"
	      "                          be repeated, a PID given twice counts once); ends\n"
	      "                          when all of them have exited\n"
	      "  -b, --binary BINARY     trace every process running the Go executable BINARY,\n"
	      "                          now or started later, until SIGINT/SIGTERM\n"
	      "      --all               trace every Go process on the host that uses a library\n"
	      "                          otrace instruments, running now or started later,\n"
	      "                          until SIGINT/SIGTERM; others are skipped quietly\n"
	      "      --include PATTERN   with --all, trace only processes that match (repeatable:\n"
	      "                          any one); a PATTERN with '/' is a glob on the\n"
	      "                          executable's path ('/srv/*'), one without a glob on\n"
	      "                          the process name or the executable's file name\n"
	      "      --exclude PATTERN   with --all, skip the processes that match (repeatable)\n"
	      "      --port N            with --all, trace only processes listening on TCP port\n"
	      "                          N (repeatable: any one)\n"
	      "      --exec PROG ARGS    start PROG traced; probes are attached before it runs;\n"
	      "                          every later argument goes to PROG; PROG's stdout goes\n"
	      "                          to otrace's stderr while spans go to stdout\n"
	      "  -u, --user NAME         run the --exec'd PROG as user NAME (uid, gid and\n"
	      "                          groups from /etc/passwd and /etc/group; HOME, USER,\n"
	      "                          LOGNAME set); without it PROG runs as otrace's user\n"
	      "  -o, --output FILE       write spans as JSON lines to FILE (created 0600)\n"
	      "                          instead of stdout ('-': stdout)\n"
	      "      --otlp-endpoint URL export spans over OTLP/HTTP to URL (/v1/traces when\n"
	      "                          it has no path); also OTEL_EXPORTER_OTLP_ENDPOINT or\n"
	      "                          OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, and the other\n"
	      "                          OTEL_EXPORTER_OTLP_* variables (see otrace(8))\n"
	      "      --otlp-queue-spans N  spans waiting for export at most (default 16384;\n"
	      "                          more are dropped and counted as queue_full)\n"
	      "      --otlp-flush-timeout MS  at exit, time to send what is queued (default\n"
	      "                          5000)\n"
	      "      --service-name NAME service.name of the spans (default: OTEL_SERVICE_NAME,\n"
	      "                          else the executable's name)\n"
	      "      --resource KEY=VALUE  a resource attribute (repeatable); wins over\n"
	      "                          OTEL_RESOURCE_ATTRIBUTES of otrace and of the process\n"
	      "      --db-statement      record the text of database statements\n"
	      "                          (db.query.text); off by default: statements may\n"
	      "                          hold secrets and personal data\n"
	      "      --propagate         write W3C traceparent into outgoing HTTP and gRPC\n"
	      "                          requests so the next service continues the trace\n"
	      "                          (writes into the traced program's memory: off by\n"
	      "                          default)\n"
	      "      --max-inflight N    requests in progress otrace keeps track of at once, in\n"
	      "                          each of its maps (64 to 4194304; default: 16384 for\n"
	      "                          most); beyond, new ones are lost and counted\n"
	      "      --list-probes       print the probe plan as JSON (to -o FILE if given) and\n"
	      "                          exit (several PIDs: an array, one plan per distinct\n"
	      "                          executable)\n"
	      "  -v, --verbose           more diagnostics on stderr (repeat for libbpf's)\n"
	      "  -h, --help              show this help and exit\n"
	      "  -V, --version           show the version and exit\n"
	      "\n"
	      "Diagnostics:\n"
	      "      --probe-placement=entry-ret\n"
	      "                          put probes where other tracers do (function entry\n"
	      "                          and every ret, single-stepped by the kernel) to\n"
	      "                          measure what placement costs; default: emulated\n"
	      "\n"
	      "Without an endpoint, spans go to stdout as JSON lines (or to -o FILE); with\n"
	      "one, they are exported, and also written as JSON lines when -o is given.\n"
	      "Each output line is one OTLP/JSON ExportTraceServiceRequest.\n"
	      "Exit codes: 0 ok, 1 runtime error, 2 usage, 3 no such process, 4 not a Go\n"
	      "program, 5 nothing to trace, 6 program not found, 7 program not executable,\n"
	      "8 missing privilege, 9 output not writable, 10 kernel lacks BTF or uprobes,\n"
	      "11 bad export or resource settings (OTEL_* variables, --otlp-endpoint),\n"
	      "12 writing spans failed, 13 --exec: left the program running on a second\n"
	      "signal; with --exec, the program's own exit status. See otrace(8).\n",
	      out);
}

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return EXIT_USAGE;
}

/* Parses the decimal PID in s[0..len); only digits, no sign or blanks. */
static int parse_pid(const char *s, size_t len, pid_t *pid)
{
	long long v = 0;

	if (len == 0)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (s[i] - '0');
		if (v > INT_MAX)
			return -EINVAL;
	}
	if (v == 0)
		return -EINVAL;
	*pid = (pid_t)v;
	return 0;
}

int cli__parse_pid_list(const char *s, pid_t *pids, size_t *npids, char *err, size_t errlen)
{
	size_t n = *npids;
	pid_t parsed[OTRACE_MAX_PIDS];
	const char *p = s;

	memcpy(parsed, pids, n * sizeof(*pids));
	for (;;) {
		const char *comma = strchrnul(p, ',');
		size_t len = (size_t)(comma - p), i;
		pid_t pid;

		if (parse_pid(p, len, &pid)) {
			if (!strchr(s, ','))
				return fail(err, errlen, "invalid PID '%s'", s);
			if (len == 0)
				return fail(err, errlen, "invalid PID list '%s': empty entry", s);
			return fail(err, errlen, "invalid PID '%.*s' in '%s'", (int)len, p, s);
		}
		for (i = 0; i < n && parsed[i] != pid; i++)
			;
		if (i == n) {
			if (n == OTRACE_MAX_PIDS)
				return fail(err, errlen, "too many PIDs: at most %d", OTRACE_MAX_PIDS);
			parsed[n++] = pid;
		}
		if (!*comma)
			break;
		p = comma + 1;
	}
	memcpy(pids, parsed, n * sizeof(*pids));
	*npids = n;
	return 0;
}

static bool env_set(const char *name)
{
	const char *v = getenv(name);

	return v && *v;
}

/* A decimal count no larger than max. */
static int parse_count(const char *s, long long max, long long *v)
{
	*v = 0;
	if (!*s)
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		*v = *v * 10 + (*s - '0');
		if (*v > max)
			return -EINVAL;
	}
	return 0;
}

/* Appends s to the owned array *v of *n strings. */
static int append_arg(char ***v, size_t *n, char *s)
{
	char **r = realloc(*v, (*n + 1) * sizeof(*r));

	if (!r)
		return -ENOMEM;
	*v = r;
	r[(*n)++] = s;
	return 0;
}

/* --include or --exclude PATTERN */
static int add_pattern(char ***v, size_t *n, char *pattern, const char *opt, char *err,
		       size_t errlen)
{
	char why[PATH_MAX + 64];

	if (filter__check_glob(pattern, why, sizeof(why)))
		return fail(err, errlen, "%s: %s", opt, why);
	if (append_arg(v, n, pattern))
		return fail(err, errlen, "out of memory");
	return 0;
}

static int add_port(struct otrace_opts *opts, const char *s, char *err, size_t errlen)
{
	uint16_t port;

	if (filter__parse_port(s, &port))
		return fail(err, errlen, "--port takes a TCP port from 1 to 65535, not '%s'", s);
	for (size_t i = 0; i < opts->nports; i++)
		if (opts->ports[i] == port)
			return 0;
	if (opts->nports == FILTER_MAX_PORTS)
		return fail(err, errlen, "too many ports: at most %d", FILTER_MAX_PORTS);
	opts->ports[opts->nports++] = port;
	return 0;
}

/* Copies PROG and the arguments after it into a NULL-terminated vector. */
static char **collect_argv(const char *prog, char **rest, int nrest)
{
	char **v = calloc(nrest + 2, sizeof(*v));

	if (!v)
		return NULL;
	v[0] = (char *)prog;
	for (int i = 0; i < nrest; i++)
		v[i + 1] = rest[i];
	return v;
}

/*
 * getopt stopped at a non-option: with --list-probes it is the BINARY, and
 * options may follow it (--list-probes FILE -v); otherwise it is PROG.
 */
static bool take_list_binary(int argc, char **argv, struct otrace_opts *opts)
{
	if (!opts->list_probes || opts->list_binary || optind >= argc ||
	    !strcmp(argv[optind - 1], "--"))
		return false;
	opts->list_binary = argv[optind++];
	return true;
}

int cli__parse(int argc, char **argv, struct otrace_opts *opts, char *err, size_t errlen)
{
	const char *exec_prog = NULL;
	long long count;
	int c;

	memset(opts, 0, sizeof(*opts));
	opts->otlp_flush_timeout_ms = -1;
	err[0] = '\0';
	optind = 0; /* full reset, so the parser can run more than once */
	opterr = 0;
	/* '+': stop at the first non-option, which belongs to the program */
	while (!exec_prog) {
		c = getopt_long(argc, argv, "+:p:b:o:u:vhV", long_options, NULL);
		if (c == -1 && take_list_binary(argc, argv, opts))
			continue;
		if (c == -1)
			break;
		switch (c) {
		case 'p':
			if (cli__parse_pid_list(optarg, opts->pids, &opts->npids, err, errlen))
				return EXIT_USAGE;
			break;
		case 'b':
			if (!*optarg)
				return fail(err, errlen, "--binary needs a file name");
			if (opts->binary)
				return fail(err, errlen, "--binary may be given once");
			opts->binary = optarg;
			break;
		case OPT_EXEC:
			exec_prog = optarg;
			break;
		case 'o':
			opts->output = optarg;
			break;
		case 'u':
			if (!*optarg)
				return fail(err, errlen, "--user needs a user name");
			opts->user = optarg;
			break;
		case OPT_SERVICE_NAME:
			if (!*optarg)
				return fail(err, errlen, "--service-name must not be empty");
			opts->service_name = optarg;
			break;
		case OPT_PLACEMENT:
			if (strcmp(optarg, "emulated") && strcmp(optarg, "entry-ret"))
				return fail(err, errlen,
					    "--probe-placement takes emulated or entry-ret, not '%s'",
					    optarg);
			opts->probe_placement = optarg;
			break;
		case OPT_LIST_PROBES:
			opts->list_probes = true;
			break;
		case OPT_PROPAGATE:
			opts->propagate = true;
			break;
		case OPT_DB_STATEMENT:
			opts->db_statement = true;
			break;
		case OPT_MAX_INFLIGHT:
			if (parse_count(optarg, OTRACE_INFLIGHT_MAX, &count) ||
			    count < OTRACE_INFLIGHT_MIN)
				return fail(err, errlen,
					    "--max-inflight takes a count from %d to %d, not '%s'",
					    OTRACE_INFLIGHT_MIN, OTRACE_INFLIGHT_MAX, optarg);
			opts->max_inflight = (uint32_t)count;
			break;
		case OPT_OTLP_ENDPOINT:
			if (!*optarg)
				return fail(err, errlen, "--otlp-endpoint needs a URL");
			opts->otlp_endpoint = optarg;
			break;
		case OPT_OTLP_QUEUE:
			if (parse_count(optarg, 1 << 24, &count) || count < 1)
				return fail(err, errlen,
					    "--otlp-queue-spans takes a count from 1 to %d, not '%s'",
					    1 << 24, optarg);
			opts->otlp_queue_spans = (size_t)count;
			break;
		case OPT_OTLP_FLUSH:
			if (parse_count(optarg, 3600000, &count))
				return fail(err, errlen,
					    "--otlp-flush-timeout takes milliseconds (0 to 3600000), "
					    "not '%s'",
					    optarg);
			opts->otlp_flush_timeout_ms = (int)count;
			break;
		case OPT_RESOURCE:
			if (!strchr(optarg, '=') || optarg[0] == '=')
				return fail(err, errlen, "--resource takes KEY=VALUE, not '%s'",
					    optarg);
			if (append_arg(&opts->resources, &opts->nresources, optarg))
				return fail(err, errlen, "out of memory");
			break;
		case OPT_ALL:
			opts->all = true;
			break;
		case OPT_INCLUDE:
			if (add_pattern(&opts->include, &opts->ninclude, optarg, "--include", err,
					errlen))
				return EXIT_USAGE;
			break;
		case OPT_EXCLUDE:
			if (add_pattern(&opts->exclude, &opts->nexclude, optarg, "--exclude", err,
					errlen))
				return EXIT_USAGE;
			break;
		case OPT_PORT:
			if (add_port(opts, optarg, err, errlen))
				return EXIT_USAGE;
			break;
		case 'v':
			opts->verbose++;
			break;
		case 'h':
			opts->help = true;
			break;
		case 'V':
			opts->version = true;
			break;
		case ':':
			return fail(err, errlen, "option '%s' needs an argument", argv[optind - 1]);
		default:
			if (optopt)
				return fail(err, errlen, "unknown option '-%c'", optopt);
			return fail(err, errlen, "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (opts->help || opts->version)
		return 0;

	if (exec_prog) {
		opts->exec_argv = collect_argv(exec_prog, argv + optind, argc - optind);
	} else if (optind < argc) {
		bool after_dashes = optind > 0 && strcmp(argv[optind - 1], "--") == 0;

		if (after_dashes && !opts->list_probes) {
			opts->exec_argv =
				collect_argv(argv[optind], argv + optind + 1, argc - optind - 1);
		} else if (opts->list_probes && !opts->list_binary && optind == argc - 1) {
			opts->list_binary = argv[optind];
		} else {
			return fail(err, errlen, "unexpected argument '%s' (use --exec PROG)",
				    argv[optind]);
		}
	}
	if ((opts->exec_argv || exec_prog) && !opts->exec_argv)
		return fail(err, errlen, "out of memory");

	if (!opts->all && (opts->ninclude || opts->nexclude || opts->nports))
		return fail(err, errlen, "--include, --exclude and --port choose among --all's "
					 "processes: give --all");
	if (opts->list_probes) {
		if (opts->all)
			return fail(err, errlen,
				    "--list-probes takes one BINARY, -b BINARY or -p PID, not --all");
		if (opts->user)
			return fail(err, errlen, "--user is for the program --exec starts");
		if (!!opts->npids + !!opts->list_binary + !!opts->binary + !!opts->exec_argv != 1)
			return fail(err, errlen,
				    "--list-probes needs exactly one BINARY, -b BINARY or -p PID");
		if (opts->binary)
			opts->list_binary = opts->binary;
		if (opts->output && !*opts->output)
			return fail(err, errlen, "-o needs a file name");
		return 0;
	}
	if (!!opts->npids + !!opts->binary + !!opts->exec_argv + opts->all > 1)
		return fail(err, errlen, "-p, --binary, --exec and --all cannot be combined");
	if (!opts->npids && !opts->binary && !opts->exec_argv && !opts->all)
		return fail(err, errlen,
			    "nothing to trace: give -p PID, --binary BINARY, --exec PROG or --all");
	if (opts->user && !opts->exec_argv)
		return fail(err, errlen, "--user is for the program --exec starts");
	if (opts->output && !*opts->output)
		return fail(err, errlen, "-o needs a file name");
	if ((opts->otlp_queue_spans || opts->otlp_flush_timeout_ms >= 0) && !opts->otlp_endpoint &&
	    !env_set("OTEL_EXPORTER_OTLP_ENDPOINT") && !env_set("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))
		return fail(err, errlen,
			    "--otlp-queue-spans and --otlp-flush-timeout need an endpoint "
			    "(--otlp-endpoint or OTEL_EXPORTER_OTLP_ENDPOINT)");
	return 0;
}

void cli__free(struct otrace_opts *opts)
{
	free(opts->exec_argv);
	opts->exec_argv = NULL;
	free(opts->resources);
	opts->resources = NULL;
	opts->nresources = 0;
	free(opts->include);
	opts->include = NULL;
	opts->ninclude = 0;
	free(opts->exclude);
	opts->exclude = NULL;
	opts->nexclude = 0;
}
