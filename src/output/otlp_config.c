// SPDX-License-Identifier: MIT
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "log.h"
#include "otlp_config.h"

#define ENV_PREFIX "OTEL_EXPORTER_OTLP_"

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

#define ENV_NAME_MAX 64

/*
 * OTEL_EXPORTER_OTLP_TRACES_<what>, else OTEL_EXPORTER_OTLP_<what>; an empty
 * value counts as unset. name gets the variable's name, for messages.
 */
static const char *env_setting(const char *what, char name[ENV_NAME_MAX])
{
	const char *v;

	snprintf(name, ENV_NAME_MAX, ENV_PREFIX "TRACES_%s", what);
	v = getenv(name);
	if (v && *v)
		return v;
	snprintf(name, ENV_NAME_MAX, ENV_PREFIX "%s", what);
	v = getenv(name);
	return v && *v ? v : NULL;
}

static int parse_port(const char *s, size_t len, struct otlp_url *out)
{
	long port = 0;

	if (len == 0 || len > 5)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		port = port * 10 + (s[i] - '0');
	}
	if (port < 1 || port > 65535)
		return -EINVAL;
	snprintf(out->port, sizeof(out->port), "%ld", port);
	return 0;
}

/* host[:port] or [v6]:port into out; the authority is authority[0..len). */
static int parse_authority(const char *a, size_t len, struct otlp_url *out, char *err,
			   size_t errlen)
{
	const char *host = a, *colon = NULL;
	size_t hlen;

	if (memchr(a, '@', len))
		return fail(err, errlen,
			    "credentials in the URL are not sent; give them as a header "
			    "(OTEL_EXPORTER_OTLP_HEADERS=Authorization=...)");
	if (len && a[0] == '[') {
		const char *close = memchr(a, ']', len);

		if (!close)
			return fail(err, errlen, "unterminated IPv6 address");
		host = a + 1;
		hlen = (size_t)(close - host);
		if ((size_t)(close + 1 - a) < len) {
			if (close[1] != ':')
				return fail(err, errlen, "unexpected text after the IPv6 address");
			colon = close + 1;
		}
	} else {
		colon = memchr(a, ':', len);
		hlen = colon ? (size_t)(colon - a) : len;
	}
	if (hlen == 0)
		return fail(err, errlen, "no host");
	if (hlen >= sizeof(out->host))
		return fail(err, errlen, "host name too long");
	for (size_t i = 0; i < hlen; i++)
		if ((unsigned char)host[i] <= ' ' || strchr("\"<>\\^`{|}%/?#", host[i]))
			return fail(err, errlen, "invalid character in the host name");
	memcpy(out->host, host, hlen);
	out->host[hlen] = '\0';
	if (colon && parse_port(colon + 1, (size_t)(a + len - colon - 1), out))
		return fail(err, errlen, "invalid port '%.*s'", (int)(a + len - colon - 1),
			    colon + 1);
	return 0;
}

int otlp_config__parse_url(const char *url, struct otlp_url *out, char *err, size_t errlen)
{
	const char *rest, *path, *end;

	memset(out, 0, sizeof(*out));
	if (!strncasecmp(url, "http://", 7)) {
		rest = url + 7;
	} else if (!strncasecmp(url, "https://", 8)) {
		rest = url + 8;
		out->tls = true;
	} else {
		return fail(err, errlen, "not an http:// or https:// URL");
	}
	path = rest + strcspn(rest, "/?#");
	if (parse_authority(rest, (size_t)(path - rest), out, err, errlen))
		return -EINVAL;
	if (!out->port[0])
		strcpy(out->port, out->tls ? "443" : "80");
	end = path + strcspn(path, "#"); /* a fragment is never sent */
	for (const char *p = path; p < end; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return fail(err, errlen, "blank or control character in the path");
	if ((size_t)(end - path) + 2 > sizeof(out->path))
		return fail(err, errlen, "path too long");
	snprintf(out->path, sizeof(out->path), "%s%.*s", *path == '/' ? "" : "/", (int)(end - path),
		 path);
	return 0;
}

/* Whether the URL names a path of its own, beyond "/". */
static bool has_path(const struct otlp_url *u)
{
	return strcmp(u->path, "/") != 0;
}

/*
 * The endpoint, by precedence: --otlp-endpoint (as is; /v1/traces when it has
 * no path), OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (as is), OTEL_EXPORTER_OTLP_ENDPOINT
 * (a base: v1/traces appended to its path).
 */
static int load_endpoint(const struct otlp_options *opts, struct otlp_config *cfg, char *err,
			 size_t errlen)
{
	const char *v = getenv(ENV_PREFIX "TRACES_ENDPOINT");
	char why[160];
	bool base = false, default_path = false, ipv6;

	if (opts->endpoint) {
		v = opts->endpoint;
		cfg->url_from = "--otlp-endpoint";
		default_path = true;
	} else if (v && *v) {
		cfg->url_from = ENV_PREFIX "TRACES_ENDPOINT";
	} else {
		v = getenv(ENV_PREFIX "ENDPOINT");
		if (!v || !*v)
			return 0;
		cfg->url_from = ENV_PREFIX "ENDPOINT";
		base = true;
	}
	if (otlp_config__parse_url(v, &cfg->target, why, sizeof(why)))
		return fail(err, errlen, "%s '%s': %s", cfg->url_from, v, why);
	if (base || (default_path && !has_path(&cfg->target))) {
		size_t len = strlen(cfg->target.path);
		char *q = strchr(cfg->target.path, '?');

		if (q)
			return fail(err, errlen, "%s '%s': a base URL takes no query",
				    cfg->url_from, v);
		if (len + sizeof("/v1/traces") > sizeof(cfg->target.path))
			return fail(err, errlen, "%s '%s': path too long", cfg->url_from, v);
		strcat(cfg->target.path,
		       cfg->target.path[len - 1] == '/' ? "v1/traces" : "/v1/traces");
	}
	ipv6 = strchr(cfg->target.host, ':') != NULL;
	snprintf(cfg->url, sizeof(cfg->url), "%s://%s%s%s:%s%s", cfg->target.tls ? "https" : "http",
		 ipv6 ? "[" : "", cfg->target.host, ipv6 ? "]" : "", cfg->target.port,
		 cfg->target.path);
	cfg->enabled = true;
	return 0;
}

static int load_protocol(struct otlp_config *cfg, char *err, size_t errlen)
{
	char name[ENV_NAME_MAX];
	const char *v = env_setting("PROTOCOL", name);

	if (!v || !strcmp(v, "http/protobuf"))
		cfg->protocol = OTLP_HTTP_PROTOBUF;
	else if (!strcmp(v, "http/json"))
		cfg->protocol = OTLP_HTTP_JSON;
	else if (!strcmp(v, "grpc"))
		return fail(err, errlen,
			    "%s=grpc: OTLP/gRPC is not supported; use http/protobuf (or "
			    "http/json) and the receiver's OTLP/HTTP port (4318)",
			    name);
	else
		return fail(err, errlen, "%s='%s': want http/protobuf or http/json", name, v);
	return 0;
}

static int load_compression(struct otlp_config *cfg, char *err, size_t errlen)
{
	char name[ENV_NAME_MAX];
	const char *v = env_setting("COMPRESSION", name);

	if (!v || !strcmp(v, "none"))
		cfg->gzip = false;
	else if (!strcmp(v, "gzip"))
		cfg->gzip = true;
	else
		return fail(err, errlen, "%s='%s': want gzip or none", name, v);
	return 0;
}

static int load_timeout(struct otlp_config *cfg, char *err, size_t errlen)
{
	char name[ENV_NAME_MAX];
	const char *v = env_setting("TIMEOUT", name);
	long ms = 0;

	cfg->timeout_ms = OTLP_DEFAULT_TIMEOUT_MS;
	if (!v)
		return 0;
	for (const char *p = v; *p; p++) {
		if (*p < '0' || *p > '9' || ms > INT_MAX / 10)
			return fail(err, errlen, "%s='%s': want a number of milliseconds", name, v);
		ms = ms * 10 + (*p - '0');
	}
	if (ms < 1 || ms > INT_MAX)
		return fail(err, errlen, "%s='%s': want a number of milliseconds", name, v);
	cfg->timeout_ms = (int)ms;
	return 0;
}

/* An HTTP header field name: a token (RFC 9110). */
static bool header_name(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || strchr("!#$%&'*+-.^_`|~", *s)))
			return false;
	return true;
}

/* A header field value: no control characters but tab (no CR or LF to split requests). */
static bool header_value(const char *s)
{
	for (; *s; s++)
		if (((unsigned char)*s < ' ' && *s != '\t') || *s == 0x7f)
			return false;
	return true;
}

static int load_headers(struct otlp_config *cfg, char *err, size_t errlen)
{
	char name[ENV_NAME_MAX];
	const char *v = env_setting("HEADERS", name);
	char why[200];
	int ret;

	if (!v)
		return 0;
	ret = kvlist__parse(v, &cfg->headers, why, sizeof(why));
	if (ret == -EINVAL)
		return fail(err, errlen, "%s: %s", name, why);
	if (ret)
		return ret;
	for (size_t i = 0; i < cfg->headers.n; i++) {
		const struct kv *h = &cfg->headers.items[i];

		if (!header_name(h->key))
			return fail(err, errlen, "%s: '%s' is not a valid header name", name,
				    h->key);
		if (!header_value(h->value))
			return fail(err, errlen, "%s: the value of '%s' holds a control character",
				    name, h->key);
		if (!strcasecmp(h->key, "Content-Type") || !strcasecmp(h->key, "Content-Length") ||
		    !strcasecmp(h->key, "Content-Encoding") ||
		    !strcasecmp(h->key, "Transfer-Encoding") || !strcasecmp(h->key, "Host") ||
		    !strcasecmp(h->key, "Connection"))
			return fail(err, errlen, "%s: '%s' is set by otrace itself", name, h->key);
	}
	return 0;
}

/* A certificate or key file: it must be readable now (its content is checked by TLS setup). */
static int load_file(const char *what, const char **path, char *err, size_t errlen)
{
	char name[ENV_NAME_MAX];

	*path = env_setting(what, name);
	if (*path && access(*path, R_OK))
		return fail(err, errlen, "%s: cannot read %s: %s", name, *path, strerror(errno));
	return 0;
}

static int load_tls(struct otlp_config *cfg, char *err, size_t errlen)
{
	int ret = load_file("CERTIFICATE", &cfg->ca_file, err, errlen);

	ret = ret ?: load_file("CLIENT_CERTIFICATE", &cfg->client_cert, err, errlen);
	ret = ret ?: load_file("CLIENT_KEY", &cfg->client_key, err, errlen);
	if (ret)
		return ret;
	if (!cfg->client_cert != !cfg->client_key)
		return fail(
		    err, errlen,
		    "a client certificate needs its key: set both "
		    "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE and OTEL_EXPORTER_OTLP_CLIENT_KEY");
	if (!cfg->target.tls && (cfg->ca_file || cfg->client_cert))
		pr_warn("%s is http://: the TLS certificates set in OTEL_EXPORTER_OTLP_* are not "
			"used",
			cfg->url_from);
	return 0;
}

int otlp_config__load(const struct otlp_options *opts, struct otlp_config *cfg, char *err,
		      size_t errlen)
{
	int ret;

	memset(cfg, 0, sizeof(*cfg));
	cfg->queue_spans = opts->queue_spans ? opts->queue_spans : OTLP_DEFAULT_QUEUE_SPANS;
	cfg->flush_timeout_ms =
	    opts->flush_timeout_ms >= 0 ? opts->flush_timeout_ms : OTLP_DEFAULT_FLUSH_TIMEOUT_MS;
	ret = load_endpoint(opts, cfg, err, errlen);
	if (ret || !cfg->enabled)
		return ret;
	ret = load_protocol(cfg, err, errlen);
	ret = ret ?: load_compression(cfg, err, errlen);
	ret = ret ?: load_timeout(cfg, err, errlen);
	ret = ret ?: load_headers(cfg, err, errlen);
	ret = ret ?: load_tls(cfg, err, errlen);
	if (ret)
		otlp_config__free(cfg);
	return ret;
}

void otlp_config__free(struct otlp_config *cfg)
{
	kvlist__free(&cfg->headers);
}
