// SPDX-License-Identifier: MIT
#include "percent.h"

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

ssize_t percent__decode(const char *s, size_t len, char *out)
{
	char *o = out;

	for (size_t i = 0; i < len; i++) {
		int hi, lo;

		if (s[i] != '%') {
			*o++ = s[i];
			continue;
		}
		hi = i + 2 < len ? hex_value(s[i + 1]) : -1;
		lo = hi >= 0 ? hex_value(s[i + 2]) : -1;
		if (lo < 0)
			return -1;
		*o++ = (char)(hi << 4 | lo);
		i += 2;
	}
	return o - out;
}

size_t percent__whole_escapes(const char *s, size_t len)
{
	if (len >= 1 && s[len - 1] == '%')
		return len - 1;
	if (len >= 2 && s[len - 2] == '%')
		return len - 2;
	return len;
}
