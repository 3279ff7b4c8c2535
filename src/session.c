// SPDX-License-Identifier: MIT
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/wait.h>

#include "attach.h"
#include "exitcodes.h"
#include "log.h"
#include "session.h"
#include "pipeline.h"
#include "resource.h"
#include "target.h"

#define RINGBUF_BYTES (8u << 20)
/* the BPF side wakes otrace only for full batches: read the ring this often */
#define RING_POLL_MS 20

struct session {
	const struct session_config *cfg;
	struct pipeline *pipeline;
	struct tracer *tracer;
	struct resource_cache *resources;
	pid_t pid;
	bool spawned;
};

static int on_record(void *ctx, void *data, size_t size)
{
	struct session *s = ctx;

	pipeline__record(s->pipeline, data, size);
	return 0;
}

static int block_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGHUP);
	/* a closed output pipe shows up as EPIPE from write instead */
	signal(SIGPIPE, SIG_IGN);
	return sigprocmask(SIG_BLOCK, set, NULL) ? -errno : 0;
}

/*
 * Records the target's resource while /proc/PID is there (its last spans may
 * come later); returns its executable path, NULL when out of memory.
 */
static const char *pin_resource(struct session *s)
{
	if (resource_cache__pin(s->resources, s->pid, NULL, s->cfg->binary, s->cfg->go_version))
		return NULL;
	return resource_cache__get(s->resources, (uint32_t)s->pid)->executable_path;
}

/* Maps a failed exec of the held child to otrace's exit codes. */
static int exec_error_code(int err, const char *prog)
{
	pr_err("cannot execute %s: %s", prog, strerror(-err));
	if (err == -ENOENT)
		return EXIT_EXEC_MISSING;
	if (err == -EACCES || err == -ENOEXEC)
		return EXIT_EXEC_NOEXEC;
	return EXIT_RUNTIME;
}

static int start_target(struct session *s)
{
	const struct session_config *cfg = s->cfg;
	struct spawned sp;
	const char *exe;
	int n, err;

	if (!cfg->exec_argv) {
		s->pid = cfg->pid;
		n = tracer__attach(s->tracer, 0, cfg->binary, s->pid);
		if (n < 0)
			return target__exists(s->pid) ? EXIT_NO_PROCESS : EXIT_RUNTIME;
		exe = pin_resource(s);
		if (!exe)
			return EXIT_RUNTIME;
		pr_info("attached %d probes to PID %d (%s)", n, (int)s->pid, exe);
		return EXIT_OK;
	}
	err = target__spawn(cfg->binary, cfg->exec_argv, &sp);
	if (err) {
		pr_err("failed to start %s: %s", cfg->binary, strerror(-err));
		return EXIT_RUNTIME;
	}
	s->pid = sp.pid;
	s->spawned = true;
	/* the child waits on a pipe until every probe is in place */
	n = tracer__attach(s->tracer, 0, cfg->binary, s->pid);
	if (n < 0) {
		kill(sp.pid, SIGKILL);
		waitpid(sp.pid, NULL, 0);
		s->spawned = false;
		return EXIT_RUNTIME;
	}
	err = target__release(&sp);
	if (err) {
		waitpid(sp.pid, NULL, 0);
		s->spawned = false;
		return exec_error_code(err, cfg->binary);
	}
	exe = pin_resource(s);
	if (!exe)
		return EXIT_RUNTIME;
	pr_info("attached %d probes to PID %d (%s)", n, (int)s->pid, exe);
	return EXIT_OK;
}

/* Decides what a signal means; returns true when the session should end. */
static bool handle_signal(struct session *s, int sfd)
{
	struct signalfd_siginfo si;

	if (read(sfd, &si, sizeof(si)) != sizeof(si))
		return false;
	if (!s->spawned)
		return true;
	/* a terminal's ^C already reached the child through its process group */
	if (si.ssi_code != SI_KERNEL)
		kill(s->pid, (int)si.ssi_signo);
	return false; /* wait for the child to exit */
}

static int child_status_code(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return EXIT_RUNTIME;
}

static int add_fd(int epfd, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

static int next_timeout_ms(const struct session *s)
{
	int ms = pipeline__ms_until_flush(s->pipeline);

	return ms < 0 || ms > RING_POLL_MS ? RING_POLL_MS : ms;
}

/* Runs until the target exits, a signal ends the session or output closes. */
static int event_loop(struct session *s, int sfd, int pidfd, int *exit_code)
{
	int epfd = epoll_create1(EPOLL_CLOEXEC), ringfd = tracer__fd(s->tracer);
	bool done = false;

	if (epfd < 0 || add_fd(epfd, sfd) || add_fd(epfd, pidfd) || add_fd(epfd, ringfd))
		return -errno;
	while (!done && !pipeline__output_closed(s->pipeline)) {
		struct epoll_event evs[4];
		int n = epoll_wait(epfd, evs, 4, next_timeout_ms(s));

		if (n < 0 && errno != EINTR)
			break;
		for (int i = 0; i < n; i++) {
			if (evs[i].data.fd == sfd)
				done |= handle_signal(s, sfd);
			else if (evs[i].data.fd == pidfd)
				done = true;
		}
		/* on a timeout too: records below the wakeup threshold wait there */
		tracer__consume(s->tracer);
		pipeline__flush(s->pipeline, false);
	}
	/* the last records of an exiting target are still in the ring buffer */
	tracer__consume(s->tracer);
	pipeline__flush(s->pipeline, true);
	if (s->spawned) {
		int status;

		if (pipeline__output_closed(s->pipeline) && waitpid(s->pid, &status, WNOHANG) == 0) {
			pr_info("output closed; PID %d continues untraced", (int)s->pid);
			*exit_code = EXIT_OK;
		} else if (waitpid(s->pid, &status, 0) == s->pid) {
			*exit_code = child_status_code(status);
		}
	}
	close(epfd);
	return 0;
}

static void print_summary(const struct session *s)
{
	uint64_t drops[OT_DROP__COUNT] = {};
	struct pipeline_stats st = {};
	uint64_t lost;

	if (s->tracer)
		tracer__drops(s->tracer, drops);
	if (s->pipeline)
		pipeline__stats(s->pipeline, &st);
	lost = drops[OT_DROP_RINGBUF_FULL] + drops[OT_DROP_INFLIGHT_FULL] +
	       drops[OT_DROP_READ_FAULT] + st.undecodable + st.unwritten;
	fprintf(stderr,
		"otrace: %llu spans written, %llu lost (ringbuf_full=%llu inflight_full=%llu "
		"read_fault=%llu undecodable=%llu unwritten=%llu), %llu requests in flight at "
		"attach not traced\n",
		(unsigned long long)st.written, (unsigned long long)lost,
		(unsigned long long)drops[OT_DROP_RINGBUF_FULL],
		(unsigned long long)drops[OT_DROP_INFLIGHT_FULL],
		(unsigned long long)drops[OT_DROP_READ_FAULT], (unsigned long long)st.undecodable,
		(unsigned long long)st.unwritten, (unsigned long long)drops[OT_DROP_NO_START]);
}

int session__run(const struct session_config *cfg)
{
	struct session s = { .cfg = cfg };
	int exit_code = EXIT_OK, sfd = -1, pidfd = -1, err;
	sigset_t set;

	struct resource_defaults defaults = {
		.service_name = cfg->service_name,
		.go_version = cfg->go_version,
		.exe_path = cfg->binary,
	};

	if (block_signals(&set) || resource_cache__new(&defaults, &s.resources) ||
	    pipeline__new(s.resources, cfg->out, &s.pipeline)) {
		pr_err("failed to set up the session: %s", strerror(errno));
		exit_code = EXIT_RUNTIME;
		goto cleanup;
	}
	err = tracer__new(&cfg->plan, 1, RINGBUF_BYTES, on_record, &s, &s.tracer);
	if (err) {
		exit_code = EXIT_RUNTIME;
		goto cleanup;
	}
	exit_code = start_target(&s);
	if (exit_code != EXIT_OK)
		goto cleanup;
	sfd = signalfd(-1, &set, SFD_CLOEXEC);
	pidfd = target__pidfd(s.pid);
	if (sfd < 0 || pidfd < 0) {
		pr_err("failed to watch PID %d: %s", (int)s.pid, strerror(pidfd < 0 ? -pidfd : errno));
		exit_code = EXIT_RUNTIME;
		goto cleanup;
	}
	if (event_loop(&s, sfd, pidfd, &exit_code)) {
		pr_err("event loop failed: %s", strerror(errno));
		exit_code = EXIT_RUNTIME;
	}
	print_summary(&s);
cleanup:
	if (sfd >= 0)
		close(sfd);
	if (pidfd >= 0)
		close(pidfd);
	tracer__free(s.tracer);
	pipeline__free(s.pipeline);
	resource_cache__free(s.resources);
	return exit_code;
}
