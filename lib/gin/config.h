/* SPDX-License-Identifier: MIT */
/* The gin route probes' read-only configuration (.rodata gin_cfg). */
#ifndef OTRACE_GIN_CONFIG_H
#define OTRACE_GIN_CONFIG_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

struct ot_gin_cfg {
	__s64 context_full_path; /* gin.Context.fullPath: the matched route's path */
};

#endif
