// SPDX-License-Identifier: MIT
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "user.h"

static FILE *open_etc(const char *etc, const char *file)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", etc ? etc : "/etc", file);
	return fopen(path, "re");
}

/* A uid written in decimal, and nothing else. */
static bool parse_uid(const char *s, uid_t *uid)
{
	char *end;
	unsigned long v;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > (uid_t)-2)
		return false;
	*uid = (uid_t)v;
	return true;
}

static int find_user(const char *user, const char *etc, struct credentials *creds)
{
	FILE *f = open_etc(etc, "passwd");
	bool by_uid;
	struct passwd *pw;
	uid_t uid = 0;
	int err = -ENOENT;

	if (!f)
		return -errno;
	by_uid = parse_uid(user, &uid);
	while ((pw = fgetpwent(f))) {
		if (by_uid ? pw->pw_uid != uid : strcmp(pw->pw_name, user))
			continue;
		creds->uid = pw->pw_uid;
		creds->gid = pw->pw_gid;
		snprintf(creds->name, sizeof(creds->name), "%s", pw->pw_name);
		snprintf(creds->home, sizeof(creds->home), "%s", pw->pw_dir);
		err = 0;
		break;
	}
	fclose(f);
	return err;
}

static bool is_member(const struct group *gr, const char *name)
{
	for (char **m = gr->gr_mem; m && *m; m++)
		if (!strcmp(*m, name))
			return true;
	return false;
}

static int add_group(struct credentials *creds, gid_t gid)
{
	gid_t *groups;

	for (size_t i = 0; i < creds->ngroups; i++)
		if (creds->groups[i] == gid)
			return 0;
	groups = realloc(creds->groups, (creds->ngroups + 1) * sizeof(*groups));
	if (!groups)
		return -ENOMEM;
	creds->groups = groups;
	creds->groups[creds->ngroups++] = gid;
	return 0;
}

/* The user's own group and every group that lists it, as initgroups does. */
static int find_groups(const char *etc, struct credentials *creds)
{
	FILE *f = open_etc(etc, "group");
	struct group *gr;
	int err = add_group(creds, creds->gid);

	if (!f)
		return errno == ENOENT ? err : -errno;
	while (!err && (gr = fgetgrent(f)))
		if (is_member(gr, creds->name))
			err = add_group(creds, gr->gr_gid);
	fclose(f);
	return err;
}

int credentials__lookup(const char *user, const char *etc, struct credentials *creds)
{
	int err;

	memset(creds, 0, sizeof(*creds));
	err = find_user(user, etc, creds);
	if (!err)
		err = find_groups(etc, creds);
	if (err)
		credentials__free(creds);
	return err;
}

void credentials__free(struct credentials *creds)
{
	free(creds->groups);
	creds->groups = NULL;
	creds->ngroups = 0;
}

int credentials__apply(const struct credentials *creds)
{
	if (setgroups(creds->ngroups, creds->groups) || setgid(creds->gid) ||
	    setuid(creds->uid))
		return -errno;
	if (setenv("HOME", creds->home, 1) || setenv("USER", creds->name, 1) ||
	    setenv("LOGNAME", creds->name, 1))
		return -errno;
	return 0;
}
