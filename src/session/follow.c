// SPDX-License-Identifier: MIT
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "follow.h"
#include "library.h"
#include "log.h"
#include "process_watch.h"
#include "target.h"

/* An executable a followed process ran into, with its BPF instance. */
struct followed_binary {
	struct traced_binary tb;
	int instance;
};

/* A process followed: what it runs now (NULL: nothing otrace can trace). */
struct followed {
	pid_t pid;
	const struct traced_binary *bin;
};

struct follower {
	struct follower_config cfg;
	struct process_watch *watch;
	struct followed *procs;
	size_t nprocs;
	struct followed_binary **bins; /* inspected after an exec, owned */
	size_t nbins;
	uint64_t untraceable;
};

static void on_event(void *ctx, const struct ot_proc_event *e);

int follower__new(const struct follower_config *cfg, struct follower **out)
{
	struct follower *f = calloc(1, sizeof(*f));
	int err;

	*out = NULL;
	if (!f)
		return -ENOMEM;
	f->cfg = *cfg;
	err = process_watch__new(false, true, on_event, f, &f->watch);
	if (err) {
		free(f);
		return err;
	}
	*out = f;
	return 0;
}

static struct followed *find(struct follower *f, pid_t pid)
{
	for (size_t i = 0; i < f->nprocs; i++)
		if (f->procs[i].pid == pid)
			return &f->procs[i];
	return NULL;
}

int follower__add(struct follower *f, pid_t pid, const struct traced_binary *b)
{
	struct followed *procs = realloc(f->procs, (f->nprocs + 1) * sizeof(*procs));

	if (!procs)
		return -ENOMEM;
	f->procs = procs;
	procs[f->nprocs++] = (struct followed){ .pid = pid, .bin = b };
	return process_watch__watch(f->watch, pid, true);
}

int follower__fd(const struct follower *f)
{
	return process_watch__fd(f->watch);
}

void follower__poll(struct follower *f)
{
	process_watch__consume(f->watch);
}

/* The file of b: its dev and inode (a file named on the command line is stat'ed now). */
static bool same_file(const struct traced_binary *b, const struct stat *st)
{
	struct stat bst;

	if (b->ino)
		return b->dev == st->st_dev && b->ino == st->st_ino;
	return !stat(b->path, &bst) && bst.st_dev == st->st_dev && bst.st_ino == st->st_ino;
}

/* The BPF instance already loaded for the file st, or -1. */
static int known_instance(const struct follower *f, const struct stat *st,
			  const struct traced_binary **b)
{
	for (size_t i = 0; i < f->cfg.targets->nbins; i++)
		if (same_file(&f->cfg.targets->bins[i], st)) {
			*b = &f->cfg.targets->bins[i];
			return (int)i;
		}
	for (size_t i = 0; i < f->nbins; i++)
		if (same_file(&f->bins[i]->tb, st)) {
			*b = &f->bins[i]->tb;
			return f->bins[i]->instance;
		}
	return -1;
}

static void binary_free(struct followed_binary *fb)
{
	if (!fb)
		return;
	itab_names__free(fb->tb.itabs);
	gobin__free(fb->tb.gb);
	free(fb);
}

/*
 * Inspects, plans and loads the executable process pid runs now (st), or
 * says why it cannot be traced (NULL).
 */
static struct followed_binary *load_binary(struct follower *f, pid_t pid, const struct stat *st)
{
	struct followed_binary *fb = calloc(1, sizeof(*fb));
	struct followed_binary **bins;
	struct traced_binary *b;
	const char *why = NULL;
	int err;

	if (!fb)
		return NULL;
	b = &fb->tb;
	b->dev = st->st_dev;
	b->ino = st->st_ino;
	snprintf(b->path, sizeof(b->path), "/proc/%d/exe", (int)pid);
	if (target__exe_path(pid, b->exe, sizeof(b->exe)))
		snprintf(b->exe, sizeof(b->exe), "%s", b->path);
	snprintf(b->display, sizeof(b->display), "PID %d (%s)", (int)pid, b->exe);
	err = gobin__open(b->path, &b->gb);
	if (err)
		why = err == -EACCES || err == -EPERM ? "cannot be read" : "not a Go program";
	else if (!gobin__is_go(b->gb))
		why = "not a Go program";
	else if ((b->nplanned = plan__build(b->gb, f->cfg.placement, &b->plan)) == 0)
		why = "a Go program that uses no library otrace instruments";
	if (!why && f->cfg.propagate)
		plan__add_propagation(b->gb, &b->plan);
	if (!why && traced__load_binary_names(b))
		why = "its symbol table cannot be read";
	if (!why && (fb->instance = tracer__add(f->cfg.tracer, &b->plan)) < 0)
		why = "its probes cannot be loaded";
	bins = why ? NULL : realloc(f->bins, (f->nbins + 1) * sizeof(*bins));
	if (!why && !bins)
		why = "out of memory";
	if (why) {
		pr_info("PID %d exec'd %s: %s; its requests are not traced (unless it execs a "
			"program otrace can trace)",
			(int)pid, b->exe, why);
		binary_free(fb);
		return NULL;
	}
	f->bins = bins;
	bins[f->nbins++] = fb;
	return fb;
}

/* p exec'd the file st: its probes (and resource) become the new image's. */
static void follow_exec(struct follower *f, struct followed *p, const struct stat *st)
{
	const struct traced_binary *b = NULL;
	int instance = known_instance(f, st, &b), n;
	struct followed_binary *fb;
	char link[32];

	/*
	 * Its probes are gone, even for the same file: they were bound to the
	 * task that was its leader, and the thread that exec'd (Go's are any)
	 * took the leader's place.
	 */
	if (p->bin)
		tracer__detach_process(f->cfg.tracer, p->pid);
	p->bin = NULL;
	resource_cache__forget(f->cfg.resources, p->pid);
	if (instance < 0) {
		fb = load_binary(f, p->pid, st);
		if (!fb) {
			f->untraceable++;
			return;
		}
		b = &fb->tb;
		instance = fb->instance;
	}
	snprintf(link, sizeof(link), "/proc/%d/exe", (int)p->pid);
	n = tracer__attach(f->cfg.tracer, (size_t)instance, link, p->pid);
	if (n < 0) {
		pr_warn("PID %d exec'd %s, which cannot be traced: attaching its probes failed",
			(int)p->pid, b->exe);
		f->untraceable++;
		return;
	}
	p->bin = b;
	if (resource_cache__pin(f->cfg.resources, p->pid, NULL, b->exe, gobin__go_version(b->gb),
				resource__service_version(b->gb)))
		pr_warn("PID %d: its resource attributes could not be read again", (int)p->pid);
	pr_info("PID %d exec'd %s (%s): attached %d probes", (int)p->pid, b->exe,
		gobin__go_version(b->gb) ? gobin__go_version(b->gb) : "Go", n);
}

static void on_event(void *ctx, const struct ot_proc_event *e)
{
	struct follower *f = ctx;
	struct followed *p = find(f, (pid_t)e->pid);
	char link[32], path[OT_PROC_PATH_CAP];
	struct stat st;

	if (!p || e->type != OT_PROC_EXEC)
		return;
	/* the old image's last records are decoded as its own */
	tracer__consume(f->cfg.tracer);
	tracer__end_process(f->cfg.tracer, p->pid);
	snprintf(path, sizeof(path), "%.*s", (int)sizeof(e->path) - 1, e->path);
	snprintf(link, sizeof(link), "/proc/%d/exe", (int)p->pid);
	if (stat(link, &st))
		return; /* it exited: its pidfd says so */
	if (st.st_ino != e->ino || st.st_dev != makedev(e->dev >> 20, e->dev & 0xfffff)) {
		pr_info("PID %d exec'd %s, and again since", (int)p->pid, path);
		return; /* the later exec's event follows */
	}
	follow_exec(f, p, &st);
}

const struct span_binary *follower__span_binary(void *ctx, uint32_t pid)
{
	struct followed *p = find(ctx, (pid_t)pid);

	return p && p->bin ? &p->bin->span : NULL;
}

uint64_t follower__untraceable(const struct follower *f)
{
	return f ? f->untraceable : 0;
}

void follower__free(struct follower *f)
{
	if (!f)
		return;
	process_watch__free(f->watch);
	for (size_t i = 0; i < f->nbins; i++)
		binary_free(f->bins[i]);
	free(f->bins);
	free(f->procs);
	free(f);
}
