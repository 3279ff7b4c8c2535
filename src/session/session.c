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
#include "pipeline.h"
#include "resource.h"
#include "session.h"
#include "target.h"

#define RINGBUF_BYTES (8u << 20)
/* the BPF side wakes otrace only for full batches: read the ring this often */
#define RING_POLL_MS 20

/* A process the session waits for: a -p PID or the --exec'd program. */
struct watched {
	pid_t pid;
	int pidfd; /* readable once the process has exited */
	bool exited;
};

struct session {
	const struct session_config *cfg;
	struct pipeline *pipeline;
	struct exporter *exporter;
	struct tracer *tracer;
	struct resource_cache *resources;
	struct watched watched[OTRACE_MAX_PIDS];
	size_t nwatched;
	size_t nrunning;
	bool spawned; /* watched[0] is our child (--exec) */
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

static int new_resources(const struct session_config *cfg, struct resource_cache **out)
{
	const struct traced_binary *first = &cfg->targets->bins[0];
	struct resource_defaults defaults = {
		.service_name = cfg->service_name,
		/* only --binary looks processes up later, and it has one binary */
		.go_version = gobin__go_version(first->gb),
		.service_version = resource__service_version(first->gb),
		.exe_path = first->exe,
		.env_attrs = &cfg->otel->env_attrs,
		.cli_attrs = &cfg->otel->cli_attrs,
		.process_env = true,
	};

	return resource_cache__new(&defaults, out);
}

/* Starts watching pid and records its resource while /proc/PID is there. */
static int watch(struct session *s, pid_t pid, const struct traced_binary *b)
{
	struct watched *w = &s->watched[s->nwatched];
	int err;

	w->pid = pid;
	w->pidfd = target__pidfd(pid);
	if (w->pidfd < 0) {
		if (w->pidfd == -ESRCH) {
			pr_err("no such process: %d (it exited before its probes were attached)",
			       (int)pid);
			return EXIT_NO_PROCESS;
		}
		pr_err("failed to watch PID %d: %s", (int)pid, strerror(-w->pidfd));
		return EXIT_RUNTIME;
	}
	s->nwatched++;
	s->nrunning++;
	err = resource_cache__pin(s->resources, pid, NULL, b->exe, gobin__go_version(b->gb),
				  resource__service_version(b->gb));
	if (err) {
		pr_err("failed to set up the session: %s", strerror(-err));
		return EXIT_RUNTIME;
	}
	return EXIT_OK;
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

static int start_exec(struct session *s)
{
	const struct traced_binary *b = &s->cfg->targets->bins[0];
	struct spawned sp;
	int n, err, code;

	err = target__spawn(b->path, s->cfg->exec_argv, &sp);
	if (err) {
		pr_err("failed to start %s: %s", b->path, strerror(-err));
		return EXIT_RUNTIME;
	}
	s->spawned = true;
	s->watched[0].pid = sp.pid;
	/* the child waits on a pipe until every probe is in place */
	n = tracer__attach(s->tracer, 0, b->path, sp.pid);
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
		return exec_error_code(err, b->path);
	}
	code = watch(s, sp.pid, b);
	if (code == EXIT_OK)
		pr_info("attached %d probes to PID %d (%s)", n, (int)sp.pid, b->path);
	return code;
}

/* -p: each process gets the probes of its binary, filtered to its PID. */
static int start_pids(struct session *s)
{
	const struct traced_set *set = s->cfg->targets;
	char binary[32], pids[OTRACE_MAX_PIDS * 12] = "";
	size_t npids = 0, used = 0;
	int total = 0;

	for (size_t i = 0; i < set->nbins; i++) {
		const struct traced_binary *b = &set->bins[i];

		for (size_t j = 0; j < b->npids; j++) {
			pid_t pid = b->pids[j];
			int n, code;

			code = watch(s, pid, b);
			if (code != EXIT_OK)
				return code;
			/* its own link to the file: the first PID of the binary may be gone */
			snprintf(binary, sizeof(binary), "/proc/%d/exe", (int)pid);
			n = tracer__attach(s->tracer, i, binary, pid);
			if (n < 0) {
				if (target__exists(pid) == 0)
					return EXIT_RUNTIME;
				pr_err("no such process: %d (it exited while its probes were attached)",
				       (int)pid);
				return EXIT_NO_PROCESS;
			}
			pr_debug("attached %d probes to PID %d (%s)", n, (int)pid, b->exe);
			total += n;
			npids++;
			used += (size_t)snprintf(pids + used, sizeof(pids) - used, "%s%d",
						 used ? ", " : "", (int)pid);
		}
	}
	if (npids == 1)
		pr_info("attached %d probes to PID %s (%s)", total, pids, set->bins[0].exe);
	else
		pr_info("attached %d probes to %zu processes of %zu executables: PIDs %s", total,
			npids, set->nbins, pids);
	return EXIT_OK;
}

/* --binary: probes on the file itself reach every process that runs it. */
static int start_all_processes(struct session *s)
{
	const struct traced_binary *b = &s->cfg->targets->bins[0];
	int n = tracer__attach(s->tracer, 0, b->path, -1);

	if (n < 0)
		return EXIT_RUNTIME;
	pr_info("attached %d probes to %s, in every process that runs it", n, b->path);
	return EXIT_OK;
}

static int start_target(struct session *s)
{
	if (s->cfg->exec_argv)
		return start_exec(s);
	if (s->cfg->targets->all_processes)
		return start_all_processes(s);
	return start_pids(s);
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
		kill(s->watched[0].pid, (int)si.ssi_signo);
	return false; /* wait for the child to exit */
}

/* A watched process exited; returns true when it was the last one. */
static bool handle_exit(struct session *s, int epfd, struct watched *w)
{
	epoll_ctl(epfd, EPOLL_CTL_DEL, w->pidfd, NULL); /* a pidfd stays readable */
	w->exited = true;
	s->nrunning--;
	if (!s->spawned && s->nwatched > 1) {
		if (s->nrunning)
			pr_info("PID %d exited; %zu of %zu processes still traced", (int)w->pid,
				s->nrunning, s->nwatched);
		else
			pr_info("PID %d exited, the last traced process", (int)w->pid);
	}
	return s->nrunning == 0;
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

static struct watched *watched_by_fd(struct session *s, int fd)
{
	for (size_t i = 0; i < s->nwatched; i++)
		if (s->watched[i].pidfd == fd)
			return &s->watched[i];
	return NULL;
}

/* The exit status of the --exec'd child, or EXIT_OK when it goes on untraced. */
static int reap_child(struct session *s)
{
	pid_t pid = s->watched[0].pid;
	int status;

	if (pipeline__output_closed(s->pipeline) && waitpid(pid, &status, WNOHANG) == 0) {
		pr_info("output closed; PID %d continues untraced", (int)pid);
		return EXIT_OK;
	}
	if (waitpid(pid, &status, 0) == pid)
		return child_status_code(status);
	return EXIT_OK;
}

/*
 * Runs until every watched process has exited (none are watched with
 * --binary), a signal ends the session or output closes.
 */
static int event_loop(struct session *s, int sfd, int *exit_code)
{
	int epfd = epoll_create1(EPOLL_CLOEXEC), ringfd = tracer__fd(s->tracer);
	bool done = false;

	if (epfd < 0 || add_fd(epfd, sfd) || add_fd(epfd, ringfd))
		return -errno;
	for (size_t i = 0; i < s->nwatched; i++)
		if (add_fd(epfd, s->watched[i].pidfd))
			return -errno;
	while (!done && !pipeline__output_closed(s->pipeline)) {
		struct epoll_event evs[8];
		int n = epoll_wait(epfd, evs, 8, next_timeout_ms(s));

		if (n < 0 && errno != EINTR)
			break;
		for (int i = 0; i < n; i++) {
			struct watched *w = watched_by_fd(s, evs[i].data.fd);

			if (evs[i].data.fd == sfd)
				done |= handle_signal(s, sfd);
			else if (w && !w->exited)
				done |= handle_exit(s, epfd, w);
		}
		/* on a timeout too: records below the wakeup threshold wait there */
		tracer__consume(s->tracer);
		pipeline__flush(s->pipeline, false);
	}
	/* the last records of an exiting target are still in the ring buffer */
	tracer__consume(s->tracer);
	pipeline__flush(s->pipeline, true);
	if (s->spawned)
		*exit_code = reap_child(s);
	close(epfd);
	return 0;
}

static bool propagating(const struct traced_set *targets)
{
	for (size_t i = 0; i < targets->nbins; i++)
		if (plan__propagating(&targets->bins[i].plan))
			return true;
	return false;
}

/* Spans lost before they reached an output, by reason. */
static uint64_t lost_upstream(const uint64_t drops[OT_DROP__COUNT],
			      const struct pipeline_stats *st)
{
	return drops[OT_DROP_RINGBUF_FULL] + drops[OT_DROP_INFLIGHT_FULL] +
	       drops[OT_DROP_READ_FAULT] + drops[OT_DROP_UNFINISHED] + st->undecodable;
}

/* The export's own accounting line: exported + lost = what the JSON line would say. */
static void print_export_summary(const struct session *s, const uint64_t drops[OT_DROP__COUNT],
				 const struct pipeline_stats *st)
{
	struct exporter_stats ex;

	exporter__stats(s->exporter, &ex);
	fprintf(stderr,
		"otrace: %llu spans exported to %s, %llu lost (ringbuf_full=%llu "
		"inflight_full=%llu read_fault=%llu unfinished=%llu undecodable=%llu "
		"queue_full=%llu export_failed=%llu rejected=%llu), %llu requests in flight at "
		"attach not traced\n",
		(unsigned long long)ex.exported, s->cfg->otel->otlp.url,
		(unsigned long long)(lost_upstream(drops, st) + ex.queue_full +
				     ex.export_failed + ex.rejected),
		(unsigned long long)drops[OT_DROP_RINGBUF_FULL],
		(unsigned long long)drops[OT_DROP_INFLIGHT_FULL],
		(unsigned long long)drops[OT_DROP_READ_FAULT],
		(unsigned long long)drops[OT_DROP_UNFINISHED], (unsigned long long)st->undecodable,
		(unsigned long long)ex.queue_full, (unsigned long long)ex.export_failed,
		(unsigned long long)ex.rejected, (unsigned long long)drops[OT_DROP_NO_START]);
}

static void print_lines_summary(const uint64_t drops[OT_DROP__COUNT],
				const struct pipeline_stats *st)
{
	uint64_t lost = lost_upstream(drops, st) + st->unwritten;

	fprintf(stderr,
		"otrace: %llu spans written, %llu lost (ringbuf_full=%llu inflight_full=%llu "
		"read_fault=%llu unfinished=%llu undecodable=%llu unwritten=%llu), %llu requests "
		"in flight at attach not traced\n",
		(unsigned long long)st->written, (unsigned long long)lost,
		(unsigned long long)drops[OT_DROP_RINGBUF_FULL],
		(unsigned long long)drops[OT_DROP_INFLIGHT_FULL],
		(unsigned long long)drops[OT_DROP_READ_FAULT],
		(unsigned long long)drops[OT_DROP_UNFINISHED], (unsigned long long)st->undecodable,
		(unsigned long long)st->unwritten, (unsigned long long)drops[OT_DROP_NO_START]);
}

static void print_summary(const struct session *s)
{
	uint64_t drops[OT_DROP__COUNT] = {};
	struct pipeline_stats st = {};

	if (s->tracer)
		tracer__drops(s->tracer, drops);
	if (s->pipeline)
		pipeline__stats(s->pipeline, &st);
	if (s->exporter)
		print_export_summary(s, drops, &st);
	if (s->cfg->out)
		print_lines_summary(drops, &st);
	if (s->tracer && propagating(s->cfg->targets)) {
		uint64_t p[OT_PROPAGATE__COUNT];

		tracer__propagate_stats(s->tracer, p);
		fprintf(stderr,
			"otrace: traceparent written into %llu outgoing requests (no room in %llu, "
			"unexpected writer %llu, write refused %llu)\n",
			(unsigned long long)p[OT_PROPAGATE_WRITTEN],
			(unsigned long long)p[OT_PROPAGATE_NO_ROOM],
			(unsigned long long)p[OT_PROPAGATE_SKIPPED],
			(unsigned long long)p[OT_PROPAGATE_FAILED]);
	}
}

/* Span decoding: per process, the names of the binary it runs. */
static const struct span_binary *span_binary_of(void *ctx, uint32_t pid)
{
	const struct traced_binary *b = traced__binary_of(ctx, (pid_t)pid);

	return b ? &b->span : NULL;
}

static void configure_spans(struct session *s)
{
	const struct traced_set *targets = s->cfg->targets;
	struct span_config span = {
		.db_statement = s->cfg->db_statement,
		.binary = targets->bins[0].span,
	};

	/* with one binary every process runs it; with several, -p names each one's */
	if (targets->nbins > 1) {
		span.binary_of = span_binary_of;
		span.binary_ctx = (void *)targets;
	}
	pipeline__configure(s->pipeline, &span);
}

int session__run(const struct session_config *cfg)
{
	const struct traced_set *targets = cfg->targets;
	const struct plan *plans[targets->nbins];
	struct session s = { .cfg = cfg };
	int exit_code = EXIT_OK, sfd = -1, err;
	sigset_t set;

	for (size_t i = 0; i < targets->nbins; i++)
		plans[i] = &targets->bins[i].plan;
	err = block_signals(&set);
	if (!err)
		err = new_resources(cfg, &s.resources);
	if (!err)
		err = pipeline__new(s.resources, cfg->out, &s.pipeline);
	if (!err && cfg->otel->otlp.enabled)
		err = exporter__new(&cfg->otel->otlp, cfg->otel->tls, &s.exporter);
	if (!err)
		pipeline__set_exporter(s.pipeline, s.exporter);
	if (err) {
		pr_err("failed to set up the session: %s", strerror(-err));
		exit_code = EXIT_RUNTIME;
		goto cleanup;
	}
	configure_spans(&s);
	err = tracer__new(plans, targets->nbins, RINGBUF_BYTES, on_record, &s, &s.tracer);
	if (err) {
		exit_code = EXIT_RUNTIME;
		goto cleanup;
	}
	exit_code = start_target(&s);
	if (exit_code != EXIT_OK)
		goto cleanup;
	sfd = signalfd(-1, &set, SFD_CLOEXEC);
	if (sfd < 0) {
		pr_err("failed to watch signals: %s", strerror(errno));
		exit_code = EXIT_RUNTIME;
		goto cleanup;
	}
	if (event_loop(&s, sfd, &exit_code)) {
		pr_err("event loop failed: %s", strerror(errno));
		exit_code = EXIT_RUNTIME;
	}
	if (s.exporter)
		exporter__stop(s.exporter);
	print_summary(&s);
cleanup:
	if (sfd >= 0)
		close(sfd);
	for (size_t i = 0; i < s.nwatched; i++)
		close(s.watched[i].pidfd);
	tracer__free(s.tracer);
	pipeline__free(s.pipeline);
	exporter__free(s.exporter);
	resource_cache__free(s.resources);
	return exit_code;
}
