// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
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
	pp->stack_check = false;
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
			pp->stack_check = true;
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

/* What a linear scan looks for: a predicate on one instruction and its arguments. */
struct insn_match {
	bool (*match)(const cs_insn *in, const struct insn_match *m);
	uint64_t start, end;	 /* the function */
	const uint64_t *targets; /* call targets */
	size_t ntargets;
};

/*
 * Decodes [vaddr, vaddr + len) in order, stepping over bytes Capstone cannot
 * decode (linker padding), and describes each instruction m matches. Returns
 * the number found (at most max are stored) or -EINVAL.
 */
static int scan(const uint8_t *code, size_t len, uint64_t vaddr, const struct insn_match *m,
		struct probe_point *out, size_t max)
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
		if (!m->match(in, m))
			continue;
		if ((size_t)found < max)
			fill_point(h, in, &out[found]);
		found++;
	}
	cs_free(in, 1);
	cs_close(&h);
	return found;
}

static bool is_exit(const cs_insn *in, const struct insn_match *m)
{
	return in->id == X86_INS_RET || is_tail_call(in, m->start, m->end);
}

int insn__exits(const uint8_t *code, size_t len, uint64_t vaddr, struct probe_point *out,
		size_t max)
{
	const struct insn_match m = { .match = is_exit, .start = vaddr, .end = vaddr + len };

	return scan(code, len, vaddr, &m, out, max);
}

/* Maps any width of a general register to the insn_reg bit of its 64-bit form. */
static unsigned reg_bit(unsigned reg)
{
	switch (reg) {
	case X86_REG_RAX: case X86_REG_EAX: case X86_REG_AX: case X86_REG_AL: case X86_REG_AH:
		return INSN_RAX;
	case X86_REG_RBX: case X86_REG_EBX: case X86_REG_BX: case X86_REG_BL: case X86_REG_BH:
		return INSN_RBX;
	case X86_REG_RCX: case X86_REG_ECX: case X86_REG_CX: case X86_REG_CL: case X86_REG_CH:
		return INSN_RCX;
	case X86_REG_RDI: case X86_REG_EDI: case X86_REG_DI: case X86_REG_DIL:
		return INSN_RDI;
	default:
		return 0;
	}
}

static unsigned regs_written(csh h, const cs_insn *in)
{
	cs_regs rd, wr;
	uint8_t nrd = 0, nwr = 0;
	unsigned bits = 0;

	if (cs_regs_access(h, in, rd, &nrd, wr, &nwr))
		return ~0u; /* unknown: assume the worst */
	for (uint8_t i = 0; i < nwr; i++)
		bits |= reg_bit(wr[i]);
	return bits;
}

/* Direct jmp or jcc: its target. */
static bool branch_target(csh h, const cs_insn *in, uint64_t *target)
{
	const cs_x86 *x = &in->detail->x86;

	if (!cs_insn_group(h, in, X86_GRP_JUMP))
		return false;
	if (x->op_count != 1 || x->operands[0].type != X86_OP_IMM)
		return false;
	*target = (uint64_t)x->operands[0].imm;
	return true;
}

static bool calls_one_of(const cs_insn *in, const uint64_t *targets, size_t n)
{
	const cs_x86 *x = &in->detail->x86;

	if (in->id != X86_INS_CALL || x->op_count != 1 || x->operands[0].type != X86_OP_IMM)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((uint64_t)x->operands[0].imm == targets[i])
			return true;
	return false;
}

static bool is_call_to_target(const cs_insn *in, const struct insn_match *m)
{
	return calls_one_of(in, m->targets, m->ntargets);
}

int insn__calls(const uint8_t *code, size_t len, uint64_t vaddr, const uint64_t *targets,
		size_t ntargets, struct probe_point *out, size_t max)
{
	const struct insn_match m = { .match = is_call_to_target,
				      .targets = targets,
				      .ntargets = ntargets };

	return scan(code, len, vaddr, &m, out, max);
}

/* A branch inside the function: where it lands, and whether it is the jmp of a
 * "call; jmp join" pair, which carries that call's results to the join. */
struct branch {
	uint64_t target;
	bool after_call;
};

static int cmp_branch(const void *a, const void *b)
{
	uint64_t x = ((const struct branch *)a)->target, y = ((const struct branch *)b)->target;

	return x < y ? -1 : x > y;
}

/* Index of the first branch landing after lo (n if none). */
static size_t first_after(const struct branch *sorted, size_t n, uint64_t lo)
{
	size_t a = 0, b = n;

	while (a < b) {
		size_t m = (a + b) / 2;

		if (sorted[m].target <= lo)
			a = m + 1;
		else
			b = m;
	}
	return a;
}

/* True when a branch lands in (lo, hi]. */
static bool lands_in(const struct branch *sorted, size_t n, uint64_t lo, uint64_t hi)
{
	size_t i = first_after(sorted, n, lo);

	return i < n && sorted[i].target <= hi;
}

/*
 * The return address may also be reached by branches only if each is the jmp
 * right after another call: `a, err = f() ... else a, err = g()` joins there
 * with the other call's results in the same registers.
 */
static bool return_address_usable(const struct branch *sorted, size_t n, uint64_t ret_addr)
{
	for (size_t i = first_after(sorted, n, ret_addr - 1); i < n && sorted[i].target == ret_addr;
	     i++)
		if (!sorted[i].after_call)
			return false;
	return true;
}

/* Picks the probe point after the call at insns[i]; false when none is safe. */
static bool after_call_point(csh h, const cs_insn *insns, size_t count, size_t i,
			     const struct branch *branches, size_t nbranches, unsigned keep,
			     struct probe_point *pp)
{
	uint64_t ret_addr = insns[i].address + insns[i].size;

	if (i + 1 >= count || !return_address_usable(branches, nbranches, ret_addr))
		return false;
	for (size_t j = i + 1; j < count && j < i + 8; j++) {
		if (lands_in(branches, nbranches, ret_addr, insns[j].address))
			break;
		if (kernel_emulates(h, &insns[j])) {
			fill_point(h, &insns[j], pp);
			return true;
		}
		if (regs_written(h, &insns[j]) & keep)
			break;
	}
	fill_point(h, &insns[i + 1], pp); /* single-stepped, but correct */
	return true;
}

/* True when insns[i] comes right after a call, nops (Go's inline marks) aside. */
static bool follows_call(const cs_insn *insns, size_t i)
{
	while (i-- > 0) {
		if (insns[i].id == X86_INS_CALL)
			return true;
		if (insns[i].id != X86_INS_NOP)
			return false;
	}
	return false;
}

int insn__after_calls(const uint8_t *code, size_t len, uint64_t vaddr, const uint64_t *callees,
		      size_t ncallees, unsigned keep, struct probe_point *out, size_t max)
{
	struct branch *branches = NULL;
	size_t count, nbranches = 0;
	cs_insn *insns;
	int found = 0;
	csh h;

	if (disasm(code, len, vaddr, 0, &h, &insns, &count))
		return -EINVAL;
	branches = calloc(count, sizeof(*branches));
	if (!branches) {
		found = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < count; i++) {
		struct branch *b = &branches[nbranches];

		if (!branch_target(h, &insns[i], &b->target))
			continue;
		b->after_call = insns[i].id == X86_INS_JMP && follows_call(insns, i);
		nbranches++;
	}
	qsort(branches, nbranches, sizeof(*branches), cmp_branch);
	for (size_t i = 0; i < count; i++) {
		struct probe_point pp;

		if (!calls_one_of(&insns[i], callees, ncallees))
			continue;
		if (!after_call_point(h, insns, count, i, branches, nbranches, keep, &pp))
			continue;
		if ((size_t)found < max)
			out[found] = pp;
		found++;
	}
out:
	free(branches);
	cs_free(insns, count);
	cs_close(&h);
	return found;
}
