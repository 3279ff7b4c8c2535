// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "output.h"

struct output {
	int fd;
	int owned;
};

int output__create(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

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
