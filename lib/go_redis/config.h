/* SPDX-License-Identifier: MIT */
/* The go-redis probes' read-only configuration (.rodata redis_cfg). */
#ifndef OTRACE_GO_REDIS_CONFIG_H
#define OTRACE_GO_REDIS_CONFIG_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/*
 * Field offsets (negative: unknown) and the link-time address of the probes
 * that see an error, from which BPF computes the load bias of a PIE (the
 * instruction pointer at a uprobe is the probed address).
 */
struct ot_redis_cfg {
	__s64 cmd_args;	     /* baseCmd.args; every command type embeds baseCmd first */
	__s64 client_opt;    /* baseClient.opt (*Options) */
	__s64 opt_addr;	     /* Options.Addr */
	__s64 opt_db;	     /* Options.DB */
	__u64 release_vaddr; /* the release probe (releaseConn or releaseConnToPool) */
	__u64 retry_vaddr;   /* the shouldRetry probe */
};

#endif
