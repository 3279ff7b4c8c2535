// SPDX-License-Identifier: MIT
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "agent.h"
#include "filter.h"
#include "gobin.h"
#include "log.h"
#include "process_watch.h"
#include "target.h"
#include "traced.h"

/* Executables found untraceable are remembered up to this many, then forgotten. */
#define SKIPPED_MAX 4096
/* An exited process is kept this long for its last spans' decoding. */
#define EXITED_KEEP_NS 2000000000ull
/* Every so often, processes whose exit event was lost are looked for. */
#define SWEEP_NS 10000000000ull

enum binary_state {
	BINARY_TRACEABLE,
	BINARY_NOT_GO,
	BINARY_UNINSTRUMENTED,
	BINARY_UNREADABLE,
	BINARY_FAILED, /* loading or attaching failed: not tried again */
};

/* One distinct executable file: same st_dev, st_ino, mtime and size. */
struct agent_binary {
	dev_t dev;
	ino_t ino;
	struct timespec mtime;
	off_t size;
	enum binary_state state;
	struct traced_binary *tb; /* BINARY_TRACEABLE: inspection and plan */
	const char *go_version;
	const char *service_version;
	int instance; /* its BPF instance, -1 until loaded */
	bool attached; /* its probes are in the file */
	int nprobes;
	size_t nprocs; /* admitted processes running it */
};

struct agent_process {
	pid_t pid; /* 0: free slot; -1: removed */
	struct agent_binary *bin;
	bool admitted;
	bool awaiting_port; /* --port: traced once it listens */
	uint64_t exited_ns; /* when its exit was seen; 0: running */
};

struct agent_stats {
	uint64_t execs;
	uint64_t traced; /* processes admitted, ever */
	uint64_t not_go, uninstrumented, unreadable, filtered, failed;
	uint64_t exits;
	uint64_t latency_n, latency_sum_ns, latency_max_ns; /* exec to traced */
};

struct agent {
	struct agent_config cfg;
	struct process_filter filter;
	bool pid_filter;
	enum probe_placement placement;
	struct process_watch *watch;
	struct agent_binary **bins;
	size_t nbins, bins_cap, nskipped;
	struct agent_process *procs; /* open addressing by PID */
	size_t procs_cap, procs_used, nprocs;
	uint64_t last_sweep_ns;
	/* execs of executables not seen before, looked at after the others (see agent__poll) */
	struct ot_proc_event *deferred;
	size_t ndeferred, deferred_cap;
	bool deferring;
	struct agent_stats stats;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

bool agent__filters_pids(const struct otrace_opts *opts)
{
	/* any filter: two processes of one file may differ by path, name or port */
	return opts->ninclude || opts->nexclude || opts->nports;
}

/* The process table: open addressing, linear probing, PIDs as keys. */

static size_t slot_of(size_t cap, pid_t pid)
{
	return ((size_t)pid * 2654435761u) & (cap - 1);
}

static struct agent_process *process_find(struct agent *a, pid_t pid)
{
	if (!a->procs_cap)
		return NULL;
	for (size_t i = slot_of(a->procs_cap, pid), n = 0; n < a->procs_cap;
	     i = (i + 1) & (a->procs_cap - 1), n++) {
		if (a->procs[i].pid == pid)
			return &a->procs[i];
		if (!a->procs[i].pid)
			return NULL;
	}
	return NULL;
}

static int process_table_grow(struct agent *a)
{
	size_t cap = a->procs_cap ? a->procs_cap * 2 : 256;
	struct agent_process *old = a->procs, *procs = calloc(cap, sizeof(*procs));
	size_t old_cap = a->procs_cap;

	if (!procs)
		return -ENOMEM;
	a->procs = procs;
	a->procs_cap = cap;
	a->procs_used = a->nprocs;
	for (size_t i = 0; i < old_cap; i++) {
		size_t j;

		if (old[i].pid <= 0)
			continue;
		for (j = slot_of(cap, old[i].pid); procs[j].pid; j = (j + 1) & (cap - 1))
			;
		procs[j] = old[i];
	}
	free(old);
	return 0;
}

static struct agent_process *process_add(struct agent *a, pid_t pid, struct agent_binary *b)
{
	size_t i;

	if ((a->procs_used + 1) * 2 > a->procs_cap && process_table_grow(a))
		return NULL;
	for (i = slot_of(a->procs_cap, pid); a->procs[i].pid > 0; i = (i + 1) & (a->procs_cap - 1))
		;
	if (!a->procs[i].pid)
		a->procs_used++;
	a->procs[i] = (struct agent_process){ .pid = pid, .bin = b };
	a->nprocs++;
	return &a->procs[i];
}

/* The binary table. */

static void binary_free(struct agent_binary *b)
{
	if (!b)
		return;
	if (b->tb) {
		itab_names__free(b->tb->itabs);
		gobin__free(b->tb->gb);
		free(b->tb);
	}
	free(b);
}

static bool same_file(const struct agent_binary *b, const struct stat *st)
{
	return b->dev == st->st_dev && b->ino == st->st_ino && b->size == st->st_size &&
	       b->mtime.tv_sec == st->st_mtim.tv_sec && b->mtime.tv_nsec == st->st_mtim.tv_nsec;
}

static struct agent_binary *binary_find(struct agent *a, const struct stat *st)
{
	for (size_t i = 0; i < a->nbins; i++)
		if (same_file(a->bins[i], st))
			return a->bins[i];
	return NULL;
}

/* Forgets the untraceable executables: a busy host runs many. */
static void forget_skipped(struct agent *a)
{
	size_t kept = 0;

	for (size_t i = 0; i < a->nbins; i++) {
		if (a->bins[i]->state == BINARY_TRACEABLE || a->bins[i]->instance >= 0)
			a->bins[kept++] = a->bins[i];
		else
			binary_free(a->bins[i]);
	}
	a->nbins = kept;
	a->nskipped = 0;
}

static int binary_keep(struct agent *a, struct agent_binary *b)
{
	if (b->state != BINARY_TRACEABLE && ++a->nskipped > SKIPPED_MAX)
		forget_skipped(a);
	if (a->nbins == a->bins_cap) {
		size_t cap = a->bins_cap ? a->bins_cap * 2 : 64;
		struct agent_binary **bins = realloc(a->bins, cap * sizeof(*bins));

		if (!bins)
			return -ENOMEM;
		a->bins = bins;
		a->bins_cap = cap;
	}
	a->bins[a->nbins++] = b;
	return 0;
}

/*
 * Inspects the executable of pid (through /proc/PID/exe, which works for a
 * process in another mount namespace) and plans its probes; whatever it is,
 * the result is kept for the next process of the file. Quiet: most
 * programs on a host are not Go, and that is no error.
 */
static struct agent_binary *binary_inspect(struct agent *a, const struct stat *st,
					   const char *link, const char *exe)
{
	struct agent_binary *b = calloc(1, sizeof(*b));
	struct traced_binary *tb = calloc(1, sizeof(*tb));
	char why[512];
	int err;

	if (!b || !tb) {
		free(b);
		free(tb);
		return NULL;
	}
	*b = (struct agent_binary){ .dev = st->st_dev, .ino = st->st_ino, .mtime = st->st_mtim,
				    .size = st->st_size, .instance = -1 };
	snprintf(tb->path, sizeof(tb->path), "%s", link);
	snprintf(tb->exe, sizeof(tb->exe), "%s", exe);
	snprintf(tb->display, sizeof(tb->display), "%s", exe);
	tb->dev = st->st_dev;
	tb->ino = st->st_ino;
	err = gobin__open(link, &tb->gb);
	if (err)
		b->state = err == -EACCES || err == -EPERM ? BINARY_UNREADABLE : BINARY_NOT_GO;
	else if (!gobin__is_go(tb->gb))
		b->state = BINARY_NOT_GO;
	else if ((tb->nplanned = plan__build(tb->gb, a->placement, &tb->plan)) == 0)
		b->state = BINARY_UNINSTRUMENTED;
	else
		b->state = BINARY_TRACEABLE;
	if (b->state != BINARY_TRACEABLE) {
		/* it links a library otrace could not plan: that is worth a warning */
		if (b->state == BINARY_UNINSTRUMENTED &&
		    plan__not_traced(&tb->plan, why, sizeof(why)))
			pr_warn("%s: not traced: %s", exe, why);
		else
			pr_debug("%s: skipped (%s)", exe,
				 b->state == BINARY_UNREADABLE	    ? "cannot be read" :
				 b->state == BINARY_UNINSTRUMENTED ? "Go, no library otrace "
								     "instruments" :
								     "not Go");
		gobin__free(tb->gb);
		free(tb);
	} else {
		b->tb = tb;
		b->go_version = gobin__go_version(tb->gb);
		b->service_version = resource__service_version(tb->gb);
	}
	if (binary_keep(a, b)) {
		binary_free(b);
		return NULL;
	}
	return b;
}

/*
 * Loads b's BPF instance (once) and puts its probes into the file, reached
 * through pid's /proc/PID/exe; 0 or -errno (b is then BINARY_FAILED).
 */
static int binary_attach(struct agent *a, struct agent_binary *b, pid_t pid)
{
	struct traced_binary *tb = b->tb;
	char link[32];
	int n;

	if (b->instance < 0) {
		if (a->cfg.propagate)
			plan__add_propagation(tb->gb, &tb->plan);
		if (traced__load_binary_names(tb)) {
			b->state = BINARY_FAILED;
			return -EINVAL;
		}
		n = tracer__add(a->cfg.tracer, &tb->plan);
		if (n < 0) {
			b->state = BINARY_FAILED;
			return n;
		}
		b->instance = n;
		if (tb->plan.single_stepped)
			pr_warn("%s: %d probes sit on single-stepped instructions and cost ~14 us "
				"per hit",
				tb->display, tb->plan.single_stepped);
	}
	snprintf(link, sizeof(link), "/proc/%d/exe", (int)pid);
	n = tracer__attach(a->cfg.tracer, (size_t)b->instance, link, -1);
	if (n < 0) {
		tracer__detach_plan(a->cfg.tracer, (size_t)b->instance);
		b->state = BINARY_FAILED;
		return n;
	}
	b->attached = true;
	b->nprobes = n;
	pr_info("attached %d probes to %s (%s), in every process that runs it", n, tb->exe,
		b->go_version ? b->go_version : "Go");
	return 0;
}

/*
 * The last process of b has exited: its probes go (in the background), so
 * that a later rewrite of the file in place (no longer refused as "text
 * busy") meets no stale probe. The instance stays loaded for the next one.
 */
static void binary_idle(struct agent *a, struct agent_binary *b)
{
	if (!b->attached)
		return;
	b->attached = false;
	tracer__detach_plan(a->cfg.tracer, (size_t)b->instance);
	pr_debug("%s: no process runs it any more; its %d probes are removed", b->tb->exe,
		 b->nprobes);
}

/* Reads /proc/PID/comm into comm (empty when gone). */
static void read_comm(pid_t pid, char *comm, size_t len)
{
	char path[32];
	ssize_t n;
	int fd;

	comm[0] = '\0';
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, comm, len - 1);
	close(fd);
	if (n <= 0)
		return;
	comm[n] = '\0';
	comm[strcspn(comm, "\n")] = '\0';
}

static bool process_alive(pid_t pid)
{
	return !kill(pid, 0) || errno != ESRCH;
}

/* A traced process ended, or exec'd another program: its state goes. */
static void process_end(struct agent *a, struct agent_process *p)
{
	struct agent_binary *b = p->bin;

	process_watch__watch(a->watch, p->pid, false);
	/* its spans in progress will not end (the old image's, after an exec) */
	tracer__end_process(a->cfg.tracer, p->pid);
	if (p->admitted) {
		if (a->pid_filter)
			tracer__admit(a->cfg.tracer, p->pid, false);
		resource_cache__unpin(a->cfg.resources, p->pid);
		if (--b->nprocs == 0)
			binary_idle(a, b);
	}
	p->admitted = false;
	p->awaiting_port = false;
	p->exited_ns = now_ns();
	a->stats.exits++;
}

static void process_remove(struct agent *a, struct agent_process *p)
{
	p->pid = -1;
	a->nprocs--;
}

/* Starts tracing p; exec_ns: when it exec'd (0: running before otrace). */
static void process_admit(struct agent *a, struct agent_process *p, uint64_t exec_ns)
{
	struct agent_binary *b = p->bin;
	uint64_t now;

	if (!b->attached && binary_attach(a, b, p->pid)) {
		a->stats.failed++;
		process_end(a, p);
		return;
	}
	resource_cache__forget(a->cfg.resources, p->pid);
	if (resource_cache__pin(a->cfg.resources, p->pid, NULL, b->tb->exe, b->go_version,
				b->service_version) ||
	    (a->pid_filter && tracer__admit(a->cfg.tracer, p->pid, true))) {
		pr_warn("PID %d (%s): cannot be traced: out of memory", (int)p->pid, b->tb->exe);
		a->stats.failed++;
		return;
	}
	p->admitted = true;
	p->awaiting_port = false;
	b->nprocs++;
	a->stats.traced++;
	now = now_ns();
	if (exec_ns && now > exec_ns) {
		a->stats.latency_n++;
		a->stats.latency_sum_ns += now - exec_ns;
		if (now - exec_ns > a->stats.latency_max_ns)
			a->stats.latency_max_ns = now - exec_ns;
		pr_debug("PID %d (%s) traced, %.1f ms after its exec", (int)p->pid, b->tb->exe,
			 (double)(now - exec_ns) / 1e6);
	} else {
		pr_debug("PID %d (%s) traced", (int)p->pid, b->tb->exe);
	}
}

/* Keeps an exec for later; false when there is no room (then it is handled now). */
static bool defer_exec(struct agent *a, pid_t pid, uint64_t exec_ns)
{
	if (a->ndeferred == a->deferred_cap) {
		size_t cap = a->deferred_cap ? a->deferred_cap * 2 : 16;
		struct ot_proc_event *more = realloc(a->deferred, cap * sizeof(*more));

		if (!more)
			return false;
		a->deferred = more;
		a->deferred_cap = cap;
	}
	a->deferred[a->ndeferred++] =
		(struct ot_proc_event){ .type = OT_PROC_EXEC, .pid = (__u32)pid, .ktime_ns = exec_ns };
	return true;
}

/*
 * Looks at process pid (at the start, or as it exec'd at exec_ns): its
 * executable, the filters, whether it is Go and uses an instrumented
 * library. Everything that is not traced is counted, quietly.
 */
static void process_consider(struct agent *a, pid_t pid, uint64_t exec_ns)
{
	char link[32], exe[PATH_MAX], comm[32];
	struct agent_process *p = process_find(a, pid);
	enum filter_verdict verdict;
	struct agent_binary *b;
	struct stat st;

	snprintf(link, sizeof(link), "/proc/%d/exe", (int)pid);
	if (stat(link, &st) || !S_ISREG(st.st_mode)) {
		st.st_ino = 0; /* a kernel thread, or gone already */
	} else if (p && !p->exited_ns && same_file(p->bin, &st)) {
		/* seen in the scan already, or it exec'd itself: the file's probes stay */
		if (exec_ns)
			tracer__end_process(a->cfg.tracer, pid); /* the old image's spans */
		return;
	}
	if (p) { /* it ran something else: that has ended */
		if (!p->exited_ns)
			process_end(a, p);
		process_remove(a, p);
	}
	if (!st.st_ino || pid == getpid() || target__exe_path(pid, exe, sizeof(exe)))
		return;
	verdict = filter__executable(&a->filter, exe);
	if (verdict == FILTER_PER_PROCESS) {
		read_comm(pid, comm, sizeof(comm));
		if (!filter__names(&a->filter, exe, comm))
			verdict = FILTER_OUT;
	}
	if (verdict == FILTER_OUT) {
		a->stats.filtered++;
		return;
	}
	b = binary_find(a, &st);
	if (!b && a->deferring && defer_exec(a, pid, exec_ns))
		return;
	if (!b)
		b = binary_inspect(a, &st, link, exe);
	if (!b || b->state != BINARY_TRACEABLE) {
		if (!b || b->state == BINARY_FAILED)
			a->stats.failed++;
		else if (b->state == BINARY_NOT_GO)
			a->stats.not_go++;
		else if (b->state == BINARY_UNINSTRUMENTED)
			a->stats.uninstrumented++;
		else
			a->stats.unreadable++;
		return;
	}
	p = process_add(a, pid, b);
	if (!p || process_watch__watch(a->watch, pid, true)) {
		pr_warn("PID %d (%s): cannot be traced: out of memory", (int)pid, exe);
		if (p)
			process_remove(a, p);
		return;
	}
	if (a->filter.nports && !filter__listens(&a->filter, pid))
		p->awaiting_port = true;
	else
		process_admit(a, p, exec_ns);
	/* its exit may have come before it was watched */
	if (!process_alive(pid) && !p->exited_ns)
		process_end(a, p);
}

static void on_listen(struct agent *a, pid_t pid, uint16_t port)
{
	struct agent_process *p = process_find(a, pid);

	if (!p || !p->awaiting_port)
		return;
	for (size_t i = 0; i < a->filter.nports; i++)
		if (a->filter.ports[i] == port) {
			process_admit(a, p, 0);
			return;
		}
}

static void on_event(void *ctx, const struct ot_proc_event *e)
{
	struct agent *a = ctx;
	struct agent_process *p;

	switch (e->type) {
	case OT_PROC_EXEC:
		a->stats.execs++;
		process_consider(a, (pid_t)e->pid, e->ktime_ns);
		break;
	case OT_PROC_EXIT:
		p = process_find(a, (pid_t)e->pid);
		if (p && !p->exited_ns) {
			pr_debug("PID %d exited", (int)e->pid);
			process_end(a, p);
		}
		break;
	case OT_PROC_LISTEN:
		on_listen(a, (pid_t)e->pid, e->port);
		break;
	}
}

/* Every process running now, as if it had just exec'd. */
static void scan_processes(struct agent *a)
{
	DIR *proc = opendir("/proc");
	struct dirent *d;

	if (!proc) {
		pr_warn("cannot read /proc: %s; only processes started from now on are traced",
			strerror(errno));
		return;
	}
	while ((d = readdir(proc))) {
		char *end;
		long pid = strtol(d->d_name, &end, 10);

		if (*end || pid <= 0 || pid > INT_MAX)
			continue;
		process_consider(a, (pid_t)pid, 0);
	}
	closedir(proc);
}

static size_t attached_binaries(const struct agent *a, int *nprobes)
{
	size_t n = 0;

	*nprobes = 0;
	for (size_t i = 0; i < a->nbins; i++)
		if (a->bins[i]->attached) {
			n++;
			*nprobes += a->bins[i]->nprobes;
		}
	return n;
}

static size_t traced_now(const struct agent *a)
{
	size_t n = 0;

	for (size_t i = 0; i < a->procs_cap; i++)
		n += a->procs[i].pid > 0 && a->procs[i].admitted;
	return n;
}

/* Probes take two fds each and every executable's BPF objects some: room for many. */
static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int agent__new(const struct agent_config *cfg, struct agent **out)
{
	const struct otrace_opts *o = cfg->opts;
	struct agent *a = calloc(1, sizeof(*a));
	size_t nbins;
	int err, nprobes;

	*out = NULL;
	if (!a)
		return -ENOMEM;
	a->cfg = *cfg;
	a->filter = (struct process_filter){ .include = o->include, .ninclude = o->ninclude,
					     .exclude = o->exclude, .nexclude = o->nexclude,
					     .nports = o->nports };
	memcpy(a->filter.ports, o->ports, sizeof(a->filter.ports));
	a->pid_filter = agent__filters_pids(o);
	a->placement = traced__placement(o);
	raise_fd_limit();
	err = process_watch__new(o->nports > 0, false, on_event, a, &a->watch);
	if (err) {
		agent__free(a);
		return err;
	}
	scan_processes(a);
	a->last_sweep_ns = now_ns();
	nbins = attached_binaries(a, &nprobes);
	pr_info("attached %d probes to %zu executables, %zu processes; processes started later "
		"are traced as they start",
		nprobes, nbins, traced_now(a));
	*out = a;
	return 0;
}

int agent__fd(const struct agent *a)
{
	return process_watch__fd(a->watch);
}

/*
 * A new executable takes a BPF load (a second or two here, mostly the
 * verifier): the processes of executables already traced are admitted
 * first, so that they do not wait behind it.
 */
void agent__poll(struct agent *a)
{
	a->deferring = true;
	process_watch__consume(a->watch);
	a->deferring = false;
	for (size_t i = 0; i < a->ndeferred; i++)
		process_consider(a, (pid_t)a->deferred[i].pid, a->deferred[i].ktime_ns);
	a->ndeferred = 0;
}

void agent__tick(struct agent *a)
{
	uint64_t now = now_ns();
	bool sweep = now - a->last_sweep_ns > SWEEP_NS;

	if (sweep)
		a->last_sweep_ns = now;
	for (size_t i = 0; i < a->procs_cap; i++) {
		struct agent_process *p = &a->procs[i];

		if (p->pid <= 0)
			continue;
		/* an exit event lost to a full ring buffer */
		if (sweep && !p->exited_ns && !process_alive(p->pid))
			process_end(a, p);
		if (p->exited_ns && now - p->exited_ns > EXITED_KEEP_NS)
			process_remove(a, p);
	}
}

const struct span_binary *agent__span_binary(void *agent, uint32_t pid)
{
	struct agent_process *p = process_find(agent, (pid_t)pid);

	return p && p->bin->tb ? &p->bin->tb->span : NULL;
}

void agent__report(const struct agent *a)
{
	const struct agent_stats *s = &a->stats;
	int nprobes;
	size_t nbins = attached_binaries(a, &nprobes);

	pr_debug("--all: %llu processes traced (%zu now, %zu executables with probes), %llu "
		 "exited; skipped: %llu not Go, %llu Go without an instrumented library, %llu "
		 "filtered out, %llu unreadable, %llu failed; %llu execs seen, %llu process "
		 "events lost",
		 (unsigned long long)s->traced, traced_now(a), nbins, (unsigned long long)s->exits,
		 (unsigned long long)s->not_go, (unsigned long long)s->uninstrumented,
		 (unsigned long long)s->filtered, (unsigned long long)s->unreadable,
		 (unsigned long long)s->failed, (unsigned long long)s->execs,
		 (unsigned long long)process_watch__lost(a->watch));
	if (s->latency_n)
		pr_debug("--all: exec to traced: mean %.1f ms, max %.1f ms over %llu processes",
			 (double)s->latency_sum_ns / (double)s->latency_n / 1e6,
			 (double)s->latency_max_ns / 1e6, (unsigned long long)s->latency_n);
}

void agent__free(struct agent *a)
{
	if (!a)
		return;
	process_watch__free(a->watch);
	for (size_t i = 0; i < a->nbins; i++)
		binary_free(a->bins[i]);
	free(a->bins);
	free(a->procs);
	free(a->deferred);
	free(a);
}
