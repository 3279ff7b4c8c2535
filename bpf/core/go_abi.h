/* SPDX-License-Identifier: MIT */
/*
 * Go ABIInternal on amd64: integer arguments in RAX RBX RCX RDI RSI R8 R9 R10
 * R11, the current goroutine (runtime.g) in R14. Valid at a function's entry
 * and at its stack-check branch, which is where otrace probes.
 */
#ifndef OTRACE_GO_ABI_H
#define OTRACE_GO_ABI_H

#define GO_ARG1(ctx) ((ctx)->ax)
#define GO_ARG2(ctx) ((ctx)->bx)
#define GO_ARG3(ctx) ((ctx)->cx)
#define GO_ARG4(ctx) ((ctx)->di)
#define GO_ARG5(ctx) ((ctx)->si)
#define GO_ARG6(ctx) ((ctx)->r8)
#define GO_ARG7(ctx) ((ctx)->r9)
#define GO_ARG8(ctx) ((ctx)->r10)
#define GO_ARG9(ctx) ((ctx)->r11)
#define GO_G(ctx) ((ctx)->r14)

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
