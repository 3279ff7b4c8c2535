// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "exitcodes.h"
#include "log.h"
#include "otel_setup.h"

static int load_resource(const struct otrace_opts *opts, struct otel_setup *s)
{
	const char *ra = getenv("OTEL_RESOURCE_ATTRIBUTES"), *name = getenv("OTEL_SERVICE_NAME");
	char err[200];
	int ret = 0;

	if (ra && *ra) {
		ret = kvlist__parse(ra, &s->env_attrs, err, sizeof(err));
		if (ret == -EINVAL) {
			pr_err("OTEL_RESOURCE_ATTRIBUTES: %s", err);
			return EXIT_CONFIG;
		}
	}
	if (!ret && name && *name)
		ret = kvlist__set(&s->env_attrs, "service.name", name);
	for (size_t i = 0; !ret && i < opts->nresources; i++) {
		const char *kv = opts->resources[i], *eq = strchr(kv, '='); /* cli checked */
		char *key = strndup(kv, (size_t)(eq - kv));

		ret = key ? kvlist__set(&s->cli_attrs, key, eq + 1) : -ENOMEM;
		free(key);
	}
	if (ret) {
		pr_err("failed to read the resource attributes: %s", strerror(-ret));
		return EXIT_RUNTIME;
	}
	return EXIT_OK;
}

static int load_export(const struct otrace_opts *opts, struct otel_setup *s)
{
	struct otlp_options o = {
		.endpoint = opts->otlp_endpoint,
		.queue_spans = opts->otlp_queue_spans,
		.flush_timeout_ms = opts->otlp_flush_timeout_ms,
	};
	char err[300];
	int ret = otlp_config__load(&o, &s->otlp, err, sizeof(err));

	if (ret == -EINVAL) {
		pr_err("%s", err);
		return EXIT_CONFIG;
	}
	if (ret) {
		pr_err("failed to read the export settings: %s", strerror(-ret));
		return EXIT_RUNTIME;
	}
	if (!s->otlp.enabled || !s->otlp.target.tls)
		return EXIT_OK;
	ret = tls_ctx__new(s->otlp.ca_file, s->otlp.client_cert, s->otlp.client_key, &s->tls, err,
			   sizeof(err));
	if (ret == -EINVAL) {
		pr_err("export to %s: %s", s->otlp.url, err);
		return EXIT_CONFIG;
	}
	if (ret) {
		pr_err("failed to set up TLS: %s", strerror(-ret));
		return EXIT_RUNTIME;
	}
	return EXIT_OK;
}

int otel_setup__load(const struct otrace_opts *opts, struct otel_setup *s)
{
	int code;

	memset(s, 0, sizeof(*s));
	code = load_export(opts, s);
	if (code == EXIT_OK)
		code = load_resource(opts, s);
	return code;
}

void otel_setup__free(struct otel_setup *s)
{
	otlp_config__free(&s->otlp);
	tls_ctx__free(s->tls);
	s->tls = NULL;
	kvlist__free(&s->env_attrs);
	kvlist__free(&s->cli_attrs);
}
