// SPDX-License-Identifier: MIT
/*
 * Fields of runtime-internal types that may have no type descriptor in the
 * binary (no interface, method or reflection reaches them), for binaries
 * without DWARF: keyed by Go minor release, each row read from the DWARF of
 * real builds of every release line it covers (1.19 and 1.21 to 1.27; the
 * go_matrix and typedata_matrix tests compare the stripped builds' offsets
 * with their unstripped twins' DWARF). A release line not listed gets
 * nothing: a newer runtime may have moved the field, and 1.17, 1.18 and 1.20
 * cannot be built here to check.
 */
#include <errno.h>
#include <string.h>

#include "offsets.h"

static const struct runtime_row {
	int minor_min, minor_max; /* Go 1.x release lines the row holds for */
	const char *type;
	const char *field;
	int64_t offset;
} runtime_rows[] = {
	/* the M a goroutine runs on: after stack, stackguard0/1, _panic, _defer */
	{ 19, 19, "runtime.g", "m", 48 },
	{ 21, 27, "runtime.g", "m", 48 },
	/* the user goroutine an M runs; gobuf lost its ret word in 1.25 */
	{ 19, 19, "runtime.m", "curg", 192 },
	{ 21, 24, "runtime.m", "curg", 192 },
	{ 25, 27, "runtime.m", "curg", 184 },
	/* the bucket map's header (Swiss tables replaced it in 1.24) */
	{ 19, 19, "runtime.hmap", "count", 0 },
	{ 21, 23, "runtime.hmap", "count", 0 },
	{ 19, 19, "runtime.hmap", "B", 9 },
	{ 21, 23, "runtime.hmap", "B", 9 },
	{ 19, 19, "runtime.hmap", "buckets", 16 },
	{ 21, 23, "runtime.hmap", "buckets", 16 },
	{ 19, 19, "runtime.hmap", "oldbuckets", 24 },
	{ 21, 23, "runtime.hmap", "oldbuckets", 24 },
};

bool offsets_runtime__knows(const char *type)
{
	for (size_t r = 0; r < sizeof(runtime_rows) / sizeof(runtime_rows[0]); r++)
		if (!strcmp(runtime_rows[r].type, type))
			return true;
	return false;
}

int offsets_runtime__resolve(const char *go_version, struct field_req *reqs, size_t n)
{
	int major, minor, patch, found = 0;

	if (!go_version || strstr(go_version, "devel") ||
	    gobin__parse_version(go_version, &major, &minor, &patch) || major != 1)
		return -ENOENT;
	for (size_t i = 0; i < n; i++) {
		if (reqs[i].source)
			continue;
		for (size_t r = 0; r < sizeof(runtime_rows) / sizeof(runtime_rows[0]); r++) {
			const struct runtime_row *row = &runtime_rows[r];

			if (minor < row->minor_min || minor > row->minor_max ||
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
