/* SPDX-License-Identifier: MIT */
/*
 * What the user set for the OpenTelemetry side of a trace session, read and
 * checked once at start: the OTLP exporter (--otlp-*, OTEL_EXPORTER_OTLP_*,
 * its TLS material) and the resource attributes of otrace's own environment
 * (OTEL_RESOURCE_ATTRIBUTES, OTEL_SERVICE_NAME) and command line (--resource).
 */
#ifndef OTRACE_OTEL_SETUP_H
#define OTRACE_OTEL_SETUP_H

#include "cli.h"
#include "kvlist.h"
#include "otlp_config.h"
#include "tls.h"

struct otel_setup {
	struct otlp_config otlp;
	struct tls_ctx *tls;	 /* https:// endpoints */
	struct kvlist env_attrs; /* otrace's OTEL_RESOURCE_ATTRIBUTES, OTEL_SERVICE_NAME */
	struct kvlist cli_attrs; /* --resource, in order */
};

/*
 * Reads everything; returns EXIT_OK, or EXIT_CONFIG after one line on
 * stderr saying what is wrong and where it came from.
 */
int otel_setup__load(const struct otrace_opts *opts, struct otel_setup *s);
void otel_setup__free(struct otel_setup *s);

#endif
