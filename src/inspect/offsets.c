// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "offsets.h"
#include "typedata.h"

/*
 * Whether field f of the type data holds the struct type named holds: by
 * value (*pointer false) or through a pointer (*pointer true).
 */
static bool typedata_holds(const struct typedata *td, const struct typedata_field *f,
			   const char *holds, bool *pointer)
{
	uint64_t type = f->type;
	char name[512];
	int len;

	*pointer = f->kind == TYPEDATA_POINTER;
	if (*pointer && typedata__elem(td, type, &type))
		return false;
	if (typedata__kind(td, type) != TYPEDATA_STRUCT)
		return false;
	len = typedata__name(td, type, name, sizeof(name));
	return len > 0 && (size_t)len < sizeof(name) && !strcmp(name, holds);
}

/* Fills what the binary's runtime type data knows; returns the number filled. */
static int typedata_resolve(const struct gobin *gb, struct field_req *reqs, size_t n)
{
	struct typedata *td;
	int err = gobin__typedata(gb, &td), found = 0;

	if (err) {
		pr_debug("no DWARF, and no runtime type data: %s", strerror(-err));
		return err;
	}
	for (size_t i = 0; i < n; i++) {
		struct typedata_field f;
		uint64_t type;

		if (reqs[i].source || typedata__find(td, reqs[i].type, &type) ||
		    typedata__field(td, type, reqs[i].field, &f))
			continue;
		if (reqs[i].holds && !typedata_holds(td, &f, reqs[i].holds, &reqs[i].pointer))
			continue;
		reqs[i].offset = (int64_t)f.offset;
		reqs[i].source = "typedata";
		found++;
	}
	return found;
}

void field_reqs__reset(struct field_req *reqs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		reqs[i].offset = -1;
		reqs[i].source = NULL;
		reqs[i].pointer = false;
	}
}

static void free_index(void *x)
{
	dwarf__free_index(x);
}

/* The binary's DWARF index, opened once while planning; NULL without DWARF. */
static struct dwarf_index *dwarf_index_of(const struct gobin *gb)
{
	struct gobin_cache *c = gobin__planning_cache(gb);

	if (!c->tried) {
		struct dwarf_index *x = NULL;

		c->tried = true;
		c->err = dwarf__open_index(gobin__elf(gb), &x);
		c->data = x;
		c->free = free_index;
	}
	return c->data;
}

int offsets__resolve(const struct gobin *gb, struct field_req *reqs, size_t n)
{
	int missing = 0;
	struct dwarf_index *dw = dwarf_index_of(gb);

	field_reqs__reset(reqs, n);
	/*
	 * DWARF describes every type the program's code uses: a field it lacks
	 * does not exist in this build, so the type data is read only without it.
	 */
	if (dw)
		dwarf__resolve_indexed(dw, reqs, n);
	else
		typedata_resolve(gb, reqs, n);
	offsets_runtime__resolve(gobin__go_version(gb), reqs, n);
	for (size_t i = 0; i < n; i++)
		if (!reqs[i].source)
			missing++;
	return missing;
}

/* What the type data says of req: "the runtime type data has no descriptor of T", ... */
static int explain_typedata(const struct gobin *gb, const struct field_req *req, char *buf,
			    size_t len)
{
	struct typedata_field f;
	struct typedata *td;
	uint64_t type;
	bool pointer;
	int err = gobin__typedata(gb, &td);

	if (err)
		return snprintf(buf, len, "no runtime type data could be read (%s)",
				strerror(-err));
	switch (typedata__find(td, req->type, &type)) {
	case 0:
		break;
	case -ENOENT:
		return snprintf(buf, len, "the runtime type data has no descriptor of %s",
				req->type);
	case -ENOTUNIQ:
		return snprintf(buf, len, "the runtime type data has two types named %s",
				req->type);
	default:
		return snprintf(buf, len, "the runtime type data is larger than otrace reads");
	}
	if (typedata__field(td, type, req->field, &f))
		return snprintf(buf, len, "the runtime type data's %s has no field %s", req->type,
				req->field);
	if (req->holds && !typedata_holds(td, &f, req->holds, &pointer))
		return snprintf(buf, len, "in the runtime type data it holds no %s", req->holds);
	return snprintf(buf, len, "the runtime type data has it");
}

void offsets__explain(const struct gobin *gb, const struct field_req *req, char *buf, size_t len)
{
	const char *version = gobin__go_version(gb);
	int used;

	if (!len)
		return;
	if (dwarf__present(gobin__elf(gb))) {
		/* DWARF holds every type the code uses: the build has no such field */
		if (req->holds)
			used = snprintf(buf, len, "not in DWARF as a field holding %s", req->holds);
		else
			used = snprintf(buf, len, "not in DWARF");
	} else {
		used = snprintf(buf, len, "no DWARF; ");
		if (used > 0 && (size_t)used < len)
			used += explain_typedata(gb, req, buf + used, len - (size_t)used);
	}
	if (used > 0 && (size_t)used < len && offsets_runtime__knows(req->type))
		snprintf(buf + used, len - (size_t)used, "; the runtime table has no row for %s",
			 version ? version : "a binary naming no Go release");
}
