/* SPDX-License-Identifier: MIT */
/*
 * chi's route from the patterns each routing level matched, as chi's own
 * (*Context).RoutePattern builds it (v5.0.11 on): the patterns joined, every
 * slash-star-slash replaced by one slash until none is left (a mount's
 * wildcard gives way to what the mounted router matched), then, unless the
 * route is "/", a trailing "//" and a trailing "/" trimmed.
 *
 * Built one pattern at a time, in BPF while chi still holds them (its
 * Context goes back to a pool before the request's span ends), and in the
 * unit test against that definition. Every chi pattern begins with '/' (chi
 * panics on any other) and holds its wildcard '*' only at its end, so a
 * slash-star-slash only ever forms where a pattern ending in slash-star
 * meets the next one.
 */
#ifndef OTRACE_CHI_ROUTE_H
#define OTRACE_CHI_ROUTE_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

/* a route being built is at most twice this: a pattern goes in at an offset below it */
#define CHI_ROUTE_CAP 128
#define CHI_ROUTE_MASK (2 * CHI_ROUTE_CAP - 1)

#ifndef barrier_var
#define barrier_var(var) ((void)0) /* user space: only BPF's verifier needs the mask kept */
#endif

/* The route's byte i: masked, which the verifier needs and the compiler must not drop. */
static __always_inline char chi_route__byte(const char *route, __u32 i)
{
	barrier_var(i);
	return route[i & CHI_ROUTE_MASK];
}

/*
 * Where the next pattern, beginning with first, goes in the route of len
 * bytes (len <= CHI_ROUTE_CAP): over the route's trailing slash-star when it
 * begins with '/', else at its end.
 */
static __always_inline __u32 chi_route__join_at(const char *route, __u32 len, char first)
{
	if (first == '/' && len >= 2 && chi_route__byte(route, len - 2) == '/' &&
	    chi_route__byte(route, len - 1) == '*')
		return len - 2;
	return len;
}

/* The route's length after chi's last step: "/" stays, else "//" then "/" go from its end. */
static __always_inline __u32 chi_route__trim(const char *route, __u32 len)
{
	if (len == 1 && route[0] == '/')
		return len;
	if (len >= 2 && chi_route__byte(route, len - 2) == '/' &&
	    chi_route__byte(route, len - 1) == '/')
		len -= 2;
	if (len >= 1 && chi_route__byte(route, len - 1) == '/')
		len -= 1;
	return len;
}

#endif
