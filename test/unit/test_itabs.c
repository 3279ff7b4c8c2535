// SPDX-License-Identifier: MIT
/* The itab a probe checks an interface's dynamic type against, by its symbol. */
#include "itabs.h"
#include "unittest.h"

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
	test_symbol_is();
	return ut_summary();
}
