// SPDX-License-Identifier: MIT
/*
 * net/http client spans: one per (*Transport).roundTrip, HTTP/1.1 and HTTP/2.
 *
 * Start: the stack-check branch of (*Transport).roundTrip(t, req), emulated.
 * The parent is found from req's context (see common.bpf.h).
 *
 * End: no return probes. The round trip's outcome is known in the caller right
 * after three calls return: (*Transport).getConn (an error there ends the
 * span), (*persistConn).roundTrip (HTTP/1.1) and (*http2ClientConn).roundTrip
 * in (*http2Transport).RoundTripOpt (HTTP/2; from Go 1.27 the same functions of
 * package net/http/internal/http2, whose response is a ClientResponse of its
 * own: http_client_h2_done). User space places these probes
 * on the first instruction after each call that the kernel emulates (Go puts
 * a nop or the error test's jcc there) while the results are still in the
 * result registers: RAX = first result, RBX:RCX = the error interface.
 */
#ifndef OTRACE_NET_HTTP_CLIENT_BPF_H
#define OTRACE_NET_HTTP_CLIENT_BPF_H

#include "common.bpf.h"
#include "net_http_client/config.h"
#include "net_http_client/record.h"

const volatile struct ot_http_client_cfg http_client_cfg = {};

#include "propagate.bpf.h"

struct http_client_start {
	__u64 start_ns;
	__u64 req;
	__u64 bias;  /* load bias (PIE): runtime minus link-time addresses */
	__u32 flags;
	__u32 ended; /* a retried attempt may end the same call again */
	struct ot_span_ids ids;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct goroutine_key);
	__type(value, struct http_client_start);
} http_client_inflight SEC(".maps");

SEC("uprobe")
int http_client_enter(struct pt_regs *ctx)
{
	const volatile struct ot_http_client_cfg *cfg = &http_client_cfg;
	struct goroutine_key key = goroutine_of(ctx);
	struct http_client_start start = {
		.start_ns = bpf_ktime_get_ns(),
		.req = GO_ARG2(ctx),
		.bias = PT_REGS_IP(ctx) - cfg->enter_probe_vaddr,
	};
	const struct ot_span_ids *parent = NULL;
	struct http_client_start *prev;
	struct go_iface rctx = {};

	prev = bpf_map_lookup_elem(&http_client_inflight, &key);
	if (prev && prev->req == start.req && !prev->ended && start.req)
		return 0; /* stack growth re-entered the prologue */
	if (prev && !prev->ended)
		count_drop(OT_DROP_UNFINISHED); /* returned early, before any end point */
	if (cfg->req_ctx >= 0 &&
	    !bpf_probe_read_user(&rctx, sizeof(rctx), (void *)(start.req + cfg->req_ctx)))
		parent = find_ctx_parent(key.pid, rctx.data);
	if (!parent)
		parent = find_goroutine_parent(key.pid, key.g);
	if (parent) {
		new_child(&start.ids, parent);
		start.flags |= OT_HTTP_CLIENT_HAS_PARENT;
	} else {
		new_root(&start.ids);
	}
	if (bpf_map_update_elem(&http_client_inflight, &key, &start, BPF_ANY))
		count_drop(OT_DROP_INFLIGHT_FULL);
	propagate_register(key.pid, start.req, &start.ids);
	return 0;
}

static __always_inline void read_client_request(struct ot_http_client_rec *rec, __u64 req)
{
	const volatile struct ot_http_client_cfg *cfg = &http_client_cfg;
	__u64 url;

	rec->method_len = read_go_string(rec->method, OT_METHOD_CAP, req + cfg->req_method);
	url = read_ptr(req + cfg->req_url);
	if (!url)
		return;
	rec->scheme_len = read_go_string(rec->scheme, OT_SCHEME_CAP, url + cfg->url_scheme);
	rec->host_len = read_go_string(rec->host, OT_HOST_CAP, url + cfg->url_host);
	rec->path_len = read_go_string(rec->path, OT_PATH_CAP, url + cfg->url_path);
	rec->query_len = read_go_string(rec->query, OT_QUERY_CAP, url + cfg->url_raw_query);
	if (cfg->url_user >= 0 && read_ptr(url + cfg->url_user))
		rec->flags |= OT_HTTP_CLIENT_USERINFO;
	if (cfg->url_fragment >= 0)
		rec->fragment_len =
			read_go_string(rec->fragment, OT_FRAGMENT_CAP, url + cfg->url_fragment);
}

/* Ends the round trip in progress on this goroutine. */
/* h2_resp: resp is net/http/internal/http2's *ClientResponse (Go 1.27), not an *http.Response */
static __always_inline int end_client(struct pt_regs *ctx, __u64 resp, __u64 err_tab, bool h2_resp)
{
	const volatile struct ot_http_client_cfg *cfg = &http_client_cfg;
	struct goroutine_key key = goroutine_of(ctx);
	struct ot_http_client_rec *rec;
	struct http_client_start *start;

	start = bpf_map_lookup_elem(&http_client_inflight, &key);
	if (!start) {
		count_drop(OT_DROP_NO_START);
		return 0;
	}
	if (start->ended)
		return 0; /* a retry of a call whose first attempt already ended it */
	start->ended = 1;
	propagate_forget(key.pid, start->req);
	rec = bpf_ringbuf_reserve(&events, sizeof(*rec), 0);
	if (!rec) {
		count_drop(OT_DROP_RINGBUF_FULL);
		return 0;
	}
	__builtin_memset(rec, 0, sizeof(*rec));
	rec->hdr.type = OT_REC_HTTP_CLIENT;
	rec->hdr.size = sizeof(*rec);
	rec->pid = key.pid;
	rec->goroutine = key.g;
	rec->start_ns = start->start_ns;
	rec->end_ns = bpf_ktime_get_ns();
	rec->flags = start->flags;
	rec->ids = start->ids;
	if (err_tab) {
		rec->flags |= OT_HTTP_CLIENT_TRANSPORT_ERROR;
		rec->error_itab = err_tab - start->bias;
	} else if (resp && h2_resp) {
		rec->status = read_s64(resp + cfg->h2_resp_status);
		rec->proto_major = 2;
	} else if (resp) {
		rec->status = read_s64(resp + cfg->resp_status);
		rec->proto_major = read_s64(resp + cfg->resp_proto_major);
		rec->proto_minor = read_s64(resp + cfg->resp_proto_minor);
	}
	read_client_request(rec, start->req);
	submit(rec);
	return 0;
}

/* After getConn returns (pconn, err): only a failure ends the span here. */
SEC("uprobe")
int http_client_conn_done(struct pt_regs *ctx)
{
	if (!GO_ARG2(ctx))
		return 0;
	return end_client(ctx, 0, GO_ARG2(ctx), false);
}

/* After an HTTP/1.1 or HTTP/2 round trip returns (resp, err). */
SEC("uprobe")
int http_client_done(struct pt_regs *ctx)
{
	return end_client(ctx, GO_ARG1(ctx), GO_ARG2(ctx), false);
}

/* After Go 1.27's HTTP/2 round trip returns (*ClientResponse, err): HTTP/2 by definition. */
SEC("uprobe")
int http_client_h2_done(struct pt_regs *ctx)
{
	return end_client(ctx, GO_ARG1(ctx), GO_ARG2(ctx), true);
}

#endif
