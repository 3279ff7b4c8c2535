// SPDX-License-Identifier: MIT
#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gobin.h"
#include "insn.h"
#include "unittest.h"

static void test_versions(void)
{
	int a, b, c;

	CHECK(gobin__parse_version("go1.26.8", &a, &b, &c) == 0 && a == 1 && b == 26 && c == 8);
	CHECK(gobin__parse_version("go1.21rc2", &a, &b, &c) == 0 && b == 21 && c == 0);
	CHECK(gobin__parse_version("go1.22.3 X:loopvar", &a, &b, &c) == 0 && b == 22 && c == 3);
	CHECK(gobin__parse_version("go1.26-devel_abc+", &a, &b, &c) == 0 && b == 26);
	CHECK(gobin__parse_version("devel go1.27-abc", &a, &b, &c) == -EINVAL);
	CHECK(gobin__parse_version("", &a, &b, &c) == -EINVAL);
}

/* Runs modinfo parsing on a real (self) ELF handle, since gobin is opaque. */
static void test_modinfo(void)
{
	static const char info[] =
		"0123456789abcdef" /* sentinel */
		"path\texample.com/app\n"
		"mod\texample.com/app\t(devel)\t\n"
		"dep\tgithub.com/a/b\tv1.2.3\th1:abc=\n"
		"dep\tgithub.com/c/d\tv0.1.0\th1:def=\n"
		"=>\t../local/d\t\t\n"
		"build\t-compiler=gc\n"
		"\nfedcba9876543210"; /* newline then sentinel */
	struct gobin *gb;
	const struct go_module *m;

	if (gobin__open("/proc/self/exe", &gb)) {
		CHECK(!"cannot open own binary");
		return;
	}
	CHECK(gobin__parse_modinfo(gb, info, sizeof(info) - 1) == 0);
	CHECK(gobin__module_count(gb) == 3);
	m = gobin__module(gb, 0);
	CHECK(m && m->main);
	CHECK_STR(m->path, "example.com/app");
	m = gobin__module(gb, 1);
	CHECK_STR(m->version, "v1.2.3");
	CHECK_STR(m->sum, "h1:abc=");
	CHECK(m->replace_path == NULL);
	m = gobin__module(gb, 2);
	CHECK_STR(m->replace_path, "../local/d");
	CHECK(gobin__module(gb, 3) == NULL);
	/* the test binary is C: not Go */
	CHECK(!gobin__is_go(gb));
	gobin__free(gb);
}

static void test_open_errors(void)
{
	struct gobin *gb;
	char path[] = "/tmp/otrace-test-XXXXXX";
	int fd = mkstemp(path);

	CHECK(gobin__open("/nonexistent/binary", &gb) == -ENOENT);
	CHECK(fd >= 0);
	CHECK(write(fd, "#!/bin/sh\n", 10) == 10);
	close(fd);
	CHECK(gobin__open(path, &gb) == -ENOEXEC);
	truncate(path, 0);
	CHECK(gobin__open(path, &gb) == -ENOEXEC);
	unlink(path);
}

static void test_insn(void)
{
	/* cmp 0x10(%r14),%rsp; jbe +0x8c; push %rbp */
	static const uint8_t go_prologue[] = { 0x49, 0x3b, 0x66, 0x10, 0x0f, 0x86, 0x8a,
					       0x00, 0x00, 0x00, 0x55, 0x48, 0x89, 0xe5 };
	/* lea -0x88(%rsp),%r12; cmp 0x10(%r14),%r12; jbe rel8 */
	static const uint8_t big_frame[] = { 0x4c, 0x8d, 0x64, 0x24, 0x78, 0x4d, 0x3b,
					     0x66, 0x10, 0x76, 0x40, 0x55 };
	/* nosplit: push %rbp; mov %rsp,%rbp */
	static const uint8_t nosplit[] = { 0x55, 0x48, 0x89, 0xe5, 0xc3 };
	static const uint8_t ret[] = { 0xc3 };
	static const uint8_t lea[] = { 0x48, 0x8d, 0x05, 0x00, 0x00, 0x00, 0x00 };
	static const uint8_t call[] = { 0xe8, 0x00, 0x00, 0x00, 0x00 };
	static const uint8_t nop5[] = { 0x0f, 0x1f, 0x44, 0x00, 0x00 };
	struct probe_point pp;

	CHECK(insn__entry_probe(go_prologue, sizeof(go_prologue), 0x1000, &pp) == 0);
	CHECK(pp.vaddr == 0x1004 && pp.emulated);
	CHECK(!strncmp(pp.text, "jbe", 3));
	CHECK(insn__entry_probe(big_frame, sizeof(big_frame), 0x2000, &pp) == 0);
	CHECK(pp.vaddr == 0x2009 && pp.emulated);
	CHECK(insn__entry_probe(nosplit, sizeof(nosplit), 0x3000, &pp) == 0);
	CHECK(pp.vaddr == 0x3000 && pp.emulated && !strncmp(pp.text, "push", 4));
	CHECK(insn__describe(ret, sizeof(ret), 0, &pp) == 0 && !pp.emulated);
	CHECK(insn__describe(lea, sizeof(lea), 0, &pp) == 0 && !pp.emulated);
	CHECK(insn__describe(go_prologue, sizeof(go_prologue), 0, &pp) == 0 && !pp.emulated);
	CHECK(insn__describe(call, sizeof(call), 0, &pp) == 0 && pp.emulated);
	CHECK(insn__describe(nop5, sizeof(nop5), 0, &pp) == 0 && pp.emulated);
	CHECK(insn__describe((const uint8_t *)"\x0f", 1, 0, &pp) == -EINVAL);
}

static void test_exits(void)
{
	/*
	 * 0x00 cmp 0x10(%r14),%rsp; 0x04 jbe 0x14 (inside); 0x06 push %rbp;
	 * 0x07 ret; 0x08 jmp 0x100 (tail call out); 0x0d jmp 0x06 (inside loop);
	 * 0x0f int3 x3 (padding); 0x12 ret; 0x13 invalid byte 0x06 (not decodable in 64-bit)
	 */
	static const uint8_t fn[] = { 0x49, 0x3b, 0x66, 0x10, 0x76, 0x0e, 0x55, 0xc3,
				      0xe9, 0xf3, 0x00, 0x00, 0x00, 0xeb, 0xf7, 0xcc,
				      0xcc, 0xcc, 0xc3, 0x06 };
	struct probe_point out[8];
	int n = insn__exits(fn, sizeof(fn), 0, out, 8);

	CHECK(n == 3);
	CHECK(out[0].vaddr == 0x07 && !out[0].emulated && !strcmp(out[0].text, "ret"));
	CHECK(out[1].vaddr == 0x08 && out[1].emulated && !strncmp(out[1].text, "jmp", 3));
	CHECK(out[2].vaddr == 0x12);
	CHECK(insn__exits(fn, sizeof(fn), 0, out, 1) == 3); /* counts past max */
}

/* Probe points after calls to 0x5000 in hand-assembled functions at 0x1000. */
static void test_after_calls(void)
{
	const uint64_t callee = 0x5000;
	struct probe_point pp[4];

	/* call; nop; test rbx,rbx; je; ret: the nop, emulated */
	static const uint8_t nop_after[] = { 0xe8, 0xfb, 0x3f, 0x00, 0x00, 0x90, 0x48, 0x85,
					     0xdb, 0x74, 0x00, 0xc3 };
	CHECK(insn__after_calls(nop_after, sizeof(nop_after), 0x1000, &callee, 1,
				INSN_RAX | INSN_RBX, pp, 4) == 1);
	CHECK(pp[0].vaddr == 0x1005 && pp[0].emulated);

	/* call; mov rax,[rsp+8]; je; ret: rax is rewritten before the jcc */
	static const uint8_t clobber[] = { 0xe8, 0xfb, 0x3f, 0x00, 0x00, 0x48, 0x8b, 0x44,
					   0x24, 0x08, 0x74, 0x00, 0xc3 };
	CHECK(insn__after_calls(clobber, sizeof(clobber), 0x1000, &callee, 1, INSN_RAX, pp, 4) ==
	      1);
	CHECK(pp[0].vaddr == 0x1005 && !pp[0].emulated); /* right after the call */
	CHECK(insn__after_calls(clobber, sizeof(clobber), 0x1000, &callee, 1, INSN_RBX, pp, 4) ==
	      1);
	CHECK(pp[0].vaddr == 0x100a && pp[0].emulated); /* rbx survives: the jcc */

	/* jmp over the call to its return address: reached another way, skipped */
	static const uint8_t joined[] = { 0xeb, 0x05, 0xe8, 0xf9, 0x3f, 0x00, 0x00, 0x90, 0xc3 };
	CHECK(insn__after_calls(joined, sizeof(joined), 0x1000, &callee, 1, INSN_RAX, pp, 4) == 0);

	/* call rcx; jmp join; call 0x5000; join: test; je — the other call's
	 * results arrive in the same registers, so the join is usable */
	static const uint8_t call_join[] = { 0xff, 0xd1, 0xeb, 0x05, 0xe8, 0xf7, 0x3f, 0x00,
					     0x00, 0x48, 0x85, 0xdb, 0x74, 0x00, 0xc3 };
	CHECK(insn__after_calls(call_join, sizeof(call_join), 0x1000, &callee, 1,
				INSN_RAX | INSN_RBX, pp, 4) == 1);
	CHECK(pp[0].vaddr == 0x100c && pp[0].emulated);

	/* a branch lands on the jcc after the call: probe before it instead */
	static const uint8_t lands[] = { 0xe8, 0xfb, 0x3f, 0x00, 0x00, 0x48, 0x85, 0xdb,
					 0x74, 0x00, 0xc3, 0xeb, 0xfb };
	CHECK(insn__after_calls(lands, sizeof(lands), 0x1000, &callee, 1, INSN_RBX, pp, 4) == 1);
	CHECK(pp[0].vaddr == 0x1005 && !pp[0].emulated);

	/* calls elsewhere are not sites */
	const uint64_t other = 0x6000;
	CHECK(insn__after_calls(nop_after, sizeof(nop_after), 0x1000, &other, 1, INSN_RAX, pp,
				4) == 0);
}

/* The call instructions themselves, in a hand-assembled function at 0x1000. */
static void test_calls(void)
{
	const uint64_t callee = 0x5000, other = 0x6000;
	struct probe_point pp[4];
	/*
	 * 0x1000 call 0x5000; 0x1005 call *%rcx; 0x1007 call 0x6000;
	 * 0x100c int3 (padding); 0x100d invalid byte 0x06; 0x100e call 0x5000; 0x1013 ret
	 */
	static const uint8_t fn[] = { 0xe8, 0xfb, 0x3f, 0x00, 0x00, 0xff, 0xd1, 0xe8, 0xf4, 0x4f,
				      0x00, 0x00, 0xcc, 0x06, 0xe8, 0xed, 0x3f, 0x00, 0x00, 0xc3 };

	CHECK(insn__calls(fn, sizeof(fn), 0x1000, &callee, 1, pp, 4) == 2);
	CHECK(pp[0].vaddr == 0x1000 && pp[0].emulated && !strncmp(pp[0].text, "call", 4));
	CHECK(pp[1].vaddr == 0x100e && pp[1].emulated && !pp[1].stack_check);
	CHECK(insn__calls(fn, sizeof(fn), 0x1000, &other, 1, pp, 4) == 1);
	CHECK(pp[0].vaddr == 0x1007);
	CHECK(insn__calls(fn, sizeof(fn), 0x1000, &callee, 1, pp, 1) == 2); /* counts past max */
	CHECK(insn__calls(fn, sizeof(fn), 0x1000, &callee, 0, pp, 4) == 0);
}

static void test_devendor(void)
{
	CHECK_STR(gobin__devendor("net/http.serverHandler.ServeHTTP"),
		  "net/http.serverHandler.ServeHTTP");
	CHECK_STR(gobin__devendor("app/vendor/google.golang.org/grpc.(*Server).Serve"),
		  "google.golang.org/grpc.(*Server).Serve");
	CHECK_STR(gobin__devendor("vendor/golang.org/x/net/http2/hpack.NewDecoder"),
		  "golang.org/x/net/http2/hpack.NewDecoder");
	CHECK_STR(gobin__devendor("a/vendor/b/vendor/c.F"), "c.F");
	CHECK_STR(gobin__devendor("vendorish/pkg.F"), "vendorish/pkg.F");
}


/* One symbol of the ELF file symtab_elf writes. */
struct test_sym {
	const char *name;
	uint64_t value, size;
	unsigned char type; /* STT_FUNC, STT_OBJECT */
};

/*
 * An x86-64 ELF file (relocatable: no program headers needed) whose only
 * contents are a .symtab of syms, in their order, and its string tables.
 * Returns its size; buf holds it.
 */
static size_t symtab_elf(uint8_t *buf, size_t cap, const struct test_sym *syms, size_t n)
{
	static const char shstr[] = "\0.symtab\0.strtab\0.shstrtab";
	Elf64_Ehdr *eh = (Elf64_Ehdr *)buf;
	Elf64_Shdr sh[4] = {};
	size_t off = sizeof(*eh), strsize = 1, symoff, stroff, shstroff;

	memset(buf, 0, cap);
	symoff = off;
	off += (n + 1) * sizeof(Elf64_Sym); /* entry 0 is the null symbol */
	stroff = off;
	for (size_t i = 0; i < n; i++) {
		Elf64_Sym *sym = (Elf64_Sym *)(buf + symoff) + i + 1;

		sym->st_name = (Elf64_Word)strsize;
		sym->st_info = ELF64_ST_INFO(STB_GLOBAL, syms[i].type);
		sym->st_shndx = SHN_ABS;
		sym->st_value = syms[i].value;
		sym->st_size = syms[i].size;
		memcpy(buf + stroff + strsize, syms[i].name, strlen(syms[i].name) + 1);
		strsize += strlen(syms[i].name) + 1;
	}
	off = stroff + strsize;
	shstroff = off;
	memcpy(buf + shstroff, shstr, sizeof(shstr));
	off = (off + sizeof(shstr) + 7) & ~(size_t)7;
	sh[1] = (Elf64_Shdr){ .sh_name = 1, .sh_type = SHT_SYMTAB, .sh_offset = symoff,
			      .sh_size = (n + 1) * sizeof(Elf64_Sym), .sh_link = 2, .sh_info = 1,
			      .sh_addralign = 8, .sh_entsize = sizeof(Elf64_Sym) };
	sh[2] = (Elf64_Shdr){ .sh_name = 9, .sh_type = SHT_STRTAB, .sh_offset = stroff,
			      .sh_size = strsize, .sh_addralign = 1 };
	sh[3] = (Elf64_Shdr){ .sh_name = 17, .sh_type = SHT_STRTAB, .sh_offset = shstroff,
			      .sh_size = sizeof(shstr), .sh_addralign = 1 };
	memcpy(buf + off, sh, sizeof(sh));
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_type = ET_REL;
	eh->e_machine = EM_X86_64;
	eh->e_version = EV_CURRENT;
	eh->e_ehsize = sizeof(*eh);
	eh->e_shentsize = sizeof(Elf64_Shdr);
	eh->e_shoff = off;
	eh->e_shnum = 4;
	eh->e_shstrndx = 3;
	return off + sizeof(sh);
}

static void check_func(const struct go_func *f, uint64_t vaddr, uint64_t size)
{
	CHECK(f->vaddr == vaddr && f->size == size);
	if (f->vaddr != vaddr || f->size != size)
		fprintf(stderr, "  %s: got %#llx (%llu bytes), want %#llx (%llu)\n", f->name,
			(unsigned long long)f->vaddr, (unsigned long long)f->size,
			(unsigned long long)vaddr, (unsigned long long)size);
}

/*
 * Functions by name from .symtab: an exact name wins over a vendored copy
 * wherever it lies, the first of a name wins, a vendored copy stands in for
 * a missing name, data symbols are no functions; the same answers on every
 * lookup (the index is built on the first).
 */
static void test_find_funcs(void)
{
	static const struct test_sym syms[] = {
		{ "app/vendor/net/http.serverHandler.ServeHTTP", 0x3000, 0x30, STT_FUNC },
		{ "net/http.serverHandler.ServeHTTP", 0x1000, 0x10, STT_FUNC },
		{ "net/http.serverHandler.ServeHTTP", 0x2000, 0x20, STT_FUNC },
		{ "a/vendor/google.golang.org/grpc.(*Server).Serve", 0x4000, 0x40, STT_FUNC },
		{ "b/vendor/google.golang.org/grpc.(*Server).Serve", 0x5000, 0x50, STT_FUNC },
		{ "main.table", 0x6000, 0x60, STT_OBJECT },
		{ "runtime.main", 0x7000, 0x70, STT_FUNC },
	};
	static uint8_t buf[4096];
	size_t len = symtab_elf(buf, sizeof(buf), syms, sizeof(syms) / sizeof(syms[0]));
	struct gobin *gb;

	CHECK(gobin__open_mem(buf, len, &gb) == 0);
	if (!gb)
		return;
	/* no build info, no .gopclntab: runtime.main in .symtab says Go */
	CHECK(gobin__is_go(gb) && gobin__has_symtab(gb));
	for (int round = 0; round < 2; round++) {
		struct go_func w[] = {
			{ .name = "net/http.serverHandler.ServeHTTP" },
			{ .name = "google.golang.org/grpc.(*Server).Serve" },
			{ .name = "main.table" },
			{ .name = "main.missing", .vaddr = 0x99, .size = 9 },
			{ .name = "runtime.main" },
		};

		CHECK(gobin__find_funcs(gb, w, 5) == 3);
		check_func(&w[0], 0x1000, 0x10);
		check_func(&w[1], 0x4000, 0x40);
		check_func(&w[2], 0, 0);
		check_func(&w[3], 0, 0);
		check_func(&w[4], 0x7000, 0x70);
	}
	CHECK(gobin__find_funcs(gb, NULL, 0) == 0);
	gobin__free(gb);
}

int main(void)
{
	test_versions();
	test_modinfo();
	test_open_errors();
	test_insn();
	test_exits();
	test_after_calls();
	test_calls();
	test_devendor();
	test_find_funcs();
	return ut_summary();
}
