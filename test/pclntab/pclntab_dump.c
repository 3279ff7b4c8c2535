// SPDX-License-Identifier: MIT
/*
 * pclntab_dump BINARY [--symtab] NAME...
 *
 * Prints "name vaddr size" (hex) for each NAME, as found in BINARY's
 * pclntab, or with --symtab in its .symtab (the reference the matrix test
 * compares against). Missing names print "name - -". With the pclntab, a
 * first line "# magic text_start text_source nfunc" describes the table.
 * Exits 1 on errors.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gobin.h"
#include "pclntab.h"

static void print_funcs(const struct go_func *funcs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (funcs[i].vaddr)
			printf("%s %#" PRIx64 " %#" PRIx64 "\n", funcs[i].name, funcs[i].vaddr,
			       funcs[i].size);
		else
			printf("%s - -\n", funcs[i].name);
	}
}

static int dump_pclntab(const struct gobin *gb, struct go_func *funcs, size_t n)
{
	struct pclntab *p;
	int err = pclntab__open(gb, &p);

	if (err) {
		fprintf(stderr, "pclntab: %s\n", strerror(-err));
		return 1;
	}
	printf("# %#" PRIx32 " %#" PRIx64 " %s %zu\n", pclntab__magic(p), pclntab__text_start(p),
	       pclntab__text_source(p), pclntab__nfunc(p));
	err = pclntab__find_funcs(p, funcs, n);
	pclntab__free(p);
	if (err < 0) {
		fprintf(stderr, "pclntab: %s\n", strerror(-err));
		return 1;
	}
	print_funcs(funcs, n);
	return 0;
}

int main(int argc, char **argv)
{
	struct gobin *gb;
	struct go_func *funcs;
	bool symtab = false;
	int first = 2, err, ret;

	if (argc >= 3 && !strcmp(argv[2], "--symtab")) {
		symtab = true;
		first = 3;
	}
	if (argc < first) {
		fprintf(stderr, "usage: %s BINARY [--symtab] NAME...\n", argv[0]);
		return 2;
	}
	err = gobin__open(argv[1], &gb);
	if (err) {
		fprintf(stderr, "%s: %s\n", argv[1], strerror(-err));
		return 1;
	}
	funcs = calloc(argc, sizeof(*funcs));
	if (!funcs)
		return 1;
	for (int i = first; i < argc; i++)
		funcs[i - first].name = argv[i];
	if (symtab) {
		gobin__find_funcs(gb, funcs, argc - first);
		print_funcs(funcs, argc - first);
		ret = 0;
	} else {
		ret = dump_pclntab(gb, funcs, argc - first);
	}
	free(funcs);
	gobin__free(gb);
	return ret;
}
