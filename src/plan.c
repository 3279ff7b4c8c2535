// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <jansson.h>

#include "log.h"
#include "plan.h"

/* Fields of the net/http server probes, in the order of enum http_field. */
enum http_field {
	F_REQ_METHOD,
	F_REQ_URL,
	F_REQ_PROTO_MAJOR,
	F_REQ_PROTO_MINOR,
	F_REQ_HEADER,
	F_REQ_HOST,
	F_REQ_REMOTE_ADDR,
	F_REQ_TLS,
	F_URL_PATH,
	F_RESP_REQ,
	F_RESP_STATUS,
	F_HTTP_REQUIRED, /* fields above are required; below, optional */
	F_REQ_PATTERN = F_HTTP_REQUIRED,
	F_REQ_PAT,
	F_PATTERN_STR,
	F_MAP_A, /* the header map's layout fields follow */
};

static const struct field_req http_fields[F_MAP_A] = {
	[F_REQ_METHOD] = { "net/http.Request", "Method" },
	[F_REQ_URL] = { "net/http.Request", "URL" },
	[F_REQ_PROTO_MAJOR] = { "net/http.Request", "ProtoMajor" },
	[F_REQ_PROTO_MINOR] = { "net/http.Request", "ProtoMinor" },
	[F_REQ_HEADER] = { "net/http.Request", "Header" },
	[F_REQ_HOST] = { "net/http.Request", "Host" },
	[F_REQ_REMOTE_ADDR] = { "net/http.Request", "RemoteAddr" },
	[F_REQ_TLS] = { "net/http.Request", "TLS" },
	[F_URL_PATH] = { "net/url.URL", "Path" },
	[F_RESP_REQ] = { "net/http.response", "req" },
	[F_RESP_STATUS] = { "net/http.response", "status" },
	[F_REQ_PATTERN] = { "net/http.Request", "Pattern" },
	/* Go 1.22 matched patterns but kept them unexported */
	[F_REQ_PAT] = { "net/http.Request", "pat" },
	[F_PATTERN_STR] = { "net/http.pattern", "str" },
};

/* Header map layout: Swiss tables since Go 1.24 unless built without them. */
/* Header map layout, read by bpf/go_map.h; the order is what fill_map_cfg expects. */
static const struct field_req hmap_fields[] = {
	{ "runtime.hmap", "B" },
	{ "runtime.hmap", "buckets" },
	{ "runtime.hmap", "oldbuckets" },
};

static const struct field_req swiss_fields[] = {
	{ "internal/runtime/maps.Map", "dirPtr" },
	{ "internal/runtime/maps.Map", "dirLen" },
	{ "internal/runtime/maps.table", "groups" },
	{ "internal/runtime/maps.groupsReference", "data" },
	{ "internal/runtime/maps.groupsReference", "lengthMask" },
};

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* True for a Go release at or after 1.minor ("devel" and unparsable: false). */
static bool go_at_least(const char *version, int minor)
{
	int major, v_minor, patch;

	if (!version || gobin__parse_version(version, &major, &v_minor, &patch))
		return false;
	return major > 1 || v_minor >= minor;
}

/* Swiss tables since Go 1.24, unless the build opted out (1.24/1.25 only). */
static bool uses_swiss_maps(const char *version)
{
	return go_at_least(version, 24) && !strstr(version, "noswissmap");
}

static void skip_probe(struct probe *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void skip_probe(struct probe *p, const char *fmt, ...)
{
	va_list ap;

	p->planned = false;
	va_start(ap, fmt);
	vsnprintf(p->reason, sizeof(p->reason), fmt, ap);
	va_end(ap);
}

/* Places the probe in function fn (found or not); leaves it skipped on failure. */
static void place_entry_probe(const struct gobin *gb, enum probe_placement placement,
			      const struct go_func *fn, struct probe *p)
{
	const uint8_t *code;
	uint64_t len;
	int err;

	if (!fn->vaddr) {
		skip_probe(p, "function %s not found in .symtab or .gopclntab", p->symbol);
		return;
	}
	len = fn->size && fn->size < 64 ? fn->size : 64;
	code = gobin__bytes_at(gb, fn->vaddr, len);
	if (!code) {
		skip_probe(p, "cannot read the code of %s", p->symbol);
		return;
	}
	if (placement == PLACEMENT_ENTRY_RET)
		err = insn__describe(code, len, fn->vaddr, &p->point);
	else
		err = insn__entry_probe(code, len, fn->vaddr, &p->point);
	if (err) {
		skip_probe(p, "cannot decode the prologue of %s", p->symbol);
		return;
	}
	if (gobin__vaddr_to_offset(gb, p->point.vaddr, &p->file_offset)) {
		skip_probe(p, "%s is outside any loadable segment", p->symbol);
		return;
	}
	p->planned = true;
}

static void add_fields(struct plan *plan, const struct field_req *src, size_t n)
{
	for (size_t i = 0; i < n && plan->nfields < PLAN_MAX_FIELDS; i++)
		plan->fields[plan->nfields++] = src[i];
}

static void fill_map_cfg(struct plan *plan, bool swiss, const char *version)
{
	struct ot_http_server_cfg *c = &plan->http_cfg;
	const struct field_req *f = &plan->fields[F_MAP_A];

	for (size_t i = F_MAP_A; i < plan->nfields; i++) {
		if (plan->fields[i].source)
			continue;
		pr_warn("field %s.%s unknown for %s: user_agent.original and traceparent are not read",
			plan->fields[i].type, plan->fields[i].field, version ? version : "this Go");
		c->map_kind = OT_MAP_NONE;
		return;
	}
	if (swiss) {
		c->map_kind = OT_MAP_SWISS;
		c->swiss_dir_ptr = f[0].offset;
		c->swiss_dir_len = f[1].offset;
		c->swiss_table_groups = f[2].offset + f[3].offset;
		c->swiss_table_mask = f[2].offset + f[4].offset;
	} else {
		c->map_kind = OT_MAP_HMAP;
		c->hmap_b = f[0].offset;
		c->hmap_buckets = f[1].offset;
		c->hmap_oldbuckets = f[2].offset;
	}
}

static void fill_http_cfg(struct plan *plan)
{
	struct ot_http_server_cfg *c = &plan->http_cfg;
	const struct field_req *f = plan->fields;

	c->req_method = f[F_REQ_METHOD].offset;
	c->req_url = f[F_REQ_URL].offset;
	c->req_proto_major = f[F_REQ_PROTO_MAJOR].offset;
	c->req_proto_minor = f[F_REQ_PROTO_MINOR].offset;
	c->req_header = f[F_REQ_HEADER].offset;
	c->req_host = f[F_REQ_HOST].offset;
	c->req_remote_addr = f[F_REQ_REMOTE_ADDR].offset;
	c->req_tls = f[F_REQ_TLS].offset;
	c->url_path = f[F_URL_PATH].offset;
	c->resp_req = f[F_RESP_REQ].offset;
	c->resp_status = f[F_RESP_STATUS].offset;
	c->req_pattern = f[F_REQ_PATTERN].source ? f[F_REQ_PATTERN].offset : -1;
	c->req_pat = -1;
	c->pattern_str = -1;
	if (!f[F_REQ_PATTERN].source && f[F_REQ_PAT].source && f[F_PATTERN_STR].source) {
		c->req_pat = f[F_REQ_PAT].offset;
		c->pattern_str = f[F_PATTERN_STR].offset;
	}
}

static void plan_http_server(const struct gobin *gb, struct plan *plan)
{
	const char *version = gobin__go_version(gb);
	bool swiss = uses_swiss_maps(version);
	struct probe *serve = &plan->probes[PROBE_HTTP_SERVE];
	struct probe *finish = &plan->probes[PROBE_HTTP_FINISH];
	struct go_func fns[] = { { .name = "net/http.serverHandler.ServeHTTP" },
				 { .name = "net/http.(*response).finishRequest" } };

	*serve = (struct probe){ .library = "net/http server",
				 .symbol = "net/http.serverHandler.ServeHTTP",
				 .program = "serve_http_enter" };
	*finish = (struct probe){ .library = "net/http server",
				  .symbol = "net/http.(*response).finishRequest",
				  .program = "finish_request_enter" };
	/* one lookup for both: each is a pass over the symbol table */
	gobin__find_funcs(gb, fns, ARRAY_SIZE(fns));
	place_entry_probe(gb, plan->placement, &fns[0], serve);
	place_entry_probe(gb, plan->placement, &fns[1], finish);
	if (!serve->planned && !finish->planned)
		return; /* the program does not serve HTTP with net/http */
	plan->serve_func = fns[0];

	plan->nfields = 0;
	add_fields(plan, http_fields, F_MAP_A);
	if (swiss)
		add_fields(plan, swiss_fields, ARRAY_SIZE(swiss_fields));
	else
		add_fields(plan, hmap_fields, ARRAY_SIZE(hmap_fields));
	offsets__resolve(gb, plan->fields, plan->nfields);

	for (int i = 0; i < F_HTTP_REQUIRED; i++) {
		const struct field_req *f = &plan->fields[i];

		if (f->source)
			continue;
		pr_warn("field %s.%s unknown for %s (no DWARF, not in the offsets table): "
			"net/http server probes skipped",
			f->type, f->field, version ? version : "this Go version");
		skip_probe(serve, "field %s.%s unknown", f->type, f->field);
		skip_probe(finish, "field %s.%s unknown", f->type, f->field);
		return;
	}
	if (!serve->planned || !finish->planned) {
		/* a span needs both ends */
		pr_warn("net/http server probes skipped: %s", serve->planned ? finish->reason :
									      serve->reason);
		serve->planned = finish->planned = false;
		return;
	}
	/* ServeMux records the matched pattern since 1.22 (exported as Pattern in 1.23) */
	if (!plan->fields[F_REQ_PATTERN].source && go_at_least(version, 22) &&
	    (!plan->fields[F_REQ_PAT].source || !plan->fields[F_PATTERN_STR].source))
		pr_warn("fields net/http.Request.Pattern and .pat unknown for %s: "
			"http.route is not recorded",
			version);
	fill_http_cfg(plan);
	fill_map_cfg(plan, swiss, version);
	plan->http_server = true;
}

/*
 * Diagnostic only: a probe on every exit of ServeHTTP, where peers end their
 * spans. The BPF program there does the lookup a span end needs and nothing
 * else, so the benchmark shows what the single-stepped hits cost.
 */
static void plan_return_probes(const struct gobin *gb, struct plan *plan)
{
	const struct go_func fn = plan->serve_func; /* found while planning the entry */
	struct probe_point exits[PLAN_MAX_PROBES - PROBE__FIXED];
	const uint8_t *code;
	int n;

	if (!fn.size)
		return;
	code = gobin__bytes_at(gb, fn.vaddr, fn.size);
	n = code ? insn__exits(code, fn.size, fn.vaddr, exits, PLAN_MAX_PROBES - PROBE__FIXED) : 0;
	if (n > PLAN_MAX_PROBES - PROBE__FIXED) {
		pr_warn("%s has %d exits; probing the first %d", fn.name, n,
			PLAN_MAX_PROBES - PROBE__FIXED);
		n = PLAN_MAX_PROBES - PROBE__FIXED;
	}
	for (int i = 0; i < n; i++) {
		struct probe *p = &plan->probes[plan->nprobes];

		*p = (struct probe){ .library = "net/http server (diagnostic)",
				     .symbol = fn.name,
				     .program = "return_probe",
				     .point = exits[i] };
		if (gobin__vaddr_to_offset(gb, p->point.vaddr, &p->file_offset))
			continue;
		p->planned = true;
		plan->nprobes++;
	}
}

int plan__parse_placement(const char *s, enum probe_placement *out)
{
	if (!strcmp(s, "emulated"))
		*out = PLACEMENT_EMULATED;
	else if (!strcmp(s, "entry-ret"))
		*out = PLACEMENT_ENTRY_RET;
	else
		return -EINVAL;
	return 0;
}

int plan__build(const struct gobin *gb, enum probe_placement placement, struct plan *plan)
{
	int planned = 0;

	memset(plan, 0, sizeof(*plan));
	plan->placement = placement;
	plan->nprobes = PROBE__FIXED;
	plan_http_server(gb, plan);
	if (plan->http_server && placement == PLACEMENT_ENTRY_RET)
		plan_return_probes(gb, plan);
	for (size_t i = 0; i < plan->nprobes; i++) {
		if (!plan->probes[i].planned)
			continue;
		planned++;
		if (!plan->probes[i].point.emulated)
			plan->single_stepped++;
	}
	return planned;
}

static json_t *modules_json(const struct gobin *gb)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < gobin__module_count(gb); i++) {
		const struct go_module *m = gobin__module(gb, i);
		json_t *o = json_pack("{s:s, s:s, s:s, s:b}", "path", m->path, "version",
				      m->version, "sum", m->sum, "main", m->main);

		if (o && m->replace_path)
			json_object_set_new(o, "replace",
					    json_pack("{s:s, s:s}", "path", m->replace_path,
						      "version", m->replace_version));
		json_array_append_new(arr, o);
	}
	return arr;
}

static json_t *probes_json(const struct plan *plan)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < plan->nprobes; i++) {
		const struct probe *p = &plan->probes[i];
		json_t *o;

		if (!p->symbol)
			continue;
		o = json_pack("{s:s, s:s, s:s, s:b}", "library", p->library, "symbol", p->symbol,
			      "program", p->program, "planned", p->planned);
		if (p->point.vaddr) {
			json_object_set_new(o, "address", json_integer((json_int_t)p->point.vaddr));
			json_object_set_new(o, "fileOffset",
					    json_integer((json_int_t)p->file_offset));
			json_object_set_new(o, "instruction", json_string(p->point.text));
			json_object_set_new(o, "emulated", json_boolean(p->point.emulated));
		}
		if (!p->planned)
			json_object_set_new(o, "reason", json_string(p->reason));
		json_array_append_new(arr, o);
	}
	return arr;
}

static json_t *fields_json(const struct plan *plan)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < plan->nfields; i++) {
		const struct field_req *f = &plan->fields[i];

		json_array_append_new(arr, json_pack("{s:s, s:s, s:I, s:s?}", "struct", f->type,
						     "field", f->field, "offset",
						     (json_int_t)f->offset, "source", f->source));
	}
	return arr;
}

json_t *plan__to_json(const struct plan *plan, const struct gobin *gb, const char *binary)
{
	return json_pack("{s:s, s:s?, s:o, s:o, s:o, s:i}", "binary", binary, "goVersion",
			 gobin__go_version(gb), "modules", modules_json(gb), "probes",
			 probes_json(plan), "fields", fields_json(plan), "singleSteppedProbes",
			 plan->single_stepped);
}
