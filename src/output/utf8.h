/* SPDX-License-Identifier: MIT */
/* UTF-8 validation and repair: OTLP/JSON strings must be valid UTF-8. */
#ifndef OTRACE_UTF8_H
#define OTRACE_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Length of the well-formed sequence starting at s (1..4), or 0 when s starts
 * an ill-formed one. s must hold at least one byte.
 */
int utf8__seq_len(const char *s, size_t avail);

/* True when s[0..len) is well-formed UTF-8 (no overlongs, surrogates, > U+10FFFF). */
bool utf8__valid(const char *s, size_t len);

/*
 * Writes s with every maximal ill-formed subsequence replaced by U+FFFD into
 * out (capacity must be >= 3 * len). When truncated, an incomplete sequence at
 * the very end was cut by otrace and is dropped instead. Returns the length.
 */
size_t utf8__repair(const char *s, size_t len, bool truncated, char *out);

#endif
