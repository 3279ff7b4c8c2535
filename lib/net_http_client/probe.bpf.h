// SPDX-License-Identifier: MIT
/*
 * net/http client spans: one per attempt of a (*Transport).roundTrip, HTTP/1.1
 * and HTTP/2, and of golang.org/x/net/http2's Transport.
 *
 * Start: the stack-check branch of (*Transport).roundTrip(t, req), emulated.
 * The parent is found from req's context (see common.bpf.h). An
 * http2.Transport of golang.org/x/net used directly has its own start, the
 * entry of the function whose loop makes its round trips (roundTripViaPool,
 * or RoundTripOpt in older releases); reached from net/http's roundTrip
 * (http2.ConfigureTransport) it continues the span in progress.
 *
 * End: no return probes. The round trip's outcome is known in the caller right
 * after three calls return: (*Transport).getConn (an error there ends the
 * span), (*persistConn).roundTrip (HTTP/1.1) and (*http2ClientConn).roundTrip
 * in (*http2Transport).RoundTripOpt (HTTP/2; from Go 1.27 the same functions of
 * package net/http/internal/http2, whose response is a ClientResponse of its
 * own: http_client_h2_done), or x/net's (*ClientConn) RoundTrip in its loop.
 * User space places these probes on the first instruction after each call
 * that the kernel emulates (Go puts a nop or the error test's jcc there)
 * while the results are still in the result registers: RAX = first result,
 * RBX:RCX = the error interface.
 *
 * Retries: when an attempt fails, net/http (or x/net) may send the request
 * again on another connection, from the same loop. The failed attempt's span
 * is emitted at once; the next one starts then, and whichever end comes next
 * on the goroutine ends it, with http.request.resend_count (semantic
 * conventions: one span per attempt, each with its own outcome).
 */
#ifndef OTRACE_NET_HTTP_CLIENT_BPF_H
#define OTRACE_NET_HTTP_CLIENT_BPF_H

#include "common.bpf.h"
#include "net_http_client/config.h"
#include "net_http_client/record.h"

const volatile struct ot_http_client_cfg http_client_cfg = {};

/* Where a goroutine's round trip is. */
enum client_state {
	CLIENT_LIVE = 0, /* an attempt is in progress */
	CLIENT_FAILED,	 /* the last attempt failed; a resent one is live once it has a connection */
	CLIENT_DONE,	 /* a response came: later ends are repeats */
};

struct http_client_start {
	__u64 start_ns;
	__u64 req;
	__u64 bias; /* load bias (PIE): runtime minus link-time addresses */
	__u64 hdr;  /* --propagate: the header map registered for the request, 0: none */
	__u32 flags;
	__u32 state;	    /* enum client_state */
	__u32 resend_count; /* attempts before this one */
	__u32 _pad;
	struct ot_span_ids ids;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct goroutine_key);
	__type(value, struct http_client_start);
} http_client_inflight SEC(".maps");

#include "propagate.bpf.h"

/* Starts a span for round trip req on this goroutine; probe_vaddr: this probe's, link-time. */
static __always_inline int start_client(struct pt_regs *ctx, __u64 req, __u64 probe_vaddr)
{
	const volatile struct ot_http_client_cfg *cfg = &http_client_cfg;
	struct goroutine_key key = goroutine_of(ctx);
	struct http_client_start start = {
		.start_ns = bpf_ktime_get_ns(),
		.req = req,
		.bias = REGS_IP(ctx) - probe_vaddr,
	};
	struct http_client_start *prev;
	struct go_iface rctx = {};

	if (entry_repeats(ctx))
		return 0; /* stack growth: the prologue runs again */
	prev = bpf_map_lookup_elem(&http_client_inflight, &key);
	if (prev) {
		if (prev->state == CLIENT_LIVE)
			count_drop(OT_DROP_UNFINISHED); /* returned early, before any end point */
		propagate_forget(key.pid, prev);
	}
	if (cfg->req_ctx < 0 ||
	    bpf_probe_read_user(&rctx, sizeof(rctx), (void *)(req + cfg->req_ctx)))
		rctx.data = 0;
	if (child_ids(key.pid, key.g, rctx.data, &start.ids))
		start.flags |= OT_HTTP_CLIENT_HAS_PARENT;
	propagate_register(key, &start);
	if (map_store(&http_client_inflight, &key, prev, &start))
		propagate_forget(key.pid, &start);
	return 0;
}

/* (*Transport).roundTrip(t, req) */
OT_UPROBE(http_client_enter)
{
	return start_client(ctx, GO_ARG2(ctx), http_client_cfg.enter_probe_vaddr);
}

/*
 * golang.org/x/net/http2: the round-trip loop of its Transport (t, req, ...).
 * Called by net/http's roundTrip (a Transport set up by ConfigureTransport)
 * the request already has its span, live or between attempts.
 */
OT_UPROBE(xnet_client_enter)
{
	struct goroutine_key key = goroutine_of(ctx);
	struct http_client_start *prev = bpf_map_lookup_elem(&http_client_inflight, &key);
	__u64 req = GO_ARG2(ctx);

	if (prev && prev->req == req && prev->state != CLIENT_DONE)
		return 0;
	return start_client(ctx, req, http_client_cfg.xnet_enter_probe_vaddr);
}

/*
 * The record being built on this CPU (struct ot_http_client_wire): its head
 * and room for its packed strings past the mask's reach (pack_go_string),
 * copied into the ring buffer at the size they took.
 */
_Static_assert(OT_HTTP_CLIENT_STRINGS_MAX <= OT_PACK_MASK, "strings beyond the mask");
_Static_assert(OT_QUERY_CAP <= OT_PATH_CAP, "room for the largest string");

DEFINE_RECORD_SLOTS(http_client_wire, struct ot_http_client_wire, OT_PATH_CAP);

/* The request's method and URL, packed in their order (record.h). */
static __always_inline void pack_client_request(struct ot_http_client_wire *w, __u32 *pos, __u64 req)
{
	const volatile struct ot_http_client_cfg *cfg = &http_client_cfg;
	struct go_string scheme = {}, host = {}, path = {}, query = {}, fragment = {};
	__u8 copy[OT_URL_WINDOW_MAX] = {};
	struct window_copy u;
	__u64 url;

	w->method_len = pack_go_string_at(w->strings, pos, OT_METHOD_CAP, req + cfg->req_method);
	url = read_ptr(req + cfg->req_url);
	if (!url)
		return;
	window_read(&u, url, &cfg->url_window, copy, OT_URL_WINDOW_MAX);
	window_field(&u, cfg->url_scheme, &scheme, 16, OT_URL_WINDOW_MAX);
	window_field(&u, cfg->url_host, &host, 16, OT_URL_WINDOW_MAX);
	window_field(&u, cfg->url_path, &path, 16, OT_URL_WINDOW_MAX);
	window_field(&u, cfg->url_raw_query, &query, 16, OT_URL_WINDOW_MAX);
	w->scheme_len = pack_go_string(w->strings, pos, OT_SCHEME_CAP, scheme);
	w->host_len = pack_go_string(w->strings, pos, OT_HOST_CAP, host);
	w->path_len = pack_go_string(w->strings, pos, OT_PATH_CAP, path);
	w->query_len = pack_go_string(w->strings, pos, OT_QUERY_CAP, query);
	if (window_u64(&u, cfg->url_user, OT_URL_WINDOW_MAX))
		w->flags |= OT_HTTP_CLIENT_USERINFO;
	if (cfg->url_fragment >= 0) {
		window_field(&u, cfg->url_fragment, &fragment, 16, OT_URL_WINDOW_MAX);
		w->fragment_len = pack_go_string(w->strings, pos, OT_FRAGMENT_CAP, fragment);
	}
}

/* http.Response's status and protocol version, read in one piece. */
static __always_inline void read_response(struct ot_http_client_wire *rec, __u64 resp)
{
	const volatile struct ot_http_client_cfg *cfg = &http_client_cfg;
	__u8 copy[OT_RESP_WINDOW_MAX] = {};
	struct window_copy r;

	window_read(&r, resp, &cfg->resp_window, copy, OT_RESP_WINDOW_MAX);
	rec->status = window_u64(&r, cfg->resp_status, OT_RESP_WINDOW_MAX);
	rec->proto_major = window_u64(&r, cfg->resp_proto_major, OT_RESP_WINDOW_MAX);
	rec->proto_minor = window_u64(&r, cfg->resp_proto_minor, OT_RESP_WINDOW_MAX);
}

/*
 * Ends the attempt in progress on this goroutine with its outcome: the
 * response resp (h2_resp: net/http/internal/http2's *ClientResponse, Go 1.27,
 * not an *http.Response), or an error whose itab is err_tab. After an error,
 * the next attempt's span starts now.
 */
static __always_inline int end_client(struct pt_regs *ctx, __u64 resp, __u64 err_tab, bool h2_resp)
{
	const volatile struct ot_http_client_cfg *cfg = &http_client_cfg;
	struct goroutine_key key = goroutine_of(ctx);
	struct ot_http_client_wire *rec;
	struct http_client_start *start;
	struct slot_hold hold;

	start = bpf_map_lookup_elem(&http_client_inflight, &key);
	if (!start) {
		count_drop(OT_DROP_NO_START);
		return 0;
	}
	if (start->state == CLIENT_DONE)
		return 0; /* an end hit again by the same round trip */
	/* ended before it is written: evicted from now on, it is no loss (evictwatch) */
	start->state = err_tab ? CLIENT_FAILED : CLIENT_DONE;
	rec = record_get(&http_client_wire, &hold);
	if (rec) {
		__builtin_memset(rec, 0, sizeof(*rec));
		rec->hdr.type = OT_REC_HTTP_CLIENT;
		rec->pid = key.pid;
		rec->goroutine = key.g;
		rec->start_ns = start->start_ns;
		rec->end_ns = bpf_ktime_get_ns();
		rec->flags = start->flags;
		rec->resend_count = start->resend_count;
		rec->ids = start->ids;
		if (err_tab) {
			rec->flags |= OT_HTTP_CLIENT_TRANSPORT_ERROR;
			rec->error_itab = err_tab - start->bias;
		} else if (resp && h2_resp) {
			rec->status = read_s64(resp + cfg->h2_resp_status);
			rec->proto_major = 2;
		} else if (resp) {
			read_response(rec, resp);
		}
		pack_client_request(rec, record_pos(rec), start->req);
		submit_packed(rec, sizeof(*rec), *record_pos(rec));
		slot_put(&hold);
	}
	propagate_forget(key.pid, start);
	if (!err_tab)
		return 0;
	/* a retry, if one comes, is the same request's next attempt */
	start->resend_count++;
	start->start_ns = bpf_ktime_get_ns();
	new_span_id(&start->ids);
	return 0;
}

/*
 * After getConn returns (pconn, err): a failure ends the attempt here. A
 * connection got after a failed attempt is net/http resending the request
 * (HTTP/1.1): that attempt is in flight from now on, and counted so if
 * tracing ends before it does; it is also where its traceparent is
 * registered.
 */
OT_UPROBE(http_client_conn_done)
{
	struct goroutine_key key;
	struct http_client_start *start;

	if (GO_ARG2(ctx))
		return end_client(ctx, 0, GO_ARG2(ctx), false);
	key = goroutine_of(ctx);
	start = bpf_map_lookup_elem(&http_client_inflight, &key);
	if (!start || start->state != CLIENT_FAILED)
		return 0;
	start->state = CLIENT_LIVE;
	propagate_reclaim(key, start);
	return 0;
}

/* After an HTTP/1.1 or HTTP/2 round trip returns (resp, err). */
OT_UPROBE(http_client_done)
{
	return end_client(ctx, GO_ARG1(ctx), GO_ARG2(ctx), false);
}

/* After Go 1.27's HTTP/2 round trip returns (*ClientResponse, err): HTTP/2 by definition. */
OT_UPROBE(http_client_h2_done)
{
	return end_client(ctx, GO_ARG1(ctx), GO_ARG2(ctx), true);
}

#endif
