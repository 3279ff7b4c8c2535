// SPDX-License-Identifier: MIT
#include <errno.h>
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
	F_MAP_A,
	F_MAP_B,
	F_MAP_C,
	F_MAP_D,
	F_HTTP__COUNT,
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
static const struct field_req hmap_fields[] = {
	{ "runtime.hmap", "B" },
	{ "runtime.hmap", "buckets" },
	{ "runtime.hmap", "oldbuckets" },
	{ "runtime.hmap", "count" },
};

static const struct field_req swiss_fields[] = {
	{ "internal/runtime/maps.Map", "dirPtr" },
	{ "internal/runtime/maps.Map", "dirLen" },
	{ "internal/runtime/maps.table", "groups" },
	{ "internal/runtime/maps.groupsReference", "data" },
};

/* lengthMask follows data in groupsReference; resolved with the rest */
static const struct field_req swiss_mask_field = { "internal/runtime/maps.groupsReference",
						   "lengthMask" };

static bool uses_swiss_maps(const char *version)
{
	int major, minor, patch;

	if (!version || gobin__parse_version(version, &major, &minor, &patch))
		return false;
	if (strstr(version, "noswissmap"))
		return false;
	return major > 1 || minor >= 24;
}

/* ServeMux records the matched pattern since Go 1.22 (exported as Request.Pattern in 1.23) */
static bool records_pattern(const char *version)
{
	int major, minor, patch;

	if (!version || gobin__parse_version(version, &major, &minor, &patch))
		return false;
	return major > 1 || minor >= 22;
}

static void skip_probe(struct probe *p, const char *fmt, const char *a, const char *b)
{
	p->planned = false;
	snprintf(p->reason, sizeof(p->reason), fmt, a, b);
}

/* Locates symbol and its probe point; leaves the probe skipped on failure. */
static void place_entry_probe(const struct gobin *gb, enum probe_placement placement,
			      struct probe *p)
{
	struct go_func fn = { .name = p->symbol };
	const uint8_t *code;
	uint64_t len;
	int err;

	if (gobin__find_funcs(gb, &fn, 1) != 1) {
		skip_probe(p, "function %s not found%s", p->symbol,
			   gobin__has_symtab(gb) ? "" : " (no .symtab)");
		return;
	}
	len = fn.size && fn.size < 64 ? fn.size : 64;
	code = gobin__bytes_at(gb, fn.vaddr, len);
	if (!code) {
		skip_probe(p, "cannot read the code of %s%s", p->symbol, "");
		return;
	}
	if (placement == PLACEMENT_ENTRY_RET)
		err = insn__describe(code, len, fn.vaddr, &p->point);
	else
		err = insn__entry_probe(code, len, fn.vaddr, &p->point);
	if (err) {
		skip_probe(p, "cannot decode the prologue of %s%s", p->symbol, "");
		return;
	}
	if (gobin__vaddr_to_offset(gb, p->point.vaddr, &p->file_offset)) {
		skip_probe(p, "%s is outside any loadable segment%s", p->symbol, "");
		return;
	}
	p->planned = true;
}

static void add_fields(struct plan *plan, const struct field_req *src, size_t n)
{
	for (size_t i = 0; i < n && plan->nfields < PLAN_MAX_FIELDS; i++)
		plan->fields[plan->nfields++] = src[i];
}

static void fill_map_cfg(struct plan *plan, bool swiss)
{
	struct ot_http_server_cfg *c = &plan->http_cfg;
	const struct field_req *f = &plan->fields[F_MAP_A];

	for (int i = F_MAP_A; i < F_HTTP__COUNT + 1 && i < (int)plan->nfields; i++) {
		if (plan->fields[i].source)
			continue;
		pr_warn("field %s.%s unknown for this Go version: user_agent.original is not recorded",
			plan->fields[i].type, plan->fields[i].field);
		c->map_kind = OT_MAP_NONE;
		return;
	}
	if (swiss) {
		c->map_kind = OT_MAP_SWISS;
		c->swiss_dir_ptr = f[0].offset;
		c->swiss_dir_len = f[1].offset;
		c->swiss_table_groups = f[2].offset + f[3].offset;
		c->swiss_table_mask = f[2].offset + plan->fields[F_HTTP__COUNT].offset;
	} else {
		c->map_kind = OT_MAP_HMAP;
		c->hmap_b = f[0].offset;
		c->hmap_buckets = f[1].offset;
		c->hmap_oldbuckets = f[2].offset;
		c->hmap_count = f[3].offset;
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
	const char *missing = NULL;

	*serve = (struct probe){ .library = "net/http server",
				 .symbol = "net/http.serverHandler.ServeHTTP",
				 .program = "serve_http_enter" };
	*finish = (struct probe){ .library = "net/http server",
				  .symbol = "net/http.(*response).finishRequest",
				  .program = "finish_request_enter" };
	place_entry_probe(gb, plan->placement, serve);
	place_entry_probe(gb, plan->placement, finish);
	if (!serve->planned && !finish->planned)
		return; /* the program does not serve HTTP with net/http */

	plan->nfields = 0;
	add_fields(plan, http_fields, F_MAP_A);
	add_fields(plan, swiss ? swiss_fields : hmap_fields, 4);
	if (swiss)
		add_fields(plan, &swiss_mask_field, 1);
	offsets__resolve(gb, plan->fields, plan->nfields);

	for (int i = 0; i < F_HTTP_REQUIRED; i++)
		if (!plan->fields[i].source && !missing)
			missing = plan->fields[i].field;
	if (missing) {
		for (int i = 0; i < F_HTTP_REQUIRED; i++) {
			if (plan->fields[i].source)
				continue;
			pr_warn("field %s.%s unknown for %s (no DWARF, not in the offsets table): "
				"net/http server probes skipped",
				plan->fields[i].type, plan->fields[i].field,
				version ? version : "this Go version");
			skip_probe(serve, "field %s.%s unknown", plan->fields[i].type,
				   plan->fields[i].field);
			skip_probe(finish, "field %s.%s unknown", plan->fields[i].type,
				   plan->fields[i].field);
			break;
		}
		return;
	}
	if (!serve->planned || !finish->planned) {
		/* a span needs both ends */
		pr_warn("net/http server probes skipped: %s", serve->planned ? finish->reason :
									      serve->reason);
		serve->planned = finish->planned = false;
		return;
	}
	if (!plan->fields[F_REQ_PATTERN].source && records_pattern(version) &&
	    (!plan->fields[F_REQ_PAT].source || !plan->fields[F_PATTERN_STR].source))
		pr_warn("fields net/http.Request.Pattern and .pat unknown for %s: "
			"http.route is not recorded",
			version);
	fill_http_cfg(plan);
	fill_map_cfg(plan, swiss);
	plan->http_server = true;
}

/*
 * Diagnostic only: a probe on every exit of ServeHTTP, where peers end their
 * spans. The BPF program there does the lookup a span end needs and nothing
 * else, so the benchmark shows what the single-stepped hits cost.
 */
static void plan_return_probes(const struct gobin *gb, struct plan *plan)
{
	struct go_func fn = { .name = plan->probes[PROBE_HTTP_SERVE].symbol };
	struct probe_point exits[PLAN_MAX_PROBES - PROBE__FIXED];
	const uint8_t *code;
	int n;

	if (gobin__find_funcs(gb, &fn, 1) != 1 || !fn.size)
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

int plan__print_json(const struct plan *plan, const struct gobin *gb, const char *binary,
		     FILE *out)
{
	const char *version = gobin__go_version(gb);
	json_t *doc;
	int err;

	doc = json_pack("{s:s, s:s?, s:o, s:o, s:o, s:i}", "binary", binary, "goVersion", version,
			"modules", modules_json(gb), "probes", probes_json(plan), "fields",
			fields_json(plan), "singleSteppedProbes", plan->single_stepped);
	if (!doc)
		return -ENOMEM;
	err = json_dumpf(doc, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	fputc('\n', out);
	json_decref(doc);
	return err ? -EIO : 0;
}
