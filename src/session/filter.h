/* SPDX-License-Identifier: MIT */
/*
 * Which processes --all traces: --include and --exclude patterns (a pattern
 * with a '/' is a glob on the executable's path, one without is a glob on
 * the process name: its comm or the executable's file name) and --port
 * (listening on one of these TCP ports). A process is traced when some
 * include matches (or none is given), no exclude matches, and it listens on
 * one of the ports (or none is given).
 */
#ifndef OTRACE_FILTER_H
#define OTRACE_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define FILTER_MAX_PORTS 16

struct process_filter {
	char *const *include;
	size_t ninclude;
	char *const *exclude;
	size_t nexclude;
	uint16_t ports[FILTER_MAX_PORTS];
	size_t nports;
};

enum filter_verdict {
	FILTER_OUT,	/* no process running this executable is traced */
	FILTER_IN,	/* every process running it is */
	FILTER_PER_PROCESS, /* its processes are decided one by one */
};

/* 0 when pattern is a well-formed glob, else -EINVAL with the reason in err. */
int filter__check_glob(const char *pattern, char *err, size_t errlen);
/* Parses a TCP port, 1 to 65535; 0 or -EINVAL. */
int filter__parse_port(const char *s, uint16_t *port);
/* Whether the filter decides per process (a name pattern, a port) anywhere. */
bool filter__per_process(const struct process_filter *f);
/* What the executable's path alone decides. */
enum filter_verdict filter__executable(const struct process_filter *f, const char *exe);
/* Whether the names (comm, the executable's path) pass the patterns. */
bool filter__names(const struct process_filter *f, const char *exe, const char *comm);
/*
 * Whether a line of /proc/net/tcp or tcp6 is a listening socket on one of
 * the ports; its inode in *inode.
 */
bool filter__listen_line(const struct process_filter *f, const char *line, unsigned long *inode);
/* Whether process pid listens on one of f's ports (its own network namespace's view). */
bool filter__listens(const struct process_filter *f, pid_t pid);

#endif
