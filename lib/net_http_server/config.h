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
	__s64 req_request_uri; /* Request.RequestURI: the path as received */
	/*
	 * An HTTP/2 responseWriter's status, through its rws (a pointer): net/http's
	 * own server's, and golang.org/x/net/http2's (absent: not read).
	 */
	struct ot_field_path h2_status;
	struct ot_field_path xnet_status;
	__u64 serve_probe_vaddr; /* link-time address of serve_http_enter: PIE load bias */
	/*
	 * Link-time addresses of the itabs of the ResponseWriters ServeHTTP is
	 * given (the writer's dynamic type), 0 when the binary does not say:
	 * net/http's *response, its HTTP/2 *http2responseWriter, x/net's.
	 */
	__u64 itab_http1;
	__u64 itab_h2;
	__u64 itab_xnet;
	/*
	 * Without itab symbols (stripped): the same writers' Header methods,
	 * link-time, the first method of their ResponseWriter itabs; 0: unknown.
	 */
	__u64 header_http1;
	__u64 header_h2;
	__u64 header_xnet;
	/* The bytes of the Request that hold every Request field above, read in one piece. */
	struct ot_window req_window;
};

/* The most of a Request read in one piece (Go 1.26's is 256 bytes). */
#define OT_HTTP_REQ_WINDOW_MAX 512

#endif
