// SPDX-License-Identifier: MIT
#include <stdlib.h>

#include "cli.h"
#include "exitcodes.h"
#include "unittest.h"

static int parse(struct otrace_opts *o, char *err, int argc, char **argv)
{
	return cli__parse(argc, argv, o, err, 256);
}

#define ARGV(...) ((char *[]){ "otrace", __VA_ARGS__, NULL })
#define ARGC(...) ((int)(sizeof((char *[]){ "otrace", __VA_ARGS__ }) / sizeof(char *)))
#define PARSE(o, err, ...) parse(o, err, ARGC(__VA_ARGS__), ARGV(__VA_ARGS__))

static void test_pid(void)
{
	struct otrace_opts o;
	char err[256];

	CHECK(PARSE(&o, err, "-p", "4242") == 0);
	CHECK(o.npids == 1 && o.pids[0] == 4242 && !o.exec_argv && !o.output && !o.binary);
	cli__free(&o);
	CHECK(PARSE(&o, err, "--pid=17", "-o", "spans.jsonl", "--service-name", "api") == 0);
	CHECK(o.npids == 1 && o.pids[0] == 17);
	CHECK_STR(o.output, "spans.jsonl");
	CHECK_STR(o.service_name, "api");
	CHECK(!o.db_statement);
	cli__free(&o);
	/* --db-statement is off unless asked for; an option of otrace, not of PROG */
	CHECK(PARSE(&o, err, "--db-statement", "-p", "9") == 0);
	CHECK(o.db_statement && o.npids == 1 && o.pids[0] == 9);
	cli__free(&o);
	CHECK(PARSE(&o, err, "--exec", "./srv", "--db-statement") == 0);
	CHECK(!o.db_statement);
	CHECK_STR(o.exec_argv[1], "--db-statement");
	cli__free(&o);
	CHECK(PARSE(&o, err, "--db-statement=yes", "-p", "9") == EXIT_USAGE);
	cli__free(&o);
	/* --propagate: off unless asked for */
	CHECK(PARSE(&o, err, "-p", "9") == 0 && !o.propagate);
	cli__free(&o);
	CHECK(PARSE(&o, err, "--propagate", "-p", "9") == 0 && o.propagate);
	cli__free(&o);
	CHECK(PARSE(&o, err, "-p", "abc") == EXIT_USAGE);
	CHECK(strstr(err, "invalid PID") != NULL);
	cli__free(&o);
	CHECK(PARSE(&o, err, "-p", "0") == EXIT_USAGE);
	cli__free(&o);
	CHECK(PARSE(&o, err, "-p", "12x") == EXIT_USAGE);
	cli__free(&o);
	CHECK(PARSE(&o, err, "-p", "99999999999") == EXIT_USAGE);
	cli__free(&o);
	CHECK(PARSE(&o, err, "-p", "") == EXIT_USAGE);
	CHECK(strstr(err, "invalid PID") != NULL);
	cli__free(&o);
	CHECK(PARSE(&o, err, "-p", "-5") == EXIT_USAGE);
	cli__free(&o);
	CHECK(PARSE(&o, err, "-p", "+5") == EXIT_USAGE);
	cli__free(&o);
	CHECK(PARSE(&o, err, "-p", " 5") == EXIT_USAGE);
	cli__free(&o);
}

/* parses s into a fresh list; returns the parser's result */
static int pid_list(const char *s, pid_t *pids, size_t *n, char *err)
{
	*n = 0;
	return cli__parse_pid_list(s, pids, n, err, 256);
}

static void test_pid_list(void)
{
	pid_t pids[OTRACE_MAX_PIDS];
	char err[256], many[OTRACE_MAX_PIDS * 8 + 16];
	struct otrace_opts o;
	size_t n, used = 0;

	CHECK(pid_list("12,34,56", pids, &n, err) == 0);
	CHECK(n == 3 && pids[0] == 12 && pids[1] == 34 && pids[2] == 56);
	CHECK(pid_list("7", pids, &n, err) == 0);
	CHECK(n == 1 && pids[0] == 7);
	/* duplicates count once, in the order first given */
	CHECK(pid_list("5,3,5,3,9", pids, &n, err) == 0);
	CHECK(n == 3 && pids[0] == 5 && pids[1] == 3 && pids[2] == 9);
	CHECK(pid_list("2147483647", pids, &n, err) == 0 && pids[0] == 2147483647);

	/* bad syntax: EXIT_USAGE, a one-line reason naming the culprit, list untouched */
	pids[0] = 99;
	CHECK(pid_list("1,abc", pids, &n, err) == EXIT_USAGE);
	CHECK(strstr(err, "'abc'") != NULL && !strchr(err, '\n'));
	CHECK(n == 0 && pids[0] == 99);
	CHECK(pid_list(",", pids, &n, err) == EXIT_USAGE);
	CHECK(strstr(err, "empty") != NULL);
	CHECK(pid_list("1,", pids, &n, err) == EXIT_USAGE);
	CHECK(pid_list(",1", pids, &n, err) == EXIT_USAGE);
	CHECK(pid_list("1,,2", pids, &n, err) == EXIT_USAGE);
	CHECK(pid_list("1,0", pids, &n, err) == EXIT_USAGE);
	CHECK(strstr(err, "'0'") != NULL);
	CHECK(pid_list("1, 2", pids, &n, err) == EXIT_USAGE);
	CHECK(pid_list("1;2", pids, &n, err) == EXIT_USAGE);
	CHECK(pid_list("1,2147483648", pids, &n, err) == EXIT_USAGE);
	CHECK(pid_list("1,99999999999999999999", pids, &n, err) == EXIT_USAGE);

	/* the cap: OTRACE_MAX_PIDS distinct PIDs fit, one more does not */
	for (int i = 1; i <= OTRACE_MAX_PIDS; i++)
		used += (size_t)snprintf(many + used, sizeof(many) - used, "%s%d", i > 1 ? "," : "",
					 1000 + i);
	CHECK(pid_list(many, pids, &n, err) == 0 && n == OTRACE_MAX_PIDS);
	CHECK(pids[OTRACE_MAX_PIDS - 1] == 1000 + OTRACE_MAX_PIDS);
	snprintf(many + used, sizeof(many) - used, ",1000,1001"); /* a duplicate and a new one */
	CHECK(pid_list(many, pids, &n, err) == EXIT_USAGE);
	CHECK(strstr(err, "too many PIDs") != NULL);
	CHECK(n == 0);

	/* through the option parser: lists, repeated -p, dedup across them */
	CHECK(PARSE(&o, err, "-p", "12,34", "--pid=56", "-p", "34") == 0);
	CHECK(o.npids == 3 && o.pids[0] == 12 && o.pids[1] == 34 && o.pids[2] == 56);
	cli__free(&o);
	CHECK(PARSE(&o, err, "-p", "1,abc") == EXIT_USAGE);
	CHECK(strstr(err, "invalid PID 'abc'") != NULL);
	cli__free(&o);
	CHECK(PARSE(&o, err, "-p", ",") == EXIT_USAGE);
	cli__free(&o);
	CHECK(PARSE(&o, err, "-p", "1,2", "--exec", "./srv") == EXIT_USAGE);
	cli__free(&o);
}

static void test_binary(void)
{
	struct otrace_opts o;
	char err[256];

	CHECK(PARSE(&o, err, "--binary", "/srv/api", "-o", "f") == 0);
	CHECK_STR(o.binary, "/srv/api");
	CHECK(o.npids == 0 && !o.exec_argv && !o.list_probes);
	cli__free(&o);
	CHECK(PARSE(&o, err, "-b", "./api") == 0);
	CHECK_STR(o.binary, "./api");
	cli__free(&o);
	CHECK(PARSE(&o, err, "-b", "./api", "-p", "1") == EXIT_USAGE);
	CHECK(strstr(err, "cannot be combined") != NULL);
	cli__free(&o);
	CHECK(PARSE(&o, err, "-b", "./api", "--exec", "./api") == EXIT_USAGE);
	cli__free(&o);
	CHECK(PARSE(&o, err, "-b", "./a", "-b", "./b") == EXIT_USAGE);
	cli__free(&o);
	CHECK(PARSE(&o, err, "-b", "") == EXIT_USAGE);
	cli__free(&o);
	CHECK(PARSE(&o, err, "--list-probes", "-b", "./api") == 0);
	CHECK_STR(o.list_binary, "./api");
	cli__free(&o);
	CHECK(PARSE(&o, err, "--list-probes", "-b", "./api", "./other") == EXIT_USAGE);
	cli__free(&o);
}

static void test_exec(void)
{
	struct otrace_opts o;
	char err[256];

	/* options after PROG belong to PROG */
	CHECK(PARSE(&o, err, "-o", "f", "--exec", "./server", "--port", "8080", "-p", "1") == 0);
	CHECK(o.exec_argv && o.npids == 0);
	CHECK_STR(o.exec_argv[0], "./server");
	CHECK_STR(o.exec_argv[1], "--port");
	CHECK_STR(o.exec_argv[3], "-p");
	CHECK(o.exec_argv[5] == NULL);
	cli__free(&o);
	CHECK(PARSE(&o, err, "-v", "--", "./server", "-x") == 0);
	CHECK(o.exec_argv && o.verbose == 1);
	CHECK_STR(o.exec_argv[0], "./server");
	CHECK_STR(o.exec_argv[1], "-x");
	cli__free(&o);
	CHECK(PARSE(&o, err, "--exec=./srv") == 0);
	CHECK_STR(o.exec_argv[0], "./srv");
	CHECK(o.exec_argv[1] == NULL);
	cli__free(&o);
	CHECK(PARSE(&o, err, "-p", "5", "--exec", "./srv") == EXIT_USAGE);
	cli__free(&o);
	/* --user: for the program --exec starts, and only that */
	CHECK(PARSE(&o, err, "-u", "svc", "--exec", "./srv", "-u", "x") == 0);
	CHECK_STR(o.user, "svc");
	CHECK_STR(o.exec_argv[2], "x");
	cli__free(&o);
	CHECK(PARSE(&o, err, "--user=svc", "--", "./srv") == 0);
	CHECK_STR(o.user, "svc");
	cli__free(&o);
	CHECK(PARSE(&o, err, "--user", "svc", "-p", "5") == EXIT_USAGE);
	CHECK(strstr(err, "--user") != NULL);
	cli__free(&o);
	CHECK(PARSE(&o, err, "--user", "svc", "-b", "./srv") == EXIT_USAGE);
	cli__free(&o);
	CHECK(PARSE(&o, err, "--user", "svc", "--list-probes", "./srv") == EXIT_USAGE);
	cli__free(&o);
	CHECK(PARSE(&o, err, "--user", "", "--exec", "./srv") == EXIT_USAGE);
	cli__free(&o);
	CHECK(PARSE(&o, err, "--exec", "./srv", "--user") == 0);
	CHECK(!o.user);
	cli__free(&o);
}

static void test_errors(void)
{
	struct otrace_opts o;
	char err[256];

	CHECK(parse(&o, err, 1, (char *[]){ "otrace", NULL }) == EXIT_USAGE);
	CHECK(strstr(err, "nothing to trace") != NULL);
	cli__free(&o);
	CHECK(PARSE(&o, err, "--bogus") == EXIT_USAGE);
	CHECK(strstr(err, "--bogus") != NULL);
	cli__free(&o);
	CHECK(PARSE(&o, err, "-z") == EXIT_USAGE);
	CHECK(strstr(err, "-z") != NULL);
	cli__free(&o);
	CHECK(PARSE(&o, err, "-p") == EXIT_USAGE);
	CHECK(strstr(err, "needs an argument") != NULL);
	cli__free(&o);
	CHECK(PARSE(&o, err, "./server") == EXIT_USAGE);
	cli__free(&o);
	CHECK(PARSE(&o, err, "-p", "3", "-o", "") == EXIT_USAGE);
	cli__free(&o);
	CHECK(PARSE(&o, err, "--service-name", "", "-p", "3") == EXIT_USAGE);
	cli__free(&o);
}

static void test_list_and_info(void)
{
	struct otrace_opts o;
	char err[256];

	CHECK(PARSE(&o, err, "--list-probes", "/bin/x") == 0);
	CHECK(o.list_probes);
	CHECK_STR(o.list_binary, "/bin/x");
	cli__free(&o);
	CHECK(PARSE(&o, err, "--list-probes", "-p", "9") == 0);
	CHECK(o.list_probes && o.npids == 1 && o.pids[0] == 9);
	cli__free(&o);
	CHECK(PARSE(&o, err, "--list-probes", "-p", "9,10") == 0);
	CHECK(o.list_probes && o.npids == 2);
	cli__free(&o);
	CHECK(PARSE(&o, err, "--list-probes") == EXIT_USAGE);
	cli__free(&o);
	CHECK(PARSE(&o, err, "--list-probes", "a", "b") == EXIT_USAGE);
	cli__free(&o);
	/* options after the BINARY, and the BINARY after -- */
	CHECK(PARSE(&o, err, "--list-probes", "/bin/x", "-v") == 0);
	CHECK_STR(o.list_binary, "/bin/x");
	CHECK(o.verbose == 1 && !o.exec_argv);
	cli__free(&o);
	CHECK(PARSE(&o, err, "--list-probes", "/bin/x", "-o", "plan.json", "--propagate") == 0);
	CHECK_STR(o.list_binary, "/bin/x");
	CHECK_STR(o.output, "plan.json");
	CHECK(o.propagate);
	cli__free(&o);
	CHECK(PARSE(&o, err, "--list-probes", "--", "/bin/x") == 0);
	CHECK_STR(o.list_binary, "/bin/x");
	CHECK(!o.exec_argv);
	cli__free(&o);
	CHECK(PARSE(&o, err, "--list-probes", "--", "-v") == 0);
	CHECK_STR(o.list_binary, "-v");
	CHECK(o.verbose == 0);
	cli__free(&o);
	CHECK(PARSE(&o, err, "--list-probes", "/bin/x", "-v", "/bin/y") == EXIT_USAGE);
	CHECK(strstr(err, "'/bin/y'") != NULL);
	cli__free(&o);
	CHECK(PARSE(&o, err, "--list-probes", "--", "/bin/x", "/bin/y") == EXIT_USAGE);
	cli__free(&o);
	CHECK(PARSE(&o, err, "--list-probes", "/bin/x", "--", "/bin/y") == EXIT_USAGE);
	cli__free(&o);
	CHECK(PARSE(&o, err, "--list-probes", "-o", "", "/bin/x") == EXIT_USAGE);
	cli__free(&o);
	CHECK(PARSE(&o, err, "--help") == 0 && o.help);
	cli__free(&o);
	CHECK(PARSE(&o, err, "-V") == 0 && o.version);
	cli__free(&o);
	CHECK(PARSE(&o, err, "-vv", "-p", "1") == 0 && o.verbose == 2);
	cli__free(&o);
	CHECK(PARSE(&o, err, "--probe-placement=entry-ret", "-p", "1") == 0);
	CHECK_STR(o.probe_placement, "entry-ret");
	cli__free(&o);
	CHECK(PARSE(&o, err, "--probe-placement", "fast", "-p", "1") == EXIT_USAGE);
	cli__free(&o);
}

static void test_export(void)
{
	struct otrace_opts o;
	char err[256];

	unsetenv("OTEL_EXPORTER_OTLP_ENDPOINT");
	unsetenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
	CHECK(PARSE(&o, err, "-p", "1") == 0);
	CHECK(!o.otlp_endpoint && !o.otlp_queue_spans && o.otlp_flush_timeout_ms == -1);
	CHECK(o.nresources == 0);
	cli__free(&o);
	CHECK(PARSE(&o, err, "--otlp-endpoint", "http://c:4318", "--otlp-queue-spans", "50",
		    "--otlp-flush-timeout=0", "-p", "1") == 0);
	CHECK_STR(o.otlp_endpoint, "http://c:4318");
	CHECK(o.otlp_queue_spans == 50 && o.otlp_flush_timeout_ms == 0);
	cli__free(&o);
	CHECK(PARSE(&o, err, "--otlp-endpoint", "", "-p", "1") == EXIT_USAGE);
	cli__free(&o);
	CHECK(PARSE(&o, err, "--otlp-endpoint", "h", "--otlp-queue-spans", "0", "-p", "1") ==
	      EXIT_USAGE);
	CHECK(strstr(err, "--otlp-queue-spans") != NULL);
	cli__free(&o);
	CHECK(PARSE(&o, err, "--otlp-endpoint", "h", "--otlp-queue-spans", "1e3", "-p", "1") ==
	      EXIT_USAGE);
	cli__free(&o);
	CHECK(PARSE(&o, err, "--otlp-endpoint", "h", "--otlp-flush-timeout", "5s", "-p", "1") ==
	      EXIT_USAGE);
	cli__free(&o);
	/* queue and flush settings mean nothing without an endpoint */
	CHECK(PARSE(&o, err, "--otlp-queue-spans", "5", "-p", "1") == EXIT_USAGE);
	CHECK(strstr(err, "need an endpoint") != NULL);
	cli__free(&o);
	setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318", 1);
	CHECK(PARSE(&o, err, "--otlp-queue-spans", "5", "-p", "1") == 0);
	cli__free(&o);
	unsetenv("OTEL_EXPORTER_OTLP_ENDPOINT");

	/* --resource KEY=VALUE, repeatable, in order; the value may hold '=' */
	CHECK(PARSE(&o, err, "--resource", "a=1", "--resource=b=x=y", "-p", "1") == 0);
	CHECK(o.nresources == 2);
	CHECK_STR(o.resources[0], "a=1");
	CHECK_STR(o.resources[1], "b=x=y");
	cli__free(&o);
	CHECK(PARSE(&o, err, "--resource", "novalue", "-p", "1") == EXIT_USAGE);
	CHECK(strstr(err, "KEY=VALUE") != NULL);
	cli__free(&o);
	CHECK(PARSE(&o, err, "--resource", "=v", "-p", "1") == EXIT_USAGE);
	cli__free(&o);
}

/* --max-inflight N: a count within bounds; 0 (the default) without it */
static void test_max_inflight(void)
{
	struct otrace_opts o;
	char err[256];

	CHECK(PARSE(&o, err, "-p", "1") == 0 && o.max_inflight == 0);
	cli__free(&o);
	CHECK(PARSE(&o, err, "--max-inflight", "100000", "-p", "1") == 0);
	CHECK(o.max_inflight == 100000);
	cli__free(&o);
	CHECK(PARSE(&o, err, "--max-inflight=64", "--all") == 0 && o.max_inflight == 64);
	cli__free(&o);
	CHECK(PARSE(&o, err, "--max-inflight", "63", "-p", "1") == EXIT_USAGE);
	CHECK(strstr(err, "--max-inflight takes a count from 64 to 4194304") != NULL);
	cli__free(&o);
	CHECK(PARSE(&o, err, "--max-inflight", "4194305", "-p", "1") == EXIT_USAGE);
	cli__free(&o);
	CHECK(PARSE(&o, err, "--max-inflight", "1k", "-p", "1") == EXIT_USAGE);
	cli__free(&o);
}

int main(void)
{
	test_pid();
	test_pid_list();
	test_binary();
	test_exec();
	test_errors();
	test_list_and_info();
	test_export();
	test_max_inflight();
	return ut_summary();
}
