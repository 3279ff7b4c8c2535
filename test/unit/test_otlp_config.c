// SPDX-License-Identifier: MIT
/* Export settings: the OTLP exporter specification's rules, and bad values refused. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kvlist.h"
#include "otlp_config.h"
#include "unittest.h"

static const char *const vars[] = {
	"OTEL_EXPORTER_OTLP_ENDPOINT",
	"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
	"OTEL_EXPORTER_OTLP_PROTOCOL",
	"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
	"OTEL_EXPORTER_OTLP_HEADERS",
	"OTEL_EXPORTER_OTLP_TRACES_HEADERS",
	"OTEL_EXPORTER_OTLP_COMPRESSION",
	"OTEL_EXPORTER_OTLP_TRACES_COMPRESSION",
	"OTEL_EXPORTER_OTLP_TIMEOUT",
	"OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
	"OTEL_EXPORTER_OTLP_CERTIFICATE",
	"OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE",
	"OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE",
	"OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE",
	"OTEL_EXPORTER_OTLP_CLIENT_KEY",
	"OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY",
};

static void clear_env(void)
{
	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		unsetenv(vars[i]);
}

static char err[512];

static int load(const char *endpoint, struct otlp_config *cfg)
{
	struct otlp_options o = { .endpoint = endpoint, .flush_timeout_ms = -1 };

	err[0] = '\0';
	return otlp_config__load(&o, cfg, err, sizeof(err));
}

/* The URL requests go to, given the option and the two variables. */
static const char *url_of(const char *opt, const char *base, const char *traces)
{
	static char url[2400];
	struct otlp_config cfg;

	clear_env();
	if (base)
		setenv("OTEL_EXPORTER_OTLP_ENDPOINT", base, 1);
	if (traces)
		setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", traces, 1);
	if (load(opt, &cfg))
		snprintf(url, sizeof(url), "error: %s", err);
	else
		snprintf(url, sizeof(url), "%s", cfg.enabled ? cfg.url : "(none)");
	otlp_config__free(&cfg);
	return url;
}

static void test_endpoints(void)
{
	/* the specification's examples */
	CHECK_STR(url_of(NULL, "http://collector:4318", NULL), "http://collector:4318/v1/traces");
	CHECK_STR(url_of(NULL, NULL, "http://collector:4318"), "http://collector:4318/");
	CHECK_STR(url_of(NULL, "http://collector:4318/mycollector/", NULL),
		  "http://collector:4318/mycollector/v1/traces");
	CHECK_STR(url_of(NULL, "http://collector:4318/mycollector", NULL),
		  "http://collector:4318/mycollector/v1/traces");
	CHECK_STR(url_of(NULL, NULL, "https://collector.example.com/v1/traces/"),
		  "https://collector.example.com:443/v1/traces/");
	/* the signal's own variable wins; an empty one counts as unset */
	CHECK_STR(url_of(NULL, "http://a:1", "http://b:2/x"), "http://b:2/x");
	CHECK_STR(url_of(NULL, "http://a:1", ""), "http://a:1/v1/traces");
	/* --otlp-endpoint wins; as is, /v1/traces when it has no path */
	CHECK_STR(url_of("http://c:3", "http://a:1", "http://b:2/x"), "http://c:3/v1/traces");
	CHECK_STR(url_of("http://c:3/", NULL, NULL), "http://c:3/v1/traces");
	CHECK_STR(url_of("http://c:3/otlp/traces?k=v#frag", NULL, NULL),
		  "http://c:3/otlp/traces?k=v");
	CHECK_STR(url_of(NULL, NULL, NULL), "(none)");
	/* scheme's default port, IPv6 literals */
	CHECK_STR(url_of("http://[::1]:4318", NULL, NULL), "http://[::1]:4318/v1/traces");
	CHECK_STR(url_of("HTTP://h", NULL, NULL), "http://h:80/v1/traces");
	/* refused, naming where the value came from */
	CHECK(strstr(url_of("ftp://h", NULL, NULL), "--otlp-endpoint 'ftp://h': not an http://"));
	CHECK(strstr(url_of(NULL, "localhost:4318", NULL), "OTEL_EXPORTER_OTLP_ENDPOINT"));
	CHECK(strstr(url_of(NULL, NULL, "http://:4318"), "no host"));
	CHECK(strstr(url_of("http://h:0", NULL, NULL), "invalid port"));
	CHECK(strstr(url_of("http://h:65536", NULL, NULL), "invalid port"));
	CHECK(strstr(url_of("http://h:12ab", NULL, NULL), "invalid port"));
	CHECK(strstr(url_of("http://user:pw@h", NULL, NULL), "credentials"));
	CHECK(strstr(url_of("http://[::1", NULL, NULL), "IPv6"));
	CHECK(strstr(url_of("http://h/a b", NULL, NULL), "blank"));
	CHECK(strstr(url_of(NULL, "http://h/?q=1", NULL), "no query"));
}

/* Loads with one variable set (and an endpoint); returns the result. */
static int with(const char *name, const char *value, struct otlp_config *cfg)
{
	clear_env();
	setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "https://h:4318", 1);
	if (name)
		setenv(name, value, 1);
	return load(NULL, cfg);
}

static void test_settings(void)
{
	struct otlp_config cfg;

	CHECK(with(NULL, NULL, &cfg) == 0);
	CHECK(cfg.enabled && cfg.protocol == OTLP_HTTP_PROTOBUF && !cfg.gzip);
	CHECK(cfg.timeout_ms == 10000 && cfg.queue_spans == OTLP_DEFAULT_QUEUE_SPANS);
	CHECK(cfg.flush_timeout_ms == OTLP_DEFAULT_FLUSH_TIMEOUT_MS && cfg.target.tls);
	CHECK_STR(cfg.target.host, "h");
	CHECK_STR(cfg.target.port, "4318");
	otlp_config__free(&cfg);

	CHECK(with("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json", &cfg) == 0);
	CHECK(cfg.protocol == OTLP_HTTP_JSON);
	otlp_config__free(&cfg);
	setenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/protobuf", 1);
	CHECK(load(NULL, &cfg) == 0 && cfg.protocol == OTLP_HTTP_PROTOBUF);
	otlp_config__free(&cfg);
	CHECK(with("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "grpc", &cfg) == -EINVAL);
	CHECK(strstr(err, "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL=grpc: OTLP/gRPC is not supported"));
	CHECK(with("OTEL_EXPORTER_OTLP_PROTOCOL", "http/xml", &cfg) == -EINVAL);

	CHECK(with("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip", &cfg) == 0 && cfg.gzip);
	otlp_config__free(&cfg);
	CHECK(with("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "none", &cfg) == 0 && !cfg.gzip);
	otlp_config__free(&cfg);
	CHECK(with("OTEL_EXPORTER_OTLP_COMPRESSION", "zstd", &cfg) == -EINVAL);

	CHECK(with("OTEL_EXPORTER_OTLP_TIMEOUT", "2500", &cfg) == 0 && cfg.timeout_ms == 2500);
	otlp_config__free(&cfg);
	CHECK(with("OTEL_EXPORTER_OTLP_TIMEOUT", "10s", &cfg) == -EINVAL);
	CHECK(with("OTEL_EXPORTER_OTLP_TIMEOUT", "0", &cfg) == -EINVAL);
	CHECK(with("OTEL_EXPORTER_OTLP_TIMEOUT", "99999999999", &cfg) == -EINVAL);

	CHECK(with("OTEL_EXPORTER_OTLP_CERTIFICATE", "/nonexistent/ca.pem", &cfg) == -EINVAL);
	CHECK(strstr(err, "cannot read /nonexistent/ca.pem"));
	CHECK(with("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", "/etc/hostname", &cfg) == -EINVAL);
	CHECK(strstr(err, "needs its key"));
}

static void test_headers(void)
{
	struct otlp_config cfg;

	CHECK(with("OTEL_EXPORTER_OTLP_HEADERS",
		   "Authorization=Basic%20dXNlcjpwdw%3D%3D , x-tenant = a%2Cb,", &cfg) == 0);
	CHECK(cfg.headers.n == 2);
	CHECK_STR(kvlist__get(&cfg.headers, "Authorization"), "Basic dXNlcjpwdw==");
	CHECK_STR(kvlist__get(&cfg.headers, "x-tenant"), "a,b");
	otlp_config__free(&cfg);
	/* the signal's own variable replaces the general one */
	setenv("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "only=this", 1);
	CHECK(load(NULL, &cfg) == 0 && cfg.headers.n == 1);
	CHECK_STR(kvlist__get(&cfg.headers, "only"), "this");
	otlp_config__free(&cfg);

	CHECK(with("OTEL_EXPORTER_OTLP_HEADERS", "novalue", &cfg) == -EINVAL);
	CHECK(strstr(err, "OTEL_EXPORTER_OTLP_HEADERS: 'novalue' is not key=value"));
	CHECK(with("OTEL_EXPORTER_OTLP_HEADERS", "=v", &cfg) == -EINVAL);
	CHECK(with("OTEL_EXPORTER_OTLP_HEADERS", "a=%4", &cfg) == -EINVAL);
	CHECK(with("OTEL_EXPORTER_OTLP_HEADERS", "a=%00", &cfg) == -EINVAL);
	CHECK(with("OTEL_EXPORTER_OTLP_HEADERS", "bad name=v", &cfg) == -EINVAL);
	CHECK(strstr(err, "not a valid header name"));
	CHECK(with("OTEL_EXPORTER_OTLP_HEADERS", "a=x%0D%0AInjected: 1", &cfg) == -EINVAL);
	CHECK(strstr(err, "control character"));
	CHECK(with("OTEL_EXPORTER_OTLP_HEADERS", "Content-Length=5", &cfg) == -EINVAL);
}

static void test_kvlist(void)
{
	struct kvlist l = { 0 };
	char e[128];

	CHECK(kvlist__parse("", &l, e, sizeof(e)) == 0 && l.n == 0);
	CHECK(kvlist__parse(" , ,", &l, e, sizeof(e)) == 0 && l.n == 0);
	CHECK(kvlist__parse("k=v,k=w", &l, e, sizeof(e)) == 0 && l.n == 1);
	CHECK_STR(kvlist__get(&l, "k"), "w"); /* the last one counts */
	CHECK(kvlist__parse("a%3Db=c%3Dd,e=", &l, e, sizeof(e)) == 0 && l.n == 2);
	CHECK_STR(kvlist__get(&l, "a=b"), "c=d");
	CHECK_STR(kvlist__get(&l, "e"), "");
	CHECK(kvlist__parse("a=1,b", &l, e, sizeof(e)) == -EINVAL && l.n == 0);
	CHECK(kvlist__parse("a=%G1", &l, e, sizeof(e)) == -EINVAL);
	CHECK(kvlist__parse("a=%", &l, e, sizeof(e)) == -EINVAL);
	kvlist__free(&l);
}

int main(void)
{
	test_endpoints();
	test_settings();
	test_headers();
	test_kvlist();
	clear_env();
	return ut_summary();
}
