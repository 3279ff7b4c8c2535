// SPDX-License-Identifier: MIT
/* Per-process resources and the pipeline's grouping of a batch by process. */
#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/wait.h>

#include "pipeline.h"
#include "resource.h"
#include "fake_records.h"
#include "unittest.h"

/* A PID that no process has any more: a reaped child's. */
static pid_t dead_pid(void)
{
	pid_t pid = fork();

	if (pid == 0)
		_exit(0);
	waitpid(pid, NULL, 0);
	return pid;
}

static const char *attr(const struct otlp_resource *r, const char *key)
{
	static char buf[32];

	return r ? resource__find(r, key, buf, sizeof(buf)) : NULL;
}

static void test_lookup(void)
{
	struct resource_defaults d = { .go_version = "go1.99", .exe_path = "/srv/fallback",
				       .host_name = "h1" };
	const struct otlp_resource *r;
	struct resource_cache *rc;
	char self[4096];
	ssize_t n;

	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	CHECK(n > 0);
	self[n > 0 ? n : 0] = '\0';
	CHECK(resource_cache__new(&d, &rc) == 0);

	/* a live process: its own executable, service.name its base name */
	r = resource_cache__get(rc, (uint32_t)getpid());
	CHECK(r && r->pid == (uint32_t)getpid());
	CHECK_STR(attr(r, "process.executable.path"), self);
	CHECK_STR(attr(r, "service.name"), "test_resource");
	CHECK_STR(attr(r, "process.runtime.version"), "go1.99");
	CHECK_STR(attr(r, "host.name"), "h1");
	CHECK(resource_cache__get(rc, (uint32_t)getpid()) == r); /* built once */

	/* gone before its first span was read: the fallback executable */
	r = resource_cache__get(rc, (uint32_t)dead_pid());
	CHECK(r != NULL);
	CHECK_STR(attr(r, "process.executable.path"), "/srv/fallback");
	CHECK_STR(attr(r, "service.name"), "fallback");

	/* pinned with its own executable and Go version */
	CHECK(resource_cache__pin(rc, 77777, "/opt/a/api", NULL, "go1.22.1", "v1.2.3") == 0);
	r = resource_cache__get(rc, 77777);
	CHECK(r && r->pid == 77777);
	CHECK_STR(attr(r, "process.executable.path"), "/opt/a/api");
	CHECK_STR(attr(r, "service.name"), "api");
	CHECK_STR(attr(r, "process.runtime.version"), "go1.22.1");
	CHECK_STR(attr(r, "service.version"), "v1.2.3");
	CHECK_STR(attr(r, "process.pid"), "77777");
	resource_cache__free(rc);

	/* --service-name wins over every base name */
	d.service_name = "checkout";
	CHECK(resource_cache__new(&d, &rc) == 0);
	CHECK(resource_cache__pin(rc, 77777, "/opt/a/api", NULL, NULL, NULL) == 0);
	r = resource_cache__get(rc, 77777);
	CHECK_STR(attr(r, "service.name"), "checkout");
	CHECK(attr(r, "service.version") == NULL);
	resource_cache__free(rc);
}

static void test_bounded(void)
{
	struct resource_defaults d = { .exe_path = "/x", .host_name = "h" };
	const struct otlp_resource *r;
	struct resource_cache *rc;
	pid_t gone = dead_pid();
	uint32_t fake = 4000000; /* above any pid_max: gone as far as kill(2) knows */

	CHECK(resource_cache__new(&d, &rc) == 0);
	CHECK(resource_cache__pin(rc, gone, "/pinned/gone", NULL, NULL, NULL) == 0);
	r = resource_cache__get(rc, (uint32_t)getpid());
	CHECK(r != NULL);
	for (uint32_t i = 0; i < RESOURCE_CACHE_MAX - 1; i++)
		CHECK(resource_cache__get(rc, fake + i) != NULL);
	/* full: the gone ones go, the live process and the pinned entry stay */
	resource_cache__make_room(rc, 10);
	CHECK(resource_cache__get(rc, (uint32_t)getpid()) == r);
	r = resource_cache__get(rc, (uint32_t)gone);
	CHECK_STR(attr(r, "process.executable.path"), "/pinned/gone");
	resource_cache__free(rc);
}

/* A child that sleeps with the environment env, until killed. */
static pid_t child_with_env(char *const env[])
{
	pid_t pid = fork();

	if (pid == 0) {
		execve("/bin/sleep", (char *[]){ "sleep", "30", NULL }, env);
		_exit(127);
	}
	/* /proc/PID/environ is the new program's once exec is done */
	for (int i = 0; i < 500; i++) {
		char path[64], exe[64];
		ssize_t n;

		snprintf(path, sizeof(path), "/proc/%d/exe", pid);
		n = readlink(path, exe, sizeof(exe) - 1);
		if (n > 0 && (exe[n] = '\0', strstr(exe, "sleep")))
			break;
		usleep(2000);
	}
	return pid;
}

static void reap(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* Each source replaces the keys of the ones before it; the process's own win over otrace's. */
static void test_precedence(void)
{
	char *env[] = { "OTEL_RESOURCE_ATTRIBUTES=team=a,deployment.environment=prod%2Ceu",
			"OTEL_SERVICE_NAME=child-svc", NULL };
	char *bad_env[] = { "OTEL_RESOURCE_ATTRIBUTES=team", NULL };
	struct kvlist envl = { 0 }, cli = { 0 };
	struct resource_defaults d = { .exe_path = "/x", .host_name = "h", .host_id = "abc123",
				       .env_attrs = &envl, .cli_attrs = &cli,
				       .process_env = true };
	const struct otlp_resource *r;
	struct resource_cache *rc;
	pid_t child = child_with_env(env), bad = child_with_env(bad_env);

	CHECK(kvlist__parse("team=b,region=eu,service.name=otrace-env", &envl, NULL, 0) == 0);
	CHECK(kvlist__set(&cli, "region", "us") == 0);
	CHECK(resource_cache__new(&d, &rc) == 0);
	r = resource_cache__get(rc, (uint32_t)child);
	CHECK_STR(attr(r, "service.name"), "child-svc");
	CHECK_STR(attr(r, "team"), "a");
	CHECK_STR(attr(r, "deployment.environment"), "prod,eu");
	CHECK_STR(attr(r, "region"), "us");
	CHECK_STR(attr(r, "host.id"), "abc123");
	CHECK_STR(attr(r, "telemetry.sdk.name"), "otrace");
	/* a malformed value in the process's environment is ignored, otrace's still count */
	r = resource_cache__get(rc, (uint32_t)bad);
	CHECK_STR(attr(r, "service.name"), "otrace-env");
	CHECK_STR(attr(r, "team"), "b");
	resource_cache__free(rc);

	/* --service-name wins over every environment */
	d.service_name = "cli-svc";
	CHECK(resource_cache__new(&d, &rc) == 0);
	CHECK_STR(attr(resource_cache__get(rc, (uint32_t)child), "service.name"), "cli-svc");
	resource_cache__free(rc);
	reap(child);
	reap(bad);
	kvlist__free(&envl);
	kvlist__free(&cli);
}

static void test_env_attrs(void)
{
	static const char env[] = "PATH=/bin\0OTEL_SERVICE_NAME=svc\0"
				  "OTEL_RESOURCE_ATTRIBUTES=a=1, b = 2 ,service.name=x\0";
	struct kvlist l = { 0 };
	char err[128];

	CHECK(resource__env_attrs(env, sizeof(env) - 1, &l, err, sizeof(err)) == 0);
	CHECK(l.n == 3);
	CHECK_STR(kvlist__get(&l, "a"), "1");
	CHECK_STR(kvlist__get(&l, "b"), "2");
	CHECK_STR(kvlist__get(&l, "service.name"), "svc"); /* OTEL_SERVICE_NAME wins */
	CHECK(resource__env_attrs("OTEL_RESOURCE_ATTRIBUTES=x", 26, &l, err, sizeof(err)) ==
	      -EINVAL);
	CHECK(strstr(err, "not key=value") != NULL);
	CHECK(resource__env_attrs("", 0, &l, err, sizeof(err)) == 0 && l.n == 0);
	kvlist__free(&l);
}

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = calloc(1, 1 << 20);
	size_t n = 0;

	if (f && buf)
		n = fread(buf, 1, (1 << 20) - 1, f);
	if (f)
		fclose(f);
	if (buf)
		buf[n] = '\0';
	return buf;
}

/* One flush with spans of three processes: one line, one resourceSpans each. */
static void test_pipeline_groups(void)
{
	struct resource_defaults d = { .exe_path = "/x", .host_name = "h" };
	static const uint32_t pids[] = { 300, 100, 300, 200, 100, 300 };
	char path[] = "/tmp/otrace-test-groups-XXXXXX";
	struct ot_http_server_rec rec;
	struct wire_record w;
	struct resource_cache *rc;
	struct pipeline *p;
	struct output *out;
	json_t *doc, *rss;
	char *text;
	int fd = mkstemp(path);

	CHECK(fd >= 0);
	close(fd);
	CHECK(resource_cache__new(&d, &rc) == 0);
	CHECK(resource_cache__pin(rc, 100, "/bin/a", NULL, NULL, NULL) == 0);
	CHECK(resource_cache__pin(rc, 200, "/bin/b", NULL, NULL, NULL) == 0);
	CHECK(resource_cache__pin(rc, 300, "/bin/c", NULL, NULL, NULL) == 0);
	CHECK(output__open(path, &out) == 0);
	CHECK(pipeline__new(rc, out, &p) == 0);
	for (size_t i = 0; i < sizeof(pids) / sizeof(pids[0]); i++) {
		http_record(&rec);
		rec.pid = pids[i];
		rec.status = 200 + (int)i; /* arrival order, visible in the output */
		http_wire(&rec, &w);
		CHECK(pipeline__record(p, w.bytes, w.size) == 0);
	}
	pipeline__flush(p, true);
	pipeline__free(p);
	output__close(out);

	text = read_file(path);
	CHECK(text && strchr(text, '\n') == text + strlen(text) - 1); /* one line */
	doc = json_loads(text, 0, NULL);
	rss = json_object_get(doc, "resourceSpans");
	CHECK(json_array_size(rss) == 3);
	for (size_t g = 0; g < json_array_size(rss); g++) {
		static const char *exe[] = { "/bin/a", "/bin/b", "/bin/c" };
		static const int statuses[][3] = { { 201, 204 }, { 203 }, { 200, 202, 205 } };
		json_t *rs = json_array_get(rss, g), *attrs, *spans;
		const char *got_exe = NULL;
		json_int_t got_pid = 0;
		size_t a;
		json_t *kv;

		attrs = json_object_get(json_object_get(rs, "resource"), "attributes");
		json_array_foreach(attrs, a, kv) {
			const char *key = json_string_value(json_object_get(kv, "key"));
			json_t *v = json_object_get(kv, "value");

			if (!strcmp(key, "process.pid"))
				got_pid = strtoll(
					json_string_value(json_object_get(v, "intValue")), NULL, 10);
			if (!strcmp(key, "process.executable.path"))
				got_exe = json_string_value(json_object_get(v, "stringValue"));
		}
		CHECK(got_pid == (json_int_t)(100 * (g + 1)));
		CHECK_STR(got_exe, exe[g]);
		spans = json_object_get(json_array_get(json_object_get(rs, "scopeSpans"), 0),
					"spans");
		CHECK(json_array_size(spans) == (g == 1 ? 1 : g == 0 ? 2 : 3));
		for (size_t i = 0; i < json_array_size(spans); i++) {
			json_t *span = json_array_get(spans, i), *sattrs;
			json_int_t status = 0;

			sattrs = json_object_get(span, "attributes");
			json_array_foreach(sattrs, a, kv) {
				json_t *v = json_object_get(kv, "value");

				if (!strcmp(json_string_value(json_object_get(kv, "key")),
					    "http.response.status_code"))
					status = strtoll(json_string_value(
								 json_object_get(v, "intValue")),
							 NULL, 10);
			}
			CHECK(status == statuses[g][i]);
		}
	}
	json_decref(doc);
	free(text);
	resource_cache__free(rc);
	unlink(path);
}

int main(void)
{
	test_lookup();
	test_bounded();
	test_precedence();
	test_env_attrs();
	test_pipeline_groups();
	return ut_summary();
}
