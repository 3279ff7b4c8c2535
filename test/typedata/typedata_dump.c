// SPDX-License-Identifier: MIT
/*
 * typedata_dump: what src/inspect/typedata.c reads from a Go binary, for
 * check-matrix.sh and by hand.
 *
 *   typedata_dump BINARY              "TYPE<tab>FIELD" lines on stdin; prints
 *                                     "TYPE<tab>FIELD<tab>OFFSET" (OFFSET "-"
 *                                     when the type data has no such field)
 *   typedata_dump BINARY --all        every named struct type the walk finds,
 *                                     one "TYPE FIELD OFFSET SIZE KIND [embedded]"
 *                                     line per field, tab-separated (type
 *                                     names may hold spaces)
 *   typedata_dump BINARY --dwarf      "TYPE FIELD OFFSET" from the binary's
 *                                     DWARF (every struct type), to compare
 *                                     with --all
 *
 * A "# layout LAYOUT types N named M" line goes to stderr. Exits 1 when the
 * type data cannot be read.
 */
#include <dwarf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <elfutils/libdw.h>

#include "gobin.h"
#include "typedata.h"

static int lookup_lines(struct typedata *td)
{
	char line[4096];

	while (fgets(line, sizeof(line), stdin)) {
		char *field = strchr(line, '\t');
		struct typedata_field f;
		uint64_t t;

		if (!field)
			continue;
		*field++ = '\0';
		field[strcspn(field, "\t\n")] = '\0';
		if (typedata__find(td, line, &t) || typedata__field(td, t, field, &f))
			printf("%s\t%s\t-\n", line, field);
		else
			printf("%s\t%s\t%llu\n", line, field, (unsigned long long)f.offset);
	}
	return 0;
}

static void dump_struct(struct typedata *td, uint64_t t)
{
	char name[4096];
	int n = typedata__nfields(td, t);

	if (n < 0 || typedata__name(td, t, name, sizeof(name)) < 0)
		return;
	for (int i = 0; i < n; i++) {
		struct typedata_field f;

		if (typedata__field_at(td, t, (size_t)i, &f)) {
			printf("%s\t?\tmalformed\n", name);
			return;
		}
		printf("%s\t%.*s\t%llu\t%llu\t%d%s\n", name, (int)f.name_len, f.name,
		       (unsigned long long)f.offset, (unsigned long long)f.size, f.kind,
		       f.embedded ? "\tembedded" : "");
	}
}

static int dump_all(struct typedata *td)
{
	uint64_t t;

	for (size_t i = 0; !typedata__named(td, i, &t); i++)
		if (typedata__kind(td, t) == TYPEDATA_STRUCT)
			dump_struct(td, t);
	return 0;
}

static void dwarf_members(Dwarf_Die *die, const char *name)
{
	Dwarf_Die m;

	if (dwarf_child(die, &m))
		return;
	do {
		Dwarf_Attribute attr;
		Dwarf_Word off;
		const char *mname = dwarf_diename(&m);

		if (dwarf_tag(&m) != DW_TAG_member || !mname ||
		    !dwarf_attr(&m, DW_AT_data_member_location, &attr) ||
		    dwarf_formudata(&attr, &off))
			continue;
		printf("%s\t%s\t%llu\n", name, mname, (unsigned long long)off);
	} while (!dwarf_siblingof(&m, &m));
}

static int dump_dwarf(const struct gobin *gb)
{
	Dwarf *dw = dwarf_begin_elf(gobin__elf(gb), DWARF_C_READ, NULL);
	Dwarf_Off off = 0, next;
	size_t hsize;

	if (!dw) {
		fprintf(stderr, "no DWARF\n");
		return 1;
	}
	while (!dwarf_nextcu(dw, off, &next, &hsize, NULL, NULL, NULL)) {
		Dwarf_Die cu, die;

		if (dwarf_offdie(dw, off + hsize, &cu) && !dwarf_child(&cu, &die)) {
			do {
				const char *name = dwarf_diename(&die);

				if (dwarf_tag(&die) == DW_TAG_structure_type && name)
					dwarf_members(&die, name);
			} while (!dwarf_siblingof(&die, &die));
		}
		off = next;
	}
	dwarf_end(dw);
	return 0;
}

int main(int argc, char **argv)
{
	struct gobin *gb;
	struct typedata *td;
	uint64_t t;
	int err, rc;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: %s BINARY [--all | --dwarf]\n", argv[0]);
		return 2;
	}
	err = gobin__open(argv[1], &gb);
	if (err) {
		fprintf(stderr, "%s: %s\n", argv[1], strerror(-err));
		return 1;
	}
	if (argc == 3 && !strcmp(argv[2], "--dwarf")) {
		rc = dump_dwarf(gb);
		gobin__free(gb);
		return rc;
	}
	err = gobin__typedata(gb, &td);
	if (err) {
		fprintf(stderr, "%s: no type data: %s\n", argv[1], strerror(-err));
		gobin__free(gb);
		return 1;
	}
	typedata__find(td, "", &t); /* walks */
	fprintf(stderr, "# layout %s types %zu\n", typedata__layout(td), typedata__count(td));
	rc = argc == 3 ? dump_all(td) : lookup_lines(td);
	gobin__free(gb);
	return rc;
}
