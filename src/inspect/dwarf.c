// SPDX-License-Identifier: MIT
/*
 * Struct member offsets from DWARF through libdw (DWARF 4 and 5; compressed
 * sections, SHF_COMPRESSED and .zdebug_*, through libdw's own inflation).
 *
 * Speed: inflating a large Go binary's compressed DWARF costs far more than
 * reading it (85% of the time on a 60 MB binary). Go's linker emits every
 * named type into one compile unit early in .debug_info (the "runtime" CU),
 * so for zlib SHF_COMPRESSED sections otrace inflates .debug_info
 * progressively, hands libdw only the complete units seen so far (in a small
 * ELF image in memory) and stops once the unit holding runtime.g, and so
 * every type, has been read in full. Anything else falls back to libdw on
 * the whole file. Either way the struct types are indexed by name once
 * (struct dwarf_index): the plans of every library ask it in turn.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <dwarf.h>
#include <gelf.h>
#include <zlib.h>
#include <elfutils/libdw.h>

#include "offsets.h"

/*
 * Whether member holds the struct type named holds: by value (*pointer false)
 * or through a pointer (*pointer true).
 */
static bool member_holds(Dwarf_Die *member, const char *holds, bool *pointer)
{
	Dwarf_Attribute attr;
	Dwarf_Die type;
	const char *name;

	if (!dwarf_attr(member, DW_AT_type, &attr) || !dwarf_formref_die(&attr, &type))
		return false;
	*pointer = dwarf_tag(&type) == DW_TAG_pointer_type;
	if (*pointer && (!dwarf_attr(&type, DW_AT_type, &attr) || !dwarf_formref_die(&attr, &type)))
		return false;
	/* Go names a type with a typedef of the same name in front of its struct */
	name = dwarf_diename(&type);
	if (!name || strcmp(name, holds))
		return false;
	if (dwarf_tag(&type) == DW_TAG_typedef &&
	    (!dwarf_attr(&type, DW_AT_type, &attr) || !dwarf_formref_die(&attr, &type)))
		return false;
	return dwarf_tag(&type) == DW_TAG_structure_type;
}

/* Member offsets of type_die into every unresolved request for that type. */
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
			if (reqs[i].holds &&
			    !member_holds(&member, reqs[i].holds, &reqs[i].pointer))
				continue;
			reqs[i].offset = (int64_t)off;
			reqs[i].source = "dwarf";
			(*pending)--;
		}
	} while (dwarf_siblingof(&member, &member) == 0);
}

/* ---- progressive inflation of SHF_COMPRESSED zlib sections ---- */

struct debug_section {
	const uint8_t *raw; /* the section as stored in the file */
	size_t raw_len;
	bool compressed;
	uint8_t *data; /* inflated (or a copy of the stored bytes) */
	size_t len;
};

enum { DS_ABBREV, DS_INFO, DS_STR, DS_LINE_STR, DS_STR_OFFSETS, DS__COUNT };

static const char *const debug_names[DS__COUNT] = {
	".debug_abbrev", ".debug_info", ".debug_str", ".debug_line_str", ".debug_str_offsets",
};

/* Finds the sections; false when a layout the fast path does not handle appears. */
static bool find_debug_sections(Elf *elf, struct debug_section *ds)
{
	size_t shstrndx, size;
	const uint8_t *file = (const uint8_t *)elf_rawfile(elf, &size);
	Elf_Scn *scn = NULL;

	if (!file || elf_getshdrstrndx(elf, &shstrndx))
		return false;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		const char *name;

		if (!gelf_getshdr(scn, &sh))
			return false;
		name = elf_strptr(elf, shstrndx, sh.sh_name);
		if (!name)
			continue;
		if (!strncmp(name, ".zdebug_", 8))
			return false; /* old GNU framing: let libdw handle it */
		for (int i = 0; i < DS__COUNT; i++) {
			if (strcmp(name, debug_names[i]) || sh.sh_type == SHT_NOBITS)
				continue;
			if (sh.sh_offset > size || sh.sh_size > size - sh.sh_offset)
				return false;
			ds[i].raw = file + sh.sh_offset;
			ds[i].raw_len = sh.sh_size;
			ds[i].compressed = sh.sh_flags & SHF_COMPRESSED;
		}
	}
	return ds[DS_ABBREV].raw && ds[DS_INFO].raw;
}

/* Inflates up to want bytes of a section (all of it when want is 0). */
static int inflate_section(struct debug_section *s, z_stream *zs, size_t want)
{
	Elf64_Chdr ch;
	size_t total;
	uint8_t *grown;

	if (!s->compressed) {
		/* stored plainly: use it in place */
		s->data = (uint8_t *)s->raw;
		s->len = s->raw_len;
		return 0;
	}
	if (s->raw_len < sizeof(ch))
		return -EINVAL;
	memcpy(&ch, s->raw, sizeof(ch));
	if (ch.ch_type != ELFCOMPRESS_ZLIB || ch.ch_size > (1ull << 32))
		return -ENOTSUP;
	total = ch.ch_size;
	if (!want || want > total)
		want = total;
	if (!zs->next_in) {
		zs->next_in = (Bytef *)s->raw + sizeof(ch);
		zs->avail_in = (uInt)(s->raw_len - sizeof(ch));
		if (inflateInit(zs) != Z_OK)
			return -ENOMEM;
	}
	if (want <= s->len)
		return 0;
	grown = realloc(s->data, want);
	if (!grown)
		return -ENOMEM;
	s->data = grown;
	zs->next_out = s->data + s->len;
	zs->avail_out = (uInt)(want - s->len);
	int rc = inflate(zs, Z_SYNC_FLUSH);
	if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR)
		return -EINVAL;
	s->len = want - zs->avail_out;
	return 0;
}

/* Length of the prefix of .debug_info made of complete units. */
static size_t complete_units(const uint8_t *p, size_t len)
{
	size_t off = 0;

	while (off + 4 <= len) {
		uint32_t l32;
		uint64_t unit;

		memcpy(&l32, p + off, 4);
		if (l32 == 0xffffffffu) {
			if (off + 12 > len)
				break;
			memcpy(&unit, p + off + 4, 8);
			unit += 12;
		} else {
			unit = (uint64_t)l32 + 4;
		}
		if (unit > len - off)
			break;
		off += unit;
	}
	return off;
}

/* A minimal relocatable ELF holding the given sections, for dwarf_begin_elf. */
static uint8_t *build_image(struct debug_section *ds, size_t info_len, size_t *img_len)
{
	char shstr[128] = "";
	size_t shstr_len = 1, off = sizeof(Elf64_Ehdr), nsec = 1, data_len = 0;
	Elf64_Shdr sh[DS__COUNT + 2] = {};
	uint8_t *img;

	for (int i = 0; i < DS__COUNT; i++)
		data_len += i == DS_INFO ? info_len : ds[i].len;
	data_len += sizeof(shstr);
	img = calloc(1, sizeof(Elf64_Ehdr) + data_len + sizeof(sh));
	if (!img)
		return NULL;
	for (int i = 0; i < DS__COUNT; i++) {
		size_t len = i == DS_INFO ? info_len : ds[i].len;

		if (!ds[i].data)
			continue;
		sh[nsec] = (Elf64_Shdr){ .sh_name = (Elf64_Word)shstr_len, .sh_type = SHT_PROGBITS,
					 .sh_offset = off, .sh_size = len, .sh_addralign = 1 };
		memcpy(img + off, ds[i].data, len);
		off += len;
		strcpy(shstr + shstr_len, debug_names[i]);
		shstr_len += strlen(debug_names[i]) + 1;
		nsec++;
	}
	sh[nsec] = (Elf64_Shdr){ .sh_name = (Elf64_Word)shstr_len, .sh_type = SHT_STRTAB,
				 .sh_offset = off, .sh_size = sizeof(shstr), .sh_addralign = 1 };
	strcpy(shstr + shstr_len, ".shstrtab");
	memcpy(img + off, shstr, sizeof(shstr));
	off += sizeof(shstr);
	Elf64_Ehdr eh = {
		.e_ident = { ELFMAG0, ELFMAG1, ELFMAG2, ELFMAG3, ELFCLASS64, ELFDATA2LSB, EV_CURRENT },
		.e_type = ET_REL,
		.e_machine = EM_X86_64,
		.e_version = EV_CURRENT,
		.e_ehsize = sizeof(Elf64_Ehdr),
		.e_shoff = off,
		.e_shentsize = sizeof(Elf64_Shdr),
		.e_shnum = (Elf64_Half)(nsec + 1),
		.e_shstrndx = (Elf64_Half)nsec,
	};
	memcpy(img, &eh, sizeof(eh));
	memcpy(img + off, sh, (nsec + 1) * sizeof(Elf64_Shdr));
	*img_len = off + (nsec + 1) * sizeof(Elf64_Shdr);
	return img;
}

/* ---- the index: every struct type of the types unit, by name ---- */

struct dwarf_type {
	const char *name; /* libdw's string, alive as long as dw */
	Dwarf_Off die;
};

struct dwarf_index {
	struct debug_section ds[DS__COUNT]; /* the inflated sections (fast path) */
	uint8_t *img;			    /* the ELF image libdw reads (fast path) */
	Elf *img_elf;
	Dwarf *dw;
	struct dwarf_type *types; /* sorted by name; the first unit's of each name */
	size_t ntypes, cap;
};

/* The struct type every Go program's DWARF holds, in the unit of all its types. */
#define TYPES_UNIT_MARK "runtime.g"

static int cmp_type(const void *a, const void *b)
{
	const struct dwarf_type *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	/* ties: the earlier DIE first, so that it is the one kept */
	return c ? c : (x->die > y->die) - (x->die < y->die);
}

/*
 * Indexes the top-level struct types of dw's units, up to and including the
 * one holding TYPES_UNIT_MARK. Returns 1 when that unit was seen, 0 when
 * every unit was read without it, a negative errno on failure.
 */
static int index_units(struct dwarf_index *x)
{
	Dwarf_Off off = 0, next;
	size_t hsize;
	bool marked = false;

	x->ntypes = 0;
	while (!marked && dwarf_nextcu(x->dw, off, &next, &hsize, NULL, NULL, NULL) == 0) {
		Dwarf_Die cu, die;

		if (dwarf_offdie(x->dw, off + hsize, &cu) && dwarf_child(&cu, &die) == 0) {
			do {
				const char *name;

				if (dwarf_tag(&die) != DW_TAG_structure_type)
					continue;
				name = dwarf_diename(&die);
				if (!name)
					continue;
				if (x->ntypes == x->cap) {
					size_t cap = x->cap ? 2 * x->cap : 1024;
					struct dwarf_type *v = realloc(x->types, cap * sizeof(*v));

					if (!v)
						return -ENOMEM;
					x->types = v;
					x->cap = cap;
				}
				x->types[x->ntypes++] =
					(struct dwarf_type){ .name = name, .die = dwarf_dieoffset(&die) };
				marked |= !strcmp(name, TYPES_UNIT_MARK);
			} while (dwarf_siblingof(&die, &die) == 0);
		}
		off = next;
	}
	if (x->ntypes) /* none yet: types may still be NULL */
		qsort(x->types, x->ntypes, sizeof(*x->types), cmp_type);
	return marked;
}

static void close_image(struct dwarf_index *x)
{
	if (x->dw)
		dwarf_end(x->dw);
	if (x->img_elf)
		elf_end(x->img_elf);
	free(x->img);
	x->dw = NULL;
	x->img_elf = NULL;
	x->img = NULL;
}

/* Opens libdw on the complete units inflated so far; index_units' result. */
static int index_prefix(struct dwarf_index *x)
{
	size_t info_len = complete_units(x->ds[DS_INFO].data, x->ds[DS_INFO].len), img_len;

	close_image(x);
	if (!info_len)
		return 0;
	x->img = build_image(x->ds, info_len, &img_len);
	x->img_elf = x->img ? elf_memory((char *)x->img, img_len) : NULL;
	x->dw = x->img_elf ? dwarf_begin_elf(x->img_elf, DWARF_C_READ, NULL) : NULL;
	if (!x->dw)
		return -EINVAL;
	return index_units(x);
}

/*
 * The fast path: inflates .debug_info in doubling steps until the types unit
 * was read in full. -ENOTSUP when the slow path must run.
 */
static int index_progressively(Elf *elf, struct dwarf_index *x)
{
	z_stream zs[DS__COUNT] = {};
	size_t want = 512 * 1024;
	int err = -ENOTSUP, rc;

	if (!find_debug_sections(elf, x->ds) || !x->ds[DS_INFO].compressed)
		return -ENOTSUP; /* nothing to save: libdw reads plain sections in place */
	for (int i = 0; i < DS__COUNT; i++) {
		if (i == DS_INFO || !x->ds[i].raw)
			continue;
		if (inflate_section(&x->ds[i], &zs[i], 0))
			goto out;
	}
	for (;;) {
		if (inflate_section(&x->ds[DS_INFO], &zs[DS_INFO], want))
			goto out;
		rc = index_prefix(x);
		if (rc < 0)
			goto out;
		if (rc == 1 || zs[DS_INFO].avail_in == 0 || x->ds[DS_INFO].len < want)
			break; /* the types unit, or all of it inflated */
		want *= 2;
	}
	if (rc == 1 ||
	    complete_units(x->ds[DS_INFO].data, x->ds[DS_INFO].len) == x->ds[DS_INFO].len)
		err = 0; /* the types unit, or the whole section, was indexed */
out:
	for (int i = 0; i < DS__COUNT; i++)
		if (zs[i].next_in)
			inflateEnd(&zs[i]);
	return err;
}

void dwarf__free_index(struct dwarf_index *x)
{
	if (!x)
		return;
	close_image(x);
	for (int i = 0; i < DS__COUNT; i++)
		if (x->ds[i].compressed)
			free(x->ds[i].data);
	free(x->types);
	free(x);
}

int dwarf__open_index(Elf *elf, struct dwarf_index **out)
{
	struct dwarf_index *x;
	int err;

	*out = NULL;
	if (!dwarf__present(elf))
		return -ENODATA;
	x = calloc(1, sizeof(*x));
	if (!x)
		return -ENOMEM;
	err = index_progressively(elf, x);
	if (err) {
		/* libdw on the whole file, sections inflated by libdw itself */
		close_image(x);
		for (int i = 0; i < DS__COUNT; i++) {
			if (x->ds[i].compressed)
				free(x->ds[i].data);
			x->ds[i] = (struct debug_section){};
		}
		x->dw = dwarf_begin_elf(elf, DWARF_C_READ, NULL);
		err = x->dw ? index_units(x) : -ENODATA;
	}
	if (err < 0) {
		dwarf__free_index(x);
		return err;
	}
	*out = x;
	return 0;
}

static const struct dwarf_type *find_type(const struct dwarf_index *x, const char *name)
{
	size_t lo = 0, hi = x->ntypes;

	/* the first entry of that name: the earliest DIE */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(x->types[mid].name, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < x->ntypes && !strcmp(x->types[lo].name, name) ? &x->types[lo] : NULL;
}

void dwarf__resolve_indexed(const struct dwarf_index *x, struct field_req *reqs, size_t n)
{
	size_t pending = 0;

	field_reqs__reset(reqs, n);
	for (size_t i = 0; i < n; i++)
		pending += !reqs[i].source;
	for (size_t i = 0; i < n && pending; i++) {
		const struct dwarf_type *t;
		Dwarf_Die die;

		if (reqs[i].source || (i && !strcmp(reqs[i].type, reqs[i - 1].type)))
			continue; /* resolve_members did every request of this type */
		t = find_type(x, reqs[i].type);
		if (t && dwarf_offdie(x->dw, t->die, &die))
			resolve_members(&die, t->name, reqs, n, &pending);
	}
}

bool dwarf__present(Elf *elf)
{
	Elf_Scn *scn = NULL;
	size_t shstrndx;

	if (elf_getshdrstrndx(elf, &shstrndx))
		return false;
	while ((scn = elf_nextscn(elf, scn))) {
		const char *name;
		GElf_Shdr sh;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type == SHT_NOBITS)
			continue;
		name = elf_strptr(elf, shstrndx, sh.sh_name);
		if (name && (!strcmp(name, ".debug_info") || !strcmp(name, ".zdebug_info")))
			return true;
	}
	return false;
}

int dwarf__resolve_fields(Elf *elf, struct field_req *reqs, size_t n)
{
	struct dwarf_index *x;
	int err = dwarf__open_index(elf, &x);

	if (err)
		return err;
	dwarf__resolve_indexed(x, reqs, n);
	dwarf__free_index(x);
	return 0;
}
