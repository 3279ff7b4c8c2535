// SPDX-License-Identifier: MIT
/*
 * Struct member offsets from DWARF through libdw, which also inflates
 * compressed sections (SHF_COMPRESSED and .zdebug_*), DWARF 4 and 5.
 * Go emits its named types as top-level DIEs of the package's compile unit.
 */
#include <errno.h>
#include <string.h>
#include <elfutils/libdw.h>
#include <dwarf.h>

#include "offsets.h"

static void resolve_members(Dwarf_Die *type_die, const char *type, struct field_req *reqs,
			    size_t n, size_t *pending)
{
	Dwarf_Die member;

	if (dwarf_child(type_die, &member))
		return;
	do {
		const char *mname;
		Dwarf_Attribute attr;
		Dwarf_Word off;

		if (dwarf_tag(&member) != DW_TAG_member)
			continue;
		mname = dwarf_diename(&member);
		if (!mname || !dwarf_attr(&member, DW_AT_data_member_location, &attr) ||
		    dwarf_formudata(&attr, &off))
			continue;
		for (size_t i = 0; i < n; i++) {
			if (reqs[i].source || strcmp(reqs[i].type, type) ||
			    strcmp(reqs[i].field, mname))
				continue;
			reqs[i].offset = (int64_t)off;
			reqs[i].source = "dwarf";
			(*pending)--;
		}
	} while (dwarf_siblingof(&member, &member) == 0);
}

static bool wanted_type(const char *name, const struct field_req *reqs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!reqs[i].source && !strcmp(reqs[i].type, name))
			return true;
	return false;
}

int dwarf__resolve_fields(Elf *elf, struct field_req *reqs, size_t n)
{
	Dwarf *dw = dwarf_begin_elf(elf, DWARF_C_READ, NULL);
	Dwarf_Off off = 0, next;
	size_t hsize, pending = 0;

	if (!dw)
		return -ENODATA;
	for (size_t i = 0; i < n; i++)
		if (!reqs[i].source)
			pending++;
	while (pending && dwarf_nextcu(dw, off, &next, &hsize, NULL, NULL, NULL) == 0) {
		Dwarf_Die cu, die;

		if (dwarf_offdie(dw, off + hsize, &cu) && dwarf_child(&cu, &die) == 0) {
			do {
				const char *name;

				if (dwarf_tag(&die) != DW_TAG_structure_type)
					continue;
				name = dwarf_diename(&die);
				if (name && wanted_type(name, reqs, n))
					resolve_members(&die, name, reqs, n, &pending);
			} while (pending && dwarf_siblingof(&die, &die) == 0);
		}
		off = next;
	}
	dwarf_end(dw);
	return 0;
}
