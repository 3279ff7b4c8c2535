/* SPDX-License-Identifier: MIT */
/* The echo route probes' read-only configuration (.rodata echo_cfg). */
#ifndef OTRACE_ECHO_CONFIG_H
#define OTRACE_ECHO_CONFIG_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

struct ot_echo_cfg {
	__s64 context_path; /* echo.context.path: the matched route's path */
};

#endif
