/* SPDX-License-Identifier: MIT */
/*
 * Go ABIInternal on amd64: integer arguments in RAX RBX RCX RDI RSI R8 R9 R10
 * R11, the current goroutine (runtime.g) in R14. Valid at a function's entry
 * and at its stack-check branch, which is where otrace probes.
 */
#ifndef OTRACE_GO_ABI_H
#define OTRACE_GO_ABI_H

/*
 * The probed thread's registers, x86-64's struct pt_regs: its layout is
 * user-space ABI (ptrace, perf), read through this copy of it rather than
 * vmlinux.h's, whose every field access is a CO-RE relocation. An object
 * with none needs no kernel BTF: libbpf parsed all of it (5 MB) and searched
 * it for candidates at each load, most of what was left of a start once the
 * verifier's walks were short.
 */
struct ot_regs {
	__u64 r15, r14, r13, r12, bp, bx, r11, r10, r9, r8, ax, cx, dx, si, di, orig_ax, ip, cs,
		flags, sp, ss;
};

#define OT_REGS(ctx) ((const struct ot_regs *)(ctx))

#ifdef __VMLINUX_H__ /* the same layout as the build machine's kernel's */
_Static_assert(sizeof(struct ot_regs) == sizeof(struct pt_regs), "pt_regs layout");
_Static_assert(__builtin_offsetof(struct ot_regs, r14) == __builtin_offsetof(struct pt_regs, r14) &&
		       __builtin_offsetof(struct ot_regs, ax) == __builtin_offsetof(struct pt_regs, ax) &&
		       __builtin_offsetof(struct ot_regs, r11) == __builtin_offsetof(struct pt_regs, r11) &&
		       __builtin_offsetof(struct ot_regs, ip) == __builtin_offsetof(struct pt_regs, ip) &&
		       __builtin_offsetof(struct ot_regs, flags) ==
			       __builtin_offsetof(struct pt_regs, flags) &&
		       __builtin_offsetof(struct ot_regs, sp) == __builtin_offsetof(struct pt_regs, sp),
	       "pt_regs layout");
#endif

#define GO_ARG1(ctx) (OT_REGS(ctx)->ax)
#define GO_ARG2(ctx) (OT_REGS(ctx)->bx)
#define GO_ARG3(ctx) (OT_REGS(ctx)->cx)
#define GO_ARG4(ctx) (OT_REGS(ctx)->di)
#define GO_ARG5(ctx) (OT_REGS(ctx)->si)
#define GO_ARG6(ctx) (OT_REGS(ctx)->r8)
#define GO_ARG7(ctx) (OT_REGS(ctx)->r9)
#define GO_ARG8(ctx) (OT_REGS(ctx)->r10)
#define GO_ARG9(ctx) (OT_REGS(ctx)->r11)
#define GO_G(ctx) (OT_REGS(ctx)->r14)
/* the probed instruction's address, the stack pointer, the flags */
#define REGS_IP(ctx) (OT_REGS(ctx)->ip)
#define REGS_SP(ctx) (OT_REGS(ctx)->sp)
#define REGS_FLAGS(ctx) (OT_REGS(ctx)->flags)

struct go_string {
	__u64 ptr;
	__s64 len;
};

/*
 * Where an itab's method table starts (runtime.itab.fun, internal/abi.ITab.Fun
 * since Go 1.22: after the interface and type pointers, the hash and its
 * padding). Its methods are the dynamic type's, in the interface's method
 * order: the first one tells the type.
 */
#define GO_ITAB_FUN_OFF 24

/* interface value: itab (or type) pointer, then data pointer */
struct go_iface {
	__u64 tab;
	__u64 data;
};

struct go_slice {
	__u64 ptr;
	__s64 len;
	__s64 cap;
};

#endif
