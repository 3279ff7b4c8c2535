// SPDX-License-Identifier: MIT
/* Itab symbols to dynamic type names (itabs.h). */
#include <stdint.h>
#include <string.h>

#include "itabs.h"
#include "unittest.h"

static void check_type(const struct itab_names *t, uint64_t vaddr, const char *want)
{
	size_t len = 0;
	const char *got = itab_names__type(t, vaddr, &len);

	CHECK(got && len == strlen(want) && !memcmp(got, want, len));
	if (!got || len != strlen(want) || memcmp(got, want, len))
		fprintf(stderr, "  itab %#llx: got %.*s, want %s\n", (unsigned long long)vaddr,
			got ? (int)len : 6, got ? got : "(none)", want);
}

static void test_symbols(void)
{
	static const uint64_t addrs[] = { 0x30, 0x10, 0x20, 0x40, 0x50 };
	static const char *const names[] = {
		"go:itab.*github.com/jackc/pgx/v5/pgconn.PgError,error",
		"go.itab.*errors.errorString,error", /* before Go 1.20 */
		/* type arguments on both sides: the interface follows the last top-level comma */
		"go:itab.*google.golang.org/grpc.GenericServerStream[a.Req,a.Resp],"
		"google.golang.org/grpc.BidiStreamingServer[a.Req,a.Resp]",
		"runtime.firstmoduledata",
		"go:itab.nocomma",
	};
	struct itab_names *t;
	size_t len;

	CHECK(itab_names__from_symbols(addrs, names, 5, &t) == 0);
	CHECK(itab_names__count(t) == 3);
	check_type(t, 0x30, "*github.com/jackc/pgx/v5/pgconn.PgError");
	check_type(t, 0x10, "*errors.errorString");
	check_type(t, 0x20, "*google.golang.org/grpc.GenericServerStream[a.Req,a.Resp]");

	CHECK(!itab_names__type(t, 0x40, &len) && !itab_names__type(t, 0x50, &len));
	CHECK(!itab_names__type(NULL, 0x10, &len));
	itab_names__free(t);
}

int main(void)
{
	test_symbols();
	return ut_summary();
}
