// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "attach.h"
#include "otrace.skel.h"
#include "log.h"

struct tracer {
	struct otrace *skel;
	struct ring_buffer *ring;
	struct bpf_link *links[PLAN_MAX_PROBES];
};

int tracer__new(const struct plan *plan, size_t ringbuf_bytes, ring_buffer_sample_fn cb,
		void *ctx, struct tracer **out)
{
	struct tracer *t;
	int err;

	*out = NULL;
	if (!plan->http_server && !plan->http_client && !plan->grpc_server && !plan->grpc_client)
		return -ENOENT;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->skel = otrace__open();
	if (!t->skel) {
		err = -errno;
		pr_err("failed to open BPF object: %s", strerror(-err));
		goto fail;
	}
	t->skel->rodata->http_cfg = plan->http_cfg;
	t->skel->rodata->http_client_cfg = plan->http_client_cfg;
	t->skel->rodata->grpc_cfg = plan->grpc_cfg;
	t->skel->rodata->map_cfg = plan->map_cfg;
	err = bpf_map__set_max_entries(t->skel->maps.events, ringbuf_bytes);
	if (!err)
		err = otrace__load(t->skel);
	if (err) {
		pr_err("failed to load BPF programs: %s", strerror(-err));
		goto fail;
	}
	t->ring = ring_buffer__new(bpf_map__fd(t->skel->maps.events), cb, ctx, NULL);
	if (!t->ring) {
		err = -errno;
		pr_err("failed to create ring buffer: %s", strerror(-err));
		goto fail;
	}
	*out = t;
	return 0;
fail:
	tracer__free(t);
	return err;
}

int tracer__attach(struct tracer *t, const struct plan *plan, const char *binary, pid_t pid)
{
	int attached = 0;

	for (size_t i = 0; i < plan->nprobes; i++) {
		const struct probe *p = &plan->probes[i];
		LIBBPF_OPTS(bpf_uprobe_opts, opts,
			    .bpf_cookie = p->point.stack_check ? OT_COOKIE_STACK_CHECK : 0);
		struct bpf_program *prog;

		if (!p->planned)
			continue;
		prog = bpf_object__find_program_by_name(t->skel->obj, p->program);
		if (!prog)
			return -ENOENT;
		t->links[i] = bpf_program__attach_uprobe_opts(prog, pid, binary, p->file_offset,
							      &opts);
		if (!t->links[i]) {
			int err = -errno;

			pr_err("failed to attach uprobe to %s at %s+0x%llx: %s", p->symbol, binary,
			       (unsigned long long)p->file_offset, strerror(-err));
			return err;
		}
		attached++;
	}
	return attached;
}

int tracer__fd(const struct tracer *t)
{
	return ring_buffer__epoll_fd(t->ring);
}

int tracer__consume(struct tracer *t)
{
	return ring_buffer__consume(t->ring);
}

void tracer__drops(const struct tracer *t, uint64_t drops[OT_DROP__COUNT])
{
	for (int i = 0; i < OT_DROP__COUNT; i++)
		drops[i] = __atomic_load_n(&t->skel->bss->drops[i], __ATOMIC_RELAXED);
}

void tracer__free(struct tracer *t)
{
	if (!t)
		return;
	for (int i = 0; i < PLAN_MAX_PROBES; i++)
		bpf_link__destroy(t->links[i]);
	ring_buffer__free(t->ring);
	otrace__destroy(t->skel);
	free(t);
}
