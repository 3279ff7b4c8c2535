/* SPDX-License-Identifier: MIT */
/*
 * Eight bytes at a time: tests on a 64-bit word that say whether any of its
 * bytes is of a kind, so that text scanned for rare bytes (control bytes,
 * JSON's quote and backslash, the start of a UTF-8 sequence) moves a word per
 * step and looks at single bytes only around a hit. Each test is exact for
 * the word as a whole; none says which byte it was.
 */
#ifndef OTRACE_WORD_SCAN_H
#define OTRACE_WORD_SCAN_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define WORD_BYTES(c) (0x0101010101010101ULL * (uint64_t)(uint8_t)(c))

/* The word at s (any alignment). */
static inline uint64_t word_at(const char *s)
{
	uint64_t w;

	memcpy(&w, s, sizeof(w));
	return w;
}

/*
 * True when a byte of w is below n (n <= 128): (w - n * 0x01..) & ~w & 0x80..
 * is nonzero iff one is, whatever the other bytes hold.
 */
static inline bool word_has_below(uint64_t w, uint8_t n)
{
	return ((w - WORD_BYTES(n)) & ~w & WORD_BYTES(0x80)) != 0;
}

/* True when a byte of w is c. */
static inline bool word_has(uint64_t w, uint8_t c)
{
	return word_has_below(w ^ WORD_BYTES(c), 1);
}

/* True when a byte of w is 0x80 or above. */
static inline bool word_has_high(uint64_t w)
{
	return (w & WORD_BYTES(0x80)) != 0;
}

#endif
