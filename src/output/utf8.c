// SPDX-License-Identifier: MIT
#include <stdint.h>
#include <string.h>

#include "utf8.h"

/*
 * Length of the sequence a lead byte starts, and the valid range of the byte
 * after it (which is where overlongs, surrogates and > U+10FFFF are excluded).
 */
static int lead_info(uint8_t c, uint8_t *lo, uint8_t *hi)
{
	*lo = 0x80;
	*hi = 0xbf;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return 2;
	if (c >= 0xe0 && c <= 0xef) {
		if (c == 0xe0)
			*lo = 0xa0;
		else if (c == 0xed)
			*hi = 0x9f;
		return 3;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		if (c == 0xf0)
			*lo = 0x90;
		else if (c == 0xf4)
			*hi = 0x8f;
		return 4;
	}
	return 0;
}

/* Returns the length of the valid sequence at s, or -(bytes of the invalid subpart). */
static int decode_one(const uint8_t *s, size_t avail)
{
	uint8_t lo, hi;
	int n = lead_info(s[0], &lo, &hi);
	int i;

	if (n == 0)
		return -1;
	for (i = 1; i < n; i++) {
		if ((size_t)i >= avail)
			return -i;
		if (s[i] < lo || s[i] > hi)
			return -i;
		lo = 0x80;
		hi = 0xbf;
	}
	return n;
}

int utf8__seq_len(const char *s, size_t avail)
{
	const uint8_t *p = (const uint8_t *)s;
	int n;

	if (p[0] < 0x80)
		return 1;
	n = decode_one(p, avail);
	return n > 0 ? n : 0;
}

bool utf8__valid(const char *s, size_t len)
{
	const uint8_t *p = (const uint8_t *)s;
	size_t i = 0;

	while (i < len) {
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		int n = decode_one(p + i, len - i);
		if (n < 0)
			return false;
		i += n;
	}
	return true;
}

size_t utf8__repair(const char *s, size_t len, bool truncated, char *out)
{
	const uint8_t *p = (const uint8_t *)s;
	size_t i = 0, o = 0;

	while (i < len) {
		int n = p[i] < 0x80 ? 1 : decode_one(p + i, len - i);

		if (n > 0) {
			memcpy(out + o, p + i, n);
			o += n;
			i += n;
			continue;
		}
		/* a cut-off sequence at the end of a truncated copy is ours, not the data's */
		if (truncated && i + (size_t)-n == len && lead_info(p[i], &(uint8_t){ 0 },
								    &(uint8_t){ 0 }))
			break;
		memcpy(out + o, "\xef\xbf\xbd", 3);
		o += 3;
		i += (size_t)-n;
	}
	return o;
}
