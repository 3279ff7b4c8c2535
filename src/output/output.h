/* SPDX-License-Identifier: MIT */
/*
 * The data sink: stdout or a file, one OTLP-JSON document per line. Each
 * line goes out in a single write, so a reader of a pipe never sees half a
 * line and nothing waits in a buffer. A line a full disk took only in part
 * is cut off again. A reader that stalls a non-blocking output (EAGAIN) gets
 * its lines from a bounded queue once it reads again; what does not fit in
 * the queue is refused, for the caller to count. A non-blocking pipe gets a
 * line only when empty, grown to hold it, so that its reader never has part
 * of one; elsewhere a line the reader got in part is finished before others.
 */
#ifndef OTRACE_OUTPUT_H
#define OTRACE_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>

/* bytes queued for a stalled reader at most (one line longer than this waits alone) */
#define OUTPUT_QUEUE_MAX (4u << 20)

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
/* The file name, or "standard output", for messages. */
const char *output__name(const struct output *o);
int output__fd(const struct output *o);
/*
 * Writes line plus a newline, a line of nspans spans. Returns 0 when written
 * or queued behind a stalled reader; -ENOBUFS when the queue is full (the
 * line is not written); -EPIPE when the reader is gone; other -errno on
 * failure, a line written in part to a regular file being cut off again.
 */
int output__write_line(struct output *o, const char *line, size_t len, size_t nspans);
/*
 * Lines wait for a stalled reader: call output__drain when the fd polls
 * POLLOUT if output__wants_pollout, else (a pipe) now and then. These and
 * output__begun take NULL (no output: spans are only exported) as never stalled.
 */
bool output__stalled(const struct output *o);
bool output__wants_pollout(const struct output *o);
/* Spans in the lines that wait. */
size_t output__queued_spans(const struct output *o);
/* Writes what waits: 0 when all is written, -EAGAIN when some still waits, or -errno. */
int output__drain(struct output *o);
/* The first line that waits was written in part: the reader has half of it. */
bool output__begun(const struct output *o);
/*
 * Forgets the lines that wait, but for a line begun unless begun_too (that
 * leaves the reader half a line); returns the spans forgotten.
 */
size_t output__discard(struct output *o, bool begun_too);
void output__close(struct output *o);

#endif
