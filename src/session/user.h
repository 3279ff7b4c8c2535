/* SPDX-License-Identifier: MIT */
/*
 * --user NAME: who the --exec'd program runs as. Users and groups come from
 * /etc/passwd and /etc/group themselves: otrace is linked statically, so the
 * C library's NSS modules (LDAP, sssd, systemd's dynamic users) are not there.
 */
#ifndef OTRACE_USER_H
#define OTRACE_USER_H

#include <limits.h>
#include <stddef.h>
#include <sys/types.h>

struct credentials {
	uid_t uid;
	gid_t gid;
	gid_t *groups; /* supplementary: every group listing the user, and its own */
	size_t ngroups;
	char name[64];
	char home[PATH_MAX];
};

/*
 * Looks up user (a name, or a numeric uid) in etc's passwd and group files
 * (etc NULL: "/etc"). Returns 0, -ENOENT when there is no such user, or
 * -errno when the files cannot be read.
 */
int credentials__lookup(const char *user, const char *etc, struct credentials *creds);
void credentials__free(struct credentials *creds);
/*
 * In the child about to exec: takes creds's groups, gid and uid (in that
 * order, so that dropping root comes last) and sets HOME, USER and LOGNAME.
 * Returns 0 or -errno.
 */
int credentials__apply(const struct credentials *creds);

#endif
