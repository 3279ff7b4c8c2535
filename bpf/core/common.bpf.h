/* SPDX-License-Identifier: MIT */
/*
 * What every library's probes share: the ring buffer, drop counters, reads of
 * Go values, span ids, and the registry that links a child span to the span
 * in progress on its context.
 *
 * Parent lookup. A server span registers the data pointer of its request's
 * context.Context. Every context the handler derives from it (WithValue,
 * WithCancel, WithTimeout, WithoutCancel, AfterFunc) embeds its parent as the
 * first field, an interface {itab, data}, so a client call's context leads
 * back to the server's in a few reads, whichever goroutine makes the call.
 * A call made with context.Background() on the serving goroutine itself
 * falls back to that goroutine's server span.
 */
#ifndef OTRACE_COMMON_BPF_H
#define OTRACE_COMMON_BPF_H

#include "core_config.h"
#include "records.h"
#include "go_abi.h"
#include "traceparent.h"
#include "slots.h"

/* context chains deeper than this end the walk (no parent) */
#define CTX_MAX_DEPTH 12

/*
 * Wake the reader only once a CPU has written this many bytes since it last
 * did: a wakeup per record costs the traced thread an IPI and a scheduler
 * wakeup, several times the probe itself. otrace also polls the ring on a
 * short timer, so a lone record never waits long. User space sets it so
 * that every CPU's share together is an eighth of the ring.
 */
const volatile __u64 wakeup_bytes = 64 << 10;

/*
 * The bytes this CPU wrote since it last woke the reader. Counted here, not
 * asked of the ring (bpf_ringbuf_query): its positions are written by the
 * reader and the other CPUs, and reading them cost a cache miss on every
 * record, 0.9 us of an HTTP server span's 3 (bench/cost, bpf_stats).
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} unwoken_bytes SEC(".maps");

__u64 drops[OT_DROP__COUNT] = {};

struct goroutine_key {
	__u32 pid;
	__u32 _pad;
	__u64 g;
};

/* The current process and goroutine (R14 at the probed instructions). */
#define goroutine_of(ctx) ((struct goroutine_key){ .pid = pid_of_current(), .g = GO_G(ctx) })

struct ctx_key {
	__u32 pid;
	__u32 _pad;
	__u64 data; /* the context's data pointer */
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20); /* resized by user space */
} events SEC(".maps");

/*
 * The request contexts of server spans in progress, for calls made with a
 * context derived from one on any goroutine (ot_span_parent): a hashed
 * array of CTX_WAYS-way buckets, not a hash map. Registering in an LRU hash
 * map took about 400 ns and removing 140, per request (bench/cost/ab,
 * 2026-12-04); here both are a few compares and stores in one bucket.
 *
 * A way names the context (tag: its data pointer), and the goroutine whose
 * goroutine_spans entry holds the span, with the span's id. A lookup takes
 * the ids from that entry, and only while it is live with that id: a way
 * whose end was never seen (the target exited, otrace missed the end), or
 * that a race left half-written, names no span. With every way of a bucket
 * taken, a registration takes one at random: that request's calls on other
 * goroutines with its context then find no parent there (those on its own
 * goroutine and the goroutines it started still do, through goroutine_spans).
 */
#define CTX_WAYS OT_CTX_WAYS
#define CTX_CLAIMED 1 /* the tag of a way being written */

struct ctx_way {
	__u64 g;
	__u64 span_id;
	__u32 pid;
	__u32 _pad;
};

/* the tags first, in one cache line: a lookup that finds none reads no more */
struct ctx_bucket {
	__u64 tag[CTX_WAYS]; /* each way's context data pointer; 0: free */
	struct ctx_way way[CTX_WAYS];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, OT_CTX_BUCKETS_DEFAULT); /* resized by user space, with the mask */
	__type(key, __u32);
	__type(value, struct ctx_bucket);
} ctx_spans SEC(".maps");

const volatile __u32 ctx_bucket_mask = OT_CTX_BUCKETS_DEFAULT - 1; /* ctx_spans' max_entries - 1 */

/*
 * The server span in progress on each goroutine, whichever library serves
 * it: a call made on that goroutine with context.Background() is still its
 * child (find_goroutine_parent). The serving library keeps its own state for
 * the request in the same entry (state), so that registering the span costs
 * it no second map update. An entry whose span ended stays, not live, with
 * that state: the library may need it to recognise a repeated end.
 */
#define GOROUTINE_STATE_MAX 96
/* owner of an entry a goroutine inherited from the one that started it */
#define GOROUTINE_INHERITED 0xffffffffu

/*
 * What the routers on a goroutine (lib/gin, lib/chi, ...) leave for the
 * server span in progress there (route_slot): the route they matched,
 * copied while they held it, and a router's own values between two of its
 * probes. Tagged with the span: what an earlier span left is not this one's.
 */
struct goroutine_route {
	__u64 span_id;	  /* the span it is for (its ids.span_id) */
	__u64 scratch[2]; /* a router's own values between two of its probes */
	struct ot_route route;
};

struct goroutine_span {
	struct ot_span_ids ids;
	__u32 live;  /* a span is in progress: children find it */
	__u32 owner; /* the OT_REC_* of the library whose span and state these are, or
		      * GOROUTINE_INHERITED (lib/goroutines) */
	__u8 state[GOROUTINE_STATE_MAX] __attribute__((aligned(8)));
	struct goroutine_route route;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct goroutine_key);
	__type(value, struct goroutine_span);
} goroutine_spans SEC(".maps");

/* A zeroed goroutine_span to insert from: too big for the stack beside a map scan. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct goroutine_span);
} goroutine_blank SEC(".maps");

/*
 * key's goroutine_spans entry, made library owner's (an OT_REC_*; its state
 * zeroed when it was another library's), made from the zeroed template when
 * the goroutine has none. NULL when the map is full, or when another
 * library's span is live there and the caller does not take it: the outer
 * server keeps the goroutine (gRPC served through net/http's ServeHTTP runs
 * inside an HTTP request). A span the goroutine merely inherited is always
 * taken: a server's own span on it is nearer.
 */
static __always_inline struct goroutine_span *goroutine_span_claim(struct goroutine_key *key,
								   __u32 owner, bool take_live)
{
	struct goroutine_span *gs = bpf_map_lookup_elem(&goroutine_spans, key);
	__u32 zero = 0;

	if (!gs) {
		const struct goroutine_span *blank = bpf_map_lookup_elem(&goroutine_blank, &zero);

		if (!blank || bpf_map_update_elem(&goroutine_spans, key, blank, BPF_NOEXIST) ||
		    !(gs = bpf_map_lookup_elem(&goroutine_spans, key)))
			return NULL;
	}
	if (gs->owner == owner)
		return gs;
	if (gs->live && !take_live && gs->owner != GOROUTINE_INHERITED)
		return NULL;
	__builtin_memset(gs->state, 0, sizeof(gs->state));
	gs->owner = owner;
	gs->live = 0;
	return gs;
}

/*
 * Ends owner's span on goroutine key, if it has one there. The entry stays,
 * owned by nobody (0), for the goroutine's next span or its g's next life
 * (goroutine_span_claim resets it): deleting it, and inserting it again at
 * the next span, took an element from the LRU map's free lists and returned
 * one at every span.
 */
static __always_inline void goroutine_span_end(struct goroutine_key *key, __u32 owner)
{
	struct goroutine_span *gs = bpf_map_lookup_elem(&goroutine_spans, key);

	if (gs && gs->owner == owner) {
		gs->live = 0;
		gs->owner = 0;
	}
}

static __always_inline void count_drop(enum ot_drop_reason r)
{
	if (r < OT_DROP__COUNT)
		__sync_fetch_and_add(&drops[r], 1);
}

/*
 * Stores *value as key's entry of map: over prev, the entry the caller looked
 * up, when there is one, else inserted (a refusal counted inflight_full);
 * nonzero when the map refused. For entries kept per goroutine and rewritten
 * at every call: replacing an entry of an LRU hash map takes an element from
 * its free lists and returns the old one, where a write in place costs
 * nothing beyond the lookup already made.
 */
#define map_store(map, key, prev, value)                                              \
	({                                                                            \
		long __err = 0;                                                       \
		if (prev)                                                             \
			*(prev) = *(value);                                           \
		else if ((__err = bpf_map_update_elem(map, key, value, BPF_ANY)))     \
			count_drop(OT_DROP_INFLIGHT_FULL);                            \
		__err;                                                                \
	})

/*
 * Per-CPU buffers too large for a program's stack (a record being built, a
 * request's copy) come in OT_SLOTS slots, each program claiming one of its
 * own (slots.h: another thread preempted on the same CPU may be using one).
 * A slot is an entry of the map: the verifier sees the same pointer
 * whichever slot a program got (an offset per slot would multiply the
 * states it walks by the slots, past its limit for the larger programs).
 * Each entry starts with 16 bytes of its own: entry 0's busy bits (unused in
 * the others), then the slot's packing position (record_pos).
 */
#define DEFINE_SLOTS(name, size)                                                  \
	struct {                                                                  \
		__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);                          \
		__uint(max_entries, OT_SLOTS);                                    \
		__type(key, __u32);                                               \
		__type(value, __u8[16 + (((size) + 7) / 8 * 8)]);                 \
	} name SEC(".maps")

/* The slot a program holds: slot_put releases it, on every path out. */
struct slot_hold {
	__u64 *busy; /* NULL: none held */
	int index;
};

/* A free slot of map (DEFINE_SLOTS) on this CPU, held in *h; NULL when all are held. */
static __always_inline void *slot_get(void *map, struct slot_hold *h)
{
	__u32 key = 0;
	__u64 *busy = bpf_map_lookup_elem(map, &key);
	__u8 *v;
	int i;

	/* both set on every path: an unset index is spilled unread (Linux 6.1 refuses that) */
	h->busy = NULL;
	h->index = 0;
	if (!busy)
		return NULL;
	i = ot_slot_claim(busy);
	if (i < 0)
		return NULL;
	key = i;
	v = bpf_map_lookup_elem(map, &key);
	if (!v) {
		ot_slot_release(busy, i);
		return NULL;
	}
	h->busy = busy;
	h->index = i;
	return v + 16;
}

/*
 * Where the record in slot rec (slot_get's) is packing its strings: in the
 * map's memory, not on the stack, so that the verifier does not follow its
 * value. Followed, each string's length (up to its cap, or the cap) gave a
 * different position and a path of its own for everything after it: the
 * HTTP server's end took 250,000 instructions to verify, the most of
 * otrace's attach time. Each use masks it (pack_offset), which is all the
 * verifier needs.
 */
static __always_inline __u32 *record_pos(void *rec)
{
	return (__u32 *)((__u8 *)rec - 8);
}

static __always_inline void slot_put(struct slot_hold *h)
{
	if (h->busy)
		ot_slot_release(h->busy, h->index);
	h->busy = NULL;
}

/*
 * Slots for records of type wire whose packed strings follow their head
 * (pack_go_string): room for the head, the mask's reach and the largest
 * string, whose cap is largest_cap. record_get takes one.
 */
#define DEFINE_RECORD_SLOTS(name, wire, largest_cap)                              \
	DEFINE_SLOTS(name, sizeof(wire) + OT_PACK_MASK + 1 + (largest_cap))

/* A slot of map (DEFINE_RECORD_SLOTS), or NULL with the span counted lost (OT_DROP_BUSY). */
static __always_inline void *record_get(void *map, struct slot_hold *h)
{
	void *rec = slot_get(map, h);

	if (!rec) {
		count_drop(OT_DROP_BUSY);
		return NULL;
	}
	*record_pos(rec) = 0;
	return rec;
}

/*
 * otrace's own PID namespace when it is not the host's (a container without
 * the host's PIDs): records carry PIDs as otrace sees them. 0: the host's.
 */
const volatile __u64 pidns_dev = 0;
const volatile __u64 pidns_ino = 0;

static __always_inline __u32 pid_of_current(void)
{
	/* struct bpf_pidns_info (UAPI), not vmlinux.h's: no CO-RE relocation (go_abi.h) */
	struct {
		__u32 pid;
		__u32 tgid;
	} ns = {};

	if (!pidns_ino)
		return bpf_get_current_pid_tgid() >> 32;
	/* otrace attaches only to processes of its own namespace, where this holds */
	if (bpf_get_ns_current_pid_tgid(pidns_dev, pidns_ino, (void *)&ns, sizeof(ns)))
		return 0;
	return ns.tgid;
}

/* Copies the bytes of a Go string (ptr, len) into dst; returns the full length. */
static __always_inline __u32 read_go_string_at(char *dst, __u32 cap, struct go_string s)
{
	__u64 n;

	if (s.len <= 0 || !s.ptr)
		return 0;
	n = s.len;
	if (n > cap)
		n = cap;
	/*
	 * Every cap is below 64 KiB. The mask keeps n's bounds known to older
	 * verifiers (Linux 6.1): on a path they cannot rule out, the checks
	 * above leave n "at most cap and negative", and the read is refused.
	 */
	asm volatile("%[n] &= 0xffff" : [n] "+r"(n)); /* not dropped as a no-op */
	if (bpf_probe_read_user(dst, n, (void *)s.ptr))
		return 0;
	return s.len > 0xffffffffLL ? 0xffffffffU : (__u32)s.len;
}

/* Copies a Go string field at addr into dst (capacity cap); returns its full length. */
static __always_inline __u32 read_go_string(char *dst, __u32 cap, __u64 addr)
{
	struct go_string s = {};

	if (bpf_probe_read_user(&s, sizeof(s), (void *)addr))
		return 0;
	return read_go_string_at(dst, cap, s);
}

static __always_inline __s64 read_s64(__u64 addr)
{
	__s64 v = 0;

	bpf_probe_read_user(&v, sizeof(v), (void *)addr);
	return v;
}

static __always_inline __u64 read_ptr(__u64 addr)
{
	__u64 v = 0;

	bpf_probe_read_user(&v, sizeof(v), (void *)addr);
	return v;
}

/*
 * A struct's window (struct ot_window, from the plan) copied in one read,
 * and its fields taken from the copy: one read where there would be one a
 * field. A field outside the copy, or every field when the copy failed or
 * the plan found no window, is read from the target.
 */
struct window_copy {
	__u64 base;	   /* the struct's address */
	__s64 lo;	   /* the copy's first byte in it */
	__u32 len;	   /* bytes copied, 0: none */
	const __u8 *bytes; /* the copy */
};

/* Copies base's window w into buf (cap bytes, cap a constant). */
static __always_inline void window_read(struct window_copy *wc, __u64 base,
					const volatile struct ot_window *w, __u8 *buf, __u32 cap)
{
	__u32 n = w->len;

	wc->base = base;
	wc->lo = w->lo;
	wc->len = 0;
	wc->bytes = buf;
	if (!buf || !n || n > cap || wc->lo < 0)
		return;
	if (!bpf_probe_read_user(buf, n, (void *)(base + wc->lo)))
		wc->len = n;
}

/* The size bytes (a constant) of the field at off into dst; off < 0: dst untouched. */
static __always_inline void window_field(const struct window_copy *wc, __s64 off, void *dst,
					 __u32 size, __u32 cap)
{
	__s64 rel = off - wc->lo;

	if (off < 0)
		return;
	if (rel >= 0 && rel + size <= wc->len && rel <= cap - size)
		__builtin_memcpy(dst, wc->bytes + rel, size);
	else
		bpf_probe_read_user(dst, size, (void *)(wc->base + off)); /* zeroes dst on a fault */
}

/* The 8-byte field at off (0 when off < 0 or unreadable). */
static __always_inline __u64 window_u64(const struct window_copy *wc, __s64 off, __u32 cap)
{
	__u64 v = 0;

	window_field(wc, off, &v, sizeof(v), cap);
	return v;
}

/*
 * Go runtime type descriptors (internal/abi.Type, reflect's rtype before it):
 * a 48-byte common part with the kind in byte 23, then what the kind adds (a
 * pointer type's element type; a struct type's package path, then its
 * fields). The same layout on amd64 since Go 1.x. An itab points to the
 * dynamic type of its interface values at 8.
 */
#define GO_RTYPE_KIND_OFF 23
#define GO_RTYPE_KIND_MASK 0x1f
#define GO_RTYPE_COMMON 48
#define GO_ITAB_TYPE_OFF 8
#define GO_RKIND_INT 2
#define GO_RKIND_PTR 22
#define GO_RKIND_STRING 24
#define GO_RKIND_STRUCT 25

/* The kind of the runtime type descriptor at type; 0 (invalid) when unreadable. */
static __always_inline __u8 go_rtype_kind(__u64 type)
{
	__u8 kind = 0;

	if (!type || bpf_probe_read_user(&kind, sizeof(kind), (void *)(type + GO_RTYPE_KIND_OFF)))
		return 0;
	return kind & GO_RTYPE_KIND_MASK;
}

/*
 * The message of an error value, when its dynamic type keeps it first: a
 * string type (err's data points to the string), or a pointer to a struct
 * whose first field is a string at offset 0 (errors.errorString and the
 * like). Returns 1 for the first shape, 2 for the second, 0 (s untouched)
 * otherwise. Reads only through the type descriptors: no type addresses.
 */
static __always_inline int go_error_message(struct go_iface err, struct go_string *s)
{
	__u64 type = 0, elem, field[3] = {};
	struct go_slice fields = {};
	int shape = 1;

	if (!err.tab || !err.data ||
	    bpf_probe_read_user(&type, sizeof(type), (void *)(err.tab + GO_ITAB_TYPE_OFF)))
		return 0;
	switch (go_rtype_kind(type)) {
	case GO_RKIND_STRING:
		break;
	case GO_RKIND_PTR:
		/* ptrType.Elem; structType.PkgPath (a name, one word), then Fields */
		elem = read_ptr(type + GO_RTYPE_COMMON);
		if (go_rtype_kind(elem) != GO_RKIND_STRUCT ||
		    bpf_probe_read_user(&fields, sizeof(fields),
					(void *)(elem + GO_RTYPE_COMMON + 8)) ||
		    fields.len < 1 || !fields.ptr)
			return 0;
		/* structField: Name, Typ, Offset */
		if (bpf_probe_read_user(field, sizeof(field), (void *)fields.ptr) || field[2] != 0 ||
		    go_rtype_kind(field[1]) != GO_RKIND_STRING)
			return 0;
		shape = 2;
		break;
	default:
		return 0;
	}
	return bpf_probe_read_user(s, sizeof(*s), (void *)err.data) ? 0 : shape;
}

/*
 * The address of the field path leads to from base (see struct ot_field_path),
 * or 0 when the field is absent, base is nil, or a pointer on the way is nil.
 */
static __always_inline __u64 field_path_addr(const volatile struct ot_field_path *path, __u64 base)
{
	__s32 derefs = path->derefs;
	__u64 addr = base + path->off[0];

	if (!base || derefs < 0)
		return 0;
	for (int i = 1; i <= OT_FIELD_PATH_DEREFS; i++) {
		if (i > derefs)
			break;
		addr = read_ptr(addr);
		if (!addr)
			return 0;
		addr += path->off[i];
	}
	return addr;
}

static __always_inline void random_bytes(__u8 *dst, int n)
{
	for (int i = 0; i < 16 && i < n; i += 4) {
		__u32 r = bpf_get_prandom_u32();

		__builtin_memcpy(dst + i, &r, 4);
	}
}

/* A new span id, never all zero (invalid in W3C and OTLP). */
static __always_inline void new_span_id(struct ot_span_ids *ids)
{
	random_bytes(ids->span_id, 8);
	ids->span_id[0] |= 1;
}

/* A root span: new trace, sampled (otrace records every span it sees). */
static __always_inline void new_root(struct ot_span_ids *ids)
{
	random_bytes(ids->trace_id, 16);
	ids->trace_id[0] |= 1;
	new_span_id(ids);
	ids->trace_flags = 1;
}

/* Makes ids, which hold a span's ids, those of a new child of that span. */
static __always_inline void become_child(struct ot_span_ids *ids)
{
	__builtin_memcpy(ids->parent_span_id, ids->span_id, 8);
	ids->parent_remote = 0;
	new_span_id(ids);
}

/* Makes ids a child of parent. */
static __always_inline void new_child(struct ot_span_ids *ids, const struct ot_span_ids *parent)
{
	*ids = *parent;
	become_child(ids);
}

static __always_inline __u64 span_id_of(const struct ot_span_ids *ids)
{
	__u64 id;

	__builtin_memcpy(&id, ids->span_id, sizeof(id));
	return id;
}

/* The bucket of context data pointer data of process pid. */
static __always_inline struct ctx_bucket *ctx_bucket_of(__u32 pid, __u64 data)
{
	__u32 i = (__u32)(((data ^ ((__u64)pid << 47)) * 0x9e3779b97f4a7c15ULL) >> 40) &
		  ctx_bucket_mask;

	return bpf_map_lookup_elem(&ctx_spans, &i);
}

/*
 * Registers context data pointer data for the span ids, in progress on
 * goroutine g of process pid (whose goroutine_spans entry holds ids).
 */
static __always_inline void ctx_register(__u32 pid, __u64 data, __u64 g,
					 const struct ot_span_ids *ids)
{
	struct ctx_bucket *b = ctx_bucket_of(pid, data);
	__u32 w = CTX_WAYS;

	if (!b || data <= CTX_CLAIMED)
		return;
	for (__u32 i = 0; i < CTX_WAYS; i++)
		if (!b->tag[i] && !__sync_val_compare_and_swap(&b->tag[i], 0, CTX_CLAIMED)) {
			w = i;
			break;
		}
	if (w >= CTX_WAYS) {
		w = bpf_get_prandom_u32() & (CTX_WAYS - 1);
		b->tag[w] = CTX_CLAIMED;
	}
	b->way[w].g = g;
	b->way[w].span_id = span_id_of(ids);
	b->way[w].pid = pid;
	/* the way is whole before its tag names it (x86 keeps stores in order) */
	barrier();
	b->tag[w] = data;
}

/* Unregisters context data pointer data of span span_id (spans started later are not its children). */
static __always_inline void ctx_unregister(__u32 pid, __u64 data, __u64 span_id)
{
	struct ctx_bucket *b = ctx_bucket_of(pid, data);

	if (!b || data <= CTX_CLAIMED)
		return;
	for (__u32 i = 0; i < CTX_WAYS; i++)
		if (b->tag[i] == data && b->way[i].pid == pid &&
		    b->way[i].span_id == span_id) {
			b->tag[i] = 0;
			return;
		}
}

/*
 * The span in progress that context data pointer data was registered for,
 * copied into out: 1, or 0 when none. A global function, which the
 * verifier walks once for all the links of a context chain.
 */
__attribute__((noinline)) int ot_ctx_span(__u32 pid, __u64 data, struct ot_span_ids *out)
{
	struct ctx_bucket *b = ctx_bucket_of(pid, data);

	if (!b || !out)
		return 0;
	for (__u32 i = 0; i < CTX_WAYS; i++) {
		struct goroutine_key key = { .pid = pid };
		struct goroutine_span *gs;

		if (b->tag[i] != data || b->way[i].pid != pid)
			continue;
		key.g = b->way[i].g;
		gs = bpf_map_lookup_elem(&goroutine_spans, &key);
		if (gs && gs->live && span_id_of(&gs->ids) == b->way[i].span_id) {
			*out = gs->ids;
			return 1;
		}
	}
	return 0;
}

/*
 * For a router's probe: the route slot of the server span live on the
 * current goroutine (cleared when an earlier span left it), NULL when no
 * server span is live there. Routers annotate the span; they make none.
 */
static __always_inline struct goroutine_route *route_slot(struct pt_regs *ctx)
{
	struct goroutine_key key = goroutine_of(ctx);
	struct goroutine_span *gs = bpf_map_lookup_elem(&goroutine_spans, &key);
	__u64 span_id;

	if (!gs || !gs->live || gs->owner == GOROUTINE_INHERITED)
		return NULL;
	span_id = span_id_of(&gs->ids);
	if (gs->route.span_id != span_id) {
		gs->route.span_id = span_id;
		gs->route.scratch[0] = gs->route.scratch[1] = 0;
		gs->route.route.state = OT_ROUTE_NONE;
		gs->route.route.len = 0;
	}
	return &gs->route;
}

/* The router looks at the request, or found no route for it: the span gets none. */
static __always_inline void route_unmatched(struct goroutine_route *slot)
{
	slot->route.state = OT_ROUTE_UNMATCHED;
	slot->route.len = 0;
}

/* The router matched the route whose template is the Go string tmpl (empty: none). */
static __always_inline void route_matched(struct goroutine_route *slot, struct go_string tmpl)
{
	if (tmpl.len <= 0 || !tmpl.ptr) {
		route_unmatched(slot);
		return;
	}
	slot->route.len = read_go_string_at(slot->route.text, OT_ROUTE_CAP, tmpl);
	slot->route.state = slot->route.len ? OT_ROUTE_MATCHED : OT_ROUTE_UNREADABLE;
}

/* The router matched the route whose template is the Go string at addr. */
static __always_inline void route_matched_at(struct goroutine_route *slot, __u64 addr)
{
	struct go_string tmpl = {};

	if (bpf_probe_read_user(&tmpl, sizeof(tmpl), (void *)addr))
		slot->route.state = OT_ROUTE_UNREADABLE;
	else
		route_matched(slot, tmpl);
}

/*
 * Records whose strings are packed one after the other keep each string's
 * offset within this mask (see pack_go_string).
 */
#define OT_PACK_MASK 1023

/*
 * pos within OT_PACK_MASK, by an AND the compiler keeps: where it proves the
 * bound itself it drops a plain one, which the verifier still needs.
 */
static __always_inline __u64 pack_offset(__u32 pos)
{
	__u64 off = pos;

	asm volatile("%[off] &= 1023" : [off] "+r"(off));
	return off;
}

/*
 * For a server library emitting gs's span: the route its goroutine's
 * routers left for it, its state and full length into *state and *len
 * (zeroed by the caller: OT_ROUTE_NONE), its text appended to the record's
 * packed strings (area, *pos; see pack_go_string).
 */
static __always_inline void route_pack(const struct goroutine_span *gs, char *area, __u32 *pos,
				       __u32 *state, __u32 *len)
{
	__u32 n;

	if (gs->route.span_id != span_id_of(&gs->ids) || gs->route.route.state == OT_ROUTE_NONE)
		return;
	*state = gs->route.route.state;
	*len = gs->route.route.len;
	n = *len < OT_ROUTE_CAP ? *len : OT_ROUTE_CAP;
	/* the whole buffer, of a constant size: only its first n bytes count */
	__builtin_memcpy(area + pack_offset(*pos), gs->route.route.text, OT_ROUTE_CAP);
	*pos += n;
}

/* The server span in progress on goroutine g, if any. */
static __always_inline const struct ot_span_ids *find_goroutine_parent(__u32 pid, __u64 g)
{
	struct goroutine_key key = { .pid = pid, .g = g };
	struct goroutine_span *gs = bpf_map_lookup_elem(&goroutine_spans, &key);

	return gs && gs->live ? &gs->ids : NULL;
}

/*
 * The span a call on goroutine g with context data pointer ctx_data belongs
 * to, copied into out: the span registered for the context or one of its
 * parents (std context types embed their parent Context first), else the
 * server span live on the goroutine. 1 when found, 0 when the call has no
 * parent. A global function: the verifier walks the context chain and its
 * buckets' ways once, not again in every program that starts a child span.
 */
__attribute__((noinline)) int ot_span_parent(__u32 pid, __u64 g, __u64 ctx_data,
					     struct ot_span_ids *out)
{
	const struct ot_span_ids *ids;

	if (!out)
		return 0;
	for (int i = 0; i < CTX_MAX_DEPTH && ctx_data > CTX_CLAIMED; i++) {
		struct go_iface parent = {};

		if (ot_ctx_span(pid, ctx_data, out))
			return 1;
		if (bpf_probe_read_user(&parent, sizeof(parent), (void *)ctx_data) || !parent.tab)
			break;
		ctx_data = parent.data;
	}
	ids = find_goroutine_parent(pid, g);
	if (!ids)
		return 0;
	*out = *ids;
	return 1;
}

/*
 * Makes ids the ids of a new span for a call on goroutine g with context
 * data pointer ctx_data: a child of the span it belongs to (ot_span_parent),
 * else a new root. True when it has a parent.
 */
static __always_inline bool child_ids(__u32 pid, __u64 g, __u64 ctx_data,
				      struct ot_span_ids *ids)
{
	if (!ot_span_parent(pid, g, ctx_data, ids)) {
		new_root(ids);
		return false;
	}
	become_child(ids);
	return true;
}

#define X86_EFLAGS_CF 0x0001
#define X86_EFLAGS_ZF 0x0040

/*
 * True when this hit of an entry probe will be repeated: the probe is on the
 * stack-check jbe and the branch to morestack is taken (CF or ZF from the
 * cmp), so the function starts over on a grown stack and the probe hits
 * again, with the same arguments. Ignoring this hit counts each call once,
 * with no per-call state to tell the two hits apart.
 */
static __always_inline bool entry_repeats(struct pt_regs *ctx)
{
	/* the flags first: the branch is rarely taken, and then no helper call is made */
	return (REGS_FLAGS(ctx) & (X86_EFLAGS_CF | X86_EFLAGS_ZF)) &&
	       (bpf_get_attach_cookie(ctx) & OT_COOKIE_STACK_CHECK);
}

/* Which attach tokens' links run their programs (records.h); shared by every instance. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, OT_LINK_TOKENS);
	__type(key, __u32);
	__type(value, __u8);
} link_live SEC(".maps");

/* Whether the link this hit came through is still wanted (its token live). */
static __always_inline bool link_is_live(struct pt_regs *ctx)
{
	__u32 token = (__u32)(bpf_get_attach_cookie(ctx) >> OT_COOKIE_TOKEN_SHIFT);
	const __u8 *live = bpf_map_lookup_elem(&link_live, &token);

	return live && *live;
}

/*
 * Defines uprobe program name, whose body follows: it runs only for hits
 * through a live link (link_is_live). Every uprobe program is defined so.
 */
#define OT_UPROBE(name)                                                                        \
	static __always_inline int name##__run(struct pt_regs *ctx);                           \
	SEC("uprobe") int name(struct pt_regs *ctx)                                            \
	{                                                                                      \
		return link_is_live(ctx) ? name##__run(ctx) : 0;                               \
	}                                                                                      \
	static __always_inline int name##__run(struct pt_regs *ctx)

/*
 * Room for a traceparent value, off the stack: a program scanning a header
 * map shares its 512 bytes with the scan's bpf_loop callback, and kernels
 * before 6.x count the two frames together.
 */
DEFINE_SLOTS(traceparent_scratch, OT_TRACEPARENT_CAP);

/*
 * Continues the trace of an incoming traceparent value (the Go string at
 * ptr, len bytes): ids get its trace id, its span id as parent, and its
 * flags. 0 when it is not a valid traceparent, or went unread
 * (OT_DROP_VALUE_BUSY); ids are then a new root. A function of its own:
 * its slot would otherwise add to the stack of callers that scan a header
 * map, which kernels before 6.x count together with the scan's callback
 * (grpc_server_start went past 512 bytes on 6.1).
 */
static __noinline int continue_traceparent_at(__u64 ptr, __s64 len, struct ot_span_ids *ids)
{
	struct slot_hold hold;
	int ok = 0;
	char *buf;

	if (len < OT_TRACEPARENT_LEN || !ptr || !ids)
		return 0;
	buf = slot_get(&traceparent_scratch, &hold);
	if (!buf) {
		count_drop(OT_DROP_VALUE_BUSY);
		return 0;
	}
	if (!bpf_probe_read_user(buf, len > OT_TRACEPARENT_LEN ? OT_TRACEPARENT_LEN + 1 :
								OT_TRACEPARENT_LEN,
				 (void *)ptr) &&
	    ot_parse_traceparent(buf, len, ids->trace_id, ids->parent_span_id,
				 &ids->trace_flags) == 0) {
		ids->parent_remote = 1;
		ok = 1;
	}
	slot_put(&hold);
	if (!ok)
		new_root(ids); /* the parse may have written part of the ids */
	return ok;
}

static __always_inline bool continue_traceparent(struct go_string tp, struct ot_span_ids *ids)
{
	return continue_traceparent_at(tp.ptr, tp.len, ids);
}

/*
 * --all with filters that decide per process (a name, a port): the probes
 * sit in the file, so every process running it hits them, and only the
 * records of the processes otrace admitted (by host PID) go out.
 */
const volatile bool pid_filter = false;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, __u8);
} traced_pids SEC(".maps");

/* Whether this process's records go out (pid_filter). */
static __always_inline bool traced_here(void)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;

	return !pid_filter || bpf_map_lookup_elem(&traced_pids, &tgid);
}

/* The ring buffer flags for a record of size bytes: wake otrace when a batch waits. */
static __always_inline __u64 wakeup_for(__u32 size)
{
	__u32 zero = 0;
	__u64 *unwoken = bpf_map_lookup_elem(&unwoken_bytes, &zero);

	if (!unwoken)
		return BPF_RB_NO_WAKEUP;
	*unwoken += size;
	if (*unwoken < wakeup_bytes)
		return BPF_RB_NO_WAKEUP;
	*unwoken = 0;
	return BPF_RB_FORCE_WAKEUP;
}

/*
 * Submits a record, waking otrace only when a batch is waiting; a record of a
 * process otrace does not trace (pid_filter) is discarded.
 */
static __always_inline void submit(void *rec)
{
	if (!traced_here()) {
		bpf_ringbuf_discard(rec, BPF_RB_NO_WAKEUP);
		return;
	}
	bpf_ringbuf_submit(rec, wakeup_for(((const struct ot_rec_hdr *)rec)->size));
}

/*
 * Copies a record built elsewhere (a per-CPU buffer), its hdr.size bytes of
 * it, into the ring buffer: for records whose size is known only once they
 * are built; a record the ring has no room for is counted lost.
 */
static __always_inline void submit_copy(void *rec, __u32 size)
{
	if (!traced_here())
		return;
	if (bpf_ringbuf_output(&events, rec, size, wakeup_for(size)))
		count_drop(OT_DROP_RINGBUF_FULL);
}

/*
 * Appends to a record's packed strings (area, at *pos) the first bytes of
 * Go string s, at most cap; returns s's full length (0: unread, nothing
 * appended). area must hold OT_PACK_MASK + 1 + cap bytes: the mask keeps
 * the offset's bounds known to the verifier.
 */
static __always_inline __u32 pack_go_string(char *area, __u32 *pos, __u32 cap, struct go_string s)
{
	__u32 len = read_go_string_at(area + pack_offset(*pos), cap, s);

	*pos += len < cap ? len : cap;
	return len;
}

/* The Go string field at addr, packed (pack_go_string): read_go_string's counterpart. */
static __always_inline __u32 pack_go_string_at(char *area, __u32 *pos, __u32 cap, __u64 addr)
{
	struct go_string s = {};

	bpf_probe_read_user(&s, sizeof(s), (void *)addr);
	return pack_go_string(area, pos, cap, s);
}

/*
 * Submits a record built with packed strings (submit_copy): its head of
 * head bytes and the pos bytes its strings took; sets hdr.size.
 */
static __always_inline void submit_packed(void *rec, __u32 head, __u32 pos)
{
	__u32 size = head + pack_offset(pos);

	((struct ot_rec_hdr *)rec)->size = size;
	submit_copy(rec, size);
}

#endif
