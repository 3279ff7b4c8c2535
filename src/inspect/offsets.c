// SPDX-License-Identifier: MIT
#include <errno.h>
#include <string.h>

#include "log.h"
#include "offsets.h"

struct offsets_row {
	const char *go_version; /* exact release the row was read from, "go1.26.8" */
	const char *type;
	const char *field;
	int64_t offset;
};

struct module_offsets_row {
	const char *module;  /* module path, "google.golang.org/grpc" */
	const char *version; /* exact module version the row was read from, "v1.85.0" */
	int go_min, go_max;  /* Go 1.x release lines it was read with: the row holds there only */
	const char *type;
	const char *field;
	int64_t offset;
};

/* offsets_rows[] and module_offsets_rows[]: generated, see the files' headers */
#include "offsets_table.inc"
#include "offsets_modules.inc"

/*
 * Rows match the exact release only: patch releases do change layouts (Go
 * 1.26.11 moved net/http.response.status by 8 bytes from 1.26.8), so a
 * neighbouring release's offset would be a guess.
 */
static bool same_release(const char *row, const char *binary)
{
	size_t n = strlen(row);

	/* "go1.22.3 X:loopvar": experiments follow the release after a space */
	return !strncmp(row, binary, n) && (binary[n] == '\0' || binary[n] == ' ');
}

int offsets_table__resolve(const char *go_version, struct field_req *reqs, size_t n)
{
	int found = 0;

	if (!go_version)
		return -ENOENT;
	for (size_t i = 0; i < n; i++) {
		if (reqs[i].source)
			continue;
		for (size_t r = 0; r < sizeof(offsets_rows) / sizeof(offsets_rows[0]); r++) {
			const struct offsets_row *row = &offsets_rows[r];

			if (!same_release(row->go_version, go_version) ||
			    strcmp(row->type, reqs[i].type) || strcmp(row->field, reqs[i].field))
				continue;
			reqs[i].offset = row->offset;
			reqs[i].source = "table";
			found++;
			break;
		}
	}
	return found;
}

/* Length of the package path in a type name: "a.org/b/c" of "a.org/b/c.T[x.org/y.U]". */
static size_t package_len(const char *type)
{
	size_t end = strcspn(type, "["), slash = 0;

	for (size_t i = 0; i < end; i++)
		if (type[i] == '/')
			slash = i + 1;
	return slash + strcspn(type + slash, ".[");
}

/* The dependency module holding type: the longest path that is its package or a parent. */
static const struct go_module *module_of(const struct gobin *gb, const char *type)
{
	const struct go_module *best = NULL;
	size_t pkg = package_len(type), best_len = 0;

	for (size_t i = 0; i < gobin__module_count(gb); i++) {
		const struct go_module *m = gobin__module(gb, i);
		size_t len = strlen(m->path);

		if (m->main || len > pkg || len <= best_len || strncmp(m->path, type, len) ||
		    (len < pkg && type[len] != '/'))
			continue;
		best = m;
		best_len = len;
	}
	return best;
}

static const struct module_offsets_row *module_row(const char *module, const char *version,
						   int go_minor, const struct field_req *req)
{
	for (size_t r = 0; r < sizeof(module_offsets_rows) / sizeof(module_offsets_rows[0]); r++) {
		const struct module_offsets_row *row = &module_offsets_rows[r];

		if (!strcmp(row->module, module) && !strcmp(row->version, version) &&
		    go_minor >= row->go_min && go_minor <= row->go_max &&
		    !strcmp(row->type, req->type) && !strcmp(row->field, req->field))
			return row;
	}
	return NULL;
}

/*
 * A module's rows hold for its exact version only: every release may move
 * fields. A replacement is other code: its own path and version key it, and a
 * directory (no version) has no rows. The Go release line matters where a
 * type embeds a standard one by value (grpc.ClientConn holds a net/url.URL),
 * so rows hold only between the Go lines they were read with; a development
 * toolchain is none of them.
 */
int offsets_table__resolve_modules(const struct gobin *gb, struct field_req *reqs, size_t n)
{
	const char *go_version = gobin__go_version(gb);
	int major, minor, patch, found = 0;

	if (!go_version || strstr(go_version, "devel") ||
	    gobin__parse_version(go_version, &major, &minor, &patch) || major != 1)
		return -ENOENT;
	for (size_t i = 0; i < n; i++) {
		const struct go_module *m;
		const struct module_offsets_row *row;
		const char *path, *version;

		if (reqs[i].source || !(m = module_of(gb, reqs[i].type)))
			continue;
		path = m->replace_path ? m->replace_path : m->path;
		version = m->replace_path ? m->replace_version : m->version;
		if (!version || !*version || !(row = module_row(path, version, minor, &reqs[i])))
			continue;
		reqs[i].offset = row->offset;
		reqs[i].source = "table";
		found++;
	}
	return found;
}

void field_reqs__reset(struct field_req *reqs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		reqs[i].offset = -1;
		reqs[i].source = NULL;
	}
}

int offsets__resolve(const struct gobin *gb, struct field_req *reqs, size_t n)
{
	int missing = 0;

	field_reqs__reset(reqs, n);
	if (dwarf__resolve_fields(gobin__elf(gb), reqs, n) == -ENODATA)
		pr_debug("no DWARF in the binary; using the generated offsets table");
	offsets_table__resolve(gobin__go_version(gb), reqs, n);
	offsets_table__resolve_modules(gb, reqs, n);
	offsets_runtime__resolve(gobin__go_version(gb), reqs, n);
	for (size_t i = 0; i < n; i++)
		if (!reqs[i].source)
			missing++;
	return missing;
}
