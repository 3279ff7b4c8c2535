// SPDX-License-Identifier: MIT
/*
 * The table of libraries (lib/libraries.c) against the BPF object it
 * describes: every program belongs to exactly one library, every program a
 * library names exists, each library's configuration is a .rodata variable
 * of its size, record types are unique, and the maps of spans in progress
 * each names resolve.
 */
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <string.h>

#include "inflight.h"
#include "library.h"
#include "library_configs.h"
#include "otrace.skel.h"
#include "unittest.h"

static int owners(const char *program)
{
	int n = 0;

	for (size_t i = 0; i < nlibraries; i++)
		for (const char *const *p = libraries[i]->programs; p && *p; p++)
			n += !strcmp(*p, program);
	return n;
}

static void test_programs(struct bpf_object *obj)
{
	struct bpf_program *prog;

	bpf_object__for_each_program(prog, obj) {
		int n = owners(bpf_program__name(prog));


		if (n != 1)
			fprintf(stderr, "program %s belongs to %d libraries\n",
				bpf_program__name(prog), n);
		CHECK(n == 1);
	}
	for (size_t i = 0; i < nlibraries; i++) {
		CHECK(libraries[i]->programs && libraries[i]->programs[0]);
		for (const char *const *p = libraries[i]->programs; p && *p; p++)
			CHECK(bpf_object__find_program_by_name(obj, *p) != NULL);
	}
}

/* The size of .rodata variable name, or -1. */
static long rodata_var_size(struct bpf_object *obj, const char *name)
{
	const struct btf *btf = bpf_object__btf(obj);
	int id = btf__find_by_name_kind(btf, ".rodata", BTF_KIND_DATASEC);
	const struct btf_var_secinfo *v;
	const struct btf_type *sec;

	if (id < 0)
		return -1;
	sec = btf__type_by_id(btf, id);
	v = btf_var_secinfos(sec);
	for (int i = 0; i < btf_vlen(sec); i++, v++)
		if (!strcmp(btf__name_by_offset(btf, btf__type_by_id(btf, v->type)->name_off), name))
			return v->size;
	return -1;
}

static void test_configs(struct bpf_object *obj)
{
	for (size_t i = 0; i < nlibraries; i++) {
		const struct library *lib = libraries[i];

		CHECK(lib->plan && lib->name);
		CHECK(lib->auxiliary ? !lib->decode && !lib->records[0] : lib->decode != NULL);
		if (!lib->config_name)
			continue;
		CHECK(lib->config_size <= LIB_CONFIG_MAX);
		CHECK(rodata_var_size(obj, lib->config_name) == (long)lib->config_size);
	}
}

static void test_records(void)
{
	for (size_t i = 0; i < nlibraries; i++) {
		CHECK(libraries[i]->auxiliary || libraries[i]->records[0] != 0);
		for (const uint32_t *t = libraries[i]->records; *t; t++) {
			CHECK(library__of_record(*t) == libraries[i]);
			CHECK(library__index(libraries[i]) == i);
		}
	}
	CHECK(library__of_record(0) == NULL && library__of_record(0xffff) == NULL);
}

/*
 * Every map a library names holds process-keyed entries, and its live tests
 * name integer members of the map's value (inflight.h).
 */
static void test_maps(struct bpf_object *obj)
{
	for (size_t i = 0; i < nlibraries; i++)
		for (const struct library_map *m = libraries[i]->maps; m->name; m++)
			CHECK(bpf_object__find_map_by_name(obj, m->name) != NULL);
	CHECK(inflight__check(obj) == 0);
}

int main(void)
{
	struct otrace *skel = otrace__open();

	CHECK(skel != NULL);
	if (skel) {
		test_programs(skel->obj);
		test_configs(skel->obj);
		test_maps(skel->obj);
		otrace__destroy(skel);
	}
	test_records();
	return ut_summary();
}
