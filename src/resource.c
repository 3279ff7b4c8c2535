// SPDX-License-Identifier: MIT
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "container.h"
#include "resource.h"
#include "target.h"

struct resource_entry {
	struct otlp_resource r; /* points into the strings below and the cache's */
	char *exe_path;
	char container_id[CONTAINER_ID_LEN + 1];
	bool pinned;
	uint64_t last_used;
};

struct resource_cache {
	/* entries are allocated one by one: get's pointers survive a growing array */
	struct resource_entry **entries;
	size_t n, cap;
	size_t unpinned;
	uint64_t tick;
	char *service_name;
	char *go_version;
	char *fallback_exe;
	char host_name[256];
};

static char *dup_or_null(const char *s, bool *failed)
{
	char *d;

	if (!s)
		return NULL;
	d = strdup(s);
	if (!d)
		*failed = true;
	return d;
}

int resource_cache__new(const struct resource_defaults *defaults, struct resource_cache **out)
{
	struct resource_cache *rc = calloc(1, sizeof(*rc));
	bool failed = false;

	*out = NULL;
	if (!rc)
		return -ENOMEM;
	rc->service_name = dup_or_null(defaults->service_name, &failed);
	rc->go_version = dup_or_null(defaults->go_version, &failed);
	rc->fallback_exe = dup_or_null(defaults->exe_path ? defaults->exe_path : "", &failed);
	if (failed) {
		resource_cache__free(rc);
		return -ENOMEM;
	}
	if (defaults->host_name)
		snprintf(rc->host_name, sizeof(rc->host_name), "%s", defaults->host_name);
	else if (gethostname(rc->host_name, sizeof(rc->host_name)))
		snprintf(rc->host_name, sizeof(rc->host_name), "unknown");
	rc->host_name[sizeof(rc->host_name) - 1] = '\0';
	*out = rc;
	return 0;
}

static void entry_free(struct resource_entry *e)
{
	if (!e)
		return;
	free(e->exe_path);
	free(e);
}

void resource_cache__free(struct resource_cache *rc)
{
	if (!rc)
		return;
	for (size_t i = 0; i < rc->n; i++)
		entry_free(rc->entries[i]);
	free(rc->entries);
	free(rc->service_name);
	free(rc->go_version);
	free(rc->fallback_exe);
	free(rc);
}

static struct resource_entry *find(const struct resource_cache *rc, uint32_t pid)
{
	for (size_t i = 0; i < rc->n; i++)
		if (rc->entries[i]->r.pid == pid)
			return rc->entries[i];
	return NULL;
}

static struct resource_entry *add(struct resource_cache *rc, uint32_t pid, const char *exe_path,
				  const char *fallback_exe, const char *go_version, bool pinned)
{
	char link[PATH_MAX];
	struct resource_entry *e;
	const char *name;

	if (rc->n == rc->cap) {
		size_t cap = rc->cap ? rc->cap * 2 : 16;
		struct resource_entry **entries = realloc(rc->entries, cap * sizeof(*entries));

		if (!entries)
			return NULL;
		rc->entries = entries;
		rc->cap = cap;
	}
	if (!exe_path)
		exe_path = target__exe_path((pid_t)pid, link, sizeof(link)) ? fallback_exe : link;
	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->exe_path = strdup(exe_path);
	if (!e->exe_path) {
		free(e);
		return NULL;
	}
	name = strrchr(e->exe_path, '/');
	name = name ? name + 1 : e->exe_path;
	e->pinned = pinned;
	e->last_used = ++rc->tick;
	e->r = (struct otlp_resource){
		.pid = pid,
		.service_name = rc->service_name ? rc->service_name : name,
		.executable_path = e->exe_path,
		.go_version = go_version ? go_version : rc->go_version,
		.host_name = rc->host_name,
		.container_id = container__id_of((pid_t)pid, e->container_id) ? e->container_id
									       : NULL,
	};
	rc->entries[rc->n++] = e;
	if (!pinned)
		rc->unpinned++;
	return e;
}

int resource_cache__pin(struct resource_cache *rc, pid_t pid, const char *exe_path,
			const char *fallback_exe, const char *go_version)
{
	struct resource_entry *e = find(rc, (uint32_t)pid);

	if (e) {
		if (!e->pinned)
			rc->unpinned--;
		e->pinned = true;
		return 0;
	}
	e = add(rc, (uint32_t)pid, exe_path, fallback_exe ? fallback_exe : rc->fallback_exe,
		go_version, true);
	return e ? 0 : -ENOMEM;
}

static void evict(struct resource_cache *rc, size_t i)
{
	entry_free(rc->entries[i]);
	rc->entries[i] = rc->entries[--rc->n];
	rc->unpinned--;
}

static bool process_gone(uint32_t pid)
{
	return kill((pid_t)pid, 0) && errno == ESRCH;
}

void resource_cache__make_room(struct resource_cache *rc, size_t n)
{
	if (n > RESOURCE_CACHE_MAX)
		n = RESOURCE_CACHE_MAX;
	if (rc->unpinned + n <= RESOURCE_CACHE_MAX)
		return;
	for (size_t i = rc->n; i-- > 0;)
		if (!rc->entries[i]->pinned && process_gone(rc->entries[i]->r.pid))
			evict(rc, i);
	while (rc->unpinned + n > RESOURCE_CACHE_MAX) {
		size_t oldest = rc->n;

		for (size_t i = 0; i < rc->n; i++)
			if (!rc->entries[i]->pinned &&
			    (oldest == rc->n ||
			     rc->entries[i]->last_used < rc->entries[oldest]->last_used))
				oldest = i;
		evict(rc, oldest);
	}
}

const struct otlp_resource *resource_cache__get(struct resource_cache *rc, uint32_t pid)
{
	struct resource_entry *e = find(rc, pid);

	if (!e)
		e = add(rc, pid, NULL, rc->fallback_exe, NULL, false);
	if (!e)
		return NULL;
	e->last_used = ++rc->tick;
	return &e->r;
}
