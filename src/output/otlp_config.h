/* SPDX-License-Identifier: MIT */
/*
 * Where and how spans are exported: --otlp-endpoint and the OTLP exporter
 * specification's environment variables (OTEL_EXPORTER_OTLP_*, the TRACES_
 * variants taking precedence), plus otrace's own export options. Everything
 * is checked here, at start, so a bad setting ends otrace with one line
 * before anything is attached; failures later, while running, are transient.
 */
#ifndef OTRACE_OTLP_CONFIG_H
#define OTRACE_OTLP_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "kvlist.h"

enum otlp_protocol { OTLP_HTTP_PROTOBUF, OTLP_HTTP_JSON };

#define OTLP_DEFAULT_TIMEOUT_MS	      10000 /* the specification's default */
#define OTLP_DEFAULT_QUEUE_SPANS      16384 /* --otlp-queue-spans */
#define OTLP_DEFAULT_FLUSH_TIMEOUT_MS 5000  /* --otlp-flush-timeout */

struct otlp_url {
	bool tls;	/* https */
	char host[256]; /* without the brackets of an IPv6 literal */
	char port[8];
	char path[2048]; /* path and query, as sent in the request line */
};

struct otlp_config {
	bool enabled;	      /* an endpoint was given */
	char url[2400];	      /* the URL requests go to */
	const char *url_from; /* the option or variable the endpoint came from */
	struct otlp_url target;
	enum otlp_protocol protocol;
	struct kvlist headers;
	bool gzip;
	int timeout_ms;
	const char *ca_file;	 /* NULL: the system's trust store */
	const char *client_cert; /* both or neither */
	const char *client_key;
	size_t queue_spans;
	int flush_timeout_ms;
};

/* What the command line says about export (NULL/0: not given). */
struct otlp_options {
	const char *endpoint; /* --otlp-endpoint */
	size_t queue_spans;   /* --otlp-queue-spans */
	int flush_timeout_ms; /* --otlp-flush-timeout, -1: not given */
};

/*
 * Reads the options and the environment into cfg. Returns 0 (cfg->enabled
 * false when no endpoint is set anywhere), -ENOMEM, or -EINVAL with a
 * one-line reason in err naming the variable or option; cfg holds nothing to
 * free after an error.
 */
int otlp_config__load(const struct otlp_options *opts, struct otlp_config *cfg, char *err,
		      size_t errlen);
void otlp_config__free(struct otlp_config *cfg);

/* Parses an http:// or https:// URL. 0 or -EINVAL with a reason in err (exposed for tests). */
int otlp_config__parse_url(const char *url, struct otlp_url *out, char *err, size_t errlen);

#endif
