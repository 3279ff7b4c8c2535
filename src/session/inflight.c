// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>

#include "evictwatch.skel.h"
#include "prefetch.h"
#include "inflight.h"
#include "core_config.h"
#include "inflight_desc.h"
#include "library.h"
#include "log.h"

/*
 * The core's maps of requests in progress: sized, and emptied of an ended
 * process's entries; which of their entries are spans, the libraries say.
 */
static const char *const core_maps[] = { "goroutine_spans", "propagate_frames" };

/*
 * The request contexts' registry, ctx_spans, is no hash map keyed by
 * process: an array of buckets, which needs no emptying (a way names a span
 * only while its goroutine's entry is live with it). Sized here.
 */

/* A live test resolved to where the member lies in the value. */
struct resolved_test {
	uint32_t offset;
	uint32_t size; /* 1, 2, 4 or 8 */
	enum inflight_op op;
	uint32_t value;
};

/* One map: a library's (with its tests) or the core's (none, not counted). */
struct inflight_map {
	const char *name;
	int fd;
	uint32_t key_size, value_size;
	bool counts; /* a library's: its live entries are spans */
	bool lru;
	uint32_t max_entries;
	bool said_full;
	struct resolved_test tests[2];
	size_t ntests;
};

/* Entries are read this many at a time (a hash bucket holds fewer). */
#define BATCH 256

struct inflight {
	struct inflight_map *maps;
	size_t nmaps;
	struct evictwatch *watch; /* the eviction watch, NULL: none */
	void *keys, *values; /* room for BATCH of the largest key and value */
	size_t key_cap, value_cap;
};

/* Called for each entry of a walk; returns false to stop it. */
typedef bool (*entry_fn)(void *ctx, const struct inflight_map *m, const void *key,
			 const void *value);

static struct bpf_map *find_map(struct bpf_object *obj, const char *name)
{
	return bpf_object__find_map_by_name(obj, name);
}

uint32_t inflight__ctx_buckets(uint32_t max_entries)
{
	uint32_t n = 1;

	if (!max_entries)
		return OT_CTX_BUCKETS_DEFAULT;
	while (n * OT_CTX_WAYS < max_entries)
		n <<= 1;
	return n;
}

int inflight__size_maps(struct bpf_object *obj, uint32_t max_entries)
{
	struct bpf_map *ctx_map = find_map(obj, "ctx_spans");

	if (ctx_map) {
		int err = bpf_map__set_max_entries(ctx_map, inflight__ctx_buckets(max_entries));

		if (err)
			return err;
	}
	for (size_t i = 0; i < sizeof(core_maps) / sizeof(core_maps[0]); i++) {
		struct bpf_map *map = find_map(obj, core_maps[i]);
		int err = map ? bpf_map__set_max_entries(map, max_entries) : 0;

		if (err)
			return err;
	}
	for (size_t i = 0; i < nlibraries; i++)
		for (const struct library_map *m = libraries[i]->maps; m->name; m++) {
			struct bpf_map *map = find_map(obj, m->name);
			int err = map ? bpf_map__set_max_entries(map, max_entries) : 0;

			if (err)
				return err;
		}
	return 0;
}

_Static_assert((int)INFLIGHT_NONZERO == (int)OT_INFLIGHT_NONZERO &&
		       (int)INFLIGHT_ZERO == (int)OT_INFLIGHT_ZERO &&
		       (int)INFLIGHT_EQUALS == (int)OT_INFLIGHT_EQUALS &&
		       (int)INFLIGHT_COUNT == (int)OT_INFLIGHT_COUNT,
	       "the eviction watch tests as the library table says");

/* The struct type id behind modifiers and typedefs, or -1. */
static int struct_of(const struct btf *btf, uint32_t id)
{
	const struct btf_type *t;
	int resolved = btf__resolve_type(btf, id);

	if (resolved < 0)
		return -1;
	t = btf__type_by_id(btf, resolved);
	return t && btf_is_struct(t) ? resolved : -1;
}

/* Finds integer member name of struct id: its byte offset and size; 0 or -ENOENT. */
static int find_member(const struct btf *btf, int id, const char *name, uint32_t *offset,
		       uint32_t *size)
{
	const struct btf_type *t = btf__type_by_id(btf, id);
	const struct btf_member *m = btf_members(t);

	for (int i = 0; i < btf_vlen(t); i++, m++) {
		const struct btf_type *mt;
		int type = btf__resolve_type(btf, m->type);
		long long sz;

		if (strcmp(btf__name_by_offset(btf, m->name_off), name))
			continue;
		mt = type < 0 ? NULL : btf__type_by_id(btf, type);
		sz = btf__resolve_size(btf, m->type);
		if (!mt || !(btf_is_int(mt) || btf_is_enum(mt)) || btf_member_bitfield_size(t, i) ||
		    (sz != 1 && sz != 2 && sz != 4 && sz != 8))
			return -ENOENT;
		*offset = btf_member_bit_offset(t, i) / 8;
		*size = (uint32_t)sz;
		return 0;
	}
	return -ENOENT;
}

/*
 * Fills out for map (of library lib, NULL: the core's): its fd and sizes,
 * its key's leading pid, its tests. -ENOENT (said) when they do not resolve.
 */
static int resolve_map(struct bpf_object *obj, const char *name, const struct library_map *lm,
		       struct inflight_map *out)
{
	const struct btf *btf = bpf_object__btf(obj);
	struct bpf_map *map = find_map(obj, name);
	uint32_t off, size;
	int key, value;

	*out = (struct inflight_map){ .name = name, .fd = -1 };
	if (!map || !btf) {
		pr_warn("BPF map %s not found: its spans in flight are not counted", name);
		return -ENOENT;
	}
	key = struct_of(btf, bpf_map__btf_key_type_id(map));
	value = struct_of(btf, bpf_map__btf_value_type_id(map));
	if (key < 0 || find_member(btf, key, "pid", &off, &size) || off || size != 4) {
		pr_warn("BPF map %s is not keyed by process first: its spans in flight are not "
			"counted",
			name);
		return -ENOENT;
	}
	for (size_t i = 0; lm && i < 2 && lm->live[i].member; i++) {
		struct resolved_test *t = &out->tests[out->ntests++];

		if (value < 0 ||
		    find_member(btf, value, lm->live[i].member, &t->offset, &t->size)) {
			pr_warn("BPF map %s has no integer member %s: its spans in flight are not "
				"counted",
				name, lm->live[i].member);
			return -ENOENT;
		}
		t->op = lm->live[i].op;
		t->value = lm->live[i].value;
	}
	out->fd = bpf_map__fd(map);
	out->key_size = bpf_map__key_size(map);
	out->value_size = bpf_map__value_size(map);
	out->lru = bpf_map__type(map) == BPF_MAP_TYPE_LRU_HASH;
	out->max_entries = bpf_map__max_entries(map);
	out->counts = lm && lm->spans;
	return 0;
}

int inflight__check(struct bpf_object *obj)
{
	struct inflight_map m;
	int bad = 0;

	for (size_t i = 0; i < sizeof(core_maps) / sizeof(core_maps[0]); i++)
		bad += !!resolve_map(obj, core_maps[i], NULL, &m);
	for (size_t i = 0; i < nlibraries; i++)
		for (const struct library_map *lm = libraries[i]->maps; lm->name; lm++)
			bad += !!resolve_map(obj, lm->name, lm, &m);
	return bad;
}

static int add_map(struct inflight *in, struct bpf_object *obj, const char *name,
		   const struct library_map *lm)
{
	struct inflight_map *maps = realloc(in->maps, (in->nmaps + 1) * sizeof(*maps));
	struct inflight_map *m;

	if (!maps)
		return -ENOMEM;
	in->maps = maps;
	m = &maps[in->nmaps];
	if (resolve_map(obj, name, lm, m))
		return 0;
	in->nmaps++;
	if (m->key_size > in->key_cap)
		in->key_cap = m->key_size;
	if (m->value_size > in->value_cap)
		in->value_cap = m->value_size;
	return 0;
}

/* The eviction watch's description of LRU map m of spans: by its id. */
static int describe(struct evictwatch *w, const struct inflight_map *m)
{
	struct ot_inflight_desc d = { .key_size = m->key_size, .ntests = m->ntests };
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);

	if (bpf_obj_get_info_by_fd(m->fd, &info, &len))
		return -errno;
	for (size_t j = 0; j < m->ntests && j < OT_INFLIGHT_TESTS; j++)
		d.tests[j] = (struct ot_inflight_test){ .offset = m->tests[j].offset,
							.size = m->tests[j].size,
							.op = m->tests[j].op,
							.value = m->tests[j].value };
	return bpf_map_update_elem(bpf_map__fd(w->maps.inflight_descs), &info.id, &d, BPF_ANY) ?
		       -errno :
		       0;
}

/*
 * Starts counting the live entries evicted from the LRU maps of spans. A
 * kernel may refuse the tracing program (in lockdown): then they go
 * uncounted, and inflight__check_full says when a map filled up.
 */
static void watch_evictions(struct inflight *in)
{
	struct evictwatch *w;
	int err = 0;

	log__hold_libbpf();
	w = prefetch__take_evictwatch(&err); /* loaded while the binaries were planned */
	/*
	 * Out of descriptors there may be only because the main thread held
	 * some at that moment: once more, here. Not after other errors (a
	 * kernel in lockdown refuses it every time, 60-80 ms of BTF each).
	 */
	if (!w && (err == -EMFILE || err == -ENFILE))
		err = 0;
	if (!w && !err) {
		w = evictwatch__open_and_load();
		if (!w)
			err = -errno;
	}
	for (size_t i = 0; !err && i < in->nmaps; i++)
		if (in->maps[i].counts && in->maps[i].lru)
			err = describe(w, &in->maps[i]);
	if (!err)
		err = evictwatch__attach(w);
	log__release_libbpf(false);
	if (err) {
		pr_debug("live spans evicted from full LRU maps are not counted: the eviction "
			 "watch (fexit/htab_lru_map_delete_node) failed: %s",
			 strerror(-err));
		evictwatch__destroy(w);
		return;
	}
	in->watch = w;
}

int inflight__new(struct bpf_object *obj, struct inflight **out)
{
	struct inflight *in = calloc(1, sizeof(*in));
	int err = 0;

	*out = NULL;
	if (!in)
		return -ENOMEM;
	for (size_t i = 0; i < sizeof(core_maps) / sizeof(core_maps[0]) && !err; i++)
		if (find_map(obj, core_maps[i]))
			err = add_map(in, obj, core_maps[i], NULL);
	for (size_t i = 0; i < nlibraries && !err; i++)
		for (const struct library_map *m = libraries[i]->maps; m->name && !err; m++)
			err = add_map(in, obj, m->name, m);
	if (!err) {
		in->keys = calloc(BATCH, in->key_cap ? in->key_cap : 1);
		in->values = calloc(BATCH, in->value_cap ? in->value_cap : 1);
		if (!in->keys || !in->values)
			err = -ENOMEM;
	}
	if (err) {
		inflight__free(in);
		return err;
	}
	watch_evictions(in);
	*out = in;
	return 0;
}

static uint64_t member_of(const void *value, const struct resolved_test *t)
{
	const unsigned char *p = (const unsigned char *)value + t->offset;
	uint64_t v = 0;

	switch (t->size) {
	case 1:
		return *p;
	case 2: {
		uint16_t x;

		memcpy(&x, p, 2);
		return x;
	}
	case 4: {
		uint32_t x;

		memcpy(&x, p, 4);
		return x;
	}
	default:
		memcpy(&v, p, 8);
		return v;
	}
}

/* The spans in progress an entry of m holds: 0 or 1, or the count it keeps. */
static uint64_t live_spans(const struct inflight_map *m, const void *value)
{
	uint64_t n = 1;

	for (size_t i = 0; i < m->ntests; i++) {
		uint64_t v = member_of(value, &m->tests[i]);

		if ((m->tests[i].op == INFLIGHT_NONZERO && !v) ||
		    (m->tests[i].op == INFLIGHT_ZERO && v) ||
		    (m->tests[i].op == INFLIGHT_EQUALS && v != m->tests[i].value))
			return 0;
		if (m->tests[i].op == INFLIGHT_COUNT)
			n = v;
	}
	return n;
}

static pid_t pid_of(const void *key)
{
	uint32_t pid;

	memcpy(&pid, key, sizeof(pid));
	return (pid_t)pid;
}

/*
 * Hands every entry of m to fn, a batch at a time: the kernel goes bucket by
 * bucket, so entries that come and go meanwhile cannot make the walk start
 * over (bpf_map_get_next_key does, on a key deleted under it).
 */
static void walk(struct inflight *in, const struct inflight_map *m, entry_fn fn, void *ctx)
{
	uint64_t batch = 0;
	bool first = true, more = true;

	while (more) {
		__u32 n = BATCH;
		int err = bpf_map_lookup_batch(m->fd, first ? NULL : &batch, &batch, in->keys,
					       in->values, &n, NULL);

		if (err && err != -ENOENT)
			return; /* -ENOSPC: a bucket deeper than BATCH; nothing sane to do */
		more = !err;
		first = false;
		for (__u32 i = 0; i < n; i++)
			if (!fn(ctx, m, (char *)in->keys + (size_t)i * m->key_size,
				(char *)in->values + (size_t)i * m->value_size))
				return;
	}
}

/* Whether map i was walked already (two libraries, or a library and the core, may share it). */
static bool walked(const struct inflight *in, size_t i)
{
	for (size_t j = 0; j < i; j++)
		if (in->maps[j].fd == in->maps[i].fd)
			return true;
	return false;
}

struct count_walk {
	pid_t pid;
	bool (*counted)(void *ctx, pid_t pid);
	void *ctx;
	uint64_t live;
};

static bool count_entry(void *ctx, const struct inflight_map *m, const void *key,
			const void *value)
{
	struct count_walk *w = ctx;
	pid_t p = pid_of(key);

	if ((w->pid >= 0 && p != w->pid) || (w->pid < 0 && w->counted && !w->counted(w->ctx, p)))
		return true;
	w->live += live_spans(m, value);
	return true;
}

struct forget_walk {
	pid_t pid;
	char *keys;
	size_t n, cap;
};

static bool collect_entry(void *ctx, const struct inflight_map *m, const void *key,
			  const void *value)
{
	struct forget_walk *w = ctx;

	(void)value;
	if (pid_of(key) != w->pid)
		return true;
	if (w->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 64;
		char *keys = realloc(w->keys, cap * m->key_size);

		if (!keys)
			return false;
		w->keys = keys;
		w->cap = cap;
	}
	memcpy(w->keys + w->n++ * m->key_size, key, m->key_size);
	return true;
}

/* Deletes every entry of pid in m (collected first, then deleted). */
static void forget_pid(struct inflight *in, const struct inflight_map *m, pid_t pid)
{
	struct forget_walk w = { .pid = pid };

	walk(in, m, collect_entry, &w);
	for (size_t i = 0; i < w.n; i++)
		bpf_map_delete_elem(m->fd, w.keys + i * m->key_size);
	free(w.keys);
}

uint64_t inflight__end(struct inflight *in, pid_t pid, bool forget,
		       bool (*counted)(void *ctx, pid_t pid), void *ctx)
{
	struct count_walk w = { .pid = pid, .counted = counted, .ctx = ctx };

	if (!in)
		return 0;
	for (size_t i = 0; i < in->nmaps; i++)
		if (in->maps[i].counts)
			walk(in, &in->maps[i], count_entry, &w);
	for (size_t i = 0; forget && pid >= 0 && i < in->nmaps; i++)
		if (!walked(in, i))
			forget_pid(in, &in->maps[i], pid);
	return w.live;
}

struct pids_walk {
	pid_t *pids;
	size_t n, max;
};

static bool pid_entry(void *ctx, const struct inflight_map *m, const void *key,
		      const void *value)
{
	struct pids_walk *w = ctx;
	pid_t p = pid_of(key);
	size_t j;

	(void)m;
	(void)value;
	for (j = 0; j < w->n && w->pids[j] != p; j++)
		;
	if (j == w->n && w->n < w->max)
		w->pids[w->n++] = p;
	return true;
}

size_t inflight__pids(struct inflight *in, pid_t *pids, size_t max)
{
	struct pids_walk w = { .pids = pids, .max = max };

	for (size_t i = 0; in && i < in->nmaps; i++)
		if (!walked(in, i))
			walk(in, &in->maps[i], pid_entry, &w);
	return w.n;
}

uint64_t inflight__evicted(const struct inflight *in)
{
	return in && in->watch ? __atomic_load_n(&in->watch->bss->evicted, __ATOMIC_RELAXED) : 0;
}

static bool count_any(void *ctx, const struct inflight_map *m, const void *key, const void *value)
{
	(void)m;
	(void)key;
	(void)value;
	(*(uint64_t *)ctx)++;
	return true;
}

/*
 * An LRU map evicts once no free entry is left, and each CPU may hold back
 * free entries in its own list (the kernel's LRU moves them in batches of up
 * to 128): this much below its size a map may already evict, and a small one
 * from half full.
 */
#define LRU_SLACK 256

void inflight__check_full(struct inflight *in)
{
	for (size_t i = 0; in && !in->watch && i < in->nmaps; i++) {
		struct inflight_map *m = &in->maps[i];
		uint64_t n = 0;

		if (!m->counts || !m->lru || m->said_full)
			continue;
		walk(in, m, count_any, &n);
		if (n + (m->max_entries > 2 * LRU_SLACK ? LRU_SLACK : m->max_entries / 2) <
		    m->max_entries)
			continue;
		m->said_full = true;
		pr_warn("BPF map %s is full (%llu of %u entries): spans in progress may have been "
			"evicted, uncounted (this kernel does not let otrace watch evictions); "
			"raise --max-inflight",
			m->name, (unsigned long long)n, m->max_entries);
	}
}

void inflight__free(struct inflight *in)
{
	if (!in)
		return;
	evictwatch__destroy(in->watch);
	free(in->maps);
	free(in->keys);
	free(in->values);
	free(in);
}
