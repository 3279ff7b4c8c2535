/* SPDX-License-Identifier: MIT */
/*
 * The net/http server probes' read-only configuration (.rodata
 * http_server_cfg): field offsets resolved by user space from DWARF or the
 * binary's type data. A negative offset means "field not present".
 */
#ifndef OTRACE_NET_HTTP_SERVER_CONFIG_H
#define OTRACE_NET_HTTP_SERVER_CONFIG_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#include "core_config.h"

struct ot_http_server_cfg {
	__s64 req_method;
	__s64 req_url;
	__s64 req_proto_major;
	__s64 req_proto_minor;
	__s64 req_header;
	__s64 req_host;
	__s64 req_remote_addr;
	__s64 req_tls;
	__s64 req_pattern;
	__s64 req_pat;	   /* Go 1.22: *pattern in Request.pat, when Pattern is absent */
	__s64 pattern_str; /* Go 1.22: pattern.str */
	__s64 url_path;
	__s64 resp_req;
	__s64 resp_status;
	__s64 req_ctx;	     /* Request.ctx, where the request's context chain starts */
	/* an HTTP/2 responseWriter's status: through its rws (a pointer) */
	struct ot_field_path h2_status;
};

#endif
