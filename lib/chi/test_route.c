// SPDX-License-Identifier: MIT
/*
 * chi's route, built a pattern at a time as the BPF probe does (route.h),
 * against chi's own definition of (*Context).RoutePattern: the cases of
 * chi's TestRoutePattern and TestReplaceWildcardsConsecutive, then random
 * patterns of the shapes chi accepts (each begins with '/', its wildcard
 * '*' only at its end).
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "chi/route.h"
#include "unittest.h"

#define MAX_PATTERNS 8

/* chi: strings.Join, replaceWildcards (ReplaceAll of slash-star-slash until none), trims. */
static size_t reference(const char *const *patterns, size_t n, char *out)
{
	char joined[2048], *hit;
	size_t len = 0;

	joined[0] = 0;
	for (size_t i = 0; i < n; i++)
		strcat(joined, patterns[i]);
	while ((hit = strstr(joined, "/*/"))) {
		/* one ReplaceAll pass: every non-overlapping match, left to right */
		char next[2048];
		const char *from = joined;

		next[0] = 0;
		while ((hit = strstr(from, "/*/"))) {
			strncat(next, from, (size_t)(hit - from));
			strcat(next, "/");
			from = hit + 3;
		}
		strcat(next, from);
		strcpy(joined, next);
	}
	len = strlen(joined);
	if (strcmp(joined, "/")) {
		if (len >= 2 && !strcmp(joined + len - 2, "//"))
			len -= 2;
		if (len >= 1 && joined[len - 1] == '/')
			len -= 1;
	}
	memcpy(out, joined, len);
	out[len] = 0;
	return len;
}

/* The probe's way; 0 with *too_long when the route does not fit. */
static size_t built(const char *const *patterns, size_t n, char *out, bool *too_long)
{
	char buf[2 * CHI_ROUTE_CAP];
	__u32 len = 0;

	*too_long = false;
	for (size_t i = 0; i < n; i++) {
		size_t plen = strlen(patterns[i]);
		__u32 at;

		if (!plen)
			continue;
		at = chi_route__join_at(buf, len, patterns[i][0]);
		if (plen > CHI_ROUTE_CAP - at) {
			*too_long = true;
			return 0;
		}
		memcpy(buf + at, patterns[i], plen);
		len = at + (__u32)plen;
	}
	len = chi_route__trim(buf, len);
	memcpy(out, buf, len);
	out[len] = 0;
	return len;
}

static void check_case(const char *want, size_t n, const char *const *patterns)
{
	char ref[2048], got[2 * CHI_ROUTE_CAP + 1];
	bool too_long;

	reference(patterns, n, ref);
	built(patterns, n, got, &too_long);
	CHECK_STR(ref, want);
	CHECK_STR(got, want);
}

#define CASE(want, ...)                                                                    \
	check_case(want, sizeof((const char *[]){ __VA_ARGS__ }) / sizeof(const char *),   \
		   (const char *[]){ __VA_ARGS__ })

static void test_chi_cases(void)
{
	/* chi's TestRoutePattern */
	CASE("/v1/resources/{resource_id}", "/v1/*", "/resources/*", "/{resource_id}");
	CASE("/v1/resources/{resource_id}", "/v1/*", "/resources/*", "/*", "/{resource_id}");
	CASE("/v1/resources/{resource_id}/*", "/v1/*", "/resources/*", "/*", "/*", "/*",
	     "/{resource_id}/*");
	CASE("/v1/resources/*special_path/with_asterisks*/{resource_id}", "/v1/*", "/resources/*",
	     "/*special_path/*", "/with_asterisks*/*", "/{resource_id}");
	CASE("/", "/");
	/* TestReplaceWildcardsConsecutive, as patterns */
	CASE("/foo/bar", "/foo/*", "/*", "/*", "/bar");
	CASE("/foo/bar/*", "/foo/*", "/*", "/*", "/bar/*");
	/* the fixture's: Route("/api") mounting "/v1", a sub-router's root, trailing slashes */
	CASE("/api/v1/items/{item}", "/api/*", "/v1/*", "/items/{item}");
	CASE("/api", "/api/*", "/");
	CASE("/api/x", "/api/*", "/x/");
	CASE("/files/*", "/files/*");
	CASE("", "//");
}

/* A pattern chi accepts: '/' first, segments of a..c and {p}, maybe a slash or slash-star last. */
static void random_pattern(char *out, unsigned *seed)
{
	size_t len = 0;
	int segs = rand_r(seed) % 4;

	out[len++] = '/';
	for (int i = 0; i < segs; i++) {
		if (i)
			out[len++] = '/';
		if (rand_r(seed) % 3 == 0) {
			memcpy(out + len, "{p}", 3);
			len += 3;
		} else {
			for (int c = 1 + rand_r(seed) % 3; c > 0; c--)
				out[len++] = (char)('a' + rand_r(seed) % 3);
		}
	}
	switch (rand_r(seed) % 4) {
	case 0:
		if (out[len - 1] != '/')
			out[len++] = '/';
		out[len++] = '*';
		break;
	case 1:
		if (out[len - 1] != '/')
			out[len++] = '/';
		break;
	}
	out[len] = 0;
}

static void test_chi_random(void)
{
	char store[MAX_PATTERNS][32], ref[2048], got[2 * CHI_ROUTE_CAP + 1];
	const char *patterns[MAX_PATTERNS];
	unsigned seed = 14;
	int differ = 0;

	for (int round = 0; round < 200000; round++) {
		size_t n = 1 + (size_t)(rand_r(&seed) % MAX_PATTERNS);
		bool too_long;

		for (size_t i = 0; i < n; i++) {
			random_pattern(store[i], &seed);
			patterns[i] = store[i];
		}
		reference(patterns, n, ref);
		built(patterns, n, got, &too_long);
		if (too_long ? strlen(ref) <= CHI_ROUTE_CAP - 8 : strcmp(ref, got) != 0) {
			if (differ++ < 5)
				fprintf(stderr, "chi route of %zu patterns, first %s: %s, built %s\n",
					n, patterns[0], ref, too_long ? "(too long)" : got);
		}
	}
	CHECK(differ == 0);
}

int main(void)
{
	test_chi_cases();
	test_chi_random();
	return ut_summary();
}
