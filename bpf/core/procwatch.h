/* SPDX-License-Identifier: MIT */
/*
 * Process events for --all (bpf/procwatch.bpf.c, a small BPF object of its
 * own beside the tracing one): a program started (exec), a watched process
 * ended (its last thread exited), a process began listening on a TCP port.
 */
#ifndef OTRACE_PROCWATCH_H
#define OTRACE_PROCWATCH_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

enum ot_proc_event_type {
	OT_PROC_EXEC = 1,
	OT_PROC_EXIT = 2,
	OT_PROC_LISTEN = 3,
};

#define OT_PROC_PATH_CAP 128

struct ot_proc_event {
	__u32 type; /* enum ot_proc_event_type */
	__u32 pid;  /* thread group id, in the host's PID namespace */
	__u64 ktime_ns; /* CLOCK_MONOTONIC when it happened */
	__u16 port; /* OT_PROC_LISTEN: the local port, host order */
	__u8 _pad[6];
	/* OT_PROC_EXEC: the file now run, to tell it from a later exec's */
	__u64 dev; /* the kernel's dev_t of its file system (MAJOR << 20 | MINOR) */
	__u64 ino;
	char path[OT_PROC_PATH_CAP]; /* as exec was given it, cut short, NUL-terminated */
};

#endif
