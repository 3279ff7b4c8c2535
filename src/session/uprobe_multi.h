/* SPDX-License-Identifier: MIT */
/*
 * Multi-uprobe links (Linux 6.6, the PID filter fixed in 6.7): one link puts
 * a program on every offset it is planned at in a file. Attaching and
 * detaching a link of N probes costs the kernel one RCU grace period where
 * N separate perf-event uprobes cost N (0.1-0.7 s each, measured on these
 * machines), which made otrace's exit take seconds. Debian's libbpf (1.1)
 * predates them, so the BPF_LINK_CREATE call is made here.
 */
#ifndef OTRACE_UPROBE_MULTI_H
#define OTRACE_UPROBE_MULTI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The program attach type a program must be loaded with to be used here. */
#define UPROBE_MULTI_ATTACH_TYPE 48 /* BPF_TRACE_UPROBE_MULTI */

/* Whether the kernel has them, with process filtering; asked once. */
bool uprobe_multi__supported(void);
/*
 * Attaches prog_fd at offsets[0..cnt) of path, each hit given its cookie,
 * in process pid (0: every process). Returns the link's fd, or -errno.
 */
int uprobe_multi__attach(int prog_fd, const char *path, const uint64_t *offsets,
			 const uint64_t *cookies, uint32_t cnt, pid_t pid);

#endif
