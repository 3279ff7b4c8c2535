// SPDX-License-Identifier: MIT
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>

#include "agent.h"
#include "attach.h"
#include "exitcodes.h"
#include "follow.h"
#include "log.h"
#include "pipeline.h"
#include "resource.h"
#include "session.h"
#include "target.h"

#define RINGBUF_BYTES (8u << 20)
/* the BPF side wakes otrace only for full batches: read the ring this often */
#define RING_POLL_MS 20
/* processes whose end otrace was not told of (--binary) are looked for this often */
#define SWEEP_MS 10000

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
	struct agent *agent; /* --all */
	struct follower *follower; /* -p, --exec: through execs */
	struct watched watched[OTRACE_MAX_PIDS];
	size_t nwatched;
	size_t nrunning;
	bool spawned; /* watched[0] is our child (--exec) */
	int signals;  /* SIGINT, SIGTERM or SIGHUP received */
	int first_signal;
	bool left_running; /* --exec: a second signal; otrace goes, the program stays */
	bool detached;	   /* --exec: the output ended, the program runs on untraced */
	bool output_said;  /* how the output ended was said */
	bool output_polled; /* its fd waits in epoll for a stalled reader */
	struct spawn_attr exec_attr;
	uint64_t next_sweep_ms;
};

/* The signals that end a session (the first one, with --exec, is passed on). */
static const int ending_signals[] = { SIGINT, SIGTERM, SIGHUP };
#define NENDING (sizeof(ending_signals) / sizeof(ending_signals[0]))

static int on_record(void *ctx, void *data, size_t size)
{
	struct session *s = ctx;

	pipeline__record(s->pipeline, data, size);
	return 0;
}

/* Sets sig's disposition for otrace, noting for the --exec'd program what it was. */
static void set_disposition(struct session *s, int sig, __sighandler_t handler)
{
	struct sigaction old;

	if (!sigaction(sig, NULL, &old) && old.sa_handler == SIG_IGN)
		sigaddset(&s->exec_attr.ignored, sig);
	sigaddset(&s->exec_attr.changed, sig);
	signal(sig, handler);
}

/*
 * The ending signals go to a signalfd (set), blocked: a blocked signal is
 * queued even where it is ignored, as a shell leaves SIGINT for a background
 * job, so otrace still gets it and the --exec'd program keeps it ignored.
 * Write errors come back as errno instead of signals.
 */
static int take_signals(struct session *s, sigset_t *set)
{
	sigemptyset(set);
	for (size_t i = 0; i < NENDING; i++)
		sigaddset(set, ending_signals[i]);
	if (sigprocmask(SIG_BLOCK, set, NULL))
		return -errno;
	sigemptyset(&s->exec_attr.changed);
	sigemptyset(&s->exec_attr.ignored);
	/* a closed output pipe shows up as EPIPE, a file over RLIMIT_FSIZE as EFBIG */
	set_disposition(s, SIGPIPE, SIG_IGN);
	set_disposition(s, SIGXFSZ, SIG_IGN);
	return 0;
}

static int new_resources(const struct session_config *cfg, struct resource_cache **out)
{
	struct resource_defaults defaults = {
		.service_name = cfg->service_name,
		.env_attrs = &cfg->otel->env_attrs,
		.cli_attrs = &cfg->otel->cli_attrs,
		.process_env = true,
	};

	/* only --binary looks processes up later, and it has one binary; --all pins each */
	if (cfg->targets->nbins) {
		const struct traced_binary *first = &cfg->targets->bins[0];

		defaults.go_version = gobin__go_version(first->gb);
		defaults.service_version = resource__service_version(first->gb);
		defaults.exe_path = first->exe;
	}
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

/* Follows pid through its execs, when execs can be watched. */
static void follow(struct session *s, pid_t pid, const struct traced_binary *b)
{
	int err = s->follower ? follower__add(s->follower, pid, b) : 0;

	if (err)
		pr_warn("PID %d: its execs cannot be followed: %s", (int)pid, strerror(-err));
}

/* Maps a failed start of the held child to otrace's exit codes. */
static int exec_error_code(const struct spawned *sp, int err, const char *prog,
			   const struct credentials *creds)
{
	if (sp->creds_failed) {
		pr_err("cannot run %s as %s: %s (otrace needs CAP_SETUID and CAP_SETGID)", prog,
		       creds->name, strerror(-err));
		return err == -EPERM ? EXIT_PRIVILEGE : EXIT_RUNTIME;
	}
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

	s->exec_attr.stdout_to_stderr = s->cfg->exec_attr.stdout_to_stderr;
	s->exec_attr.creds = s->cfg->exec_attr.creds;
	err = target__spawn(b->path, s->cfg->exec_argv, &s->exec_attr, &sp);
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
		return exec_error_code(&sp, err, b->path, s->exec_attr.creds);
	}
	code = watch(s, sp.pid, b);
	if (code == EXIT_OK)
		pr_info("attached %d probes to PID %d (%s)", n, (int)sp.pid, b->path);
	if (code == EXIT_OK)
		follow(s, sp.pid, b);
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
			if (set->nbins > 1 || b->npids > 1)
				pr_debug("attached %d probes to PID %d (%s)", n, (int)pid, b->exe);
			follow(s, pid, b);
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

/* -p and --exec: the processes are followed through their execs. */
static void start_following(struct session *s)
{
	struct follower_config fc = {
		.tracer = s->tracer,
		.resources = s->resources,
		.targets = s->cfg->targets,
		.placement = s->cfg->placement,
		.propagate = s->cfg->propagate,
	};

	if (s->cfg->all || s->cfg->targets->all_processes)
		return; /* --all follows every exec; --binary traces a file */
	if (follower__new(&fc, &s->follower))
		pr_warn("execs of the traced processes are not followed: a program that execs "
			"another is not traced afterwards");
}

/* --all: the processes running now, and a watch for those to come. */
static int start_agent(struct session *s)
{
	struct agent_config cfg = {
		.opts = s->cfg->all,
		.propagate = s->cfg->propagate,
		.tracer = s->tracer,
		.resources = s->resources,
	};

	return agent__new(&cfg, &s->agent) ? EXIT_RUNTIME : EXIT_OK;
}

static int start_target(struct session *s)
{
	if (s->cfg->all)
		return start_agent(s);
	if (s->cfg->exec_argv)
		return start_exec(s);
	if (s->cfg->targets->all_processes)
		return start_all_processes(s);
	return start_pids(s);
}

/*
 * Decides what a signal means; returns true when the session should end.
 * With --exec the first one is the program's and otrace waits for it to
 * exit; a second one leaves it running.
 */
static bool handle_signal(struct session *s, int sfd)
{
	struct signalfd_siginfo si;

	if (read(sfd, &si, sizeof(si)) != sizeof(si))
		return false;
	if (!s->signals++)
		s->first_signal = (int)si.ssi_signo;
	if (!s->spawned)
		return true;
	if (s->signals > 1) {
		s->left_running = true;
		return true;
	}
	/* a terminal's ^C already reached the child through its process group */
	if (si.ssi_code != SI_KERNEL)
		kill(s->watched[0].pid, (int)si.ssi_signo);
	return false; /* wait for the child to exit */
}

/*
 * A watched process exited; returns true when it was the last one. Its
 * pidfd also turns readable for a moment when a thread other than the
 * leader execs (the old leader's exit): the process lives on then.
 */
static bool handle_exit(struct session *s, int epfd, struct watched *w)
{
	if (target__running(w->pid))
		return false;
	epoll_ctl(epfd, EPOLL_CTL_DEL, w->pidfd, NULL); /* a pidfd stays readable */
	w->exited = true;
	s->nrunning--;
	tracer__end_process(s->tracer, w->pid);
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

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static bool process_alive(pid_t pid)
{
	return !kill(pid, 0) || errno != ESRCH;
}

/* Now and then: the spans in flight of processes that ended unseen (--binary). */
static void sweep(struct session *s)
{
	uint64_t now = now_ms();

	if (now < s->next_sweep_ms)
		return;
	s->next_sweep_ms = now + SWEEP_MS;
	tracer__sweep(s->tracer, process_alive);
}

static struct watched *watched_by_fd(struct session *s, int fd)
{
	for (size_t i = 0; i < s->nwatched; i++)
		if (s->watched[i].pidfd == fd)
			return &s->watched[i];
	return NULL;
}

/* The exit status of the --exec'd child, or EXIT_DETACHED when it was left running. */
static int reap_child(struct session *s)
{
	pid_t pid = s->watched[0].pid;
	int status;

	if (s->left_running) {
		pr_info("PID %d did not exit after SIG%s; probes detached, otrace exits and leaves "
			"it running",
			(int)pid, sigabbrev_np(s->first_signal));
		return EXIT_DETACHED;
	}
	if (waitpid(pid, &status, 0) == pid)
		return child_status_code(status);
	return EXIT_OK;
}

/* Says once why the output ended, when it did and it was not the reader leaving quietly. */
static void say_output_end(struct session *s)
{
	int err = pipeline__output_error(s->pipeline);
	bool runs_on = s->spawned && !s->watched[0].exited && !s->left_running;

	if (!err || s->output_said)
		return;
	s->output_said = true;
	if (err != -EPIPE)
		pr_err("cannot write spans to %s: %s", output__name(s->cfg->out), strerror(-err));
	else if (runs_on)
		pr_info("output closed");
	if (runs_on)
		pr_info("probes detached; PID %d runs on untraced, otrace waits for it to exit",
			(int)s->watched[0].pid);
}

/*
 * The output ended. Without --exec tracing ends; with it, the program is
 * neither stopped nor orphaned: the probes go and otrace stays its parent
 * (for the supervisor that started otrace) until it exits.
 */
static bool output_ended(struct session *s)
{
	if (!s->spawned)
		return true;
	tracer__detach(s->tracer);
	s->detached = true;
	say_output_end(s);
	return false;
}

/* Polls the output for a stalled reader, only while lines wait for it. */
static int poll_output(struct session *s, int epfd)
{
	bool want = output__wants_pollout(s->cfg->out) && !pipeline__output_closed(s->pipeline);
	struct epoll_event ev = { .events = EPOLLOUT };

	if (want == s->output_polled)
		return 0;
	ev.data.fd = output__fd(s->cfg->out);
	if (epoll_ctl(epfd, want ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, ev.data.fd, &ev))
		return -errno;
	s->output_polled = want;
	return 0;
}

/*
 * The session is over. Lines that wait for a stalled reader are written as it
 * reads. After a signal (the one that ended the session, or one meanwhile)
 * only a line it got in part is finished; one more signal gives that up too,
 * leaving the reader half a line.
 */
static void finish_output(struct session *s, int sfd)
{
	struct output *out = s->cfg->out;
	struct pollfd fds[2] = { { .fd = -1 }, { .fd = sfd, .events = POLLIN } };
	struct signalfd_siginfo si;

	if (!out)
		return; /* spans are only exported */
	fds[0].fd = output__fd(out);
	pipeline__drain_output(s->pipeline);
	if (s->signals)
		pipeline__drop_waiting(s->pipeline, false);
	while (output__stalled(out) && !pipeline__output_closed(s->pipeline)) {
		bool pollout = output__wants_pollout(out);

		fds[0].events = pollout ? POLLOUT : 0;
		if (poll(fds, 2, pollout ? -1 : RING_POLL_MS) < 0 && errno != EINTR)
			break;
		if ((fds[1].revents & POLLIN) && read(sfd, &si, sizeof(si)) == sizeof(si)) {
			if (s->signals++)
				break;
			pipeline__drop_waiting(s->pipeline, false);
			continue;
		}
		pipeline__drain_output(s->pipeline);
	}
	if (!output__stalled(out))
		return;
	if (output__begun(out))
		pr_warn("%s: the reader stalled in the middle of a line, which stays cut short",
			output__name(out));
	pipeline__drop_waiting(s->pipeline, true);
}

/*
 * Runs until every watched process has exited (none are watched with
 * --binary), a signal ends the session or the output ends.
 */
static int run_loop(struct session *s, int epfd, int sfd)
{
	bool done = false;
	int err;

	if (add_fd(epfd, sfd) || add_fd(epfd, tracer__fd(s->tracer)) ||
	    (s->agent && add_fd(epfd, agent__fd(s->agent))) ||
	    (s->follower && add_fd(epfd, follower__fd(s->follower))))
		return -errno;
	for (size_t i = 0; i < s->nwatched; i++)
		if (add_fd(epfd, s->watched[i].pidfd))
			return -errno;
	while (!done) {
		struct epoll_event evs[8];
		int n;

		if (pipeline__output_closed(s->pipeline) && !s->detached && output_ended(s))
			break;
		err = poll_output(s, epfd);
		if (err)
			return err;
		n = epoll_wait(epfd, evs, 8, next_timeout_ms(s));
		if (n < 0 && errno != EINTR)
			return -errno;
		for (int i = 0; i < n; i++) {
			struct watched *w = watched_by_fd(s, evs[i].data.fd);

			if (evs[i].data.fd == sfd)
				done |= handle_signal(s, sfd);
			else if (w && !w->exited)
				done |= handle_exit(s, epfd, w);
		}
		/* new processes first: their records are decoded with their binary's names */
		if (s->agent) {
			agent__poll(s->agent);
			agent__tick(s->agent);
		}
		if (s->follower)
			follower__poll(s->follower);
		/* on a timeout too: records below the wakeup threshold wait there */
		tracer__consume(s->tracer);
		sweep(s);
		/* a pipe is not polled for POLLOUT: whether it is empty yet is seen here */
		if (output__stalled(s->cfg->out))
			pipeline__drain_output(s->pipeline);
		pipeline__flush(s->pipeline, false);
	}
	return 0;
}

static int event_loop(struct session *s, int sfd)
{
	int epfd = epoll_create1(EPOLL_CLOEXEC), err;

	if (epfd < 0)
		return -errno;
	s->next_sweep_ms = now_ms() + SWEEP_MS;
	err = run_loop(s, epfd, sfd);
	close(epfd);
	if (err)
		return err;
	/*
	 * No probe runs once they are detached: the records in the ring buffer
	 * are the last, and what is left live in the in-flight maps will never
	 * end.
	 */
	tracer__detach(s->tracer);
	tracer__consume(s->tracer);
	tracer__end_all(s->tracer);
	pipeline__flush(s->pipeline, true);
	finish_output(s, sfd);
	return 0;
}

/* The session's exit code: a write error first, then the --exec'd program's. */
static int exit_code_of(struct session *s)
{
	int code = s->spawned ? reap_child(s) : EXIT_OK;
	int err = pipeline__output_error(s->pipeline);

	say_output_end(s);
	return err && err != -EPIPE ? EXIT_WRITE : code;
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
	       drops[OT_DROP_READ_FAULT] + drops[OT_DROP_UNFINISHED] + drops[OT_DROP_IN_FLIGHT] +
	       drops[OT_DROP_EVICTED] + drops[OT_DROP_BUSY] + st->undecodable;
}

/*
 * Requests in flight at attach: the ends that found no start, less the
 * spans evicted (each, counted lost, ends later without its entry: its end
 * is no request begun before otrace). An evicted span that never ended
 * makes this an undercount by one; it is a note, not part of the lost.
 */
static uint64_t begun_before_attach(const uint64_t drops[OT_DROP__COUNT])
{
	uint64_t no_start = drops[OT_DROP_NO_START], evicted = drops[OT_DROP_EVICTED];

	return no_start > evicted ? no_start - evicted : 0;
}

/* The export's own accounting line: exported + lost = what the JSON line would say. */
static void print_export_summary(const struct session *s, const uint64_t drops[OT_DROP__COUNT],
				 const struct pipeline_stats *st)
{
	struct exporter_stats ex;

	exporter__stats(s->exporter, &ex);
	fprintf(stderr,
		"otrace: %llu spans exported to %s, %llu lost (ringbuf_full=%llu "
		"inflight_full=%llu read_fault=%llu unfinished=%llu in_flight=%llu evicted=%llu "
		"busy=%llu undecodable=%llu queue_full=%llu export_failed=%llu rejected=%llu), %llu "
		"requests in flight at attach not traced\n",
		(unsigned long long)ex.exported, s->cfg->otel->otlp.url,
		(unsigned long long)(lost_upstream(drops, st) + ex.queue_full +
				     ex.export_failed + ex.rejected),
		(unsigned long long)drops[OT_DROP_RINGBUF_FULL],
		(unsigned long long)drops[OT_DROP_INFLIGHT_FULL],
		(unsigned long long)drops[OT_DROP_READ_FAULT],
		(unsigned long long)drops[OT_DROP_UNFINISHED],
		(unsigned long long)drops[OT_DROP_IN_FLIGHT], (unsigned long long)drops[OT_DROP_EVICTED],
		(unsigned long long)drops[OT_DROP_BUSY], (unsigned long long)st->undecodable,
		(unsigned long long)ex.queue_full,
		(unsigned long long)ex.export_failed, (unsigned long long)ex.rejected,
		(unsigned long long)begun_before_attach(drops));
}

static void print_lines_summary(const uint64_t drops[OT_DROP__COUNT],
				const struct pipeline_stats *st)
{
	uint64_t lost = lost_upstream(drops, st) + st->unwritten;

	fprintf(stderr,
		"otrace: %llu spans written, %llu lost (ringbuf_full=%llu inflight_full=%llu "
		"read_fault=%llu unfinished=%llu in_flight=%llu evicted=%llu busy=%llu "
		"undecodable=%llu unwritten=%llu), %llu requests in flight at attach not traced\n",
		(unsigned long long)st->written, (unsigned long long)lost,
		(unsigned long long)drops[OT_DROP_RINGBUF_FULL],
		(unsigned long long)drops[OT_DROP_INFLIGHT_FULL],
		(unsigned long long)drops[OT_DROP_READ_FAULT],
		(unsigned long long)drops[OT_DROP_UNFINISHED],
		(unsigned long long)drops[OT_DROP_IN_FLIGHT], (unsigned long long)drops[OT_DROP_EVICTED],
		(unsigned long long)drops[OT_DROP_BUSY], (unsigned long long)st->undecodable,
		(unsigned long long)st->unwritten,
		(unsigned long long)begun_before_attach(drops));
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
	/* values left out of spans that were written: not lost spans */
	fprintf(stderr,
		"otrace: %llu values not recorded (wrong_type=%llu invalid=%llu busy=%llu)\n",
		(unsigned long long)(drops[OT_DROP_WRONG_TYPE] + st.invalid_values +
				     drops[OT_DROP_VALUE_BUSY]),
		(unsigned long long)drops[OT_DROP_WRONG_TYPE],
		(unsigned long long)st.invalid_values,
		(unsigned long long)drops[OT_DROP_VALUE_BUSY]);
	if (follower__untraceable(s->follower) == 1)
		fprintf(stderr, "otrace: 1 exec into a program otrace cannot trace (its requests "
				"were not traced)\n");
	else if (follower__untraceable(s->follower))
		fprintf(stderr, "otrace: %llu execs into programs otrace cannot trace (their "
				"requests were not traced)\n",
			(unsigned long long)follower__untraceable(s->follower));
	if (s->tracer && propagating(s->cfg->targets)) {
		uint64_t p[OT_PROPAGATE__COUNT];

		tracer__propagate_stats(s->tracer, p);
		fprintf(stderr,
			"otrace: traceparent written into %llu outgoing requests (no room in %llu, "
			"unexpected writer %llu, write refused %llu, not the request's any more "
			"%llu, traceparent already there %llu)\n",
			(unsigned long long)p[OT_PROPAGATE_WRITTEN],
			(unsigned long long)p[OT_PROPAGATE_NO_ROOM],
			(unsigned long long)p[OT_PROPAGATE_SKIPPED],
			(unsigned long long)p[OT_PROPAGATE_FAILED],
			(unsigned long long)p[OT_PROPAGATE_STALE],
			(unsigned long long)p[OT_PROPAGATE_PRESENT]);
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
	};

	if (targets->nbins)
		span.binary = targets->bins[0].span;
	/* with one binary every process runs it; with several, -p names each one's */
	if (s->agent) {
		span.binary_of = agent__span_binary;
		span.binary_ctx = s->agent;
	} else if (s->follower) { /* an exec changes what a process runs */
		span.binary_of = follower__span_binary;
		span.binary_ctx = s->follower;
	} else if (targets->nbins > 1) {
		span.binary_of = span_binary_of;
		span.binary_ctx = (void *)targets;
	}
	pipeline__configure(s->pipeline, &span);
}

int session__run(const struct session_config *cfg)
{
	const struct traced_set *targets = cfg->targets;
	/* --all starts with no binary: the agent adds them */
	const struct plan *plans[targets->nbins ? targets->nbins : 1];
	struct session s = { .cfg = cfg };
	struct tracer_config tc = {
		.ringbuf_bytes = RINGBUF_BYTES,
		.max_inflight = cfg->max_inflight,
		.pidns = &targets->pidns,
		.pid_filter = cfg->all && agent__filters_pids(cfg->all),
	};
	int exit_code = EXIT_OK, sfd = -1, err;
	sigset_t set;

	for (size_t i = 0; i < targets->nbins; i++)
		plans[i] = &targets->bins[i].plan;
	err = take_signals(&s, &set);
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
	err = tracer__new(plans, targets->nbins, &tc, on_record, &s, &s.tracer);
	if (err) {
		exit_code = EXIT_RUNTIME;
		goto cleanup;
	}
	start_following(&s);
	exit_code = start_target(&s);
	if (exit_code != EXIT_OK)
		goto cleanup;
	configure_spans(&s);
	sfd = signalfd(-1, &set, SFD_CLOEXEC);
	if (sfd < 0) {
		pr_err("failed to watch signals: %s", strerror(errno));
		exit_code = EXIT_RUNTIME;
		goto cleanup;
	}
	err = event_loop(&s, sfd);
	if (err) {
		pr_err("event loop failed: %s", strerror(-err));
		exit_code = EXIT_RUNTIME;
	} else {
		exit_code = exit_code_of(&s);
	}
	if (s.exporter)
		exporter__stop(s.exporter);
	if (s.agent)
		agent__report(s.agent);
	print_summary(&s);
cleanup:
	if (sfd >= 0)
		close(sfd);
	for (size_t i = 0; i < s.nwatched; i++)
		close(s.watched[i].pidfd);
	/* before the agent and the follower: its instances use their plans */
	tracer__free(s.tracer);
	agent__free(s.agent);
	follower__free(s.follower);
	pipeline__free(s.pipeline);
	exporter__free(s.exporter);
	resource_cache__free(s.resources);
	return exit_code;
}
