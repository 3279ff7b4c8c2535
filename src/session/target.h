/* SPDX-License-Identifier: MIT */
/*
 * The traced process: checks on a PID, and starting a program held at the
 * door until its probes are attached.
 */
#ifndef OTRACE_TARGET_H
#define OTRACE_TARGET_H

#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "user.h"

struct spawned {
	pid_t pid;
	int go_fd;   /* write a byte to let the child exec */
	int err_fd;  /* the child reports a failed exec here */
	bool creds_failed; /* target__release: taking --user's credentials failed */
};

/* 0 when pid exists, -ESRCH when not, other -errno on failure. */
int target__exists(pid_t pid);
/* Whether pid runs: it exists and is not a zombie. */
bool target__running(pid_t pid);
/* Resolves /proc/PID/exe into path. */
int target__exe_path(pid_t pid, char *path, size_t len);
/*
 * Finds prog like execvp does. Returns 0 with the path, -ENOENT when nothing
 * matches, -EACCES when the only match is not executable.
 */
int target__resolve_program(const char *prog, char *path, size_t len);
/* How the program is started. */
struct spawn_attr {
	bool stdout_to_stderr; /* spans go to stdout: the program's output must not */
	/*
	 * The signals whose disposition otrace changed for itself, and which of
	 * them were ignored when it started: the program gets them as they were.
	 */
	sigset_t changed;
	sigset_t ignored;
	const struct credentials *creds; /* --user; NULL: otrace's own */
};

/* Forks a child that waits, then execs path with argv (signals reset). */
int target__spawn(const char *path, char *const argv[], const struct spawn_attr *attr,
		  struct spawned *sp);
/*
 * Lets the child exec; returns 0 or the child's error (-errno): of exec, or
 * of taking the credentials (then creds_failed).
 */
int target__release(struct spawned *sp);
/* Opens a pidfd that becomes readable when pid exits. */
int target__pidfd(pid_t pid);

#endif
