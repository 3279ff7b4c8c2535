// SPDX-License-Identifier: MIT
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "cli.h"
#include "otlp.h"
#include "utf8.h"

/* A JSON string from arbitrary bytes: invalid UTF-8 becomes U+FFFD. */
static json_t *json_bytes(const char *s, size_t len, bool truncated)
{
	json_t *j;
	char *fixed;

	if (utf8__valid(s, len))
		return json_stringn_nocheck(s, len);
	fixed = malloc(3 * len + 1);
	if (!fixed)
		return NULL;
	len = utf8__repair(s, len, truncated, fixed);
	j = json_stringn_nocheck(fixed, len);
	free(fixed);
	return j;
}

static json_t *json_u64_string(uint64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%" PRIu64, v);
	return json_string(buf);
}

static json_t *json_hex(const uint8_t *b, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	char buf[33];

	for (size_t i = 0; i < n && i < 16; i++) {
		buf[2 * i] = digits[b[i] >> 4];
		buf[2 * i + 1] = digits[b[i] & 0xf];
	}
	return json_stringn_nocheck(buf, 2 * n);
}

static json_t *kv_string(const char *key, json_t *value)
{
	return json_pack("{s:s, s:{s:o}}", "key", key, "value", "stringValue", value);
}

static json_t *kv_int(const char *key, int64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%" PRId64, v);
	return json_pack("{s:s, s:{s:s}}", "key", key, "value", "intValue", buf);
}

static json_t *span_attributes(const struct span *s)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < s->nattrs; i++) {
		const struct attr *a = &s->attrs[i];

		if (a->type == ATTR_INT)
			json_array_append_new(arr, kv_int(a->key, a->num));
		else
			json_array_append_new(arr, kv_string(a->key, json_bytes(a->str, a->len,
										 a->truncated)));
	}
	return arr;
}

static json_t *span_json(const struct span *s)
{
	json_t *o = json_object();

	json_object_set_new(o, "traceId", json_hex(s->trace_id, sizeof(s->trace_id)));
	json_object_set_new(o, "spanId", json_hex(s->span_id, sizeof(s->span_id)));
	if (s->has_parent)
		json_object_set_new(o, "parentSpanId",
				    json_hex(s->parent_span_id, sizeof(s->parent_span_id)));
	json_object_set_new(o, "name", json_bytes(s->name, s->name_len, false));
	json_object_set_new(o, "kind", json_integer(s->kind));
	json_object_set_new(o, "startTimeUnixNano", json_u64_string(s->start_unix_ns));
	json_object_set_new(o, "endTimeUnixNano", json_u64_string(s->end_unix_ns));
	json_object_set_new(o, "attributes", span_attributes(s));
	json_object_set_new(o, "status", s->status == STATUS_UNSET ?
						 json_object() :
						 json_pack("{s:i}", "code", (int)s->status));
	return o;
}

static json_t *resource_json(const struct otlp_resource *r)
{
	json_t *attrs = json_array();
	const char *exe = r->executable_path;

	json_array_append_new(attrs, kv_string("service.name", json_bytes(r->service_name,
									  strlen(r->service_name),
									  false)));
	json_array_append_new(attrs, kv_int("process.pid", r->pid));
	json_array_append_new(attrs,
			      kv_string("process.executable.path", json_bytes(exe, strlen(exe), false)));
	json_array_append_new(attrs, kv_string("process.runtime.name", json_string("go")));
	if (r->go_version)
		json_array_append_new(attrs, kv_string("process.runtime.version",
						       json_bytes(r->go_version,
								  strlen(r->go_version), false)));
	json_array_append_new(attrs, kv_string("host.name", json_bytes(r->host_name,
								       strlen(r->host_name),
								       false)));
	json_array_append_new(attrs, kv_string("telemetry.sdk.name", json_string("otrace")));
	json_array_append_new(attrs, kv_string("telemetry.sdk.version",
					       json_string(OTRACE_VERSION)));
	/* the language of the instrumented program, as eBPF instrumentations report it */
	json_array_append_new(attrs, kv_string("telemetry.sdk.language", json_string("go")));
	return json_pack("{s:o}", "attributes", attrs);
}

char *otlp__encode(const struct otlp_group *groups, size_t ngroups, size_t *len)
{
	json_t *resource_spans = json_array(), *doc;
	char *out;

	for (size_t g = 0; g < ngroups; g++) {
		json_t *spans = json_array();

		for (size_t i = 0; i < groups[g].nspans; i++)
			json_array_append_new(spans, span_json(groups[g].spans[i]));
		json_array_append_new(
			resource_spans,
			json_pack("{s:o, s:[{s:{s:s, s:s}, s:o}]}", "resource",
				  resource_json(groups[g].resource), "scopeSpans", "scope", "name",
				  "otrace", "version", OTRACE_VERSION, "spans", spans));
	}
	doc = json_pack("{s:o}", "resourceSpans", resource_spans);
	if (!doc)
		return NULL;
	out = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	if (out && len)
		*len = strlen(out);
	return out;
}
