// SPDX-License-Identifier: MIT
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "gobin.h"
#include "log.h"
#include "resource.h"
#include "target.h"

/* A process's environment is read up to this size: OTEL_* are near the start in practice. */
#define ENVIRON_MAX (256u << 10)

struct resource_entry {
	struct otlp_resource r;
	struct kvlist merged; /* the attributes' keys and values, owned */
	struct attr *attrs;
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
	char *service_version;
	char *fallback_exe;
	char host_name[256];
	char host_id[64];
	struct kvlist env_attrs;
	struct kvlist cli_attrs;
	bool process_env;
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

static int copy_list(struct kvlist *dst, const struct kvlist *src)
{
	for (size_t i = 0; src && i < src->n; i++)
		if (kvlist__set(dst, src->items[i].key, src->items[i].value))
			return -ENOMEM;
	return 0;
}

/* host.id: the machine-id, as the semantic conventions ask for non-containerized hosts. */
static void read_machine_id(char *id, size_t cap)
{
	static const char *const paths[] = { "/etc/machine-id", "/var/lib/dbus/machine-id" };

	id[0] = '\0';
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]) && !id[0]; i++) {
		FILE *f = fopen(paths[i], "re");
		size_t n = 0;

		if (!f)
			continue;
		if (fgets(id, (int)cap, f))
			while (isxdigit((unsigned char)id[n]))
				n++;
		id[n] = '\0';
		fclose(f);
	}
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
	rc->service_version = dup_or_null(defaults->service_version, &failed);
	rc->fallback_exe = dup_or_null(defaults->exe_path ? defaults->exe_path : "", &failed);
	if (failed || copy_list(&rc->env_attrs, defaults->env_attrs) ||
	    copy_list(&rc->cli_attrs, defaults->cli_attrs)) {
		resource_cache__free(rc);
		return -ENOMEM;
	}
	rc->process_env = defaults->process_env;
	if (defaults->host_name)
		snprintf(rc->host_name, sizeof(rc->host_name), "%s", defaults->host_name);
	else if (gethostname(rc->host_name, sizeof(rc->host_name)))
		snprintf(rc->host_name, sizeof(rc->host_name), "unknown");
	rc->host_name[sizeof(rc->host_name) - 1] = '\0';
	if (defaults->host_id)
		snprintf(rc->host_id, sizeof(rc->host_id), "%s", defaults->host_id);
	else
		read_machine_id(rc->host_id, sizeof(rc->host_id));
	*out = rc;
	return 0;
}

static void entry_free(struct resource_entry *e)
{
	if (!e)
		return;
	kvlist__free(&e->merged);
	free(e->attrs);
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
	free(rc->service_version);
	free(rc->fallback_exe);
	kvlist__free(&rc->env_attrs);
	kvlist__free(&rc->cli_attrs);
	free(rc);
}

static struct resource_entry *find(const struct resource_cache *rc, uint32_t pid)
{
	for (size_t i = 0; i < rc->n; i++)
		if (rc->entries[i]->r.pid == pid)
			return rc->entries[i];
	return NULL;
}

/* The value of name in a NUL-separated environment block, or NULL. */
static const char *env_get(const char *env, size_t len, const char *name)
{
	size_t nlen = strlen(name);

	for (const char *p = env, *end = env + len; p < end; p += strnlen(p, end - p) + 1)
		if ((size_t)(end - p) > nlen && !strncmp(p, name, nlen) && p[nlen] == '=')
			return p + nlen + 1;
	return NULL;
}

int resource__env_attrs(const char *env, size_t len, struct kvlist *attrs, char *err,
			size_t errlen)
{
	const char *ra = env_get(env, len, "OTEL_RESOURCE_ATTRIBUTES");
	const char *name = env_get(env, len, "OTEL_SERVICE_NAME");
	int ret;

	kvlist__free(attrs);
	if (ra) {
		ret = kvlist__parse(ra, attrs, err, errlen);
		if (ret)
			return ret;
	}
	if (name && *name)
		return kvlist__set(attrs, "service.name", name);
	return 0;
}

/*
 * The process's own OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME. Its
 * environment as it was at exec: what the process itself would read.
 */
static void read_process_env(uint32_t pid, struct kvlist *attrs)
{
	char path[64], err[160];
	char *env = NULL;
	size_t len = 0;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%u/environ", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	env = malloc(ENVIRON_MAX + 1);
	while (env && len < ENVIRON_MAX && (n = read(fd, env + len, ENVIRON_MAX - len)) > 0)
		len += (size_t)n;
	close(fd);
	if (env && len) {
		env[len] = '\0';
		if (resource__env_attrs(env, len, attrs, err, sizeof(err)) == -EINVAL)
			pr_warn("PID %u: OTEL_RESOURCE_ATTRIBUTES ignored: %s", pid, err);
	}
	free(env);
}

/* A real module version: "v" and a digit ("v1.4.2", pseudo-versions), not "(devel)". */
static bool real_version(const char *v)
{
	return v && v[0] == 'v' && isdigit((unsigned char)v[1]);
}

const char *resource__service_version(const struct gobin *gb)
{
	for (size_t i = 0; gb && i < gobin__module_count(gb); i++) {
		const struct go_module *m = gobin__module(gb, i);

		if (m->main)
			return real_version(m->version) ? m->version : NULL;
	}
	return NULL;
}

/* What otrace knows of the process by itself, in the order it is written. */
static int detected_attrs(const struct resource_cache *rc, struct kvlist *l, uint32_t pid,
			  const char *exe_path, const char *go_version,
			  const char *service_version)
{
	const char *name = strrchr(exe_path, '/');
	char pidbuf[16];
	int err = 0;

	name = name ? name + 1 : exe_path;
	snprintf(pidbuf, sizeof(pidbuf), "%u", pid);
	err = err ?: kvlist__set(l, "service.name", name);
	if (service_version)
		err = err ?: kvlist__set(l, "service.version", service_version);
	err = err ?: kvlist__set(l, "process.pid", pidbuf);
	err = err ?: kvlist__set(l, "process.executable.path", exe_path);
	err = err ?: kvlist__set(l, "process.runtime.name", "go");
	if (go_version)
		err = err ?: kvlist__set(l, "process.runtime.version", go_version);
	err = err ?: kvlist__set(l, "host.name", rc->host_name);
	if (rc->host_id[0])
		err = err ?: kvlist__set(l, "host.id", rc->host_id);
	err = err ?: kvlist__set(l, "telemetry.sdk.name", "otrace");
	err = err ?: kvlist__set(l, "telemetry.sdk.version", OTRACE_VERSION);
	/* the language of the instrumented program, as eBPF instrumentations report it */
	err = err ?: kvlist__set(l, "telemetry.sdk.language", "go");
	return err;
}

/* Merges every source into e->merged, later ones replacing earlier keys. */
static int merge_attrs(const struct resource_cache *rc, struct resource_entry *e, uint32_t pid,
		       const char *exe_path, const char *go_version, const char *service_version)
{
	struct kvlist process = { 0 };
	int err;

	if (rc->process_env)
		read_process_env(pid, &process);
	err = detected_attrs(rc, &e->merged, pid, exe_path, go_version, service_version);
	err = err ?: copy_list(&e->merged, &rc->env_attrs);
	err = err ?: copy_list(&e->merged, &process);
	err = err ?: copy_list(&e->merged, &rc->cli_attrs);
	if (rc->service_name)
		err = err ?: kvlist__set(&e->merged, "service.name", rc->service_name);
	kvlist__free(&process);
	return err;
}

/* process.pid is an integer attribute, unless someone set it to something else. */
static bool int_attr(const struct kv *kv, int64_t *v)
{
	char *end;

	if (strcmp(kv->key, "process.pid"))
		return false;
	errno = 0;
	*v = strtoll(kv->value, &end, 10);
	return !errno && *kv->value && !*end;
}

static int build_attrs(struct resource_entry *e)
{
	e->attrs = calloc(e->merged.n, sizeof(*e->attrs));
	if (!e->attrs)
		return -ENOMEM;
	for (size_t i = 0; i < e->merged.n; i++) {
		const struct kv *kv = &e->merged.items[i];
		struct attr *a = &e->attrs[i];

		a->key = kv->key;
		if (int_attr(kv, &a->num)) {
			a->type = ATTR_INT;
		} else {
			a->type = ATTR_STRING;
			a->str = kv->value;
			a->len = strlen(kv->value);
		}
	}
	e->r.attrs = e->attrs;
	e->r.nattrs = e->merged.n;
	return 0;
}

static struct resource_entry *add(struct resource_cache *rc, uint32_t pid, const char *exe_path,
				  const char *fallback_exe, const char *go_version,
				  const char *service_version, bool pinned)
{
	char link[PATH_MAX];
	struct resource_entry *e;

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
	e->r.pid = pid;
	if (merge_attrs(rc, e, pid, exe_path, go_version ? go_version : rc->go_version,
			service_version ? service_version : rc->service_version) ||
	    build_attrs(e)) {
		entry_free(e);
		return NULL;
	}
	e->pinned = pinned;
	e->last_used = ++rc->tick;
	rc->entries[rc->n++] = e;
	if (!pinned)
		rc->unpinned++;
	return e;
}

int resource_cache__pin(struct resource_cache *rc, pid_t pid, const char *exe_path,
			const char *fallback_exe, const char *go_version,
			const char *service_version)
{
	struct resource_entry *e = find(rc, (uint32_t)pid);

	if (e) {
		if (!e->pinned)
			rc->unpinned--;
		e->pinned = true;
		return 0;
	}
	e = add(rc, (uint32_t)pid, exe_path, fallback_exe ? fallback_exe : rc->fallback_exe,
		go_version, service_version, true);
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
		e = add(rc, pid, NULL, rc->fallback_exe, NULL, NULL, false);
	if (!e)
		return NULL;
	e->last_used = ++rc->tick;
	return &e->r;
}

const char *resource__find(const struct otlp_resource *r, const char *key, char *buf,
			   size_t bufsize)
{
	for (size_t i = 0; i < r->nattrs; i++) {
		const struct attr *a = &r->attrs[i];

		if (strcmp(a->key, key))
			continue;
		if (a->type == ATTR_STRING)
			return a->str;
		snprintf(buf, bufsize, "%" PRId64, a->num);
		return buf;
	}
	return NULL;
}
