// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "log.h"
#include "prefetch.h"
#include "procwatch.skel.h"
#include "process_watch.h"

struct process_watch {
	struct procwatch *skel;
	struct ring_buffer *ring;
	process_watch_fn cb;
	void *ctx;
};

static int on_event(void *ctx, void *data, size_t size)
{
	struct process_watch *pw = ctx;

	if (size >= sizeof(struct ot_proc_event))
		pw->cb(pw->ctx, data);
	return 0;
}

int process_watch__new(bool listen, bool watched_execs, process_watch_fn cb, void *ctx,
		       struct process_watch **out)
{
	struct process_watch *pw = calloc(1, sizeof(*pw));
	int err;

	*out = NULL;
	if (!pw)
		return -ENOMEM;
	pw->cb = cb;
	pw->ctx = ctx;
	log__hold_libbpf();
	/* a follower's, loaded while the binaries were planned (prefetch.c) */
	if (!listen && watched_execs)
		pw->skel = prefetch__take_procwatch();
	if (!pw->skel) {
		pw->skel = procwatch__open();
		if (!pw->skel) {
			err = -errno;
			goto fail;
		}
		pw->skel->rodata->report_listen = listen;
		pw->skel->rodata->watched_execs = watched_execs;
		bpf_program__set_autoload(pw->skel->progs.proc_listen, listen);
		err = procwatch__load(pw->skel);
	} else {
		err = 0;
	}
	if (!err)
		err = procwatch__attach(pw->skel);
	if (err)
		goto fail;
	pw->ring = ring_buffer__new(bpf_map__fd(pw->skel->maps.proc_events), on_event, pw, NULL);
	if (!pw->ring) {
		err = -errno;
		goto fail;
	}
	log__release_libbpf(false);
	*out = pw;
	return 0;
fail:
	log__release_libbpf(true);
	pr_err("failed to watch process starts (tracepoint sched_process_exec): %s",
	       strerror(-err));
	process_watch__free(pw);
	return err;
}

int process_watch__fd(const struct process_watch *pw)
{
	return ring_buffer__epoll_fd(pw->ring);
}

int process_watch__consume(struct process_watch *pw)
{
	return ring_buffer__consume(pw->ring);
}

int process_watch__watch(struct process_watch *pw, pid_t pid, bool on)
{
	__u32 key = (__u32)pid;
	__u8 one = 1;
	int fd = bpf_map__fd(pw->skel->maps.watched);

	if (on)
		return bpf_map_update_elem(fd, &key, &one, BPF_ANY) ? -errno : 0;
	return bpf_map_delete_elem(fd, &key) && errno != ENOENT ? -errno : 0;
}

uint64_t process_watch__lost(const struct process_watch *pw)
{
	return __atomic_load_n(&pw->skel->bss->proc_events_lost, __ATOMIC_RELAXED);
}

void process_watch__free(struct process_watch *pw)
{
	if (!pw)
		return;
	ring_buffer__free(pw->ring);
	procwatch__destroy(pw->skel);
	free(pw);
}
