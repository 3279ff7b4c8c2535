// SPDX-License-Identifier: MIT
/* --all's process filters: globs, ports, verdicts, /proc/net/tcp lines. */
#include <errno.h>
#include <stdint.h>

#include "filter.h"
#include "unittest.h"

static void test_globs(void)
{
	char err[128];

	CHECK(filter__check_glob("/srv/*", err, sizeof(err)) == 0);
	CHECK(filter__check_glob("api-[0-9]*", err, sizeof(err)) == 0);
	CHECK(filter__check_glob("[]]x", err, sizeof(err)) == 0);
	CHECK(filter__check_glob("[!a]", err, sizeof(err)) == 0);
	CHECK(filter__check_glob("a\\*", err, sizeof(err)) == 0);
	CHECK(filter__check_glob("", err, sizeof(err)) == -EINVAL);
	CHECK(strstr(err, "empty") != NULL);
	CHECK(filter__check_glob("/srv/[ab", err, sizeof(err)) == -EINVAL);
	CHECK(strstr(err, "unclosed") != NULL);
	CHECK(filter__check_glob("[]", err, sizeof(err)) == -EINVAL);
	CHECK(filter__check_glob("x\\", err, sizeof(err)) == -EINVAL);
	CHECK(strstr(err, "backslash") != NULL);
}

static void test_ports(void)
{
	uint16_t port = 0;

	CHECK(filter__parse_port("8080", &port) == 0 && port == 8080);
	CHECK(filter__parse_port("65535", &port) == 0 && port == 65535);
	CHECK(filter__parse_port("0", &port) == -EINVAL);
	CHECK(filter__parse_port("65536", &port) == -EINVAL);
	CHECK(filter__parse_port("-1", &port) == -EINVAL);
	CHECK(filter__parse_port("80a", &port) == -EINVAL);
	CHECK(filter__parse_port("", &port) == -EINVAL);
}

static void test_verdicts(void)
{
	char *inc[] = { "/srv/*" }, *exc[] = { "/srv/legacy/*" }, *names[] = { "api*" };
	struct process_filter none = {}, path = { .include = inc, .ninclude = 1, .exclude = exc,
						   .nexclude = 1 };
	struct process_filter byname = { .include = names, .ninclude = 1 };
	struct process_filter port = { .ports = { 8080 }, .nports = 1 };

	CHECK(!filter__per_process(&none));
	CHECK(filter__executable(&none, "/usr/bin/x") == FILTER_IN);
	CHECK(!filter__per_process(&path));
	CHECK(filter__executable(&path, "/srv/a/api") == FILTER_IN);
	CHECK(filter__executable(&path, "/srv/legacy/api") == FILTER_OUT);
	CHECK(filter__executable(&path, "/opt/api") == FILTER_OUT);
	CHECK(filter__per_process(&byname));
	CHECK(filter__executable(&byname, "/opt/x") == FILTER_PER_PROCESS);
	CHECK(filter__names(&byname, "/opt/api-server", "whatever"));
	CHECK(filter__names(&byname, "/opt/x", "api-7"));
	CHECK(!filter__names(&byname, "/opt/x", "web"));
	CHECK(filter__per_process(&port));
	CHECK(filter__executable(&port, "/opt/x") == FILTER_PER_PROCESS);
	CHECK(filter__names(&port, "/opt/x", "x"));
}

static void test_listen_lines(void)
{
	struct process_filter f = { .ports = { 8080, 443 }, .nports = 2 };
	unsigned long inode = 0;

	CHECK(filter__listen_line(&f,
				  "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 "
				  "00:00000000 00000000     0        0 123456 1 0000000000000000 "
				  "100 0 0 10 0",
				  &inode) &&
	      inode == 123456);
	/* an established connection from that port is no listener */
	CHECK(!filter__listen_line(&f,
				   "   1: 0100007F:1F90 0100007F:D2A4 01 00000000:00000000 "
				   "00:00000000 00000000     0        0 654321 1",
				   &inode));
	CHECK(!filter__listen_line(&f,
				   "   2: 00000000:0016 00000000:0000 0A 00000000:00000000 "
				   "00:00000000 00000000     0        0 777 1",
				   &inode));
	CHECK(filter__listen_line(&f,
				  "   0: 00000000000000000000000000000000:01BB "
				  "00000000000000000000000000000000:0000 0A 00000000:00000000 "
				  "00:00000000 00000000     0        0 999 1",
				  &inode) &&
	      inode == 999);
	CHECK(!filter__listen_line(&f, "  sl  local_address rem_address   st tx_queue", &inode));
}

int main(void)
{
	test_globs();
	test_ports();
	test_verdicts();
	test_listen_lines();
	return ut_summary();
}
