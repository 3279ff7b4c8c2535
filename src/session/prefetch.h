/* SPDX-License-Identifier: MIT */
/*
 * The process and eviction watches' BPF objects (procwatch, evictwatch),
 * loaded in a thread of their own while the main thread inspects and plans
 * the binaries. Each of them parses the kernel's BTF to load (its programs
 * are tp_btf and fexit ones): 60-80 ms apiece on a 2-core machine, which a
 * start otherwise waited for after the plan and the main object's load.
 *
 * Best effort: a process watch the thread could not load, the main thread
 * loads again where it always did (and says why, if it fails there too);
 * so it does the eviction watch when the thread ran out of descriptors,
 * and says any other failure where it always did.
 */
#ifndef OTRACE_PREFETCH_H
#define OTRACE_PREFETCH_H

#include <stdbool.h>

struct procwatch;
struct evictwatch;

/*
 * Starts loading the eviction watch, and the process watch as a follower
 * of execs uses it (no listen reports, watched execs only) when
 * follow_execs.
 */
void prefetch__start(bool follow_execs);

/* The loaded process watch (not attached), or NULL: none was, or it failed. */
struct procwatch *prefetch__take_procwatch(void);

/*
 * The loaded eviction watch (not attached), or NULL with *err: 0 when none
 * was started, else why its load failed.
 */
struct evictwatch *prefetch__take_evictwatch(int *err);

/* Waits for the thread and destroys what was not taken. */
void prefetch__end(void);

#endif
