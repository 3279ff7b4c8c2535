// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "user.h"
#include "unittest.h"

static void write_file(const char *dir, const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
}

static void remove_file(const char *dir, const char *name)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	unlink(path);
}

static void test_lookup(void)
{
	char dir[] = "/tmp/otrace-test-user-XXXXXX";
	struct credentials c;

	CHECK(mkdtemp(dir) != NULL);
	write_file(dir, "passwd",
		   "root:x:0:0:root:/root:/bin/bash\n"
		   "svc:x:1001:1001:A service:/srv/svc:/usr/sbin/nologin\n"
		   "other:x:1002:1002::/home/other:/bin/sh\n");
	write_file(dir, "group",
		   "root:x:0:\n"
		   "svc:x:1001:\n"
		   "adm:x:4:syslog,svc\n"
		   "web:x:33:other,svc\n"
		   "other:x:1002:\n");
	/* by name: its own group first, then every group listing it */
	CHECK(credentials__lookup("svc", dir, &c) == 0);
	CHECK(c.uid == 1001 && c.gid == 1001);
	CHECK_STR(c.name, "svc");
	CHECK_STR(c.home, "/srv/svc");
	CHECK(c.ngroups == 3 && c.groups[0] == 1001 && c.groups[1] == 4 && c.groups[2] == 33);
	credentials__free(&c);
	/* by uid */
	CHECK(credentials__lookup("1002", dir, &c) == 0);
	CHECK_STR(c.name, "other");
	CHECK(c.ngroups == 2 && c.groups[0] == 1002 && c.groups[1] == 33);
	credentials__free(&c);
	/* a name is not a prefix, a uid not a name */
	CHECK(credentials__lookup("sv", dir, &c) == -ENOENT);
	CHECK(credentials__lookup("1003", dir, &c) == -ENOENT);
	CHECK(credentials__lookup("1001x", dir, &c) == -ENOENT);
	CHECK(credentials__lookup("-1", dir, &c) == -ENOENT);
	CHECK(credentials__lookup("root", dir, &c) == 0 && c.ngroups == 1 && c.groups[0] == 0);
	credentials__free(&c);
	/* without a group file, the user's own group */
	remove_file(dir, "group");
	CHECK(credentials__lookup("svc", dir, &c) == 0 && c.ngroups == 1 && c.groups[0] == 1001);
	credentials__free(&c);
	remove_file(dir, "passwd");
	CHECK(credentials__lookup("svc", dir, &c) == -ENOENT);
	rmdir(dir);
}

int main(void)
{
	test_lookup();
	return ut_summary();
}
