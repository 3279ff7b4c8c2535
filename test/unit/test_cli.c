// SPDX-License-Identifier: MIT
#include "../../src/cli.h"
#include "../../src/exitcodes.h"
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
	CHECK(o.pid == 4242 && !o.exec_argv && !o.output);
	cli__free(&o);
	CHECK(PARSE(&o, err, "--pid=17", "-o", "spans.jsonl", "--service-name", "api") == 0);
	CHECK(o.pid == 17);
	CHECK_STR(o.output, "spans.jsonl");
	CHECK_STR(o.service_name, "api");
	CHECK(!o.db_statement);
	cli__free(&o);
	/* --db-statement is off unless asked for; an option of otrace, not of PROG */
	CHECK(PARSE(&o, err, "--db-statement", "-p", "9") == 0);
	CHECK(o.db_statement && o.pid == 9);
	cli__free(&o);
	CHECK(PARSE(&o, err, "--exec", "./srv", "--db-statement") == 0);
	CHECK(!o.db_statement);
	CHECK_STR(o.exec_argv[1], "--db-statement");
	cli__free(&o);
	CHECK(PARSE(&o, err, "--db-statement=yes", "-p", "9") == EXIT_USAGE);
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
	CHECK(PARSE(&o, err, "-p", "1,2") == EXIT_USAGE);
	cli__free(&o);
}

static void test_exec(void)
{
	struct otrace_opts o;
	char err[256];

	/* options after PROG belong to PROG */
	CHECK(PARSE(&o, err, "-o", "f", "--exec", "./server", "--port", "8080", "-p", "1") == 0);
	CHECK(o.exec_argv && o.pid == 0);
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
	CHECK(o.list_probes && o.pid == 9);
	cli__free(&o);
	CHECK(PARSE(&o, err, "--list-probes") == EXIT_USAGE);
	cli__free(&o);
	CHECK(PARSE(&o, err, "--list-probes", "a", "b") == EXIT_USAGE);
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

int main(void)
{
	test_pid();
	test_exec();
	test_errors();
	test_list_and_info();
	return ut_summary();
}
