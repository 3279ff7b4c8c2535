/* SPDX-License-Identifier: MIT */
/* The goroutine-ancestry probe's read-only configuration (.rodata goroutines_cfg). */
#ifndef OTRACE_GOROUTINES_CONFIG_H
#define OTRACE_GOROUTINES_CONFIG_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

struct ot_goroutines_cfg {
	__s64 g_m;    /* runtime.g.m: the M a goroutine runs on */
	__s64 m_curg; /* runtime.m.curg: the user goroutine an M runs */
};

#endif
