/* SPDX-License-Identifier: MIT */
/* Checks done before touching the target: privileges and kernel features. */
#ifndef OTRACE_PREFLIGHT_H
#define OTRACE_PREFLIGHT_H

#include <stddef.h>

/* 0 when otrace may take another user's credentials (--user); else names what is missing. */
int preflight__switch_user(char *missing, size_t len);
/* 0 when the effective capabilities suffice; else names what is missing. */
int preflight__privileges(char *missing, size_t len);
/*
 * 0 when the kernel lets otrace create uprobes (perf_event_open on the uprobe
 * PMU); else -EPERM and the capability missing.
 */
int preflight__uprobes(char *missing, size_t len);
/*
 * 0 when the kernel has BTF and the uprobe PMU; else names what is missing.
 * OTRACE_SYSFS_ROOT (for tests) replaces "/sys" in the paths checked.
 */
int preflight__kernel(char *missing, size_t len);

/*
 * 0 when the kernel lets uprobe programs write to process memory
 * (--propagate); else -EPERM and why (naming the lockdown mode if known).
 */
int preflight__write_user(char *why, size_t len);

#endif
