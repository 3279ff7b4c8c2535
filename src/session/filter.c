// SPDX-License-Identifier: MIT
#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "filter.h"

/* Sockets one process may listen on that a --port check looks at. */
#define LISTEN_INODES_MAX 64

int filter__check_glob(const char *pattern, char *err, size_t errlen)
{
	if (!*pattern) {
		snprintf(err, errlen, "empty pattern");
		return -EINVAL;
	}
	for (const char *p = pattern; *p; p++) {
		if (*p == '\\') {
			if (!p[1]) {
				snprintf(err, errlen, "pattern '%s' ends in a lone backslash", pattern);
				return -EINVAL;
			}
			p++;
		} else if (*p == '[') {
			const char *q = p + 1;

			if (*q == '!' || *q == '^')
				q++;
			if (*q == ']')
				q++; /* a leading ] is a member */
			while (*q && *q != ']')
				q++;
			if (!*q || q == p + 1) {
				snprintf(err, errlen, "pattern '%s' has an unclosed '['", pattern);
				return -EINVAL;
			}
			p = q;
		}
	}
	return 0;
}

int filter__parse_port(const char *s, uint16_t *port)
{
	long v = 0;

	if (!*s)
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		v = v * 10 + (*s - '0');
		if (v > 65535)
			return -EINVAL;
	}
	if (!v)
		return -EINVAL;
	*port = (uint16_t)v;
	return 0;
}

static bool is_path_pattern(const char *pattern)
{
	return strchr(pattern, '/') != NULL;
}

bool filter__per_process(const struct process_filter *f)
{
	if (f->nports)
		return true;
	for (size_t i = 0; i < f->ninclude; i++)
		if (!is_path_pattern(f->include[i]))
			return true;
	for (size_t i = 0; i < f->nexclude; i++)
		if (!is_path_pattern(f->exclude[i]))
			return true;
	return false;
}

static bool matches(const char *pattern, const char *exe, const char *comm)
{
	const char *base;

	if (is_path_pattern(pattern))
		return !fnmatch(pattern, exe, 0);
	base = strrchr(exe, '/');
	base = base ? base + 1 : exe;
	return !fnmatch(pattern, base, 0) || (comm && !fnmatch(pattern, comm, 0));
}

enum filter_verdict filter__executable(const struct process_filter *f, const char *exe)
{
	bool names = false, included = !f->ninclude;

	for (size_t i = 0; i < f->nexclude; i++) {
		if (!is_path_pattern(f->exclude[i]))
			names = true;
		else if (matches(f->exclude[i], exe, NULL))
			return FILTER_OUT;
	}
	for (size_t i = 0; i < f->ninclude; i++) {
		if (!is_path_pattern(f->include[i]))
			names = true;
		else if (matches(f->include[i], exe, NULL))
			included = true;
	}
	/* an include by name may still take it */
	if (!included && !names)
		return FILTER_OUT;
	return names || f->nports ? FILTER_PER_PROCESS : FILTER_IN;
}

bool filter__names(const struct process_filter *f, const char *exe, const char *comm)
{
	bool included = !f->ninclude;

	for (size_t i = 0; i < f->nexclude; i++)
		if (matches(f->exclude[i], exe, comm))
			return false;
	for (size_t i = 0; i < f->ninclude && !included; i++)
		included = matches(f->include[i], exe, comm);
	return included;
}

bool filter__listen_line(const struct process_filter *f, const char *line, unsigned long *inode)
{
	unsigned int port, state;
	char local[64];

	/* "  0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 INODE" */
	if (sscanf(line, " %*u: %63[0-9A-Fa-f]:%x %*[0-9A-Fa-f]:%*x %x %*x:%*x %*x:%*x %*x %*u %*u %lu",
		   local, &port, &state, inode) != 4)
		return false;
	if (state != 0x0a) /* TCP_LISTEN */
		return false;
	for (size_t i = 0; i < f->nports; i++)
		if (f->ports[i] == port)
			return true;
	return false;
}

/* Adds the inodes of pid's listening sockets on f's ports from file (tcp or tcp6). */
static void listening_inodes(const struct process_filter *f, const char *file,
			     unsigned long *inodes, size_t *n)
{
	char line[512];
	FILE *in = fopen(file, "re");

	if (!in)
		return;
	while (fgets(line, sizeof(line), in) && *n < LISTEN_INODES_MAX)
		if (filter__listen_line(f, line, &inodes[*n]))
			(*n)++;
	fclose(in);
}

/* Whether one of pid's open files is the socket of one of the inodes. */
static bool holds_socket(pid_t pid, const unsigned long *inodes, size_t n)
{
	char dir[32], link[300], target[64];
	struct dirent *d;
	bool found = false;
	DIR *fds;

	snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
	fds = opendir(dir);
	if (!fds)
		return false;
	while (!found && (d = readdir(fds))) {
		unsigned long ino;
		ssize_t len;

		if (d->d_name[0] == '.')
			continue;
		snprintf(link, sizeof(link), "%s/%s", dir, d->d_name);
		len = readlink(link, target, sizeof(target) - 1);
		if (len <= 0)
			continue;
		target[len] = '\0';
		if (sscanf(target, "socket:[%lu]", &ino) != 1)
			continue;
		for (size_t i = 0; i < n && !found; i++)
			found = inodes[i] == ino;
	}
	closedir(fds);
	return found;
}

bool filter__listens(const struct process_filter *f, pid_t pid)
{
	unsigned long inodes[LISTEN_INODES_MAX];
	char file[64];
	size_t n = 0;

	/* the process's own network namespace: a container's sockets are not the host's */
	snprintf(file, sizeof(file), "/proc/%d/net/tcp", (int)pid);
	listening_inodes(f, file, inodes, &n);
	snprintf(file, sizeof(file), "/proc/%d/net/tcp6", (int)pid);
	listening_inodes(f, file, inodes, &n);
	return n && holds_socket(pid, inodes, n);
}
