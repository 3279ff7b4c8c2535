// SPDX-License-Identifier: MIT
#include <errno.h>
#include <gelf.h>
#include <stdlib.h>
#include <string.h>

#include "itabs.h"
#include "typedata.h"

struct itab_name {
	uint64_t vaddr;
	const char *type; /* into the ELF string table, or owned */
	size_t len;
	char *owned; /* the name read from the type data, freed with the table */
};

struct itab_names {
	struct itab_name *v;
	size_t n, cap;
};

/* "go:itab." since Go 1.20, "go.itab." before */
#define ITAB_PREFIX_LEN 8

static bool is_itab_symbol(const char *name)
{
	return !strncmp(name, "go:itab.", ITAB_PREFIX_LEN) ||
	       !strncmp(name, "go.itab.", ITAB_PREFIX_LEN);
}

static int push(struct itab_names *t, struct itab_name e)
{
	if (t->n == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 256;
		struct itab_name *v = realloc(t->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		t->v = v;
		t->cap = cap;
	}
	t->v[t->n++] = e;
	return 0;
}

/*
 * The comma between type and interface: the last one outside brackets, since
 * the type arguments of either may hold commas ("T[a,b],I[a,b]").
 */
static const char *type_end(const char *type)
{
	const char *comma = NULL;
	int depth = 0;

	for (const char *p = type; *p; p++) {
		if (*p == '[')
			depth++;
		else if (*p == ']')
			depth--;
		else if (*p == ',' && !depth)
			comma = p;
	}
	return comma;
}

static int add(struct itab_names *t, uint64_t vaddr, const char *name)
{
	const char *type = name + ITAB_PREFIX_LEN;
	const char *comma = type_end(type);

	if (!comma || comma == type)
		return 0;
	return push(t, (struct itab_name){ .vaddr = vaddr, .type = type,
					   .len = (size_t)(comma - type) });
}

/*
 * The dynamic type of an itab as the linker names the itab's symbol: the full
 * name of a named type, "*" and the full name of the type a pointer points to.
 */
static int itab_type_name(const struct typedata *td, uint64_t type, char *buf, size_t len)
{
	uint64_t elem;
	int n;

	if (typedata__kind(td, type) != TYPEDATA_POINTER || typedata__elem(td, type, &elem))
		return typedata__name(td, type, buf, len);
	if (len < 2)
		return -EINVAL;
	buf[0] = '*';
	n = typedata__name(td, elem, buf + 1, len - 1);
	return n < 0 ? n : n + 1;
}

/*
 * A binary without .symtab: the itabs its type data lists (itablinks), named
 * by their dynamic types. Nothing when the type data cannot be read.
 */
static int add_typedata_itabs(const struct gobin *gb, struct itab_names *t)
{
	struct typedata_itab it;
	struct typedata *td;
	char name[512];
	int err = 0;

	if (gobin__typedata(gb, &td))
		return 0;
	for (size_t i = 0; !err && !typedata__itab(td, i, &it); i++) {
		int n = itab_type_name(td, it.type, name, sizeof(name));
		char *owned;

		if (n <= 0 || (size_t)n >= sizeof(name))
			continue; /* unreadable, or longer than any name worth an attribute */
		owned = strndup(name, (size_t)n);
		if (!owned)
			return -ENOMEM;
		err = push(t, (struct itab_name){ .vaddr = it.itab, .type = owned,
						  .len = (size_t)n, .owned = owned });
		if (err)
			free(owned);
	}
	return err;
}

static int cmp_vaddr(const void *a, const void *b)
{
	uint64_t x = ((const struct itab_name *)a)->vaddr, y = ((const struct itab_name *)b)->vaddr;

	return x < y ? -1 : x > y;
}

static int add_itab_symbol(void *ctx, const GElf_Sym *sym, const char *name)
{
	if (!sym->st_value || !is_itab_symbol(name))
		return 0;
	return add(ctx, sym->st_value, name) ? -ENOMEM : 0;
}

/* Takes ownership of t: sorts it into *out, or frees it on error. */
static int finish(struct itab_names *t, int err, struct itab_names **out)
{
	if (err) {
		itab_names__free(t);
		return err;
	}
	if (t->n) /* a binary without .symtab has none, and t->v is NULL */
		qsort(t->v, t->n, sizeof(*t->v), cmp_vaddr);
	*out = t;
	return 0;
}

int itab_names__load(const struct gobin *gb, struct itab_names **out)
{
	struct itab_names *t = calloc(1, sizeof(*t));
	int err;

	*out = NULL;
	if (!t)
		return -ENOMEM;
	err = gobin__for_each_symbol(gb, add_itab_symbol, t);
	if (!err && !t->n)
		err = add_typedata_itabs(gb, t);
	return finish(t, err, out);
}

int itab_names__from_symbols(const uint64_t *vaddrs, const char *const *names, size_t n,
			     struct itab_names **out)
{
	struct itab_names *t = calloc(1, sizeof(*t));
	int err = 0;

	*out = NULL;
	if (!t)
		return -ENOMEM;
	for (size_t i = 0; i < n && !err; i++)
		if (is_itab_symbol(names[i]))
			err = add(t, vaddrs[i], names[i]);
	return finish(t, err, out);
}

void itab_names__free(struct itab_names *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n; i++)
		free(t->v[i].owned);
	free(t->v);
	free(t);
}

size_t itab_names__count(const struct itab_names *t)
{
	return t ? t->n : 0;
}

const char *itab_names__type(const struct itab_names *t, uint64_t vaddr, size_t *len)
{
	size_t a = 0, b = t ? t->n : 0;

	while (a < b) {
		size_t m = a + (b - a) / 2;

		if (t->v[m].vaddr == vaddr) {
			*len = t->v[m].len;
			return t->v[m].type;
		}
		if (t->v[m].vaddr < vaddr)
			a = m + 1;
		else
			b = m;
	}
	return NULL;
}

/* Whether a type name equals want once a vendor prefix is dropped ("*" kept). */
static bool same_type(const char *name, size_t len, const char *want)
{
	char buf[512];
	size_t ptr = 0, wlen;
	const char *plain;

	if (len >= sizeof(buf))
		return false;
	memcpy(buf, name, len);
	buf[len] = 0;
	while (buf[ptr] == '*' && want[ptr] == '*')
		ptr++;
	plain = gobin__devendor(buf + ptr);
	wlen = strlen(want + ptr);
	return strlen(plain) == wlen && !memcmp(plain, want + ptr, wlen);
}

bool itabs__symbol_is(const char *symbol, const char *type, const char *iface)
{
	const char *t, *comma;

	if (!is_itab_symbol(symbol))
		return false;
	t = symbol + ITAB_PREFIX_LEN;
	comma = strrchr(t, ',');
	return comma && same_type(t, (size_t)(comma - t), type) &&
	       same_type(comma + 1, strlen(comma + 1), iface);
}

struct find_itabs_pass {
	struct go_itab *itabs;
	size_t n;
	int found;
};

static int match_itab(void *ctx, const GElf_Sym *sym, const char *name)
{
	struct find_itabs_pass *p = ctx;

	if (!sym->st_value || !is_itab_symbol(name))
		return 0;
	for (size_t i = 0; i < p->n; i++) {
		if (!p->itabs[i].vaddr &&
		    itabs__symbol_is(name, p->itabs[i].type, p->itabs[i].iface)) {
			p->itabs[i].vaddr = sym->st_value;
			p->found++;
		}
	}
	return 0;
}

int itabs__find(const struct gobin *gb, struct go_itab *itabs, size_t n)
{
	struct find_itabs_pass pass = { .itabs = itabs, .n = n };

	for (size_t i = 0; i < n; i++)
		itabs[i].vaddr = 0;
	gobin__for_each_symbol(gb, match_itab, &pass);
	return pass.found;
}
