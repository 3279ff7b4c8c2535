// SPDX-License-Identifier: MIT
#include <errno.h>

#include "kafka_go.h"
#include "unittest.h"

/* Where FetchMessage's error argument of errors.Is comes from, on hand-made code. */

#define BASE 0x1000

static const uint8_t load_rax[] = { 0x48, 0x8b, 0x84, 0x24, 0x10, 0x01, 0x00, 0x00 };
static const uint8_t load_rbx[] = { 0x48, 0x8b, 0x9c, 0x24, 0x18, 0x01, 0x00, 0x00 };
static const uint8_t call0[] = { 0xe8, 0x00, 0x00, 0x00, 0x00 }; /* at BASE + 16 */
static const uint8_t ret[] = { 0xc3 };

/* Appends n bytes to code at *len. */
static void put(uint8_t *code, size_t *len, const uint8_t *b, size_t n)
{
	memcpy(code + *len, b, n);
	*len += n;
}

static int slot_of(const uint8_t *code, size_t len, uint64_t call, int64_t *disp)
{
	return kafka__frame_arg_slot(code, len, BASE, call, disp);
}

int main(void)
{
	uint8_t code[64];
	size_t len = 0;
	int64_t disp = 0;

	/* mov rax, [rsp+0x110]; mov rbx, [rsp+0x118]; call; ret */
	put(code, &len, load_rax, sizeof(load_rax));
	put(code, &len, load_rbx, sizeof(load_rbx));
	put(code, &len, call0, sizeof(call0));
	put(code, &len, ret, sizeof(ret));
	CHECK(slot_of(code, len, BASE + 16, &disp) == 0 && disp == 0x110);

	/* loaded in the other order: the same */
	len = 0;
	put(code, &len, load_rbx, sizeof(load_rbx));
	put(code, &len, load_rax, sizeof(load_rax));
	put(code, &len, call0, sizeof(call0));
	CHECK(slot_of(code, len, BASE + 16, &disp) == 0 && disp == 0x110);

	/* a branch back between the loads: another path reaches the call */
	len = 0;
	put(code, &len, load_rax, sizeof(load_rax));
	put(code, &len, load_rbx, sizeof(load_rbx));
	put(code, &len, call0, sizeof(call0));
	put(code, &len, (const uint8_t[]){ 0xeb, 0xf0 }, 2); /* jmp BASE + 8 */
	CHECK(slot_of(code, len, BASE + 16, &disp) == -ENOENT);

	/* rax written after its load (xor eax, eax) */
	len = 0;
	put(code, &len, load_rax, sizeof(load_rax));
	put(code, &len, load_rbx, sizeof(load_rbx));
	put(code, &len, (const uint8_t[]){ 0x31, 0xc0 }, 2);
	put(code, &len, call0, sizeof(call0));
	CHECK(slot_of(code, len, BASE + 18, &disp) == -ENOENT);

	/* not two halves of one interface: rbx from elsewhere */
	len = 0;
	put(code, &len, load_rax, sizeof(load_rax));
	put(code, &len, (const uint8_t[]){ 0x48, 0x8b, 0x9c, 0x24, 0x20, 0x01, 0x00, 0x00 }, 8);
	put(code, &len, call0, sizeof(call0));
	CHECK(slot_of(code, len, BASE + 16, &disp) == -ENOENT);

	/* rax from another register's memory: mov rax, [rdx+8] */
	len = 0;
	put(code, &len, (const uint8_t[]){ 0x48, 0x8b, 0x42, 0x08 }, 4);
	put(code, &len, load_rbx, sizeof(load_rbx));
	put(code, &len, call0, sizeof(call0));
	CHECK(slot_of(code, len, BASE + 12, &disp) == -ENOENT);

	/* no instruction at the call's address */
	len = 0;
	put(code, &len, load_rax, sizeof(load_rax));
	put(code, &len, load_rbx, sizeof(load_rbx));
	put(code, &len, call0, sizeof(call0));
	CHECK(slot_of(code, len, BASE + 17, &disp) == -ENOENT);
	return ut_summary();
}
