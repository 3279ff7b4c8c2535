// SPDX-License-Identifier: MIT
#include <errno.h>
#include <string.h>

#include "log.h"
#include "offsets.h"

struct offsets_row {
	int go_minor; /* Go 1.N release line the row was generated from */
	const char *type;
	const char *field;
	int64_t offset;
};

/* offsets_rows[] and offsets_table_versions[]: generated, see the file's header */
#include "offsets_table.inc"

int offsets_table__resolve(const char *go_version, struct field_req *reqs, size_t n)
{
	int major, minor, patch, found = 0;

	if (!go_version || gobin__parse_version(go_version, &major, &minor, &patch) || major != 1)
		return -ENOENT;
	for (size_t i = 0; i < n; i++) {
		if (reqs[i].source)
			continue;
		for (size_t r = 0; r < sizeof(offsets_rows) / sizeof(offsets_rows[0]); r++) {
			const struct offsets_row *row = &offsets_rows[r];

			if (row->go_minor != minor || strcmp(row->type, reqs[i].type) ||
			    strcmp(row->field, reqs[i].field))
				continue;
			reqs[i].offset = row->offset;
			reqs[i].source = "table";
			found++;
			break;
		}
	}
	return found;
}

int offsets__resolve(const struct gobin *gb, struct field_req *reqs, size_t n)
{
	int missing = 0;

	for (size_t i = 0; i < n; i++) {
		reqs[i].offset = -1;
		reqs[i].source = NULL;
	}
	if (dwarf__resolve_fields(gobin__elf(gb), reqs, n) == -ENODATA)
		pr_debug("no DWARF in the binary; using the generated offsets table");
	offsets_table__resolve(gobin__go_version(gb), reqs, n);
	for (size_t i = 0; i < n; i++)
		if (!reqs[i].source)
			missing++;
	return missing;
}
