// SPDX-License-Identifier: MIT
/* Itab symbols: their dynamic types (itab_names), and the itab a probe checks an interface against (itabs__symbol_is). */
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

static void test_symbol_is(void)
{
	const char *t = "*net/http.response", *i = "net/http.ResponseWriter";

	CHECK(itabs__symbol_is("go:itab.*net/http.response,net/http.ResponseWriter", t, i));
	CHECK(itabs__symbol_is("go.itab.*net/http.response,net/http.ResponseWriter", t, i));
	/* another type, another interface, a value type for a pointer one */
	CHECK(!itabs__symbol_is("go:itab.*net/http.http2responseWriter,net/http.ResponseWriter",
				t, i));
	CHECK(!itabs__symbol_is("go:itab.*net/http.response,net/http.Flusher", t, i));
	CHECK(!itabs__symbol_is("go:itab.net/http.response,net/http.ResponseWriter", t, i));
	/* a prefix is not the type */
	CHECK(!itabs__symbol_is("go:itab.*net/http.responseX,net/http.ResponseWriter", t, i));
	CHECK(!itabs__symbol_is("net/http.(*response).Header", t, i));
	CHECK(!itabs__symbol_is("go:itab.", t, i));
	/* a vendored copy of x/net matches without its prefix, the pointer kept */
	CHECK(itabs__symbol_is("go:itab.*app/vendor/golang.org/x/net/http2.responseWriter,"
			       "net/http.ResponseWriter",
			       "*golang.org/x/net/http2.responseWriter", i));
	CHECK(!itabs__symbol_is("go:itab.app/vendor/golang.org/x/net/http2.responseWriter,"
				"net/http.ResponseWriter",
				"*golang.org/x/net/http2.responseWriter", i));
	/* type arguments hold commas: the interface follows the last one */
	CHECK(itabs__symbol_is("go:itab.*example.com/m.T[int,string],error",
			       "*example.com/m.T[int,string]", "error"));
}

int main(void)
{
	test_symbols();
	test_symbol_is();
	return ut_summary();
}
