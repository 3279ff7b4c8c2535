/* SPDX-License-Identifier: MIT */
/*
 * The OTLP resource of each traced process, by PID: built from /proc/PID the
 * first time a span of that process arrives, so processes started after
 * otrace (--binary) get theirs too; container.id from its cgroup path.
 * Bounded: when full, processes that are gone are evicted first, then the
 * least recently used.
 */
#ifndef OTRACE_RESOURCE_H
#define OTRACE_RESOURCE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "otlp.h"

#define RESOURCE_CACHE_MAX 1024 /* unpinned entries; more than a batch has PIDs */

struct resource_defaults {
	const char *service_name; /* NULL: each executable's base name */
	const char *go_version;	  /* process.runtime.version of looked-up PIDs; may be NULL */
	const char *exe_path;	  /* when /proc/PID/exe is gone already (short-lived process) */
	const char *host_name;	  /* NULL: gethostname() */
};

struct resource_cache;

/* The strings in defaults are copied. */
int resource_cache__new(const struct resource_defaults *defaults, struct resource_cache **out);
void resource_cache__free(struct resource_cache *rc);
/*
 * Records pid's resource now and keeps it for the whole session: its last
 * spans may arrive after it exited. exe_path NULL: read /proc/PID/exe, falling
 * back to fallback_exe. go_version NULL: the default.
 */
int resource_cache__pin(struct resource_cache *rc, pid_t pid, const char *exe_path,
			const char *fallback_exe, const char *go_version);
/*
 * Evicts entries until n more PIDs fit. Call it before the lookups of one
 * batch: the pointers resource_cache__get returns stay valid until the next
 * call to this function.
 */
void resource_cache__make_room(struct resource_cache *rc, size_t n);
/* pid's resource, built on first use; NULL when out of memory. */
const struct otlp_resource *resource_cache__get(struct resource_cache *rc, uint32_t pid);

#endif
