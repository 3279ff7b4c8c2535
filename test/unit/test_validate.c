// SPDX-License-Identifier: MIT
/*
 * The validation every decoded value passes (validate.h), fed what probes
 * read when memory is not what they expect: pointers, lengths and padding
 * read as text, heap addresses read as numbers.
 */
#include "semconv.h"
#include "validate.h"
#include "unittest.h"

#define STR(s) (s), sizeof(s) - 1

static void test_tokens(void)
{
	CHECK(validate__token(STR("GET")));
	CHECK(validate__token(STR("M-SEARCH")));
	CHECK(validate__token(STR("x!#$%&'*+-.^_`|~9")));
	CHECK(!validate__token(STR("")));
	CHECK(!validate__token(STR("GE T")));
	CHECK(!validate__token(STR("GE\0T")));
	CHECK(!validate__token(STR("GET\r\n")));
	/* a pointer's bytes; UTF-8 */
	CHECK(!validate__token(STR("\x60\x34\x12\x00\xc0\x00\x00\x00")));
	CHECK(!validate__token(STR("G\xc3\xa9T")));
	CHECK(!validate__token(STR("a(b)")));
}

static void test_text(void)
{
	char big[VALIDATE_TEXT_MAX + 1];

	CHECK(validate__line(STR("")));
	CHECK(validate__line(STR("/items/7")));
	CHECK(validate__line(STR("Mozilla/5.0 (X11; Linux x86_64)\tx")));
	/* not UTF-8: repaired later, not refused */
	CHECK(validate__line(STR("caf\xc3\xa9 \xff\xfe")));
	/* a length beyond the string */
	CHECK(!validate__line(STR("/items/7\0\0\0\0")));
	CHECK(!validate__line(STR("\x60\x34\x12\x00\xc0\x00\x00\x00")));
	CHECK(!validate__line(STR("a\nb")));
	CHECK(!validate__line(STR("a\x7f")));
	CHECK(!validate__line(STR("\x1b[31mred")));
	CHECK(validate__text(STR("SELECT 1\r\nFROM t\n\tWHERE x")));
	CHECK(!validate__text(STR("SELECT 1\0")));
	CHECK(!validate__text(STR("SELECT \x01")));
	memset(big, 'a', sizeof(big));
	CHECK(validate__line(big, VALIDATE_TEXT_MAX));
	CHECK(!validate__line(big, sizeof(big)));
}

/*
 * Every byte value at every offset of a 24-byte line, alone and beside a
 * byte >= 0x80 (whose borrow must not hide it or fake one): refused exactly
 * when it is a control byte the kind of text does not allow.
 */
static void test_text_every_offset(void)
{
	char s[24];

	for (int c = 0; c < 0x100; c++) {
		bool control = c < 0x20 || c == 0x7f;
		bool in_line = !control || c == '\t';
		bool in_text = in_line || c == '\n' || c == '\r';

		for (size_t at = 0; at < sizeof(s); at++) {
			memset(s, 'a', sizeof(s));
			s[at] = (char)c;
			CHECK(validate__line(s, sizeof(s)) == in_line);
			CHECK(validate__text(s, sizeof(s)) == in_text);
			s[at ^ 1] = (char)0xff;
			CHECK(validate__line(s, sizeof(s)) == in_line);
			s[at ^ 1] = (char)0x80;
			CHECK(validate__text(s, sizeof(s)) == in_text);
		}
	}
}

static void test_numbers(void)
{
	CHECK(validate__http_status(100) && validate__http_status(200));
	CHECK(validate__http_status(599));
	CHECK(!validate__http_status(0) && !validate__http_status(99));
	CHECK(!validate__http_status(600));
	CHECK(!validate__http_status(58370529246432)); /* a heap pointer */
	CHECK(!validate__http_status(-1));
	CHECK(validate__port(1) && validate__port(443) && validate__port(65535));
	CHECK(!validate__port(0) && !validate__port(65536) && !validate__port(-80));
	CHECK(!validate__port(0xc000123456));
}

static void test_ids(void)
{
	uint8_t zero[16] = { 0 }, one[16] = { 0 };

	one[15] = 1;
	CHECK(!validate__id(zero, 16) && !validate__id(zero, 8));
	CHECK(validate__id(one, 16) && !validate__id(one, 8));
}

/* The semantic-convention helpers apply them and count what they leave out. */
static void test_semconv(void)
{
	struct span s;

	memset(&s, 0, sizeof(s));
	CHECK(!semconv__add_http_status(&s, 58370529246432));
	CHECK(semconv__add_http_status(&s, 404));
	semconv__add_port(&s, "server.port", 0);
	semconv__add_port(&s, "server.port", 70000);
	CHECK(!semconv__add_http_method(&s, "GE\0T", 4));
	CHECK(!span__add_string(&s, "url.path", STR("/a\0b")));
	CHECK(span__add_string(&s, "url.path", STR("/a b")));
	CHECK(s.invalid == 5);
	/* 404, _OTHER (no method_original: not a token), /a b */
	CHECK(s.nattrs == 3);
}

int main(void)
{
	test_tokens();
	test_text();
	test_text_every_offset();
	test_numbers();
	test_ids();
	test_semconv();
	return ut_summary();
}
