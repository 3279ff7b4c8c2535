// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "symbolize.h"

#define MAX_PROCS 64 /* processes whose symbols are kept; the oldest is dropped */

struct itab_sym {
	uint64_t addr; /* link-time address */
	char *type;
};

struct proc_syms {
	uint32_t pid;
	int64_t bias; /* runtime minus link-time address (PIE) */
	struct itab_sym *syms;
	size_t n;
};

struct symbolizer {
	struct proc_syms procs[MAX_PROCS];
	size_t next; /* slot to reuse when full */
};

struct symbolizer *symbolizer__new(void)
{
	return calloc(1, sizeof(struct symbolizer));
}

static void proc_free(struct proc_syms *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->syms[i].type);
	free(p->syms);
	memset(p, 0, sizeof(*p));
}

void symbolizer__free(struct symbolizer *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < MAX_PROCS; i++)
		proc_free(&s->procs[i]);
	free(s);
}

static int cmp_sym(const void *a, const void *b)
{
	uint64_t x = ((const struct itab_sym *)a)->addr, y = ((const struct itab_sym *)b)->addr;

	return x < y ? -1 : x > y;
}

/* "go:itab.*net.OpError,error" -> "*net.OpError" */
static char *itab_type(const char *name)
{
	const char *t, *comma;

	if (!strncmp(name, "go:itab.", 8) || !strncmp(name, "go.itab.", 8))
		t = name + 8;
	else
		return NULL;
	comma = strrchr(t, ',');
	return comma && comma > t ? strndup(t, (size_t)(comma - t)) : NULL;
}

static void load_symtab(Elf *elf, struct proc_syms *p)
{
	Elf_Scn *scn = NULL;
	size_t cap = 0;

	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		Elf_Data *data;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_SYMTAB || !sh.sh_entsize)
			continue;
		data = elf_getdata(scn, NULL);
		for (size_t i = 0; data && i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Sym sym;
			const char *name;
			char *type;

			if (!gelf_getsym(data, (int)i, &sym) || !sym.st_value)
				continue;
			name = elf_strptr(elf, sh.sh_link, sym.st_name);
			if (!name || !(type = itab_type(name)))
				continue;
			if (p->n == cap) {
				struct itab_sym *grown;

				cap = cap ? 2 * cap : 256;
				grown = realloc(p->syms, cap * sizeof(*grown));
				if (!grown) {
					free(type);
					return;
				}
				p->syms = grown;
			}
			p->syms[p->n++] = (struct itab_sym){ .addr = sym.st_value, .type = type };
		}
	}
	qsort(p->syms, p->n, sizeof(*p->syms), cmp_sym);
}

/* Load bias of a PIE: where the file's first PT_LOAD is mapped minus its vaddr. */
static int64_t load_bias(Elf *elf, uint32_t pid)
{
	GElf_Ehdr eh;
	uint64_t first_vaddr = UINT64_MAX, start, off;
	char path[64], line[512], exe[4096];
	size_t nph;
	ssize_t n;
	FILE *f;
	int64_t bias = 0;

	if (!gelf_getehdr(elf, &eh) || eh.e_type != ET_DYN || elf_getphdrnum(elf, &nph))
		return 0;
	for (size_t i = 0; i < nph; i++) {
		GElf_Phdr ph;

		if (gelf_getphdr(elf, (int)i, &ph) && ph.p_type == PT_LOAD && ph.p_offset == 0)
			first_vaddr = ph.p_vaddr;
	}
	snprintf(path, sizeof(path), "/proc/%u/exe", pid);
	n = readlink(path, exe, sizeof(exe) - 1);
	if (n <= 0 || first_vaddr == UINT64_MAX)
		return 0;
	exe[n] = '\0';
	snprintf(path, sizeof(path), "/proc/%u/maps", pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		char *name = strchr(line, '/');

		if (!name || sscanf(line, "%lx-%*x %*s %lx", &start, &off) != 2 || off != 0)
			continue;
		name[strcspn(name, "\n")] = '\0';
		if (!strcmp(name, exe)) {
			bias = (int64_t)(start - first_vaddr);
			break;
		}
	}
	fclose(f);
	return bias;
}

static struct proc_syms *proc_of(struct symbolizer *s, uint32_t pid)
{
	struct proc_syms *p;
	char path[64];
	Elf *elf;
	int fd;

	for (size_t i = 0; i < MAX_PROCS; i++)
		if (s->procs[i].pid == pid)
			return &s->procs[i];
	p = &s->procs[s->next];
	s->next = (s->next + 1) % MAX_PROCS;
	proc_free(p);
	p->pid = pid;
	snprintf(path, sizeof(path), "/proc/%u/exe", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return p; /* gone, or not ours to read: no names */
	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (elf) {
		load_symtab(elf, p);
		if (p->n)
			p->bias = load_bias(elf, pid);
		elf_end(elf);
	}
	close(fd);
	return p;
}

size_t symbolizer__itab_type(struct symbolizer *s, uint32_t pid, uint64_t addr, char *buf,
			     size_t cap)
{
	struct proc_syms *p;
	struct itab_sym key;
	const struct itab_sym *hit;
	size_t n;

	if (!s || !addr || !cap)
		return 0;
	p = proc_of(s, pid);
	key.addr = addr - (uint64_t)p->bias;
	hit = p->n ? bsearch(&key, p->syms, p->n, sizeof(*p->syms), cmp_sym) : NULL;
	if (!hit)
		return 0;
	n = strlen(hit->type);
	if (n > cap)
		n = cap;
	memcpy(buf, hit->type, n);
	return n;
}
