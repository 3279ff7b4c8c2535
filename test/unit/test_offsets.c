// SPDX-License-Identifier: MIT
/*
 * The generated offset tables as otrace looks them up for a binary without
 * DWARF: standard types by Go release, module types by the module version the
 * build info names. The expected offsets are what DWARF says in the services
 * fixture built against those releases (otrace --list-probes).
 */
#include <elf.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "gobin.h"
#include "offsets.h"
#include "unittest.h"

#define GRPC "google.golang.org/grpc"
#define RPC_MODULE "google.golang.org/genproto/googleapis/rpc"
#define RPC_V185 "v0.0.0-20260817212433-ac3dfec99bb1" /* what grpc v1.85.0 built with */
#define SPB_STATUS RPC_MODULE "/status.Status"

enum {
	F_METHOD,    /* transport.Stream.method: 64 in v1.14.0, 16 in v1.85.0 */
	F_AUTHORITY, /* ClientConn.authority: 88 in v1.14.0, 184 in v1.85.0 */
	F_CODE,	     /* spb.Status.Code: 40 */
	F_ERRSTR,    /* errors.errorString.s: 0, a standard type */
	F_REQ_URL,   /* net/http.Request.URL: 16, a standard type */
	F_MAX,
};

static void reset(struct field_req *f)
{
	static const struct field_req want[F_MAX] = {
		[F_METHOD] = { GRPC "/internal/transport.Stream", "method" },
		[F_AUTHORITY] = { GRPC ".ClientConn", "authority" },
		[F_CODE] = { SPB_STATUS, "Code" },
		[F_ERRSTR] = { "errors.errorString", "s" },
		[F_REQ_URL] = { "net/http.Request", "URL" },
	};

	memcpy(f, want, sizeof(want));
	field_reqs__reset(f, F_MAX);
}

/*
 * A Go binary as far as otrace's build info reader goes: an ELF whose one
 * writable PT_LOAD holds Go >= 1.18's inline build info; no sections, so no
 * DWARF. The gobin borrows the image until freed.
 */
static uint8_t image[4096];

static size_t put_uvarint(uint8_t *p, size_t v)
{
	size_t n = 0;

	for (; v >= 0x80; v >>= 7)
		p[n++] = (uint8_t)(v | 0x80);
	p[n++] = (uint8_t)v;
	return n;
}

/* deps: modinfo's dep and => lines, each ending in a newline. */
static struct gobin *go_binary(const char *go_version, const char *deps)
{
	char modinfo[1024];
	Elf64_Ehdr eh = { .e_type = ET_EXEC,
			  .e_machine = EM_X86_64,
			  .e_version = EV_CURRENT,
			  .e_phoff = sizeof(Elf64_Ehdr),
			  .e_ehsize = sizeof(Elf64_Ehdr),
			  .e_phentsize = sizeof(Elf64_Phdr),
			  .e_phnum = 1 };
	Elf64_Phdr ph = { .p_type = PT_LOAD,
			  .p_flags = PF_R | PF_W,
			  .p_vaddr = 0x400000,
			  .p_filesz = sizeof(image),
			  .p_memsz = sizeof(image) };
	uint8_t *p = image + 128; /* build info is 16-byte aligned */
	struct gobin *gb;
	int n;

	n = snprintf(modinfo, sizeof(modinfo),
		     "0123456789abcdefpath\texample.com/app\nmod\texample.com/app\t(devel)\t\n%s"
		     "fedcba9876543210",
		     deps);
	if (n < 0 || (size_t)n >= sizeof(modinfo))
		return NULL;
	memset(image, 0, sizeof(image));
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	memcpy(image, &eh, sizeof(eh));
	memcpy(image + sizeof(eh), &ph, sizeof(ph));
	memcpy(p, "\xff Go buildinf:", 14);
	p[14] = 8; /* pointer size */
	p[15] = 2; /* strings inline */
	p += 32;
	p += put_uvarint(p, strlen(go_version));
	memcpy(p, go_version, strlen(go_version));
	p += strlen(go_version);
	p += put_uvarint(p, (size_t)n);
	memcpy(p, modinfo, (size_t)n);
	if (gobin__open_mem(image, sizeof(image), &gb))
		return NULL;
	return gb;
}

#define DEP(path, version) "dep\t" path "\t" version "\th1:x=\n"
#define GRPC_V185 DEP(GRPC, "v1.85.0") DEP(RPC_MODULE, RPC_V185)

/* Runs the module lookup alone on a binary; returns how many it filled. */
static int modules_only(const char *go_version, const char *deps, struct field_req *f)
{
	struct gobin *gb = go_binary(go_version, deps);
	int n;

	reset(f);
	if (!gb) {
		CHECK(!"cannot make the test binary");
		return -1;
	}
	CHECK_STR(gobin__go_version(gb), go_version);
	n = offsets_table__resolve_modules(gb, f, F_MAX);
	gobin__free(gb);
	return n;
}

static void test_exact_version(void)
{
	struct field_req f[F_MAX];

	CHECK(modules_only("go1.26.8", GRPC_V185, f) == 3);
	CHECK(f[F_METHOD].offset == 16);
	CHECK_STR(f[F_METHOD].source, "table");
	CHECK(f[F_AUTHORITY].offset == 184);
	/* genproto's status lies in its own module, keyed by that one's version */
	CHECK(f[F_CODE].offset == 40);
	/* standard types are not the module table's */
	CHECK(!f[F_ERRSTR].source && f[F_ERRSTR].offset == -1);
	CHECK(!f[F_REQ_URL].source);

	/* the oldest release supported; experiments after the release still match */
	CHECK(modules_only("go1.21.13 X:loopvar", DEP(GRPC, "v1.14.0"), f) == 2);
	CHECK(f[F_METHOD].offset == 64);
	CHECK(f[F_AUTHORITY].offset == 88);
	CHECK(!f[F_CODE].source); /* no genproto module listed */
}

static void test_no_match(void)
{
	struct field_req f[F_MAX];

	/* a release missing from the table, and versions a prefix compare would take */
	CHECK(modules_only("go1.26.8", DEP(GRPC, "v1.85.99"), f) == 0);
	CHECK(!f[F_METHOD].source && f[F_METHOD].offset == -1);
	CHECK(modules_only("go1.26.8", DEP(GRPC, "v1.85"), f) == 0);
	CHECK(modules_only("go1.26.8", DEP(GRPC, "v1.85.0-pre"), f) == 0);
	/* Go release lines the rows were not read with, and a development toolchain */
	CHECK(modules_only("go1.27.0", GRPC_V185, f) == 0);
	CHECK(modules_only("go1.20.14", DEP(GRPC, "v1.14.0"), f) == 0);
	CHECK(modules_only("go1.26-devel_abc123 X:greenteagc", GRPC_V185, f) == -ENOENT);
	CHECK(!f[F_METHOD].source);
	/* the longest module path holds the package: a nested module of its own */
	CHECK(modules_only("go1.26.8",
			   DEP(GRPC "/internal/transport", "v1.85.0") GRPC_V185, f) == 2);
	CHECK(!f[F_METHOD].source && f[F_AUTHORITY].offset == 184);
	/* but only a whole path element: transport is not in a module ".../trans" */
	CHECK(modules_only("go1.26.8", DEP(GRPC "/internal/trans", "v1.85.0") GRPC_V185, f) == 3);
	CHECK(f[F_METHOD].offset == 16);
	/* and genproto's old all-in-one module does not take its split-off one's rows */
	CHECK(modules_only("go1.26.8", DEP("google.golang.org/genproto", RPC_V185), f) == 0);
	/* the main module is the program's own tree, whatever version it is stamped with */
	CHECK(modules_only("go1.26.8", "mod\t" GRPC "\tv1.85.0\t\n", f) == 0);
	/* no build info modules at all */
	CHECK(modules_only("go1.26.8", "", f) == 0);
}

static void test_replaced(void)
{
	struct field_req f[F_MAX];

	/* replaced by another release of grpc: that release's rows */
	CHECK(modules_only("go1.26.8",
			   DEP(GRPC, "v1.85.0") "=>\t" GRPC "\tv1.14.0\th1:y=\n", f) == 2);
	CHECK(f[F_METHOD].offset == 64);
	CHECK(f[F_AUTHORITY].offset == 88);
	/* replaced by a fork: other code, whatever its version says */
	CHECK(modules_only("go1.26.8",
			   DEP(GRPC, "v1.85.0") "=>\tgithub.com/fork/grpc-go\tv1.85.0\th1:y=\n",
			   f) == 0);
	/* replaced by a directory: no version at all */
	CHECK(modules_only("go1.26.8", DEP(GRPC, "v1.85.0") "=>\t../grpc-go\t\t\n", f) == 0);
	CHECK(!f[F_METHOD].source);
}

static void test_std_rows(void)
{
	struct field_req f[F_MAX];
	struct gobin *gb;

	/* Go-keyed rows: standard types only, whatever modules the binary has */
	reset(f);
	CHECK(offsets_table__resolve("go1.26.8", f, F_MAX) == 2);
	CHECK(f[F_ERRSTR].offset == 0 && f[F_REQ_URL].offset == 16);
	CHECK_STR(f[F_REQ_URL].source, "table");
	CHECK(!f[F_METHOD].source && !f[F_CODE].source);
	reset(f);
	CHECK(offsets_table__resolve("go1.26.9", f, F_MAX) == 0);

	/* both tables through offsets__resolve, DWARF being absent */
	gb = go_binary("go1.26.8", GRPC_V185);
	if (!gb) {
		CHECK(!"cannot make the test binary");
		return;
	}
	reset(f);
	CHECK(offsets__resolve(gb, f, F_MAX) == 0);
	CHECK(f[F_METHOD].offset == 16 && f[F_ERRSTR].offset == 0 && f[F_REQ_URL].offset == 16);
	for (int i = 0; i < F_MAX; i++)
		CHECK_STR(f[i].source, "table");
	gobin__free(gb);
}

int main(void)
{
	test_exact_version();
	test_no_match();
	test_replaced();
	test_std_rows();
	return ut_summary();
}
