// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/btf.h>

#include "attach.h"
#include "library.h"
#include "log.h"
/* the skeleton's typed .rodata: every library's configuration (generated list) */
#include "library_configs.h"
#include "otrace.skel.h"
#include "uprobe_multi.h"

/* One loaded copy of the BPF object, configured for one binary's plan. */
struct instance {
	struct otrace *skel;
	struct bpf_object *obj;
	const __u64 *drops; /* in the instance's .bss */
	const __u64 *propagate_stats;
	const struct plan *plan;
};

struct tracer {
	struct instance *instances;
	size_t ninstances;
	struct ring_buffer *ring;
	bool multi; /* the kernel has multi-uprobe links: one link per program */
	struct bpf_link **links; /* one uprobe each (without multi-uprobe links) */
	size_t nlinks, links_cap;
	int *multi_fds; /* multi-uprobe links */
	size_t nmulti, multi_cap;
};

/*
 * Before load: every map that is not the object's own config or counters
 * (.rodata, .bss) becomes the one of first, so that all instances write to
 * one ring buffer and share the in-flight state.
 */
static int share_maps(struct bpf_object *obj, struct bpf_object *first)
{
	struct bpf_map *map;

	bpf_object__for_each_map(map, obj) {
		struct bpf_map *same;
		int err;

		if (bpf_map__is_internal(map))
			continue;
		same = bpf_object__find_map_by_name(first, bpf_map__name(map));
		if (!same)
			return -ENOENT;
		err = bpf_map__reuse_fd(map, bpf_map__fd(same));
		if (err)
			return err;
	}
	return 0;
}

/* Loads the programs the plan uses only; multi: as multi-uprobe programs. */
static void only_planned_programs(struct bpf_object *obj, const struct plan *plan, bool multi)
{
	struct bpf_program *prog;

	bpf_object__for_each_program(prog, obj) {
		bool used = false;

		for (size_t i = 0; i < plan->nprobes && !used; i++)
			used = plan->probes[i].planned &&
			       !strcmp(plan->probes[i].program, bpf_program__name(prog));
		bpf_program__set_autoload(prog, used);
		if (used && multi)
			bpf_program__set_expected_attach_type(
				prog, (enum bpf_attach_type)UPROBE_MULTI_ATTACH_TYPE);
	}
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && !strcmp(s + n - m, suffix);
}

/*
 * Sets the .rodata variable name of obj to value (size bytes): each library
 * names its configuration variable (lib/library.h), found through the
 * object's BTF as the skeleton would, so this file names no library.
 */
static int set_rodata(struct bpf_object *obj, const char *name, const void *value, size_t size)
{
	const struct btf *btf = bpf_object__btf(obj);
	struct bpf_map *rodata = NULL, *map;
	const struct btf_var_secinfo *v;
	const struct btf_type *sec;
	size_t len;
	char *data;
	int id;

	bpf_object__for_each_map(map, obj)
		if (bpf_map__is_internal(map) && ends_with(bpf_map__name(map), ".rodata"))
			rodata = map;
	id = btf ? btf__find_by_name_kind(btf, ".rodata", BTF_KIND_DATASEC) : -ENOENT;
	if (!rodata || id < 0)
		return -ENOENT;
	sec = btf__type_by_id(btf, id);
	v = btf_var_secinfos(sec);
	for (int i = 0; i < btf_vlen(sec); i++, v++) {
		const struct btf_type *var = btf__type_by_id(btf, v->type);

		if (strcmp(btf__name_by_offset(btf, var->name_off), name))
			continue;
		if (v->size != size)
			return -EINVAL;
		data = (char *)bpf_map__initial_value(rodata, &len);
		if (!data || v->offset + size > len)
			return -EINVAL;
		/* the map's own copy, which loading freezes into the kernel */
		memcpy(data + v->offset, value, size);
		return 0;
	}
	return -ENOENT;
}

/* Copies each traced library's configuration from the plan into the object. */
static int configure_libraries(struct bpf_object *obj, const struct plan *plan)
{
	for (size_t i = 0; i < nlibraries; i++) {
		const struct library *lib = libraries[i];
		int err;

		if (!plan->libs[i].active || !lib->config_name)
			continue;
		err = set_rodata(obj, lib->config_name, plan->libs[i].config, lib->config_size);
		if (err) {
			pr_err("BPF object has no configuration %s for %s: %s", lib->config_name,
			       lib->name, strerror(-err));
			return err;
		}
	}
	return 0;
}

/*
 * The only code that knows the skeleton: opens one instance, sets its
 * read-only config from the plan and loads it, sharing the maps of first
 * (NULL for the first instance).
 */
static int instance__load(struct instance *in, const struct plan *plan, size_t ringbuf_bytes,
			  const struct pidns *pidns, bool multi, const struct instance *first)
{
	int err;

	in->plan = plan;
	in->skel = otrace__open();
	if (!in->skel) {
		err = -errno;
		log__release_libbpf(true);
		pr_err("failed to open BPF object: %s", strerror(-err));
		return err;
	}
	in->obj = in->skel->obj;
	in->skel->rodata->map_cfg = plan->map_cfg;
	if (pidns && !pidns->is_init) {
		in->skel->rodata->pidns_dev = pidns->dev;
		in->skel->rodata->pidns_ino = pidns->ino;
	}
	err = configure_libraries(in->obj, plan);
	if (err)
		return err;
	/*
	 * Only the programs the plan attaches are loaded: verifying the others
	 * costs seconds on a busy machine, and those that write to the target
	 * (--propagate) must not even load unless asked for.
	 */
	only_planned_programs(in->obj, plan, multi);
	err = bpf_map__set_max_entries(in->skel->maps.events, ringbuf_bytes);
	if (!err && first)
		err = share_maps(in->obj, first->obj);
	if (!err)
		err = otrace__load(in->skel);
	if (err) {
		log__release_libbpf(true); /* what libbpf and the verifier said, then why */
		pr_err("failed to load BPF programs: %s", strerror(-err));
		return err;
	}
	in->drops = in->skel->bss->drops;
	in->propagate_stats = in->skel->bss->propagate_stats;
	return 0;
}

static void instance__destroy(struct instance *in)
{
	otrace__destroy(in->skel);
}

int tracer__new(const struct plan *const *plans, size_t nplans, size_t ringbuf_bytes,
		const struct pidns *pidns, ring_buffer_sample_fn cb, void *ctx, struct tracer **out)
{
	struct bpf_map *events;
	struct tracer *t;
	int err;

	*out = NULL;
	if (!nplans)
		return -EINVAL;
	for (size_t i = 0; i < nplans; i++)
		if (!plan__active(plans[i]))
			return -ENOENT;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->multi = uprobe_multi__supported();
	log__hold_libbpf(); /* libbpf's warnings and the verifier's log, if loading fails */
	t->instances = calloc(nplans, sizeof(*t->instances));
	if (!t->instances) {
		err = -ENOMEM;
		goto fail;
	}
	for (size_t i = 0; i < nplans; i++) {
		err = instance__load(&t->instances[i], plans[i], ringbuf_bytes, pidns, t->multi,
				     i ? &t->instances[0] : NULL);
		t->ninstances++; /* a failed instance still has its skeleton to destroy */
		if (err)
			goto fail;
	}
	events = bpf_object__find_map_by_name(t->instances[0].obj, "events");
	t->ring = events ? ring_buffer__new(bpf_map__fd(events), cb, ctx, NULL) : NULL;
	if (!t->ring) {
		err = events ? -errno : -ENOENT;
		log__release_libbpf(true);
		pr_err("failed to create ring buffer: %s", strerror(-err));
		goto fail;
	}
	log__release_libbpf(false);
	*out = t;
	return 0;
fail:
	log__release_libbpf(false); /* shown already where it failed */
	tracer__free(t);
	return err;
}

static int keep_link(struct tracer *t, struct bpf_link *link)
{
	if (t->nlinks == t->links_cap) {
		size_t cap = t->links_cap ? t->links_cap * 2 : PLAN_MAX_PROBES;
		struct bpf_link **links = realloc(t->links, cap * sizeof(*links));

		if (!links)
			return -ENOMEM;
		t->links = links;
		t->links_cap = cap;
	}
	t->links[t->nlinks++] = link;
	return 0;
}

static int keep_multi(struct tracer *t, int fd)
{
	if (t->nmulti == t->multi_cap) {
		size_t cap = t->multi_cap ? t->multi_cap * 2 : 16;
		int *fds = realloc(t->multi_fds, cap * sizeof(*fds));

		if (!fds)
			return -ENOMEM;
		t->multi_fds = fds;
		t->multi_cap = cap;
	}
	t->multi_fds[t->nmulti++] = fd;
	return 0;
}

/*
 * One multi-uprobe link per program, with every offset the plan puts it at,
 * in the order the plan first names each program. Returns the probes attached.
 */
static int attach_plan_multi(struct tracer *t, const struct instance *in, const char *binary,
			     pid_t pid)
{
	const struct plan *plan = in->plan;
	uint64_t offsets[PLAN_MAX_PROBES], cookies[PLAN_MAX_PROBES];
	int attached = 0;

	for (size_t i = 0; i < plan->nprobes; i++) {
		const struct probe *p = &plan->probes[i];
		struct bpf_program *prog;
		uint32_t n = 0;
		bool seen = false;
		int fd, err;

		if (!p->planned)
			continue;
		for (size_t j = 0; j < i && !seen; j++)
			seen = plan->probes[j].planned && !strcmp(plan->probes[j].program, p->program);
		if (seen)
			continue; /* its link has every offset already */
		for (size_t j = i; j < plan->nprobes; j++) {
			const struct probe *q = &plan->probes[j];

			if (!q->planned || strcmp(q->program, p->program))
				continue;
			offsets[n] = q->file_offset;
			cookies[n++] = q->point.stack_check ? OT_COOKIE_STACK_CHECK : 0;
		}
		prog = bpf_object__find_program_by_name(in->obj, p->program);
		if (!prog)
			return -ENOENT;
		fd = uprobe_multi__attach(bpf_program__fd(prog), binary, offsets, cookies, n,
					  pid < 0 ? 0 : pid);
		if (fd < 0) {
			log__release_libbpf(true);
			pr_err("failed to attach uprobes to %s in %s (%u places): %s", p->symbol,
			       binary, n, strerror(-fd));
			return fd;
		}
		err = keep_multi(t, fd);
		if (err) {
			close(fd);
			return err;
		}
		attached += (int)n;
	}
	return attached;
}

static int attach_plan(struct tracer *t, const struct instance *in, const char *binary, pid_t pid)
{
	int attached = 0;

	for (size_t i = 0; i < in->plan->nprobes; i++) {
		const struct probe *p = &in->plan->probes[i];
		LIBBPF_OPTS(bpf_uprobe_opts, opts,
			    .bpf_cookie = p->point.stack_check ? OT_COOKIE_STACK_CHECK : 0);
		struct bpf_program *prog;
		struct bpf_link *link;
		int err;

		if (!p->planned)
			continue;
		prog = bpf_object__find_program_by_name(in->obj, p->program);
		if (!prog)
			return -ENOENT;
		link = bpf_program__attach_uprobe_opts(prog, pid, binary, p->file_offset, &opts);
		if (!link) {
			err = -errno;
			log__release_libbpf(true);
			pr_err("failed to attach uprobe to %s at %s+0x%llx: %s", p->symbol, binary,
			       (unsigned long long)p->file_offset, strerror(-err));
			return err;
		}
		err = keep_link(t, link);
		if (err) {
			bpf_link__destroy(link);
			return err;
		}
		attached++;
	}
	return attached;
}

int tracer__attach(struct tracer *t, size_t instance, const char *binary, pid_t pid)
{
	int n;

	if (instance >= t->ninstances)
		return -EINVAL;
	log__hold_libbpf(); /* shown if an attach fails */
	if (t->multi)
		n = attach_plan_multi(t, &t->instances[instance], binary, pid);
	else
		n = attach_plan(t, &t->instances[instance], binary, pid);
	log__release_libbpf(false);
	return n;
}

void tracer__detach(struct tracer *t)
{
	for (size_t i = 0; i < t->nlinks; i++)
		bpf_link__destroy(t->links[i]);
	t->nlinks = 0;
	for (size_t i = 0; i < t->nmulti; i++)
		close(t->multi_fds[i]);
	t->nmulti = 0;
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
	for (int r = 0; r < OT_DROP__COUNT; r++) {
		drops[r] = 0;
		for (size_t i = 0; i < t->ninstances; i++)
			if (t->instances[i].drops)
				drops[r] += __atomic_load_n(&t->instances[i].drops[r],
							    __ATOMIC_RELAXED);
	}
}

void tracer__propagate_stats(const struct tracer *t, uint64_t stats[OT_PROPAGATE__COUNT])
{
	for (int r = 0; r < OT_PROPAGATE__COUNT; r++) {
		stats[r] = 0;
		for (size_t i = 0; i < t->ninstances; i++)
			if (t->instances[i].propagate_stats)
				stats[r] += __atomic_load_n(&t->instances[i].propagate_stats[r],
							    __ATOMIC_RELAXED);
	}
}

void tracer__free(struct tracer *t)
{
	if (!t)
		return;
	tracer__detach(t);
	free(t->links);
	free(t->multi_fds);
	ring_buffer__free(t->ring);
	for (size_t i = 0; i < t->ninstances; i++)
		instance__destroy(&t->instances[i]);
	free(t->instances);
	free(t);
}
