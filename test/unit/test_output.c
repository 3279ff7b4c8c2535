// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "output.h"
#include "unittest.h"

/* A line of n bytes of fill. */
static char *make_line(size_t n, char fill)
{
	char *s = malloc(n + 1);

	memset(s, fill, n);
	s[n] = '\0';
	return s;
}

/* Reads everything readable from fd now (non-blocking) into buf; returns the count. */
static size_t read_all(int fd, char *buf, size_t cap)
{
	size_t got = 0;
	ssize_t n;

	while (got < cap && (n = read(fd, buf + got, cap - got)) > 0)
		got += (size_t)n;
	return got;
}

/* Over RLIMIT_FSIZE a line goes in part, then EFBIG: the part is cut off again. */
static void test_cut_partial_line(void)
{
	char path[] = "/tmp/otrace-test-output-XXXXXX";
	struct rlimit old, lim = { .rlim_cur = 10000, .rlim_max = RLIM_INFINITY };
	char *line = make_line(3000, 'a');
	struct output *o;
	struct stat st;
	int fd = mkstemp(path), err = 0, lines = 0;

	CHECK(fd >= 0);
	close(fd);
	signal(SIGXFSZ, SIG_IGN);
	getrlimit(RLIMIT_FSIZE, &old);
	lim.rlim_max = old.rlim_max;
	CHECK(setrlimit(RLIMIT_FSIZE, &lim) == 0);
	CHECK(output__open(path, &o) == 0);
	while (lines < 10 && !(err = output__write_line(o, line, 3000, 1)))
		lines++;
	setrlimit(RLIMIT_FSIZE, &old);
	CHECK(err == -EFBIG);
	CHECK(lines == 3); /* 3 x 3001 bytes fit in 10000, the 4th went in part */
	CHECK(stat(path, &st) == 0 && st.st_size == 3 * 3001);
	CHECK(st.st_mode % 01000 == 0600);
	output__close(o);
	unlink(path);
	free(line);
}

/* A non-blocking socket takes lines in part: the rest is queued and finished first. */
static void test_stalled_socket(void)
{
	int sv[2], sndbuf = 4096, dup_out = dup(STDOUT_FILENO);
	char *big = make_line(100000, 'b'), *buf = malloc(OUTPUT_QUEUE_MAX + 200000);
	size_t got = 0, n;
	struct output *o;
	int err;

	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	fcntl(sv[1], F_SETFL, O_NONBLOCK);
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	CHECK(dup2(sv[1], STDOUT_FILENO) == STDOUT_FILENO);
	CHECK(output__open(NULL, &o) == 0);
	CHECK(output__write_line(o, big, 100000, 7) == 0);
	CHECK(output__stalled(o) && output__wants_pollout(o) && output__begun(o));
	CHECK(output__queued_spans(o) == 7);
	/* whole lines wait behind it, up to the bound */
	while ((err = output__write_line(o, big, 100000, 1)) == 0)
		;
	CHECK(err == -ENOBUFS);
	CHECK(output__queued_spans(o) > 7);
	/* giving up the lines not begun keeps the one the reader has part of */
	n = output__queued_spans(o);
	CHECK(output__discard(o, false) == n - 7 && output__queued_spans(o) == 7);
	/* the reader reads: the line is finished, exactly */
	while (output__stalled(o)) {
		got += read_all(sv[0], buf + got, OUTPUT_QUEUE_MAX - got);
		err = output__drain(o);
		CHECK(err == 0 || err == -EAGAIN);
	}
	got += read_all(sv[0], buf + got, OUTPUT_QUEUE_MAX - got);
	CHECK(got == 100001 && buf[99999] == 'b' && buf[100000] == '\n');
	CHECK(output__queued_spans(o) == 0 && !output__begun(o));
	output__close(o);
	dup2(dup_out, STDOUT_FILENO);
	close(dup_out);
	close(sv[0]);
	close(sv[1]);
	free(big);
	free(buf);
}

/* A non-blocking pipe gets a line only when empty: the reader never has part of one. */
static void test_stalled_pipe(void)
{
	int p[2], dup_out = dup(STDOUT_FILENO), unread = 0;
	char *a = make_line(40000, 'a'), *b = make_line(40000, 'b'), *c = make_line(150000, 'c');
	char *buf = malloc(200000);
	struct output *o;
	size_t got;

	CHECK(pipe(p) == 0);
	fcntl(p[1], F_SETPIPE_SZ, 65536);
	fcntl(p[1], F_SETFL, O_NONBLOCK);
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	CHECK(dup2(p[1], STDOUT_FILENO) == STDOUT_FILENO);
	CHECK(output__open(NULL, &o) == 0);
	CHECK(output__write_line(o, a, 40000, 1) == 0 && !output__stalled(o));
	/* room for 25 KB more, but the pipe is not empty: b waits whole */
	CHECK(output__write_line(o, b, 40000, 2) == 0);
	CHECK(output__stalled(o) && !output__wants_pollout(o) && !output__begun(o));
	ioctl(p[0], FIONREAD, &unread);
	CHECK(unread == 40001);
	CHECK(output__drain(o) == -EAGAIN);
	got = read_all(p[0], buf, 200000);
	CHECK(got == 40001 && buf[40000] == '\n');
	CHECK(output__drain(o) == 0 && !output__stalled(o));
	got = read_all(p[0], buf, 200000);
	CHECK(got == 40001 && buf[0] == 'b' && buf[40000] == '\n');
	/* a line longer than the pipe: the pipe is grown to take it whole */
	CHECK(output__write_line(o, c, 150000, 1) == 0);
	CHECK(!output__stalled(o));
	CHECK(fcntl(p[1], F_GETPIPE_SZ) >= 150001);
	output__close(o);
	dup2(dup_out, STDOUT_FILENO);
	close(dup_out);
	close(p[0]);
	close(p[1]);
	free(a);
	free(b);
	free(c);
	free(buf);
}

int main(void)
{
	test_cut_partial_line();
	test_stalled_socket();
	test_stalled_pipe();
	return ut_summary();
}
