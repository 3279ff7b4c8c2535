// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "log.h"
#include "output.h"

/* One line waiting in the queue: where it ends in the queue's bytes, and its spans. */
struct queued_line {
	size_t end;
	size_t nspans;
};

struct output {
	int fd;
	bool owned;
	bool regular; /* a regular file: a partly written line can be cut off again */
	bool pipe;
	char name[64];
	/*
	 * Lines a stalled reader (EAGAIN) has not taken yet, oldest first: bytes
	 * [head, len) of buf; the first line may be the rest of one begun.
	 */
	char *buf;
	size_t head, len, cap;
	struct queued_line *lines;
	size_t first, nlines, lines_cap;
	bool first_begun; /* the reader has part of the first line */
	size_t queued_spans;
};

/* fd 1 was closed when otrace started: spans must not go to the /dev/null put there */
static bool stdout_was_closed;

int output__guard_std_fds(void)
{
	for (int fd = STDIN_FILENO; fd <= STDERR_FILENO; fd++) {
		int null;

		if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
			continue;
		/* the lowest free fd is this one */
		null = open("/dev/null", O_RDWR);
		if (null < 0)
			return -errno;
		if (null != fd) {
			close(null);
			return -EBADF;
		}
		if (fd == STDOUT_FILENO)
			stdout_was_closed = true;
	}
	return 0;
}

int output__check_stdout(void)
{
	int flags = fcntl(STDOUT_FILENO, F_GETFL);

	if (stdout_was_closed || flags < 0 || (flags & O_ACCMODE) == O_RDONLY)
		return -EBADF;
	return 0;
}

int output__create(const char *path)
{
	/* spans hold URLs, query values and (--db-statement) SQL: for the owner only */
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	return fd < 0 ? -errno : fd;
}

int output__open(const char *path, struct output **out)
{
	struct output *o = calloc(1, sizeof(*o));
	struct stat st;
	int err;

	if (!o)
		return -ENOMEM;
	if (path) {
		o->fd = output__create(path);
		o->owned = true;
		snprintf(o->name, sizeof(o->name), "%s", path);
	} else {
		err = output__check_stdout();
		o->fd = err ? err : STDOUT_FILENO;
		snprintf(o->name, sizeof(o->name), "standard output");
	}
	if (o->fd < 0) {
		err = o->fd;
		free(o);
		return err;
	}
	if (!fstat(o->fd, &st)) {
		o->regular = S_ISREG(st.st_mode);
		o->pipe = S_ISFIFO(st.st_mode);
	}
	*out = o;
	return 0;
}

const char *output__name(const struct output *o)
{
	return o->name;
}

int output__fd(const struct output *o)
{
	return o->fd;
}

bool output__stalled(const struct output *o)
{
	return o && o->nlines > 0;
}

bool output__wants_pollout(const struct output *o)
{
	/* a pipe is ready for a line only once empty, which POLLOUT does not tell */
	return o && o->nlines > 0 && !o->pipe;
}

/*
 * A non-blocking pipe takes as much of a write as fits, so a line goes in
 * only when the pipe is empty and holds all of it (grown if need be): the
 * reader never gets part of a line. Returns true when n bytes may be written.
 */
static bool pipe_takes(struct output *o, size_t n)
{
	int flags = fcntl(o->fd, F_GETFL), unread, size;

	if (!o->pipe || flags < 0 || !(flags & O_NONBLOCK))
		return true;
	if (ioctl(o->fd, FIONREAD, &unread) || unread)
		return false;
	size = fcntl(o->fd, F_GETPIPE_SZ);
	/* if growing it is refused, the line goes in parts, finished before any other */
	if (size >= 0 && n > (size_t)size && n <= INT_MAX)
		fcntl(o->fd, F_SETPIPE_SZ, (int)n);
	return true;
}

/* How much of what waits to write now: on a pipe, whole lines that fit in it. */
static size_t drain_length(struct output *o)
{
	size_t first_len = o->lines[o->first].end - o->head, n = first_len;
	int size;

	if (!o->pipe || o->first_begun)
		return o->len - o->head;
	if (!pipe_takes(o, first_len))
		return 0;
	size = fcntl(o->fd, F_GETPIPE_SZ);
	for (size_t i = 1; i < o->nlines && size > 0; i++) {
		size_t end = o->lines[o->first + i].end - o->head;

		if (end > (size_t)size)
			break;
		n = end;
	}
	return n;
}

size_t output__queued_spans(const struct output *o)
{
	return o->queued_spans;
}

/* Where the next write lands in a regular file: its end when opened O_APPEND. */
static off_t write_position(int fd)
{
	struct stat st;
	int flags = fcntl(fd, F_GETFL);

	if (flags >= 0 && (flags & O_APPEND))
		return fstat(fd, &st) ? -1 : st.st_size;
	return lseek(fd, 0, SEEK_CUR);
}

/* A line was written in part before err: cut the file back so no half line stays. */
static void cut_partial_line(struct output *o, off_t start, int err)
{
	if (start < 0 || ftruncate(o->fd, start) || lseek(o->fd, start, SEEK_SET) < 0)
		pr_warn("%s: a line was written in part (%s) and could not be cut off: %s",
			o->name, strerror(-err), strerror(errno));
}

/*
 * Writes line and its newline until done or EAGAIN; returns the bytes
 * written, or -errno (a partly written line is cut off in a regular file).
 */
static ssize_t write_some(struct output *o, const char *line, size_t len)
{
	struct iovec iov[2] = {
		{ .iov_base = (void *)line, .iov_len = len },
		{ .iov_base = "\n", .iov_len = 1 },
	};
	off_t start = o->regular ? write_position(o->fd) : -1;
	size_t done = 0;
	int i = 0;

	while (i < 2) {
		ssize_t n = writev(o->fd, iov + i, 2 - i);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n < 0) {
			int err = -errno;

			if (done && o->regular)
				cut_partial_line(o, start, err);
			return err;
		}
		done += (size_t)n;
		while (i < 2 && (size_t)n >= iov[i].iov_len)
			n -= iov[i++].iov_len;
		if (i < 2) {
			iov[i].iov_base = (char *)iov[i].iov_base + n;
			iov[i].iov_len -= n;
		}
	}
	return (ssize_t)done;
}

/* Makes room for len more bytes and one more line; false when the queue is full. */
static bool queue_reserve(struct output *o, size_t len)
{
	if (o->len - o->head + len > OUTPUT_QUEUE_MAX && o->nlines)
		return false;
	if (o->head) {
		memmove(o->buf, o->buf + o->head, o->len - o->head);
		for (size_t i = 0; i < o->nlines; i++)
			o->lines[o->first + i].end -= o->head;
		o->len -= o->head;
		o->head = 0;
	}
	if (o->first) {
		memmove(o->lines, o->lines + o->first, o->nlines * sizeof(*o->lines));
		o->first = 0;
	}
	if (o->len + len > o->cap) {
		size_t cap = o->len + len;
		char *buf = realloc(o->buf, cap);

		if (!buf)
			return false;
		o->buf = buf;
		o->cap = cap;
	}
	if (o->nlines == o->lines_cap) {
		size_t cap = o->lines_cap ? o->lines_cap * 2 : 16;
		struct queued_line *lines = realloc(o->lines, cap * sizeof(*lines));

		if (!lines)
			return false;
		o->lines = lines;
		o->lines_cap = cap;
	}
	return true;
}

/* Queues line[from..len) and its newline; false when it does not fit. */
static bool queue_line(struct output *o, const char *line, size_t len, size_t from, size_t nspans)
{
	size_t rest = len + 1 - from;

	if (!queue_reserve(o, rest))
		return false;
	if (!o->nlines)
		o->first_begun = from > 0;
	if (from < len)
		memcpy(o->buf + o->len, line + from, len - from);
	o->buf[o->len + rest - 1] = '\n';
	o->len += rest;
	o->lines[o->first + o->nlines++] = (struct queued_line){ .end = o->len, .nspans = nspans };
	o->queued_spans += nspans;
	return true;
}

int output__write_line(struct output *o, const char *line, size_t len, size_t nspans)
{
	ssize_t n;

	if (o->nlines)
		return queue_line(o, line, len, 0, nspans) ? 0 : -ENOBUFS;
	n = pipe_takes(o, len + 1) ? write_some(o, line, len) : 0;
	if (n < 0)
		return (int)n;
	if ((size_t)n == len + 1)
		return 0;
	/* a stalled reader: the rest of a line begun must follow, whatever the bound */
	if (n > 0 || len + 1 <= OUTPUT_QUEUE_MAX)
		return queue_line(o, line, len, (size_t)n, nspans) ? 0 : -ENOMEM;
	return -ENOBUFS;
}

int output__drain(struct output *o)
{
	while (o->nlines) {
		size_t len = drain_length(o), boundary = SIZE_MAX;
		ssize_t n = len ? write(o->fd, o->buf + o->head, len) : -1;

		if (!len)
			return -EAGAIN;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		o->head += (size_t)n;
		while (o->nlines && o->head >= o->lines[o->first].end) {
			boundary = o->lines[o->first].end;
			o->queued_spans -= o->lines[o->first].nspans;
			o->first++;
			o->nlines--;
		}
		/* head inside a line: the reader has its beginning */
		if (n > 0)
			o->first_begun = o->nlines && o->head != boundary;
	}
	o->head = o->len = o->first = 0;
	return 0;
}

bool output__begun(const struct output *o)
{
	return o && o->nlines && o->first_begun;
}

size_t output__discard(struct output *o, bool begun_too)
{
	size_t spans = o->queued_spans;

	if (output__begun(o) && !begun_too) {
		/* keep the first line, whose rest the reader must still get */
		spans -= o->lines[o->first].nspans;
		o->queued_spans = o->lines[o->first].nspans;
		o->len = o->lines[o->first].end;
		o->nlines = 1;
		return spans;
	}
	o->head = o->len = o->first = o->nlines = o->queued_spans = 0;
	return spans;
}

void output__close(struct output *o)
{
	if (!o)
		return;
	if (o->owned)
		close(o->fd);
	free(o->buf);
	free(o->lines);
	free(o);
}
