// SPDX-License-Identifier: MIT
#include <string.h>

#include "validate.h"
#include "word_scan.h"

bool validate__token(const char *s, size_t len)
{
	static const char tchar_punct[] = "!#$%&'*+-.^_`|~";

	if (!len || len > VALIDATE_TEXT_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c && memchr(tchar_punct, c, sizeof(tchar_punct) - 1))))
			return false;
	}
	return true;
}

/* No control byte (C0, DEL) but those allowed; a word at a time where it has none at all. */
static bool no_controls(const char *s, size_t len, bool lines)
{
	if (len > VALIDATE_TEXT_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c;

		if (len - i >= sizeof(uint64_t)) {
			uint64_t w = word_at(s + i);

			if (!word_has_below(w, 0x20) && !word_has(w, 0x7f)) {
				i += sizeof(uint64_t) - 1;
				continue;
			}
		}
		c = (unsigned char)s[i];

		if (c == '\t' || (lines && (c == '\n' || c == '\r')))
			continue;
		if (c < 0x20 || c == 0x7f)
			return false;
	}
	return true;
}

bool validate__line(const char *s, size_t len)
{
	return no_controls(s, len, false);
}

bool validate__text(const char *s, size_t len)
{
	return no_controls(s, len, true);
}

bool validate__http_status(int64_t code)
{
	return code >= 100 && code <= 599;
}

bool validate__port(int64_t port)
{
	return port >= 1 && port <= 65535;
}

bool validate__id(const uint8_t *id, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (id[i])
			return true;
	return false;
}
