// SPDX-License-Identifier: MIT
#include <stdlib.h>

#include "utf8.h"
#include "unittest.h"

static int repaired_equals(const char *in, size_t len, bool truncated, const char *want)
{
	char out[256];
	size_t n = utf8__repair(in, len, truncated, out);

	return n == strlen(want) && !memcmp(out, want, n);
}

#define FFFD "\xef\xbf\xbd"

int main(void)
{
	/* valid input */
	CHECK(utf8__valid("", 0));
	CHECK(utf8__valid("plain ascii", 11));
	CHECK(utf8__valid("gr\xc3\xbc\xc3\x9f", 6));		/* grüß */
	CHECK(utf8__valid("\xe2\x82\xac", 3));			/* € */
	CHECK(utf8__valid("\xf0\x9f\x98\x80", 4));		/* emoji */
	CHECK(utf8__valid("\xf4\x8f\xbf\xbf", 4));		/* U+10FFFF */
	CHECK(utf8__valid("a\0b", 3));				/* NUL is valid UTF-8 */
	/* invalid input */
	CHECK(!utf8__valid("\xff", 1));
	CHECK(!utf8__valid("\xc0\xaf", 2));			/* overlong '/' */
	CHECK(!utf8__valid("\xe0\x80\xaf", 3));			/* overlong */
	CHECK(!utf8__valid("\xed\xa0\x80", 3));			/* surrogate */
	CHECK(!utf8__valid("\xf4\x90\x80\x80", 4));		/* > U+10FFFF */
	CHECK(!utf8__valid("\xe2\x82", 2));			/* cut sequence */
	CHECK(!utf8__valid("\x80", 1));				/* lone continuation */
	/* repair: one U+FFFD per maximal ill-formed subpart */
	CHECK(repaired_equals("a\xff\xfe" "b", 4, false, "a" FFFD FFFD "b"));
	CHECK(repaired_equals("\xe2\x82" "x", 3, false, FFFD "x"));
	CHECK(repaired_equals("\xf0\x9f\x98", 3, false, FFFD));
	CHECK(repaired_equals("\xed\xa0\x80", 3, false, FFFD FFFD FFFD));
	CHECK(repaired_equals("ok", 2, false, "ok"));
	/* a sequence cut by otrace's capture limit is dropped, not replaced */
	CHECK(repaired_equals("ab\xe2\x82", 4, true, "ab"));
	CHECK(repaired_equals("ab\xff", 3, true, "ab" FFFD));
	/* the worst case fits in 3 * len */
	{
		char in[64], out[192];

		memset(in, 0xff, sizeof(in));
		CHECK(utf8__repair(in, sizeof(in), false, out) == 3 * sizeof(in));
	}
	return ut_summary();
}
