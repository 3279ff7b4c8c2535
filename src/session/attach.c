// SPDX-License-Identifier: MIT
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>

#include "attach.h"
#include "inflight.h"
#include "library.h"
#include "log.h"
/* the skeleton's typed .rodata: every library's configuration (generated list) */
#include "library_configs.h"
#include "otrace.skel.h"
#include "uprobe_multi.h"

/*
 * One loaded copy of the BPF object, configured for one binary's plan; the
 * binaries whose plans have the same programs (plan__same_programs: copies
 * of one executable, above all) share it.
 */
struct instance {
	struct otrace *skel;
	struct bpf_object *obj;
	const __u64 *drops; /* in the instance's .bss */
	const struct plan *plan; /* the plan it was loaded for */
};

/*
 * A plan tracer__add was given (its index is what the callers hold): the
 * instance that runs its programs, and its own probes' offsets.
 */
struct binding {
	size_t instance;
	const struct plan *plan;
};

/*
 * What puts one program on its probes: a multi-uprobe link (all its offsets
 * in a file, where the kernel has them), else one libbpf link per probe.
 */
struct attachment {
	struct bpf_link *link; /* NULL: a multi-uprobe link, fd */
	int fd;
	size_t binding;	 /* the binding whose probes it attaches */
	pid_t pid;	 /* the process it is for, -1: every process running the file */
	uint16_t token;	 /* its attach's (records.h), in its probes' cookies */
};

/* A thread removing links; their tokens are free once it is joined. */
struct detacher {
	pthread_t thread;
	uint16_t *tokens;
	size_t ntokens;
};

struct tracer {
	struct instance *instances;
	size_t ninstances, instances_cap;
	struct binding *bindings;
	size_t nbindings, bindings_cap;
	int events_fd; /* the ring buffer every instance writes to */
	struct ring_buffer *ring;
	bool multi; /* the kernel has multi-uprobe links (src/session/uprobe_multi.h) */
	struct attachment *links;
	size_t nlinks, links_cap;
	struct detacher *detachers; /* threads removing links (detach_links) */
	size_t ndetachers;
	/* tokens that links have, live or on their way out (records.h) */
	bool token_used[OT_LINK_TOKENS];
	uint32_t token_last; /* the last one taken */
	size_t ringbuf_bytes;
	uint32_t max_inflight; /* every in-flight map's size; 0: each its own */
	const struct pidns *pidns;
	bool pid_filter;
	struct inflight *inflight; /* the first instance's in-flight maps, which all share */
	uint64_t in_flight;	   /* spans counted in flight when their process or tracing ended */
};

/* Links are destroyed by this many threads at once (see tracer__detach). */
#define DETACH_THREADS 32

/*
 * How many bytes a CPU writes before it wakes the reader (each CPU counts
 * its own): every CPU's share together is an eighth of the ring. A wakeup
 * costs the traced thread several microseconds (an IPI and a scheduler
 * wakeup), so the fewer the better: the reader polls on a timer anyway, and
 * the wakeups are there for the rates at which the ring would fill between
 * two polls.
 */
static __u64 wakeup_bytes(size_t ringbuf_bytes)
{
	int ncpus = libbpf_num_possible_cpus();
	__u64 share = ringbuf_bytes / 8 / (__u64)(ncpus > 0 ? ncpus : 1);

	return share > 4096 ? share : 4096;
}

/*
 * Before load: the ring buffer becomes the tracer's, and every other map that
 * is not the object's own config or counters (.rodata, .bss) becomes the one
 * of first (NULL: this is the first), so that all instances share the
 * in-flight state.
 */
static int share_maps(struct bpf_object *obj, struct bpf_object *first, int events_fd)
{
	struct bpf_map *map;

	bpf_object__for_each_map(map, obj) {
		struct bpf_map *same;
		int err;

		if (bpf_map__is_internal(map))
			continue;
		if (!strcmp(bpf_map__name(map), "events")) {
			err = bpf_map__reuse_fd(map, events_fd);
			if (err)
				return err;
			continue;
		}
		if (!first)
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
static int instance__load(struct instance *in, const struct plan *plan, const struct tracer *t,
			  const struct instance *first)
{
	const struct pidns *pidns = t->pidns;
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
	in->skel->rodata->pid_filter = t->pid_filter;
	in->skel->rodata->ctx_bucket_mask = inflight__ctx_buckets(t->max_inflight) - 1;
	in->skel->rodata->wakeup_bytes = wakeup_bytes(t->ringbuf_bytes);
	err = configure_libraries(in->obj, plan);
	if (err)
		return err;
	/*
	 * Only the programs the plan attaches are loaded: verifying the others
	 * costs seconds on a busy machine, and those that write to the target
	 * (--propagate) must not even load unless asked for.
	 */
	only_planned_programs(in->obj, plan, t->multi);
	err = bpf_map__set_max_entries(in->skel->maps.events, t->ringbuf_bytes);
	if (!err && !first && t->max_inflight)
		err = inflight__size_maps(in->obj, t->max_inflight);
	if (!err)
		err = share_maps(in->obj, first ? first->obj : NULL, t->events_fd);
	if (!err)
		err = otrace__load(in->skel);
	if (err) {
		log__release_libbpf(true); /* what libbpf and the verifier said, then why */
		pr_err("failed to load BPF programs: %s", strerror(-err));
		return err;
	}
	in->drops = in->skel->bss->drops;
	return 0;
}

static void instance__destroy(struct instance *in)
{
	otrace__destroy(in->skel);
}

int tracer__new(const struct plan *const *plans, size_t nplans, const struct tracer_config *cfg,
		ring_buffer_sample_fn cb, void *ctx, struct tracer **out)
{
	struct tracer *t;
	int err;

	*out = NULL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->ringbuf_bytes = cfg->ringbuf_bytes;
	t->max_inflight = cfg->max_inflight;
	t->multi = uprobe_multi__supported();
	t->pidns = cfg->pidns;
	t->pid_filter = cfg->pid_filter;
	t->events_fd =
		bpf_map_create(BPF_MAP_TYPE_RINGBUF, "events", 0, 0, t->ringbuf_bytes, NULL);
	if (t->events_fd < 0) {
		err = -errno;
		pr_err("failed to create ring buffer: %s", strerror(-err));
		goto fail;
	}
	t->ring = ring_buffer__new(t->events_fd, cb, ctx, NULL);
	if (!t->ring) {
		err = -errno;
		pr_err("failed to create ring buffer: %s", strerror(-err));
		goto fail;
	}
	for (size_t i = 0; i < nplans; i++) {
		err = tracer__add(t, plans[i]);
		if (err < 0)
			goto fail;
	}
	*out = t;
	return 0;
fail:
	tracer__free(t);
	return err;
}

/* Grows *items (each size bytes, *cap of them) to hold one more than n; 0 or -ENOMEM. */
static int grow(void **items, size_t size, size_t n, size_t *cap)
{
	size_t more = *cap ? *cap * 2 : 4;
	void *p;

	if (n < *cap)
		return 0;
	p = realloc(*items, more * size);
	if (!p)
		return -ENOMEM;
	*items = p;
	*cap = more;
	return 0;
}

/* The loaded instance whose programs are plan's, or -1. */
static ssize_t same_instance(const struct tracer *t, const struct plan *plan)
{
	for (size_t i = 0; i < t->ninstances; i++)
		if (t->instances[i].drops && plan__same_programs(t->instances[i].plan, plan))
			return (ssize_t)i;
	return -1;
}

/* Loads an instance for plan; returns its index or -errno. */
static ssize_t load_instance(struct tracer *t, const struct plan *plan)
{
	struct instance *in;
	int err;

	if (grow((void **)&t->instances, sizeof(*in), t->ninstances, &t->instances_cap))
		return -ENOMEM;
	in = &t->instances[t->ninstances];
	memset(in, 0, sizeof(*in));
	log__hold_libbpf(); /* libbpf's warnings and the verifier's log, if loading fails */
	err = instance__load(in, plan, t, t->ninstances ? &t->instances[0] : NULL);
	t->ninstances++; /* a failed instance still has its skeleton to destroy */
	if (err) {
		log__release_libbpf(false); /* shown already where it failed */
		return err;
	}
	log__release_libbpf(false);
	/* the maps every instance shares are the first one's */
	if (!t->inflight) {
		err = inflight__new(in->obj, &t->inflight);
		if (err) {
			pr_err("failed to read the BPF maps: %s", strerror(-err));
			return err;
		}
	}
	return (ssize_t)t->ninstances - 1;
}

int tracer__add(struct tracer *t, const struct plan *plan)
{
	ssize_t instance;

	if (!plan__active(plan))
		return -ENOENT;
	if (grow((void **)&t->bindings, sizeof(*t->bindings), t->nbindings, &t->bindings_cap))
		return -ENOMEM;
	instance = same_instance(t, plan);
	if (instance < 0)
		instance = load_instance(t, plan);
	else
		pr_debug("BPF instance %zd, loaded for an earlier binary with the same layout, "
			 "runs this one's programs too",
			 instance);
	if (instance < 0)
		return (int)instance;
	t->bindings[t->nbindings] = (struct binding){ .instance = (size_t)instance, .plan = plan };
	return (int)t->nbindings++;
}

int tracer__admit(struct tracer *t, pid_t pid, bool admitted)
{
	__u32 key = (__u32)pid;
	__u8 one = 1;
	int fd;

	if (!t->ninstances || !t->instances[0].skel)
		return -ENOENT;
	fd = bpf_map__fd(t->instances[0].skel->maps.traced_pids);
	if (admitted)
		return bpf_map_update_elem(fd, &key, &one, BPF_ANY) ? -errno : 0;
	return bpf_map_delete_elem(fd, &key) && errno != ENOENT ? -errno : 0;
}

static void attachment__destroy(struct attachment *a)
{
	if (a->link)
		bpf_link__destroy(a->link);
	else
		close(a->fd);
}

/* Keeps a (taking it over: it is destroyed when it cannot be kept). */
static int keep_link(struct tracer *t, struct attachment a)
{
	if (grow((void **)&t->links, sizeof(*t->links), t->nlinks, &t->links_cap)) {
		attachment__destroy(&a);
		return -ENOMEM;
	}
	t->links[t->nlinks++] = a;
	return 0;
}

/* Probe p's BPF cookie, in an attach whose token is token (records.h). */
static __u64 probe_cookie(const struct probe *p, uint16_t token)
{
	return (__u64)token << OT_COOKIE_TOKEN_SHIFT |
	       (p->point.stack_check ? OT_COOKIE_STACK_CHECK : 0);
}

/* Lets the programs run for the links of token, or not (link_live, shared); 0 or -errno. */
static int token_set_live(const struct tracer *t, uint16_t token, bool live)
{
	__u32 key = token;
	__u8 value = live;

	return bpf_map_update_elem(bpf_map__fd(t->instances[0].skel->maps.link_live), &key, &value,
				   BPF_ANY)
		       ? -errno
		       : 0;
}

/*
 * Joins the threads removing links that have finished (wait: every one),
 * whose links' tokens are then free.
 */
static void reap_detachers(struct tracer *t, bool wait)
{
	size_t kept = 0;

	for (size_t i = 0; i < t->ndetachers; i++) {
		struct detacher *d = &t->detachers[i];

		if (wait ? pthread_join(d->thread, NULL) : pthread_tryjoin_np(d->thread, NULL)) {
			t->detachers[kept++] = *d;
			continue;
		}
		for (size_t k = 0; k < d->ntokens; k++)
			t->token_used[d->tokens[k]] = false;
		free(d->tokens);
	}
	t->ndetachers = kept;
}

/*
 * A token for an attach, marked used; 0 when every one is (the links of
 * OT_LINK_TOKENS - 1 attaches, live or still being removed).
 */
static uint16_t token_take(struct tracer *t)
{
	for (int pass = 0; pass < 2; pass++) {
		/* the tokens of finished removals first; then those of removals still running */
		reap_detachers(t, pass > 0);
		for (uint32_t k = 1; k < OT_LINK_TOKENS; k++) {
			uint32_t token = (t->token_last + k) % OT_LINK_TOKENS;

			if (!token || t->token_used[token])
				continue;
			t->token_used[token] = true;
			t->token_last = token;
			return (uint16_t)token;
		}
	}
	return 0;
}

/*
 * One multi-uprobe link per program, with every offset the plan puts it at,
 * in the order the plan first names each program. Returns the probes attached.
 */
static int attach_plan_multi(struct tracer *t, size_t binding, const char *binary, pid_t pid,
			     uint16_t token)
{
	const struct binding *b = &t->bindings[binding];
	const struct instance *in = &t->instances[b->instance];
	const struct plan *plan = b->plan;
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
			cookies[n++] = probe_cookie(q, token);
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
		err = keep_link(t, (struct attachment){
					   .fd = fd, .binding = binding, .pid = pid, .token = token });
		if (err)
			return err;
		attached += (int)n;
	}
	return attached;
}

static int attach_plan(struct tracer *t, size_t binding, const char *binary, pid_t pid,
		       uint16_t token)
{
	const struct binding *b = &t->bindings[binding];
	const struct instance *in = &t->instances[b->instance];
	int attached = 0;

	for (size_t i = 0; i < b->plan->nprobes; i++) {
		const struct probe *p = &b->plan->probes[i];
		LIBBPF_OPTS(bpf_uprobe_opts, opts, .bpf_cookie = probe_cookie(p, token));
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
		err = keep_link(t, (struct attachment){
					   .link = link, .binding = binding, .pid = pid, .token = token });
		if (err)
			return err;
		attached++;
	}
	return attached;
}

/* Whether a link has token. */
static bool token_has_links(const struct tracer *t, uint16_t token)
{
	for (size_t i = 0; i < t->nlinks; i++)
		if (t->links[i].token == token)
			return true;
	return false;
}

/*
 * Links still being removed (a process exec'd the same file; the last
 * process of a file exited and another started, --all) fire for the new
 * image as well as the new links, until the kernel is done with them (a
 * grace period each, seconds on a loaded host). Each hit would then run
 * the same program twice, which not every program takes as one hit (a
 * request was counted twice). Their token was cleared before their removal
 * began: their programs return at once, and the new links, with a token of
 * their own, are attached without waiting. (A run that began before the
 * clear ends within microseconds, before any new link is in.)
 */
int tracer__attach(struct tracer *t, size_t binding, const char *binary, pid_t pid)
{
	uint16_t token;
	int n;

	if (binding >= t->nbindings)
		return -EINVAL;
	token = token_take(t);
	if (!token) {
		pr_err("cannot attach to %s: %d attaches hold probes already", binary,
		       OT_LINK_TOKENS - 1);
		return -ENOSPC;
	}
	n = token_set_live(t, token, true);
	if (n) {
		pr_err("cannot attach to %s: BPF map update: %s", binary, strerror(-n));
		t->token_used[token] = false;
		return n;
	}
	log__hold_libbpf(); /* shown if an attach fails */
	if (t->multi)
		n = attach_plan_multi(t, binding, binary, pid, token);
	else
		n = attach_plan(t, binding, binary, pid, token);
	log__release_libbpf(false);
	if (!token_has_links(t, token)) {
		token_set_live(t, token, false);
		t->token_used[token] = false;
	}
	return n;
}

struct link_slice {
	struct attachment *links;
	size_t n;
};

static void *destroy_links(void *arg)
{
	struct link_slice *slice = arg;

	for (size_t i = 0; i < slice->n; i++)
		attachment__destroy(&slice->links[i]);
	return NULL;
}

/*
 * Destroys n links from several threads at once. The kernel waits for an RCU
 * grace period to remove a perf-event uprobe (0.1 to 0.7 s measured on a
 * busy machine), one after the other in one thread: 210 probes took 73 s.
 * Grace periods waited for at the same time are shared, so the links go
 * from several threads (10 s -> 2.4 s for 21 probes of --binary; 73 -> 25 s
 * for 210 probes of 10 processes). A multi-uprobe link waits once for all
 * its probes; its few links per instance go the same way.
 */
static void destroy_all(struct attachment *links, size_t n)
{
	struct link_slice slices[DETACH_THREADS];
	pthread_t threads[DETACH_THREADS];
	size_t nthreads = n < DETACH_THREADS ? n : DETACH_THREADS;
	size_t per = nthreads ? (n + nthreads - 1) / nthreads : 0, taken = 0, started = 0;
	pthread_attr_t attr;

	if (nthreads > 1 && !pthread_attr_init(&attr)) {
		pthread_attr_setstacksize(&attr, 64 << 10);
		for (; taken < n; taken += slices[started++].n) {
			slices[started].links = links + taken;
			slices[started].n = n - taken < per ? n - taken : per;
			if (pthread_create(&threads[started], &attr, destroy_links, &slices[started]))
				break;
		}
		pthread_attr_destroy(&attr);
		for (size_t k = 0; k < started; k++)
			pthread_join(threads[k], NULL);
	}
	/* what no thread took: a single link, or threads that could not start */
	for (size_t i = taken; i < n; i++)
		attachment__destroy(&links[i]);
}

/* Every link, from several threads (see destroy_all). */
void tracer__detach(struct tracer *t)
{
	reap_detachers(t, true);
	destroy_all(t->links, t->nlinks);
	t->nlinks = 0;
}

struct detach_job {
	struct attachment *links;
	size_t n;
};

/*
 * OTRACE_TEST_DETACH_DELAY_MS: fault injection for the tests, which cannot
 * slow the kernel's grace periods: removing links waits this long first,
 * as a slow removal on a loaded host would (TestExecFollowed).
 */
static void test_detach_delay(void)
{
	const char *v = getenv("OTRACE_TEST_DETACH_DELAY_MS");
	long ms = v ? strtol(v, NULL, 10) : 0;

	if (ms > 0 && ms <= 10000)
		usleep((useconds_t)ms * 1000);
}

static void *detach_job__run(void *arg)
{
	struct detach_job *job = arg;

	test_detach_delay();
	destroy_all(job->links, job->n);
	free(job->links);
	free(job);
	return NULL;
}

/* Removes, in a thread of its own, the links of binding (-1: any) for process pid (0: any). */
static int detach_links(struct tracer *t, ssize_t binding, pid_t pid)
{
	struct detach_job *job = calloc(1, sizeof(*job));
	struct detacher *more = realloc(t->detachers, (t->ndetachers + 1) * sizeof(*more));
	struct detacher *d;
	size_t kept = 0;

	if (more)
		t->detachers = more;
	if (!job || !more || !(job->links = calloc(t->nlinks ? t->nlinks : 1, sizeof(*job->links)))) {
		free(job);
		return -ENOMEM;
	}
	d = &t->detachers[t->ndetachers];
	*d = (struct detacher){ .tokens = calloc(t->nlinks ? t->nlinks : 1, sizeof(*d->tokens)) };
	if (!d->tokens) {
		free(job->links);
		free(job);
		return -ENOMEM;
	}
	/* an attach's links have one binding and one pid: a token's links go together */
	for (size_t i = 0; i < t->nlinks; i++) {
		const struct attachment *a = &t->links[i];
		bool seen = false;

		if ((binding >= 0 && a->binding != (size_t)binding) || (pid && a->pid != pid)) {
			t->links[kept++] = *a;
			continue;
		}
		job->links[job->n++] = *a;
		for (size_t k = 0; k < d->ntokens && !seen; k++)
			seen = d->tokens[k] == a->token;
		if (!seen)
			d->tokens[d->ntokens++] = a->token;
	}
	t->nlinks = kept;
	/* silenced now: they may fire until the kernel has removed them (tracer__attach) */
	for (size_t k = 0; k < d->ntokens; k++)
		if (token_set_live(t, d->tokens[k], false))
			pr_warn("probes being removed could not be silenced: a hit of a process "
				"attached again meanwhile may be counted twice");
	if (!pthread_create(&d->thread, NULL, detach_job__run, job)) {
		t->ndetachers++;
		return 0;
	}
	detach_job__run(job); /* no thread: here, then */
	for (size_t k = 0; k < d->ntokens; k++)
		t->token_used[d->tokens[k]] = false;
	free(d->tokens);
	return 0;
}

int tracer__detach_plan(struct tracer *t, size_t binding)
{
	return detach_links(t, (ssize_t)binding, 0);
}

int tracer__detach_process(struct tracer *t, pid_t pid)
{
	return detach_links(t, -1, pid);
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
	drops[OT_DROP_IN_FLIGHT] += t->in_flight;
	drops[OT_DROP_EVICTED] += inflight__evicted(t->inflight);
}

/* --all with filters: only the admitted processes' spans are otrace's. */
static bool admitted(void *ctx, pid_t pid)
{
	const struct tracer *t = ctx;
	__u32 key = (__u32)pid;
	__u8 v;

	return !t->pid_filter ||
	       !bpf_map_lookup_elem(bpf_map__fd(t->instances[0].skel->maps.traced_pids), &key, &v);
}

uint64_t tracer__end_process(struct tracer *t, pid_t pid)
{
	bool counted = admitted(t, pid);
	uint64_t n = inflight__end(t->inflight, pid, true, NULL, NULL);

	if (!counted)
		return 0;
	t->in_flight += n;
	return n;
}

uint64_t tracer__end_all(struct tracer *t)
{
	uint64_t n;

	inflight__check_full(t->inflight);
	n = inflight__end(t->inflight, -1, false, admitted, t);

	t->in_flight += n;
	return n;
}

/* Processes that had entries when a sweep looked, at most. */
#define SWEEP_PIDS 4096

uint64_t tracer__sweep(struct tracer *t, bool (*alive)(pid_t pid))
{
	pid_t *pids = malloc(SWEEP_PIDS * sizeof(*pids));
	uint64_t n = 0;
	size_t npids;

	if (!pids)
		return 0;
	inflight__check_full(t->inflight);
	npids = inflight__pids(t->inflight, pids, SWEEP_PIDS);
	for (size_t i = 0; i < npids; i++)
		if (!alive(pids[i]))
			n += tracer__end_process(t, pids[i]);
	free(pids);
	return n;
}

void tracer__propagate_stats(const struct tracer *t, uint64_t stats[OT_PROPAGATE__COUNT])
{
	int ncpus = libbpf_num_possible_cpus();
	__u64 *per_cpu = ncpus > 0 ? calloc((size_t)ncpus, sizeof(*per_cpu)) : NULL;
	int fd = t->ninstances && t->instances[0].drops
			 ? bpf_map__fd(t->instances[0].skel->maps.propagate_counts)
			 : -1;

	for (__u32 r = 0; r < OT_PROPAGATE__COUNT; r++) {
		stats[r] = 0;
		if (!per_cpu || fd < 0 || bpf_map_lookup_elem(fd, &r, per_cpu))
			continue;
		for (int c = 0; c < ncpus; c++)
			stats[r] += per_cpu[c];
	}
	free(per_cpu);
}

void tracer__free(struct tracer *t)
{
	if (!t)
		return;
	tracer__detach(t);
	free(t->links);
	free(t->detachers);
	ring_buffer__free(t->ring);
	inflight__free(t->inflight);
	for (size_t i = 0; i < t->ninstances; i++)
		instance__destroy(&t->instances[i]);
	free(t->instances);
	free(t->bindings);
	if (t->events_fd >= 0)
		close(t->events_fd);
	free(t);
}
