/* SPDX-License-Identifier: MIT */
/*
 * Look up a key in a Go map[string][]string (http.Header) from BPF.
 *
 * Two runtime layouts exist: the bucket hmap of Go <= 1.23 and the Swiss
 * tables of Go >= 1.24. Offsets of the map headers come from user space
 * (struct ot_map_cfg); the bucket/slot geometry follows from the key
 * and element types (string: 16 bytes, []string: 24 bytes), which the Go ABI
 * fixes on amd64. Every slot is visited, so no hash function is needed. The
 * loops are bounded and cheap to verify: over tables, groups and buckets they
 * run through bpf_loop; a group's or a bucket's slots are checked, unrolled,
 * in global functions, which the verifier checks once each.
 */
#ifndef OTRACE_GO_MAP_H
#define OTRACE_GO_MAP_H

#include "go_abi.h"
#include "core_config.h"

const volatile struct ot_map_cfg map_cfg = {};

#define GO_MAP_SLOTS 8
#define GO_STRING_SIZE 16
#define GO_SLICE_SIZE 24

/* hmap bucket for map[string][]string: tophash[8], keys[8], elems[8], overflow */
#define HMAP_KEYS_OFF GO_MAP_SLOTS
#define HMAP_ELEMS_OFF (HMAP_KEYS_OFF + GO_MAP_SLOTS * GO_STRING_SIZE)
#define HMAP_OVERFLOW_OFF (HMAP_ELEMS_OFF + GO_MAP_SLOTS * GO_SLICE_SIZE)
#define HMAP_MIN_TOPHASH 5 /* smaller values mark empty or evacuated slots */
#define HMAP_MAX_B 7
#define HMAP_MAX_CHAIN 4

/* Swiss group: one control word, then 8 slots of {key, elem} */
#define SWISS_SLOT_SIZE (GO_STRING_SIZE + GO_SLICE_SIZE)
#define SWISS_GROUP_SIZE (8 + GO_MAP_SLOTS * SWISS_SLOT_SIZE)
#define SWISS_MAX_TABLES 8
#define SWISS_MAX_GROUPS 128

#define HDR_KEY_MAX 16
#define MAP_SCAN_KEYS 2

/* Looks for up to MAP_SCAN_KEYS keys in one pass over the map. */
struct map_scan {
	/* exact keys, shorter than HDR_KEY_MAX, zero-padded, 8-byte aligned */
	char key[MAP_SCAN_KEYS][HDR_KEY_MAX] __attribute__((aligned(8)));
	__u32 key_len[MAP_SCAN_KEYS];
	/*
	 * Each key's []string value as the scan's copy of its bucket or group
	 * held it (no read of its own); len 0 (and ptr 0) when absent.
	 */
	struct map_value {
		__u64 ptr;
		__s64 len;
	} value[MAP_SCAN_KEYS];
	__u32 nkeys;
	__u32 found;	  /* how many keys were found */
	__u32 found_mask; /* which: bit i for key[i] */
	__u32 _pad;
	__u64 base;   /* bucket array or group array being walked */
	__u64 stride;
	__u64 dir;	  /* Swiss map: its directory of tables */
	__u64 prev_table; /* the last table scanned (directory entries repeat) */
};

/*
 * Compares two zero-padded keys of equal length in full, 8-byte aligned, a
 * word at a time: a fixed bound, which older verifiers (6.1) follow where a
 * length-bound loop confuses them, and two branches where a byte loop had
 * sixteen for the verifier to walk in every program that scans a map.
 */
static __always_inline int key_equals(const char *a, const char *b)
{
	const __u64 *x = (const __u64 *)a, *y = (const __u64 *)b;

	_Static_assert(HDR_KEY_MAX == 2 * sizeof(__u64), "key_equals compares two words");
	return x[0] == y[0] && x[1] == y[1];
}

/*
 * Checks one slot, whose key is the string k_ptr, k_len, against the wanted
 * keys not found yet: the index of the key it is, or -1.
 *
 * This and the scans of a group and of a bucket are global functions: the
 * verifier checks each once, whatever its caller knows, where inlined in
 * three levels of bpf_loop callbacks it walked each level's body again for
 * every state of the one around it (140,000 instructions, 150 ms to load
 * each program that continues an incoming trace).
 */
__attribute__((noinline)) int ot_map_slot_check(struct map_scan *s, __u64 k_ptr, __s64 k_len)
{
	char buf[HDR_KEY_MAX] __attribute__((aligned(8))) = {};
	struct go_string k = { .ptr = k_ptr, .len = k_len };

	if (!s || k.len <= 0 || k.len > HDR_KEY_MAX)
		return -1;
	for (int i = 0; i < MAP_SCAN_KEYS; i++) {
		__u32 n = s->key_len[i];

		if (i >= s->nkeys || s->found_mask & (1U << i) || k.len != n || n >= HDR_KEY_MAX)
			continue;
		/*
		 * Older verifiers (6.1) lose n's bound when the compiler spills it
		 * between the check and the call: bound it again, in the register,
		 * where the compiler cannot drop the mask as redundant.
		 */
		barrier_var(n);
		n &= HDR_KEY_MAX - 1;
		if (bpf_probe_read_user(buf, n, (void *)k.ptr))
			return -1;
		/* buf is zero beyond n (k.len is the same for every key), as is the key */
		if (key_equals(buf, s->key[i]))
			return i;
	}
	return -1;
}

/*
 * A bucket or a group read whole, in one read: its slots' keys are then
 * checked in the copy, where reading each key's string header from the
 * target took one read per slot.
 */
#define MAP_CHUNK_MAX (HMAP_OVERFLOW_OFF + 8)

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u8[MAP_CHUNK_MAX]);
} go_map_chunk SEC(".maps");

static __always_inline __u8 *map_chunk(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&go_map_chunk, &zero);
}

/*
 * Reads size bytes (a bucket or a group) at addr into chunk; 0 when read.
 * A page of the Go heap that the program never wrote is not mapped yet,
 * and a read reaching into one fails whole (BPF cannot fault it in): a
 * table's last slots often lie there. Then the part before that page is
 * read and the rest left zero, which is what those slots hold: a full
 * slot was written, and its page is mapped. Seen in the wild as an
 * incoming traceparent missed now and then (a gRPC metadata map of more
 * than eight keys, its second group across a page boundary).
 */
static __always_inline int map_chunk_read(__u8 *chunk, __u32 size, __u64 addr)
{
	__u64 n;

	if (!bpf_probe_read_user(chunk, size, (void *)addr))
		return 0;
	n = 4096 - (addr & 4095);
	__builtin_memset(chunk, 0, MAP_CHUNK_MAX);
	/*
	 * Less than the whole, and the first 8 bytes (control word, tophashes)
	 * at least. Two checks the compiler may not merge: Linux 6.1 bounds
	 * only the register a comparison is made on, and a merged one is made
	 * on n - 8.
	 */
	if (n >= size)
		return -1;
	barrier_var(n);
	if (n < 8)
		return -1;
	return bpf_probe_read_user(chunk, n, (void *)addr) ? -1 : 0;
}

/*
 * The slots of a bucket (swiss: false) or a group (swiss: true), copied
 * into chunk: 1 once every key has been found. A bucket's slot is
 * full when its tophash is at least HMAP_MIN_TOPHASH, a group's when its
 * control byte has the high bit clear. Unrolled: in a global function the
 * verifier walks them once, and bpf_loop would need s on that function's
 * stack.
 */
static __always_inline int slots_scan(struct map_scan *s, const __u8 *chunk, bool swiss)
{
	for (int i = 0; i < GO_MAP_SLOTS; i++) {
		__u64 key_off = swiss ? 8 + i * SWISS_SLOT_SIZE : HMAP_KEYS_OFF + i * GO_STRING_SIZE;
		__u64 elem_off = swiss ? key_off + GO_STRING_SIZE : HMAP_ELEMS_OFF + i * GO_SLICE_SIZE;
		struct go_string k;
		int key;

		if (swiss ? chunk[i] & 0x80 : chunk[i] < HMAP_MIN_TOPHASH)
			continue;
		__builtin_memcpy(&k, chunk + key_off, sizeof(k));
		key = ot_map_slot_check(s, k.ptr, k.len);
		if (key < 0)
			continue;
		/* bounded for the verifier by a mask the compiler keeps (it drops a compare) */
		_Static_assert(MAP_SCAN_KEYS == 2, "one bit of mask");
		asm volatile("%[k] &= 1" : [k] "+r"(key));
		/* the slice header's pointer and length, from the copy */
		__builtin_memcpy(&s->value[key], chunk + elem_off, sizeof(s->value[key]));
		s->found_mask |= 1U << key;
		if (++s->found >= s->nkeys)
			return 1;
	}
	return 0;
}

/* A bucket and its overflow chain; 1 once every key has been found. */
__attribute__((noinline)) int ot_hmap_chain_scan(struct map_scan *s, __u64 bucket)
{
	if (!s)
		return 1;
	for (int chain = 0; chain < HMAP_MAX_CHAIN && bucket; chain++) {
		__u8 *chunk = map_chunk();

		if (!chunk || map_chunk_read(chunk, MAP_CHUNK_MAX, bucket))
			return 0;
		if (slots_scan(s, chunk, false))
			return 1;
		__builtin_memcpy(&bucket, chunk + HMAP_OVERFLOW_OFF, sizeof(bucket));
	}
	return 0;
}

static long hmap_bucket_cb(__u64 index, void *data)
{
	struct map_scan *s = data;

	/* a callback returns 0 or 1, which the verifier must see */
	return ot_hmap_chain_scan(s, s->base + index * s->stride) ? 1 : 0;
}

/*
 * One group of a Swiss table, read whole; a full slot's control byte has the
 * high bit clear. 1 once every key has been found.
 */
__attribute__((noinline)) int ot_swiss_group_scan(struct map_scan *s, __u64 group)
{
	__u8 *chunk = map_chunk();

	if (!s)
		return 1;
	if (!chunk || map_chunk_read(chunk, SWISS_GROUP_SIZE, group))
		return 0;
	return slots_scan(s, chunk, true);
}

static long swiss_group_cb(__u64 index, void *data)
{
	struct map_scan *s = data;

	return ot_swiss_group_scan(s, s->base + index * SWISS_GROUP_SIZE) ? 1 : 0;
}

/*
 * The map header's first MAP_HEAD bytes, read in one piece: the count,
 * the directory or the bucket arrays lie there in every release (Go's
 * layouts put them first). A field beyond, or all of them when that read
 * fails, is read on its own.
 */
#define MAP_HEAD 48

struct map_head {
	__u64 m;
	bool read;
	__u8 bytes[MAP_HEAD] __attribute__((aligned(8)));
};

static __always_inline void map_head_read(struct map_head *h, __u64 m)
{
	h->m = m;
	h->read = !bpf_probe_read_user(h->bytes, MAP_HEAD, (void *)m);
}

/* The size-byte (1 or 8) field at off of the map header. */
static __always_inline __u64 map_head_field(const struct map_head *h, __s64 off, __u32 size)
{
	__u64 v = 0;

	if (off < 0)
		return 0;
	if (h->read && off <= MAP_HEAD - 8) {
		if (size == 1)
			v = h->bytes[off];
		else
			__builtin_memcpy(&v, h->bytes + off, 8);
	} else {
		bpf_probe_read_user(&v, size == 1 ? 1 : 8, (void *)(h->m + off));
	}
	return v;
}

static __always_inline void hmap_lookup(const struct map_head *h, struct map_scan *s)
{
	const volatile struct ot_map_cfg *cfg = &map_cfg;
	__u8 b = map_head_field(h, cfg->hmap_b, 1);
	__u64 buckets = map_head_field(h, cfg->hmap_buckets, 8);
	__u64 old = map_head_field(h, cfg->hmap_oldbuckets, 8);

	if (b > HMAP_MAX_B)
		b = HMAP_MAX_B;
	s->stride = HMAP_OVERFLOW_OFF + 8;
	if (buckets && !b) /* one bucket (up to 8 keys), scanned without a loop */
		ot_hmap_chain_scan(s, buckets);
	else if (buckets) {
		s->base = buckets;
		bpf_loop(1U << b, hmap_bucket_cb, s, 0);
	}
	/* a growing map keeps not-yet-evacuated entries in the old array */
	if (s->found < s->nkeys && old && b > 0) {
		s->base = old;
		bpf_loop(1U << (b - 1), hmap_bucket_cb, s, 0);
	}
}

/* One table of a Swiss map's directory: its groups, each scanned by swiss_group_cb. */
static long swiss_table_cb(__u64 index, void *data)
{
	const volatile struct ot_map_cfg *cfg = &map_cfg;
	struct map_scan *s = data;
	__u64 table = 0, groups = 0, mask = 0;

	if (s->found >= s->nkeys)
		return 1;
	if (bpf_probe_read_user(&table, sizeof(table), (void *)(s->dir + index * 8)))
		return 1;
	if (!table || table == s->prev_table) /* directory entries repeat shared tables */
		return 0;
	s->prev_table = table;
	bpf_probe_read_user(&groups, sizeof(groups), (void *)(table + cfg->swiss_table_groups));
	bpf_probe_read_user(&mask, sizeof(mask), (void *)(table + cfg->swiss_table_mask));
	if (!groups)
		return 0;
	if (mask >= SWISS_MAX_GROUPS)
		mask = SWISS_MAX_GROUPS - 1;
	s->base = groups;
	bpf_loop(mask + 1, swiss_group_cb, s, 0);
	return 0;
}

/*
 * The tables' and groups' loops run through bpf_loop: unrolled in the
 * program, the tables' loop made the verifier walk a quarter of a million
 * instructions (0.6-2 s to load).
 */
static __always_inline void swiss_lookup(const struct map_head *h, struct map_scan *s)
{
	const volatile struct ot_map_cfg *cfg = &map_cfg;
	__s64 dir_len = (__s64)map_head_field(h, cfg->swiss_dir_len, 8);

	s->dir = map_head_field(h, cfg->swiss_dir_ptr, 8);
	if (!s->dir)
		return;
	if (dir_len == 0) { /* small map: dirPtr is the only group, scanned without a loop */
		ot_swiss_group_scan(s, s->dir);
		return;
	}
	if (dir_len > SWISS_MAX_TABLES)
		dir_len = SWISS_MAX_TABLES;
	bpf_loop((__u32)dir_len, swiss_table_cb, s, 0);
}

/*
 * Finds the keys in the map at address m; s->value[i] is each value found
 * (bit i of found_mask). An empty map (its count says) is not scanned.
 */
static __always_inline int go_header_lookup(__u64 m, struct map_scan *s)
{
	struct map_head h;

	if (!m)
		return 0;
	map_head_read(&h, m);
	if (!map_head_field(&h, map_cfg.count, 8))
		return 0;
	if (map_cfg.kind == OT_MAP_HMAP)
		hmap_lookup(&h, s);
	else if (map_cfg.kind == OT_MAP_SWISS)
		swiss_lookup(&h, s);
	return s->found;
}

#endif
