/* SPDX-License-Identifier: MIT */
/* A minimal test harness: CHECK records a failure and goes on. */
#ifndef OTRACE_UNITTEST_H
#define OTRACE_UNITTEST_H

#include <stdio.h>
#include <string.h>

static int ut_passed, ut_failed;

#define CHECK(cond)                                                                        \
	do {                                                                               \
		if (cond) {                                                                \
			ut_passed++;                                                       \
		} else {                                                                   \
			ut_failed++;                                                       \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
		}                                                                          \
	} while (0)

#define CHECK_STR(a, b)                                                                    \
	do {                                                                               \
		const char *ut_a = (a), *ut_b = (b);                                       \
		if (ut_a && ut_b && !strcmp(ut_a, ut_b)) {                                 \
			ut_passed++;                                                       \
		} else {                                                                   \
			ut_failed++;                                                       \
			fprintf(stderr, "%s:%d: \"%s\" != \"%s\"\n", __FILE__, __LINE__,   \
				ut_a ? ut_a : "(null)", ut_b ? ut_b : "(null)");           \
		}                                                                          \
	} while (0)

static inline int ut_summary(void)
{
	printf("%d passed, %d failed\n", ut_passed, ut_failed);
	return ut_failed ? 1 : 0;
}

#endif
