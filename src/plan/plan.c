// SPDX-License-Identifier: MIT
#include <errno.h>
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

/* Map header fields, in the order plan__map_layout reads them. */
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

/* Swiss tables since Go 1.24, unless the build opted out (1.24/1.25 only). */
static bool uses_swiss_maps(const char *version)
{
	return plan__go_at_least(version, 24) && !strstr(version, "noswissmap");
}

bool plan__map_layout(const struct gobin *gb, struct plan *plan)
{
	const char *version = gobin__go_version(gb);
	bool swiss = uses_swiss_maps(version);
	struct field_req f[ARRAY_SIZE(swiss_fields)];
	size_t n = swiss ? ARRAY_SIZE(swiss_fields) : ARRAY_SIZE(hmap_fields);
	struct ot_map_cfg *c = &plan->map_cfg;
	const struct field_req *missing;

	if (plan->map_layout_done)
		return c->kind != OT_MAP_NONE;
	plan->map_layout_done = true;
	memcpy(f, swiss ? swiss_fields : hmap_fields, n * sizeof(f[0]));
	missing = plan__resolve_fields(gb, plan, f, n, n);
	if (missing) {
		pr_warn("field %s.%s unknown for %s: Go maps are not read", missing->type,
			missing->field, version ? version : "this Go");
		c->kind = OT_MAP_NONE;
		return false;
	}
	if (swiss) {
		c->kind = OT_MAP_SWISS;
		c->swiss_dir_ptr = f[0].offset;
		c->swiss_dir_len = f[1].offset;
		c->swiss_table_groups = f[2].offset + f[3].offset;
		c->swiss_table_mask = f[2].offset + f[4].offset;
	} else {
		c->kind = OT_MAP_HMAP;
		c->hmap_b = f[0].offset;
		c->hmap_buckets = f[1].offset;
		c->hmap_oldbuckets = f[2].offset;
	}
	return true;
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

		json_array_append_new(arr, json_pack("{s:s, s:s, s:I, s:s?}", "struct", f->type,
						     "field", f->field, "offset",
						     (json_int_t)f->offset, "source", f->source));
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
