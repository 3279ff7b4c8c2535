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

/* Decodes the single instruction at code and classifies it. */
int insn__describe(const uint8_t *code, size_t len, uint64_t vaddr, struct probe_point *pp);

#endif
