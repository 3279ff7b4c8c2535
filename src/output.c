// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "output.h"

struct output {
	int fd;
	int owned;
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

	if (!o)
		return -ENOMEM;
	if (path) {
		o->fd = output__create(path);
		if (o->fd < 0) {
			int err = o->fd;

			free(o);
			return err;
		}
		o->owned = 1;
	} else {
		int err = output__check_stdout();

		if (err) {
			free(o);
			return err;
		}
		o->fd = STDOUT_FILENO;
	}
	*out = o;
	return 0;
}

int output__write_line(struct output *o, const char *line, size_t len)
{
	struct iovec iov[2] = {
		{ .iov_base = (void *)line, .iov_len = len },
		{ .iov_base = "\n", .iov_len = 1 },
	};
	int i = 0;

	while (i < 2) {
		ssize_t n = writev(o->fd, iov + i, 2 - i);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		while (i < 2 && (size_t)n >= iov[i].iov_len)
			n -= iov[i++].iov_len;
		if (i < 2) {
			iov[i].iov_base = (char *)iov[i].iov_base + n;
			iov[i].iov_len -= n;
		}
	}
	return 0;
}

void output__close(struct output *o)
{
	if (!o)
		return;
	if (o->owned)
		close(o->fd);
	free(o);
}
