/* SPDX-License-Identifier: MIT */
/* The chi route probes' read-only configuration (.rodata chi_cfg). */
#ifndef OTRACE_CHI_CONFIG_H
#define OTRACE_CHI_CONFIG_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

struct ot_chi_cfg {
	__s64 context_route_patterns; /* chi.Context.RoutePatterns: one per routing level */
};

#endif
