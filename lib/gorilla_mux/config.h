/* SPDX-License-Identifier: MIT */
/* The gorilla/mux route probes' read-only configuration (.rodata gorilla_mux_cfg). */
#ifndef OTRACE_GORILLA_MUX_CONFIG_H
#define OTRACE_GORILLA_MUX_CONFIG_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

struct ot_gorilla_mux_cfg {
	/* mux.Route's path regexp: routeConf (embedded), .regexp (inline), .path (a pointer) */
	__s64 route_path;
	__s64 regexp_template; /* mux.routeRegexp.template: the path template */
};

#endif
