// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <capstone/capstone.h>

#include "insn.h"

/* A Go prologue is at most a lea, a cmp and the branch. */
#define PROLOGUE_MAX_INSNS 4
#define PROLOGUE_MAX_BYTES 32

static bool has_imm_operand(const cs_insn *in)
{
	const cs_x86 *x = &in->detail->x86;

	return x->op_count == 1 && x->operands[0].type == X86_OP_IMM;
}

/* Mirrors the kernel's x86 uprobe emulation (arch/x86/kernel/uprobes.c). */
static bool kernel_emulates(csh h, const cs_insn *in)
{
	const cs_x86 *x = &in->detail->x86;

	/* prefixed branches (bnd, 0x66) are not emulated */
	for (int i = 0; i < 4; i++)
		if (x->prefix[i])
			return in->id == X86_INS_NOP;
	if (in->id == X86_INS_NOP)
		return true;
	if (in->id == X86_INS_CALL || in->id == X86_INS_JMP)
		return has_imm_operand(in);
	if (cs_insn_group(h, in, X86_GRP_JUMP))
		return has_imm_operand(in); /* jcc rel8/rel32 */
	if (in->id == X86_INS_PUSH)
		return x->op_count == 1 && x->operands[0].type == X86_OP_REG;
	return false;
}

static void fill_point(csh h, const cs_insn *in, struct probe_point *pp)
{
	pp->vaddr = in->address;
	snprintf(pp->text, sizeof(pp->text), "%.15s%s%.46s", in->mnemonic,
		 in->op_str[0] ? " " : "", in->op_str);
	pp->emulated = kernel_emulates(h, in);
}

static bool is_stack_guard_cmp(const cs_insn *in)
{
	const cs_x86 *x = &in->detail->x86;

	if (in->id != X86_INS_CMP || x->op_count != 2)
		return false;
	for (int i = 0; i < 2; i++)
		if (x->operands[i].type == X86_OP_MEM && x->operands[i].mem.base == X86_REG_R14)
			return true;
	return false;
}

static int disasm(const uint8_t *code, size_t len, uint64_t vaddr, size_t max, csh *h,
		  cs_insn **insns, size_t *count)
{
	if (cs_open(CS_ARCH_X86, CS_MODE_64, h) != CS_ERR_OK)
		return -EINVAL;
	cs_option(*h, CS_OPT_DETAIL, CS_OPT_ON);
	*count = cs_disasm(*h, code, len, vaddr, max, insns);
	if (!*count) {
		cs_close(h);
		return -EINVAL;
	}
	return 0;
}

int insn__describe(const uint8_t *code, size_t len, uint64_t vaddr, struct probe_point *pp)
{
	cs_insn *insns;
	size_t count;
	csh h;
	int err = disasm(code, len, vaddr, 1, &h, &insns, &count);

	if (err)
		return err;
	fill_point(h, &insns[0], pp);
	cs_free(insns, count);
	cs_close(&h);
	return 0;
}

int insn__entry_probe(const uint8_t *code, size_t len, uint64_t vaddr, struct probe_point *pp)
{
	cs_insn *insns;
	size_t count;
	bool saw_guard = false;
	int err = -ENOENT;
	csh h;

	if (len > PROLOGUE_MAX_BYTES)
		len = PROLOGUE_MAX_BYTES;
	if (disasm(code, len, vaddr, PROLOGUE_MAX_INSNS, &h, &insns, &count))
		return -EINVAL;
	for (size_t i = 0; i < count; i++) {
		if (is_stack_guard_cmp(&insns[i])) {
			saw_guard = true;
			continue;
		}
		if (saw_guard && insns[i].id == X86_INS_JBE) {
			fill_point(h, &insns[i], pp);
			err = 0;
			break;
		}
	}
	if (err)
		fill_point(h, &insns[0], pp); /* no stack check: the entry itself */
	cs_free(insns, count);
	cs_close(&h);
	return 0;
}

static bool is_tail_call(const cs_insn *in, uint64_t start, uint64_t end)
{
	const cs_x86 *x = &in->detail->x86;
	uint64_t target;

	if (in->id != X86_INS_JMP || x->op_count != 1 || x->operands[0].type != X86_OP_IMM)
		return false;
	target = (uint64_t)x->operands[0].imm;
	return target < start || target >= end;
}

int insn__exits(const uint8_t *code, size_t len, uint64_t vaddr, struct probe_point *out,
		size_t max)
{
	const uint8_t *p = code;
	uint64_t addr = vaddr;
	size_t left = len;
	int found = 0;
	cs_insn *in;
	csh h;

	if (cs_open(CS_ARCH_X86, CS_MODE_64, &h) != CS_ERR_OK)
		return -EINVAL;
	cs_option(h, CS_OPT_DETAIL, CS_OPT_ON);
	in = cs_malloc(h);
	if (!in) {
		cs_close(&h);
		return -EINVAL;
	}
	while (left) {
		if (!cs_disasm_iter(h, &p, &left, &addr, in)) {
			p++; /* undecodable byte: step over it */
			addr++;
			left--;
			continue;
		}
		if (in->id != X86_INS_RET && !is_tail_call(in, vaddr, vaddr + len))
			continue;
		if ((size_t)found < max)
			fill_point(h, in, &out[found]);
		found++;
	}
	cs_free(in, 1);
	cs_close(&h);
	return found;
}
