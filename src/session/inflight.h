/* SPDX-License-Identifier: MIT */
/*
 * The BPF maps of spans in progress, read from user space: each library
 * names its own (lib/library.h, maps) and how to tell a live entry from one
 * kept after its end; the core's are listed here. Sizing them (--max-inflight)
 * and, when a process ends or tracing stops, counting the spans that will
 * never end, through the BPF object's BTF: nothing here names a library.
 */
#ifndef OTRACE_INFLIGHT_H
#define OTRACE_INFLIGHT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <bpf/libbpf.h>

struct inflight;

/*
 * Before loading obj: every map of spans in progress gets max_entries, the
 * request contexts' registry room for as many; 0 or -errno.
 */
int inflight__size_maps(struct bpf_object *obj, uint32_t max_entries);
/*
 * The buckets of the request contexts' registry for max_entries (0: the
 * default), a power of two: its mask goes in every instance's ctx_bucket_mask.
 */
uint32_t inflight__ctx_buckets(uint32_t max_entries);

/*
 * After loading: finds each library's maps in obj and resolves their live
 * tests through its BTF, and starts the eviction watch on its LRU maps
 * (bpf/evictwatch.bpf.c) where the kernel allows it. A map or member that
 * is missing is said on stderr (it is a bug: test_libraries checks the
 * table); its entries are not counted. Returns 0 or -ENOMEM.
 */
int inflight__new(struct bpf_object *obj, struct inflight **out);
/* How many maps of the table do not resolve in obj (opened or loaded), each said. */
int inflight__check(struct bpf_object *obj);
/*
 * Counts the live entries of process pid (-1: of every process for which
 * counted(ctx, pid) is true; NULL: all); with forget, every entry of pid is
 * deleted too (pid must not be -1 then). Returns the count.
 */
uint64_t inflight__end(struct inflight *in, pid_t pid, bool forget,
		       bool (*counted)(void *ctx, pid_t pid), void *ctx);
/* The distinct processes that have entries, up to max of them; returns how many. */
size_t inflight__pids(struct inflight *in, pid_t *pids, size_t max);
/* Live entries the eviction watch saw evicted from full LRU maps. */
uint64_t inflight__evicted(const struct inflight *in);
/*
 * Without the eviction watch, evictions go unseen: warns (once per map) of
 * each LRU map of spans that is full, where live entries may have been
 * evicted uncounted.
 */
void inflight__check_full(struct inflight *in);
void inflight__free(struct inflight *in);

#endif
