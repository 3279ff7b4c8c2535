/* SPDX-License-Identifier: MIT */
/* Percent-decoding (RFC 3986 %XX), shared by the option lists and URL paths. */
#ifndef OTRACE_PERCENT_H
#define OTRACE_PERCENT_H

#include <stddef.h>
#include <sys/types.h>

/*
 * Decodes s[0..len) into out (room for len bytes: decoding never grows).
 * '+' stays '+', as in a URL's path. Returns the decoded length, or -1 when
 * a '%' is not followed by two hex digits.
 */
ssize_t percent__decode(const char *s, size_t len, char *out);

/*
 * The length of s[0..len) without a percent-escape cut short at its end
 * ("/a%2" -> 2 bytes less): what a capture that stopped mid-escape can
 * decode.
 */
size_t percent__whole_escapes(const char *s, size_t len);

#endif
