/* SPDX-License-Identifier: MIT */
/*
 * The OTLP resource of each traced process, by PID: built from /proc/PID the
 * first time a span of that process arrives, so processes started after
 * otrace (--binary) get theirs too. Bounded: when full, processes that are
 * gone are evicted first, then the least recently used.
 *
 * Attributes, each source replacing the keys of the ones before it: what
 * otrace detects (service.name = executable name, process.*, host.*,
 * service.version, telemetry.sdk.*); otrace's own OTEL_RESOURCE_ATTRIBUTES
 * and OTEL_SERVICE_NAME; the traced process's (/proc/PID/environ: its values
 * win for its spans); --resource; --service-name.
 */
#ifndef OTRACE_RESOURCE_H
#define OTRACE_RESOURCE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "kvlist.h"
#include "otlp.h"

struct gobin;

#define RESOURCE_CACHE_MAX 1024 /* unpinned entries; more than a batch has PIDs */

struct resource_defaults {
	const char *service_name; /* --service-name; NULL: each executable's base name */
	const char *go_version;	  /* process.runtime.version of looked-up PIDs; may be NULL */
	const char *service_version; /* service.version of looked-up PIDs; may be NULL */
	const char *exe_path;	  /* when /proc/PID/exe is gone already (short-lived process) */
	const char *host_name;	  /* NULL: gethostname() */
	const char *host_id;	  /* NULL: /etc/machine-id, if any */
	/* otrace's OTEL_RESOURCE_ATTRIBUTES, OTEL_SERVICE_NAME as service.name; may be NULL */
	const struct kvlist *env_attrs;
	const struct kvlist *cli_attrs; /* --resource KEY=VALUE, in order; may be NULL */
	bool process_env; /* read each process's own OTEL_* from /proc/PID/environ */
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
			const char *fallback_exe, const char *go_version,
			const char *service_version);
/*
 * Evicts entries until n more PIDs fit. Call it before the lookups of one
 * batch: the pointers resource_cache__get returns stay valid until the next
 * call to this function.
 */
void resource_cache__make_room(struct resource_cache *rc, size_t n);
/* pid's resource, built on first use; NULL when out of memory. */
const struct otlp_resource *resource_cache__get(struct resource_cache *rc, uint32_t pid);
/* The value of key in r, as text (an integer in decimal into buf), or NULL. */
const char *resource__find(const struct otlp_resource *r, const char *key, char *buf,
			   size_t bufsize);

/*
 * service.version for a binary: its main module's version from the build
 * info when it is a real one ("v1.4.2", a pseudo-version), NULL for
 * "(devel)" or none.
 */
const char *resource__service_version(const struct gobin *gb);
/*
 * Reads OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME (service.name, which
 * wins) from the NUL-separated environment block env into attrs. Returns 0,
 * -ENOMEM, or -EINVAL with a reason in err when OTEL_RESOURCE_ATTRIBUTES is
 * malformed.
 */
int resource__env_attrs(const char *env, size_t len, struct kvlist *attrs, char *err,
			size_t errlen);

#endif
