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

/* offsets_rows[] and offsets_table_versions[]: generated, see the file's header */
#include "offsets_table.inc"

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
	for (size_t i = 0; i < n; i++)
		if (!reqs[i].source)
			missing++;
	return missing;
}
