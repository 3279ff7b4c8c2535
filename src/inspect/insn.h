/* SPDX-License-Identifier: MIT */
/*
 * Instruction decoding with Capstone: where to put a probe in a Go function
 * and what the probe will cost. The x86 kernel emulates relative jumps, jcc,
 * relative calls, push of a register and nop; anything else is single-stepped
 * out of line, about 37x slower on these machines (shared/MEASURED.md).
 */
#ifndef OTRACE_INSN_H
#define OTRACE_INSN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define INSN_TEXT_MAX 64

struct probe_point {
	uint64_t vaddr;
	char text[INSN_TEXT_MAX]; /* "jbe 0x61f1d4" */
	bool emulated;
	bool stack_check; /* a Go prologue's stack-check branch (insn__entry_probe) */
};

/*
 * Finds the stack-check branch of a Go prologue (cmp against g.stackguard in
 * R14, then jbe to morestack): the argument registers are intact there and the
 * kernel emulates the branch. Falls back to the entry instruction when the
 * function has no stack check (nosplit). Returns 0 or -ENOENT / -EINVAL.
 */
int insn__entry_probe(const uint8_t *code, size_t len, uint64_t vaddr, struct probe_point *pp);

/*
 * Finds every way out of a function: each ret, and each jmp whose target lies
 * outside [vaddr, vaddr + len) (a tail call). Linker padding (int3) and bytes
 * Capstone cannot decode are stepped over. Returns the number found (at most
 * max are stored) or -EINVAL.
 */
int insn__exits(const uint8_t *code, size_t len, uint64_t vaddr, struct probe_point *out,
		size_t max);

/* Registers a probe after a call must find intact (bit set per register). */
enum insn_reg {
	INSN_RAX = 1 << 0,
	INSN_RBX = 1 << 1,
	INSN_RCX = 1 << 2,
	INSN_RDI = 1 << 3,
};

/*
 * Finds each direct call from the function at [vaddr, vaddr + len) to any of
 * the ntargets addresses, and for each the probe point where the callee's
 * results can be read: the first instruction after the call that the kernel
 * emulates (often the nop Go places after a call, or the jcc testing the
 * error), provided no instruction in between writes a register in keep and
 * no branch lands in between; otherwise the instruction right after the call
 * (single-stepped). A call whose return address is itself a branch target is
 * not usable and is skipped. Returns the number of sites (at most max are
 * stored) or -EINVAL.
 */
int insn__after_calls(const uint8_t *code, size_t len, uint64_t vaddr, const uint64_t *targets,
		      size_t ntargets, unsigned keep, struct probe_point *out, size_t max);

/*
 * Finds each direct call from the function at [vaddr, vaddr + len) to any of
 * the ntargets addresses and describes the call instruction itself: a
 * relative call, which the kernel emulates. A probe there sees the caller
 * about to call, on the path that leads to the call only. Bytes Capstone
 * cannot decode are stepped over. Returns the number found (at most max are
 * stored) or -EINVAL.
 */
int insn__calls(const uint8_t *code, size_t len, uint64_t vaddr, const uint64_t *targets,
		size_t ntargets, struct probe_point *out, size_t max);

/* Decodes the single instruction at code and classifies it. */
int insn__describe(const uint8_t *code, size_t len, uint64_t vaddr, struct probe_point *pp);

#endif
