/* SPDX-License-Identifier: MIT */
/*
 * The net/http client probes' read-only configuration (.rodata
 * http_client_cfg): field offsets, the link-time address of the start probe
 * (for a PIE's load bias), and what --propagate writes with.
 */
#ifndef OTRACE_NET_HTTP_CLIENT_CONFIG_H
#define OTRACE_NET_HTTP_CLIENT_CONFIG_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#include "core_config.h"

struct ot_http_client_cfg {
	__s64 req_method;
	__s64 req_url;
	__s64 req_ctx;
	__s64 url_scheme;
	__s64 url_host;
	__s64 url_path;
	__s64 url_raw_query;
	__s64 url_user;	    /* -1: not read (no user info in url.full) */
	__s64 url_fragment; /* -1: not read */
	__s64 resp_status;
	__s64 resp_proto_major;
	__s64 resp_proto_minor;
	__s64 h2_resp_status; /* Go 1.27: net/http/internal/http2.ClientResponse.StatusCode */
	struct ot_window url_window;  /* the url.URL fields above, read in one piece */
	struct ot_window resp_window; /* the Response's, likewise */
	__u64 enter_probe_vaddr; /* link-time address of http_client_enter: PIE load bias */
	__u64 xnet_enter_probe_vaddr; /* and of xnet_client_enter */
	/* --propagate (see propagate.bpf.h) */
	__u32 propagate; /* traceparent is written into outgoing requests */
	__u32 h2_req_is_request; /* HTTP/2 doRequest gets the *http.Request (through Go 1.26) */
	__s64 req_header;		/* net/http.Request.Header */
	__s64 bufio_buf;		/* bufio.Writer.buf */
	__s64 bufio_n;			/* bufio.Writer.n */
	__s64 h2cc_bw;			/* the HTTP/2 ClientConn's bw */
	__s64 h2_req_header;		/* Header of the HTTP/2 doRequest's request */
	__u64 bufio_write_vaddr;	/* bufio.(*Writer).Write, link-time address */
	__u64 write_subset_probe_vaddr; /* where http1_write_headers sits, link-time */
	__u64 req_write_vaddr;		/* net/http.(*Request).write, link-time: its code */
	__u64 req_write_end;
};

/* The most of a url.URL, and of a Response, read in one piece (Go 1.19-1.27: 128 and 40 bytes). */
#define OT_URL_WINDOW_MAX 160
#define OT_RESP_WINDOW_MAX 64

#endif
