// SPDX-License-Identifier: MIT
/*
 * Where a function keeps a local value it passes to a call: Capstone reads
 * the instructions loading the call's argument registers from the frame.
 * kafka-go's FetchMessage keeps the message it is about to return in a local
 * readerMessage, whose error it passes to errors.Is: where that error is
 * loaded from says where the message is.
 */
#include <errno.h>
#include <stdbool.h>
#include <capstone/capstone.h>

#include "kafka_go.h"

#define MAX_JUMPS 512

/* The 64-bit register whose value reg (an 8-, 16-, 32- or 64-bit part) writes. */
static x86_reg full_reg(x86_reg reg)
{
	static const x86_reg families[][5] = {
		{ X86_REG_RAX, X86_REG_EAX, X86_REG_AX, X86_REG_AL, X86_REG_AH },
		{ X86_REG_RBX, X86_REG_EBX, X86_REG_BX, X86_REG_BL, X86_REG_BH },
	};

	for (size_t f = 0; f < sizeof(families) / sizeof(families[0]); f++)
		for (size_t i = 0; i < 5; i++)
			if (families[f][i] == reg)
				return families[f][0];
	return reg;
}

/*
 * What an instruction does to RAX and RBX: known[r] when it loads r from
 * [rsp + disp[r]], at address at[r]; not known when it writes r otherwise.
 */
static void track_loads(csh h, const cs_insn *in, int64_t disp[2], bool known[2], uint64_t at[2])
{
	static const x86_reg regs[2] = { X86_REG_RAX, X86_REG_RBX };
	const cs_x86 *x = &in->detail->x86;
	cs_regs rd, wr;
	uint8_t nrd, nwr;

	if (cs_regs_access(h, in, rd, &nrd, wr, &nwr))
		return;
	for (int r = 0; r < 2; r++) {
		bool written = false;

		for (uint8_t i = 0; i < nwr; i++)
			written |= full_reg(wr[i]) == regs[r];
		if (!written)
			continue;
		known[r] = in->id == X86_INS_MOV && x->op_count == 2 &&
			   x->operands[0].type == X86_OP_REG && x->operands[0].reg == regs[r] &&
			   x->operands[1].type == X86_OP_MEM && x->operands[1].size == 8 &&
			   x->operands[1].mem.base == X86_REG_RSP &&
			   x->operands[1].mem.index == X86_REG_INVALID;
		disp[r] = known[r] ? x->operands[1].mem.disp : -1;
		at[r] = in->address;
	}
}

int kafka__frame_arg_slot(const uint8_t *code, size_t len, uint64_t vaddr, uint64_t call_vaddr,
			  int64_t *disp)
{
	uint64_t jumps[MAX_JUMPS], load_at[2] = { 0, 0 }, first;
	size_t njumps = 0;
	int64_t slot[2] = { -1, -1 };
	bool known[2] = { false, false };
	bool found = false;
	const uint8_t *p = code;
	size_t left = len;
	uint64_t addr = vaddr;
	cs_insn *in;
	csh h;

	if (cs_open(CS_ARCH_X86, CS_MODE_64, &h) != CS_ERR_OK)
		return -EINVAL;
	cs_option(h, CS_OPT_DETAIL, CS_OPT_ON);
	in = cs_malloc(h);
	while (in && left && cs_disasm_iter(h, &p, &left, &addr, in)) {
		const cs_x86 *x = &in->detail->x86;

		if (cs_insn_group(h, in, X86_GRP_JUMP) && x->op_count == 1 &&
		    x->operands[0].type == X86_OP_IMM && njumps < MAX_JUMPS)
			jumps[njumps++] = (uint64_t)x->operands[0].imm;
		if (in->address == call_vaddr) {
			found = true;
			continue;
		}
		if (found)
			continue; /* only jumps matter after the call */
		track_loads(h, in, slot, known, load_at);
	}
	cs_free(in, 1);
	cs_close(&h);
	/* the error interface: its itab word into RAX, its data word into RBX */
	if (!found || !known[0] || !known[1] || slot[1] != slot[0] + 8)
		return -ENOENT;
	first = load_at[0] < load_at[1] ? load_at[0] : load_at[1];
	/* a branch past the first load, up to the call: another path, other values */
	for (size_t i = 0; i < njumps; i++)
		if (jumps[i] > first && jumps[i] <= call_vaddr)
			return -ENOENT;
	*disp = slot[0];
	return 0;
}
