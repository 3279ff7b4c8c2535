// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <jansson.h>

#include "library.h"
#include "log.h"
#include "plan_internal.h"

const char *plan__libraries(void)
{
	static char names[256];
	size_t used = 0;

	if (names[0])
		return names;
	for (size_t i = 0; i < nlibraries && used < sizeof(names); i++)
		if (!libraries[i]->auxiliary)
			used += (size_t)snprintf(names + used, sizeof(names) - used, "%s%s",
						 used ? ", " : "", libraries[i]->name);
	return names;
}

bool plan__active(const struct plan *plan)
{
	for (size_t i = 0; i < nlibraries; i++)
		if (plan->libs[i].active && !libraries[i]->auxiliary)
			return true;
	return false;
}

/* Whether program is planned on some probe of plan. */
static bool plans_program(const struct plan *plan, const char *program)
{
	for (size_t i = 0; i < plan->nprobes; i++)
		if (plan->probes[i].planned && !strcmp(plan->probes[i].program, program))
			return true;
	return false;
}

/* Whether every program planned in a is planned in b. */
static bool programs_within(const struct plan *a, const struct plan *b)
{
	for (size_t i = 0; i < a->nprobes; i++)
		if (a->probes[i].planned && !plans_program(b, a->probes[i].program))
			return false;
	return true;
}

bool plan__same_programs(const struct plan *a, const struct plan *b)
{
	if (memcmp(&a->map_cfg, &b->map_cfg, sizeof(a->map_cfg)))
		return false;
	for (size_t i = 0; i < nlibraries; i++) {
		const struct lib_state *x = &a->libs[i], *y = &b->libs[i];

		if (x->active != y->active || x->propagating != y->propagating)
			return false;
		if (x->active && libraries[i]->config_name &&
		    memcmp(x->config, y->config, libraries[i]->config_size))
			return false;
	}
	return programs_within(a, b) && programs_within(b, a);
}

size_t plan__not_traced(const struct plan *plan, char *buf, size_t len)
{
	size_t n = 0, used = 0;

	if (len)
		buf[0] = '\0';
	for (size_t i = 0; i < nlibraries; i++) {
		const struct lib_state *s = &plan->libs[i];

		if (!s->not_traced[0] || s->active)
			continue;
		n++;
		if (used < len)
			used += (size_t)snprintf(buf + used, len - used, "%s%s", used ? "; " : "",
						 s->not_traced);
	}
	return n;
}

bool plan__propagating(const struct plan *plan)
{
	for (size_t i = 0; i < nlibraries; i++)
		if (plan->libs[i].propagating)
			return true;
	return false;
}

bool plan__go_at_least(const char *version, int minor)
{
	int major, v_minor, patch;

	if (!version || gobin__parse_version(version, &major, &v_minor, &patch))
		return false;
	return major > 1 || v_minor >= minor;
}

int64_t plan__offset_or_none(const struct field_req *f)
{
	return f->source ? f->offset : -1;
}

struct ot_window plan__window(const struct plan_window_field *f, size_t n, uint32_t cap)
{
	struct ot_window w = { 0 };
	int64_t lo = INT64_MAX, hi = 0;

	for (size_t i = 0; i < n; i++) {
		if (f[i].off < 0)
			continue;
		if (f[i].off < lo)
			lo = f[i].off;
		if (f[i].off + (int64_t)f[i].size > hi)
			hi = f[i].off + (int64_t)f[i].size;
	}
	if (lo == INT64_MAX || hi - lo > (int64_t)cap)
		return w;
	w.lo = lo;
	w.len = (uint32_t)(hi - lo);
	return w;
}

/* The runtime's map headers: the Swiss table's (Go 1.24 on), then the bucket map's. */
enum map_field {
	M_DIR_PTR,
	M_DIR_LEN,
	M_USED,
	M_GROUPS_DATA,
	M_GROUPS_MASK,
	M_SWISS,
	M_HMAP_B = M_SWISS,
	M_HMAP_COUNT,
	M_HMAP_BUCKETS,
	M_HMAP_OLDBUCKETS,
	M_MAX,
};

#define SWISS "internal/runtime/maps."

static const struct field_path map_paths[M_MAX] = {
	[M_DIR_PTR] = { { { SWISS "Map", "dirPtr" } } },
	[M_DIR_LEN] = { { { SWISS "Map", "dirLen" } } },
	[M_USED] = { { { SWISS "Map", "used" } } },
	/* a table's groups reference is a struct of its own, held by value */
	[M_GROUPS_DATA] = { { { SWISS "table", "groups" }, { SWISS "groupsReference", "data" } } },
	[M_GROUPS_MASK] = { { { SWISS "table", "groups" },
			      { SWISS "groupsReference", "lengthMask" } } },
	[M_HMAP_B] = { { { "runtime.hmap", "B" } } },
	[M_HMAP_COUNT] = { { { "runtime.hmap", "count" } } },
	[M_HMAP_BUCKETS] = { { { "runtime.hmap", "buckets" } } },
	[M_HMAP_OLDBUCKETS] = { { { "runtime.hmap", "oldbuckets" } } },
};

/* Resolves paths in one pass, without listing them. */
static void resolve_paths(const struct gobin *gb, struct field_path *paths, size_t n)
{
	struct field_req hops[PLAN_MAX_FIELDS];
	size_t nhops = 0;

	for (size_t i = 0; i < n; i++) {
		field_path__link(&paths[i]);
		for (size_t h = 0; h < field_path__len(&paths[i]) && nhops < ARRAY_SIZE(hops); h++)
			hops[nhops++] = paths[i].hop[h];
	}
	offsets__resolve(gb, hops, nhops);
	nhops = 0;
	for (size_t i = 0; i < n; i++)
		for (size_t h = 0; h < field_path__len(&paths[i]) && nhops < ARRAY_SIZE(hops); h++)
			paths[i].hop[h] = hops[nhops++];
}

/* Lists every hop of paths in the plan, for --list-probes. */
static void list_paths(struct plan *plan, const struct field_path *paths, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		size_t len = field_path__len(&paths[i]);

		for (size_t h = 0; h < len && plan->nfields < PLAN_MAX_FIELDS; h++)
			plan->fields[plan->nfields++] = paths[i].hop[h];
	}
}

/* The first of paths[from..to) that is not resolved to an inline offset, or NULL. */
static const struct field_req *first_not_inline(const struct field_path *paths, int from, int to)
{
	for (int i = from; i < to; i++)
		if (field_path__offset(&paths[i]) < 0)
			return field_path__missing(&paths[i]) ?: &paths[i].hop[0];
	return NULL;
}

/*
 * Whichever layout the binary has decides: its Swiss table types, or the
 * bucket map's header. A Go 1.24 or 1.25 built with the noswissmap
 * experiment says so in its version and may link both.
 */
bool plan__map_layout(const struct gobin *gb, struct plan *plan)
{
	const char *version = gobin__go_version(gb);
	bool noswiss = version && strstr(version, "noswissmap");
	struct ot_map_cfg *c = &plan->map_cfg;
	struct field_path p[M_MAX];
	const struct field_req *swiss, *hmap;

	if (plan->map_layout_done)
		return c->kind != OT_MAP_NONE;
	plan->map_layout_done = true;
	memcpy(p, map_paths, sizeof(p));
	resolve_paths(gb, p, M_MAX);
	swiss = noswiss ? &p[M_DIR_PTR].hop[0] : first_not_inline(p, 0, M_SWISS);
	hmap = first_not_inline(p, M_SWISS, M_MAX);
	if (!swiss) {
		list_paths(plan, p, M_SWISS);
		c->kind = OT_MAP_SWISS;
		c->swiss_dir_ptr = field_path__offset(&p[M_DIR_PTR]);
		c->swiss_dir_len = field_path__offset(&p[M_DIR_LEN]);
		c->swiss_table_groups = field_path__offset(&p[M_GROUPS_DATA]);
		c->swiss_table_mask = field_path__offset(&p[M_GROUPS_MASK]);
		c->count = field_path__offset(&p[M_USED]);
		return true;
	}
	if (!hmap) {
		list_paths(plan, p + M_SWISS, M_MAX - M_SWISS);
		c->kind = OT_MAP_HMAP;
		c->hmap_b = field_path__offset(&p[M_HMAP_B]);
		c->hmap_buckets = field_path__offset(&p[M_HMAP_BUCKETS]);
		c->hmap_oldbuckets = field_path__offset(&p[M_HMAP_OLDBUCKETS]);
		c->count = field_path__offset(&p[M_HMAP_COUNT]);
		return true;
	}
	list_paths(plan, p, M_MAX);
	c->kind = OT_MAP_NONE;
	/* name the missing field of the layout the release has, when it says */
	plan__warn_field(gb, "Go maps", plan__go_at_least(version, 24) && !noswiss ? swiss : hmap,
			 "maps (HTTP headers, gRPC metadata) are not read");
	return false;
}

void plan__skip(struct probe *p, const char *fmt, ...)
{
	va_list ap;

	p->planned = false;
	va_start(ap, fmt);
	vsnprintf(p->reason, sizeof(p->reason), fmt, ap);
	va_end(ap);
}

void plan__skip_from(struct plan *plan, size_t first, const char *fmt, ...)
{
	char reason[sizeof(plan->probes[0].reason)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	for (size_t i = first; i < plan->nprobes; i++)
		plan__skip(&plan->probes[i], "%s", reason);
}

struct probe *plan__add_probe(struct plan *plan, const char *library, const char *symbol,
			      const char *program)
{
	struct probe *p;

	if (plan->nprobes >= PLAN_MAX_PROBES) {
		pr_warn("probe plan full: %s at %s not planned", program, symbol);
		return NULL;
	}
	p = &plan->probes[plan->nprobes++];
	*p = (struct probe){ .library = library, .symbol = symbol, .program = program };
	return p;
}

void plan__place_entry(const struct gobin *gb, const struct plan *plan, const struct go_func *fn,
		       struct probe *p)
{
	const uint8_t *code;
	uint64_t len;
	int err;

	if (!fn->vaddr) {
		plan__skip(p, "function %s not found in .symtab or .gopclntab", p->symbol);
		return;
	}
	len = fn->size && fn->size < 64 ? fn->size : 64;
	code = gobin__bytes_at(gb, fn->vaddr, len);
	if (!code) {
		plan__skip(p, "cannot read the code of %s", p->symbol);
		return;
	}
	if (plan->placement == PLACEMENT_ENTRY_RET)
		err = insn__describe(code, len, fn->vaddr, &p->point);
	else
		err = insn__entry_probe(code, len, fn->vaddr, &p->point);
	if (err) {
		plan__skip(p, "cannot decode the prologue of %s", p->symbol);
		return;
	}
	if (gobin__vaddr_to_offset(gb, p->point.vaddr, &p->file_offset)) {
		plan__skip(p, "%s is outside any loadable segment", p->symbol);
		return;
	}
	p->planned = true;
}

#define MAX_CALL_SITES 8

/* Where a probe goes relative to a call. */
enum call_site {
	AT_CALL,    /* the call instruction */
	AFTER_CALL, /* where the callee's results can be read */
};

static int add_call_sites(const struct gobin *gb, struct plan *plan, const char *library,
			  const struct go_func *caller, const struct go_func *callees,
			  size_t ncallees, enum call_site where, unsigned keep, const char *program)
{
	struct probe_point sites[MAX_CALL_SITES];
	uint64_t targets[4];
	size_t nt = 0;
	const uint8_t *code;
	int n, planned = 0;

	for (size_t i = 0; i < ncallees && nt < ARRAY_SIZE(targets); i++)
		if (callees[i].vaddr)
			targets[nt++] = callees[i].vaddr;
	if (!caller->vaddr || !caller->size || !nt)
		return 0;
	code = gobin__bytes_at(gb, caller->vaddr, caller->size);
	if (!code)
		n = -EINVAL;
	else if (where == AT_CALL)
		n = insn__calls(code, caller->size, caller->vaddr, targets, nt, sites,
				MAX_CALL_SITES);
	else
		n = insn__after_calls(code, caller->size, caller->vaddr, targets, nt, keep, sites,
				      MAX_CALL_SITES);
	if (n > MAX_CALL_SITES) {
		pr_warn("%s calls %s %d times; probing the first %d", caller->name, callees[0].name,
			n, MAX_CALL_SITES);
		n = MAX_CALL_SITES;
	}
	for (int i = 0; i < n; i++) {
		struct probe *p = plan__add_probe(plan, library, caller->name, program);

		if (!p)
			break;
		p->point = sites[i];
		if (gobin__vaddr_to_offset(gb, p->point.vaddr, &p->file_offset)) {
			plan__skip(p, "%s is outside any loadable segment", caller->name);
			continue;
		}
		p->planned = true;
		planned++;
	}
	return planned;
}

int plan__add_after_calls(const struct gobin *gb, struct plan *plan, const char *library,
			  const struct go_func *caller, const struct go_func *callees,
			  size_t ncallees, unsigned keep, const char *program)
{
	return add_call_sites(gb, plan, library, caller, callees, ncallees, AFTER_CALL, keep,
			      program);
}

int plan__add_at_calls(const struct gobin *gb, struct plan *plan, const char *library,
		       const struct go_func *caller, const struct go_func *callees,
		       size_t ncallees, const char *program)
{
	return add_call_sites(gb, plan, library, caller, callees, ncallees, AT_CALL, 0, program);
}

const struct field_req *plan__resolve_paths(const struct gobin *gb, struct plan *plan,
					    struct field_path *paths, size_t n, size_t nrequired)
{
	resolve_paths(gb, paths, n);
	list_paths(plan, paths, n);
	for (size_t i = 0; i < nrequired && i < n; i++)
		if (field_path__missing(&paths[i]))
			return field_path__missing(&paths[i]);
	return NULL;
}

void plan__warn_field(const struct gobin *gb, const char *lib, const struct field_req *f,
		      const char *consequence)
{
	char where[200];

	offsets__explain(gb, f, where, sizeof(where));
	pr_warn("%s: field %s.%s unknown (%s): %s", lib, f->type, f->field, where, consequence);
}

void plan__field_blocks(const struct gobin *gb, struct plan *plan, struct lib_state *state,
			size_t first, const char *lib, const struct field_req *f)
{
	size_t used = strlen(state->not_traced);
	char where[200];

	offsets__explain(gb, f, where, sizeof(where));
	pr_warn("%s probes skipped: field %s.%s unknown (%s)", lib, f->type, f->field, where);
	/* a library with two sides (gRPC server and client) keeps both reasons */
	snprintf(state->not_traced + used, sizeof(state->not_traced) - used,
		 "%s%s: field %s.%s unknown (%s)", used ? "; " : "", lib, f->type, f->field, where);
	plan__skip_from(plan, first, "field %s.%s unknown", f->type, f->field);
}

const struct field_req *plan__resolve_fields(const struct gobin *gb, struct plan *plan,
					     struct field_req *fields, size_t n,
					     size_t nrequired)
{
	offsets__resolve(gb, fields, n);
	for (size_t i = 0; i < n && plan->nfields < PLAN_MAX_FIELDS; i++)
		plan->fields[plan->nfields++] = fields[i];
	for (size_t i = 0; i < nrequired && i < n; i++)
		if (!fields[i].source)
			return &fields[i];
	return NULL;
}

bool plan__router_linked(const struct gobin *gb, const struct plan *plan, struct go_func *fns,
			 size_t n)
{
	if (!plan__active(plan))
		return false; /* no server span to annotate */
	gobin__find_funcs(gb, fns, n);
	return fns[0].vaddr != 0;
}

bool plan__router_fields(const struct gobin *gb, struct plan *plan, const char *lib,
			 size_t first, struct field_req *fields, size_t n)
{
	const struct field_req *missing = plan__resolve_fields(gb, plan, fields, n, n);

	if (!missing)
		return true;
	pr_warn("%s: field %s.%s unknown (not in DWARF nor the type data): its routes are not "
		"recorded as http.route",
		lib, missing->type, missing->field);
	plan__skip_from(plan, first, "field %s.%s unknown", missing->type, missing->field);
	return false;
}

int plan__frame_extension(const struct gobin *gb, struct plan *plan, const char *lib,
			  const char *what, const struct go_func *arm, const char *arm_prog,
			  const struct go_func *writer, const char *writer_prog,
			  const struct go_func *frame_write, unsigned keep, const char *after_prog)
{
	size_t first = plan->nprobes;
	struct probe *p = plan__add_probe(plan, lib, arm->name, arm_prog);
	struct probe *q = p ? plan__add_probe(plan, lib, writer->name, writer_prog) : NULL;
	int written;

	if (!q)
		return 0; /* the plan is full, which plan__add_probe said */
	plan__place_entry(gb, plan, arm, p);
	plan__place_entry(gb, plan, writer, q);
	written = plan__add_after_calls(gb, plan, lib, writer, frame_write, 1, keep, after_prog);
	if (p->planned && q->planned && written == 1)
		return 3;
	if (written == 1)
		pr_warn("--propagate skips %s: %s", what, p->planned ? q->reason : p->reason);
	else if (written)
		pr_warn("--propagate skips %s: %s calls %s more than once", what, writer->name,
			frame_write->name);
	else
		pr_warn("--propagate skips %s: no emulated instruction found after %s's call of %s",
			what, writer->name, frame_write->name);
	plan__skip_from(plan, first, "the %s propagation needs all three of its probes", what);
	return 0;
}

int plan__add_propagation(const struct gobin *gb, struct plan *plan)
{
	size_t first = plan->nprobes;
	bool callers = false;
	int planned = 0;

	for (size_t i = 0; i < nlibraries; i++) {
		struct lib_state *state = &plan->libs[i];
		int n;

		if (!libraries[i]->plan_propagation || !state->active)
			continue;
		callers = true;
		n = libraries[i]->plan_propagation(gb, plan, state);
		state->propagating = n > 0;
		planned += n;
	}
	gobin__planned(gb);
	if (!callers) {
		pr_warn("--propagate: the program makes no outgoing calls that otrace traces");
		return 0;
	}
	if (!planned) {
		pr_warn("--propagate: no place to write traceparent found; outgoing requests are "
			"left as they are");
		return 0;
	}
	for (size_t i = first; i < plan->nprobes; i++)
		plan->single_stepped += plan->probes[i].planned && !plan->probes[i].point.emulated;
	return planned;
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
	for (size_t i = 0; i < nlibraries; i++)
		libraries[i]->plan(gb, plan, &plan->libs[i]);
	/* --propagate's planning, if asked for, opens what it needs again */
	gobin__planned(gb);
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

/* Per library: probes planned, and how many of them the kernel single-steps. */
static json_t *libraries_json(const struct plan *plan)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < plan->nprobes; i++) {
		const struct probe *p = &plan->probes[i];
		json_int_t planned = 0, stepped = 0;
		bool seen = false;

		for (size_t j = 0; j < i && !seen; j++)
			seen = !strcmp(plan->probes[j].library, p->library);
		if (seen)
			continue;
		for (size_t j = i; j < plan->nprobes; j++) {
			const struct probe *q = &plan->probes[j];

			if (strcmp(q->library, p->library) || !q->planned)
				continue;
			planned++;
			stepped += !q->point.emulated;
		}
		json_array_append_new(arr, json_pack("{s:s, s:I, s:I}", "library", p->library,
						     "planned", planned, "singleStepped", stepped));
	}
	return arr;
}

static json_t *fields_json(const struct plan *plan)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < plan->nfields; i++) {
		const struct field_req *f = &plan->fields[i];
		json_t *o = json_pack("{s:s, s:s, s:I, s:s?}", "struct", f->type, "field",
				      f->field, "offset", (json_int_t)f->offset, "source",
				      f->source);

		/* a hop of a field path: what it holds, and whether through a pointer */
		if (o && f->holds && f->source)
			json_object_set_new(o, f->pointer ? "pointerTo" : "holds",
					    json_string(f->holds));
		json_array_append_new(arr, o);
	}
	return arr;
}

json_t *plan__to_json(const struct plan *plan, const struct gobin *gb, const char *binary)
{
	return json_pack("{s:s, s:s?, s:o, s:o, s:o, s:o, s:i}", "binary", binary, "goVersion",
			 gobin__go_version(gb), "modules", modules_json(gb), "probes",
			 probes_json(plan), "libraries", libraries_json(plan), "fields",
			 fields_json(plan), "singleSteppedProbes", plan->single_stepped);
}
