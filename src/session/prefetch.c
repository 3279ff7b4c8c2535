// SPDX-License-Identifier: MIT
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <sys/resource.h>

#include <bpf/libbpf.h>

#include "evictwatch.skel.h"
#include "log.h"
#include "prefetch.h"
#include "procwatch.skel.h"

static struct {
	pthread_t thread;
	bool started, joined, follow_execs;
	struct procwatch *proc;
	struct evictwatch *evict;
	int evict_err;
} pf;

static void *load_watches(void *arg)
{
	(void)arg;
	pf.evict = evictwatch__open_and_load();
	if (!pf.evict)
		pf.evict_err = errno ? -errno : -EINVAL;
	if (pf.follow_execs) {
		pf.proc = procwatch__open();
		if (pf.proc) {
			/* as process_watch__new sets them for a follower */
			pf.proc->rodata->report_listen = false;
			pf.proc->rodata->watched_execs = true;
			bpf_program__set_autoload(pf.proc->progs.proc_listen, false);
			if (procwatch__load(pf.proc)) {
				procwatch__destroy(pf.proc);
				pf.proc = NULL;
			}
		}
	}
	return NULL;
}

/*
 * Below this many descriptors the watches load after the plan, as they did
 * before: loading at the same time as the main object, they would take
 * descriptors it needs, and where a load fails would depend on timing.
 */
#define PREFETCH_MIN_FDS 1024

void prefetch__start(bool follow_execs)
{
	struct rlimit rl;

	if (pf.started)
		return;
	if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur < PREFETCH_MIN_FDS) {
		pr_debug("the BPF watches load after the plan: fewer than %d descriptors allowed",
			 PREFETCH_MIN_FDS);
		return;
	}
	pf.follow_execs = follow_execs;
	if (pthread_create(&pf.thread, NULL, load_watches, NULL)) {
		pr_debug("the BPF watches load after the plan: no thread for them");
		return;
	}
	pf.started = true;
}

static void join(void)
{
	if (pf.started && !pf.joined) {
		pthread_join(pf.thread, NULL);
		pf.joined = true;
	}
}

struct procwatch *prefetch__take_procwatch(void)
{
	struct procwatch *p;

	join();
	p = pf.proc;
	pf.proc = NULL;
	return p;
}

struct evictwatch *prefetch__take_evictwatch(int *err)
{
	struct evictwatch *w;

	join();
	w = pf.evict;
	*err = w ? 0 : pf.evict_err;
	pf.evict = NULL;
	pf.evict_err = 0;
	return w;
}

void prefetch__end(void)
{
	join();
	procwatch__destroy(pf.proc);
	evictwatch__destroy(pf.evict);
	pf.proc = NULL;
	pf.evict = NULL;
}
