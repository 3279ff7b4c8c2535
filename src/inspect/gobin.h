/* SPDX-License-Identifier: MIT */
/*
 * Go binary inspection: ELF validation, build info (.go.buildinfo), function
 * symbols and address translation. One place for everything read from the
 * target's executable.
 */
#ifndef OTRACE_GOBIN_H
#define OTRACE_GOBIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <gelf.h>
#include <libelf.h>

struct gobin;

struct go_module {
	char *path;
	char *version;
	char *sum;
	char *replace_path; /* NULL unless replaced (=> line) */
	char *replace_version;
	bool main; /* the main module ("mod" line) */
};

struct go_func {
	const char *name; /* in: symbol wanted */
	uint64_t vaddr;	  /* out: entry, 0 when not found */
	uint64_t size;
};

/*
 * Opens and validates path (an x86-64 ELF). Returns 0, or -ENOENT/-EACCES,
 * -ENOEXEC (not ELF, wrong class or machine) or -EINVAL (corrupt).
 */
int gobin__open(const char *path, struct gobin **out);
/* The same on an image in memory (fuzzing, tests); data must outlive gb. */
int gobin__open_mem(const void *data, size_t len, struct gobin **out);
void gobin__free(struct gobin *gb);

/* The toolchain version ("go1.26.8"), or NULL when no Go build info exists. */
const char *gobin__go_version(const struct gobin *gb);
/* Parses "go1.N[.P][...]" into major/minor/patch; -EINVAL when not a release. */
int gobin__parse_version(const char *v, int *major, int *minor, int *patch);
size_t gobin__module_count(const struct gobin *gb);
const struct go_module *gobin__module(const struct gobin *gb, size_t i);
/* True when the binary carries Go's runtime (build info or runtime symbols). */
bool gobin__is_go(const struct gobin *gb);
bool gobin__has_symtab(const struct gobin *gb);

/*
 * The name a vendored copy's symbol would have without its vendor prefix:
 * "app/vendor/google.golang.org/grpc.F" and "vendor/golang.org/x/net/http2.F"
 * give "google.golang.org/grpc.F" and "golang.org/x/net/http2.F"; other names
 * come back unchanged.
 */
const char *gobin__devendor(const char *name);

/*
 * Fills vaddr/size for each wanted function from .symtab, else .gopclntab;
 * an exact name wins over a vendored copy's. Returns how many were found.
 */
int gobin__find_funcs(const struct gobin *gb, struct go_func *funcs, size_t n);
/*
 * Calls fn for every .symtab symbol (none when stripped) until it returns
 * non-zero; returns that value, or 0.
 */
int gobin__for_each_symbol(const struct gobin *gb,
			   int (*fn)(void *ctx, const GElf_Sym *sym, const char *name), void *ctx);
/* Translates a virtual address to a file offset through PT_LOAD headers. */
int gobin__vaddr_to_offset(const struct gobin *gb, uint64_t vaddr, uint64_t *offset);
/* Returns a pointer to len file bytes mapped at vaddr, or NULL. */
const uint8_t *gobin__bytes_at(const struct gobin *gb, uint64_t vaddr, size_t len);
Elf *gobin__elf(const struct gobin *gb);

struct pclntab;
struct typedata;
/* The pclntab, opened on first call (NULL when it cannot be read); gb owns it. */
const struct pclntab *gobin__pclntab(const struct gobin *gb);
/*
 * The runtime type data (typedata.h), opened on first call; gb owns it. Returns
 * 0 or typedata__open()'s error, the same on every call; *out is NULL on error.
 */
int gobin__typedata(const struct gobin *gb, struct typedata **out);
/*
 * What planning keeps of the binary between the libraries' plans (offsets.c:
 * its DWARF index), dropped by gobin__planned: data and its free function,
 * or err when it could not be made.
 */
struct gobin_cache {
	void *data;
	void (*free)(void *data);
	int err;
	bool tried;
};
struct gobin_cache *gobin__planning_cache(const struct gobin *gb);
/* Planning is done (propagation's too): drops what only planning needs. */
void gobin__planned(const struct gobin *gb);

/* Parses a modinfo blob (exposed for tests). */
int gobin__parse_modinfo(struct gobin *gb, const char *info, size_t len);

#endif
