/* SPDX-License-Identifier: MIT */
/*
 * The data sink: stdout or a file, one OTLP-JSON document per line. Each
 * line goes out in a single write, so a reader of a pipe never sees half a
 * line and nothing waits in a buffer. A closed pipe is reported, not fatal.
 */
#ifndef OTRACE_OUTPUT_H
#define OTRACE_OUTPUT_H

#include <stddef.h>

struct output;

/*
 * Opens /dev/null on each of fds 0, 1 and 2 that is closed, so that no file
 * otrace opens lands there (diagnostics in the -o file, spans in a binary).
 * Call it first thing; returns 0 or -errno.
 */
int output__guard_std_fds(void);
/* 0 when stdout can take spans; -EBADF when it was closed at start or is read-only. */
int output__check_stdout(void);
/* Creates (mode 0600) or truncates path for writing; returns the fd or -errno. */
int output__create(const char *path);
/* Opens path for writing (output__create), or stdout when path is NULL. */
int output__open(const char *path, struct output **out);
/* Writes line plus a newline. Returns 0, -EPIPE when the reader is gone, or -errno. */
int output__write_line(struct output *o, const char *line, size_t len);
void output__close(struct output *o);

#endif
