// SPDX-License-Identifier: MIT
/*
 * plan__window: the bytes of a struct a probe copies in one read hold every
 * field it reads, start at the first, and there is no window when none is
 * read or they lie farther apart than the probe's copy can hold.
 */
#include <stdint.h>

#include "plan_internal.h"
#include "unittest.h"

static void test_spans_fields(void)
{
	/* http.Response's StatusCode, ProtoMajor, ProtoMinor (Go 1.22) */
	const struct plan_window_field f[] = { { 16, 8 }, { 32, 8 }, { 40, 8 } };
	struct ot_window w = plan__window(f, 3, 64);

	CHECK(w.lo == 16 && w.len == 32);
	/* in any order, a 16-byte field last */
	const struct plan_window_field g[] = { { 40, 16 }, { 0, 8 }, { 24, 8 } };
	w = plan__window(g, 3, 64);
	CHECK(w.lo == 0 && w.len == 56);
}

static void test_absent_fields(void)
{
	const struct plan_window_field f[] = { { -1, 16 }, { 48, 16 }, { -1, 8 } };
	struct ot_window w = plan__window(f, 3, 64);

	CHECK(w.lo == 48 && w.len == 16);
	const struct plan_window_field none[] = { { -1, 16 }, { -1, 8 } };
	w = plan__window(none, 2, 64);
	CHECK(w.len == 0);
	w = plan__window(none, 0, 64);
	CHECK(w.len == 0);
}

static void test_cap(void)
{
	const struct plan_window_field fit[] = { { 8, 8 }, { 56, 16 } };
	const struct plan_window_field apart[] = { { 8, 8 }, { 57, 16 } };

	CHECK(plan__window(fit, 2, 64).len == 64);
	CHECK(plan__window(apart, 2, 64).len == 0);
}

int main(void)
{
	test_spans_fields();
	test_absent_fields();
	test_cap();
	return ut_summary();
}
