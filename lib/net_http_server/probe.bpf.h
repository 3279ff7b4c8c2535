// SPDX-License-Identifier: MIT
/*
 * net/http server spans.
 *
 * Two probes, both on the stack-check branch of a function prologue, which the
 * kernel emulates (no single-step):
 *   serverHandler.ServeHTTP(sh, rw, req)  -> request start, keyed by goroutine
 *   (*response).finishRequest(w)          -> request end: read w.req and w.status
 * finishRequest runs on the goroutine that called ServeHTTP, right after the
 * handler returned, so no return probe is needed.
 *
 * A request that never reaches finishRequest (the handler panicked, or hijacked
 * the connection) ends when its connection's serve loop runs its deferred
 * cleanup, (*conn).serve.func1, on the same goroutine: a third emulated probe
 * that fires once per connection, not per request.
 *
 * HTTP/2 (the server bundled in net/http) runs each request on a goroutine
 * of its own, (*http2serverConn).runHandler, which calls ServeHTTP (the same
 * start probe) and then, from its deferred closure on the same goroutine,
 * (*http2responseWriter).handlerDone: the end, again on the stack-check
 * branch. A handler that panics skips handlerDone and the closure recovers
 * instead: a probe on its call of runtime.gorecover (a call, emulated, and
 * hit only on that path) ends the span as a panic.
 */
#ifndef OTRACE_NET_HTTP_SERVER_BPF_H
#define OTRACE_NET_HTTP_SERVER_BPF_H

#include "common.bpf.h"
#include "go_map.h"
#include "net_http_server/config.h"
#include "net_http_server/record.h"

const volatile struct ot_http_server_cfg http_server_cfg = {};

/*
 * What a goroutine serving HTTP keeps, in its goroutine_spans entry (whose
 * ids are the request's span). After a request finishes the entry stays, not
 * live, with req cleared and the response remembered, so a second hit of the
 * same finishRequest (stack growth re-enters it) is recognised.
 */
struct http_start {
	__u64 start_ns;
	__u64 req;	     /* 0 once finished */
	__u64 finished_resp; /* response writer of the last finished request */
	__u64 ctx;	     /* data pointer of req.ctx, registered in ctx_spans */
	__u64 resp;	     /* the ResponseWriter's data pointer: *response, *http2responseWriter */
	struct go_string ua; /* the User-Agent value, read when the span ends */
	__u32 flags;
	__u32 _pad;
};

_Static_assert(sizeof(struct http_start) <= GOROUTINE_STATE_MAX, "http_start too big");

static __always_inline struct http_start *http_state(struct goroutine_span *gs)
{
	return (struct http_start *)gs->state;
}

/* key's goroutine_spans entry if it is the HTTP server's, else NULL. */
static __always_inline struct goroutine_span *http_entry(struct goroutine_key *key)
{
	struct goroutine_span *gs = bpf_map_lookup_elem(&goroutine_spans, key);

	return gs && gs->owner == OT_REC_HTTP_SERVER ? gs : NULL;
}

/* The request in progress on key's goroutine, NULL when none. */
static __always_inline struct goroutine_span *live_request(struct goroutine_key *key)
{
	struct goroutine_span *gs = http_entry(key);

	return gs && http_state(gs)->req ? gs : NULL;
}

/*
 * Reads the request headers otrace uses, in one pass over the header map:
 * User-Agent (kept as a string header, read at the end) and traceparent,
 * which decides the span's trace before any child can start.
 */
static __always_inline void read_start_headers(struct goroutine_span *gs, __u64 req)
{
	const volatile struct ot_http_server_cfg *cfg = &http_server_cfg;
	struct http_start *start = http_state(gs);
	struct map_scan scan = {
		.key = { "User-Agent", "Traceparent" },
		.key_len = { sizeof("User-Agent") - 1, sizeof("Traceparent") - 1 },
		.nkeys = 2,
	};
	struct go_slice values = {};
	struct go_string tp = {};

	new_root(&gs->ids);
	if (!go_header_lookup(read_ptr(req + cfg->req_header), &scan))
		return;
	if (scan.elem_addr[0] &&
	    !bpf_probe_read_user(&values, sizeof(values), (void *)scan.elem_addr[0]) &&
	    values.len > 0 && values.ptr &&
	    !bpf_probe_read_user(&start->ua, sizeof(start->ua), (void *)values.ptr))
		start->flags |= OT_HTTP_UA_FOUND;
	/* W3C: a request with several traceparent headers has no valid one */
	if (!scan.elem_addr[1] ||
	    bpf_probe_read_user(&values, sizeof(values), (void *)scan.elem_addr[1]) ||
	    values.len != 1 || !values.ptr ||
	    bpf_probe_read_user(&tp, sizeof(tp), (void *)values.ptr))
		return;
	if (continue_traceparent(tp, &gs->ids))
		start->flags |= OT_HTTP_HAS_PARENT;
}

/* Unregisters the request's context: spans started later are not its children. */
static __always_inline void forget_context(__u32 pid, struct http_start *start)
{
	struct ctx_key ck = { .pid = pid, .data = start->ctx };

	if (!start->ctx)
		return;
	bpf_map_delete_elem(&ctx_spans, &ck);
	start->ctx = 0;
}

SEC("uprobe")
int serve_http_enter(struct pt_regs *ctx)
{
	const volatile struct ot_http_server_cfg *cfg = &http_server_cfg;
	struct goroutine_key key = goroutine_of(ctx);
	struct goroutine_span *gs;
	struct http_start *start;
	struct ctx_key ck = { .pid = key.pid };
	struct go_iface rctx = {};
	__u64 req = GO_ARG4(ctx);

	gs = goroutine_span_claim(&key, OT_REC_HTTP_SERVER, true);
	if (!gs) {
		count_drop(OT_DROP_INFLIGHT_FULL);
		return 0;
	}
	start = http_state(gs);
	/* stack growth re-enters the function: keep the first start time */
	if (start->req == req && req)
		return 0;
	if (start->req) {
		/* the goroutine moved on without an end we saw: forget that request */
		count_drop(OT_DROP_UNFINISHED);
		forget_context(key.pid, start);
	}
	start->start_ns = bpf_ktime_get_ns();
	start->req = req;
	start->resp = GO_ARG3(ctx);
	start->finished_resp = 0;
	start->ctx = 0;
	start->flags = 0;
	start->ua = (struct go_string){};
	read_start_headers(gs, req);
	if (cfg->req_ctx >= 0 &&
	    !bpf_probe_read_user(&rctx, sizeof(rctx), (void *)(req + cfg->req_ctx)) && rctx.data) {
		start->ctx = rctx.data;
		ck.data = rctx.data;
		bpf_map_update_elem(&ctx_spans, &ck, &gs->ids, BPF_ANY);
	}
	gs->live = 1;
	return 0;
}

static __always_inline void read_request(struct ot_http_server_rec *rec, __u64 req)
{
	const volatile struct ot_http_server_cfg *cfg = &http_server_cfg;
	__u64 url;

	rec->method_len = read_go_string(rec->method, OT_METHOD_CAP, req + cfg->req_method);
	url = read_ptr(req + cfg->req_url);
	if (url)
		rec->path_len = read_go_string(rec->path, OT_PATH_CAP, url + cfg->url_path);
	rec->proto_major = read_s64(req + cfg->req_proto_major);
	rec->proto_minor = read_s64(req + cfg->req_proto_minor);
	rec->host_len = read_go_string(rec->host, OT_HOST_CAP, req + cfg->req_host);
	rec->remote_len = read_go_string(rec->remote, OT_ADDR_CAP, req + cfg->req_remote_addr);
	if (read_ptr(req + cfg->req_tls))
		rec->flags |= OT_HTTP_TLS;
	if (cfg->req_pattern >= 0) {
		rec->flags |= OT_HTTP_HAS_PATTERN;
		rec->pattern_len =
			read_go_string(rec->pattern, OT_PATTERN_CAP, req + cfg->req_pattern);
	} else if (cfg->req_pat >= 0) {
		__u64 pat = read_ptr(req + cfg->req_pat);

		rec->flags |= OT_HTTP_HAS_PATTERN;
		if (pat)
			rec->pattern_len = read_go_string(rec->pattern, OT_PATTERN_CAP,
							  pat + cfg->pattern_str);
	}
}

/* Emits the server span of gs's request, ending now; flags add to the start's. */
static __always_inline void emit_server(struct goroutine_key *key, struct goroutine_span *gs,
					__s64 status, __u32 flags)
{
	struct http_start *start = http_state(gs);
	struct ot_http_server_rec *rec;

	rec = bpf_ringbuf_reserve(&events, sizeof(*rec), 0);
	if (!rec) {
		count_drop(OT_DROP_RINGBUF_FULL);
		return;
	}
	__builtin_memset(rec, 0, sizeof(*rec));
	rec->hdr.type = OT_REC_HTTP_SERVER;
	rec->hdr.size = sizeof(*rec);
	rec->pid = key->pid;
	rec->goroutine = key->g;
	rec->start_ns = start->start_ns;
	rec->end_ns = bpf_ktime_get_ns();
	rec->status = status;
	rec->flags = start->flags | flags;
	rec->ids = gs->ids;
	if (start->flags & OT_HTTP_UA_FOUND)
		rec->ua_len = read_go_string_at(rec->ua, OT_UA_CAP, start->ua);
	read_request(rec, start->req);
	submit(rec);
}

/*
 * Closes gs's request: unregisters its context and remembers the response
 * writer whose end was seen (0: none), so that a second hit of the same end
 * after stack growth is recognised.
 */
static __always_inline void close_request(__u32 pid, struct goroutine_span *gs, __u64 finished)
{
	struct http_start *start = http_state(gs);

	forget_context(pid, start);
	start->req = 0;
	start->finished_resp = finished;
	gs->live = 0;
}

/* The status of an HTTP/1 *response: 0 until the handler wrote the header. */
static __always_inline __s64 http1_status(__u64 resp)
{
	return resp ? read_s64(resp + http_server_cfg.resp_status) : 0;
}

SEC("uprobe")
int finish_request_enter(struct pt_regs *ctx)
{
	struct goroutine_key key = goroutine_of(ctx);
	struct goroutine_span *gs = http_entry(&key);
	struct http_start *start;
	__u64 resp = GO_ARG1(ctx);

	if (!gs) {
		count_drop(OT_DROP_NO_START);
		return 0;
	}
	start = http_state(gs);
	if (!start->req && start->finished_resp == resp)
		return 0; /* the same call again after stack growth */
	if (!start->req) {
		count_drop(OT_DROP_NO_START);
		return 0;
	}
	if (read_ptr(resp + http_server_cfg.resp_req))
		emit_server(&key, gs, http1_status(resp), 0);
	else
		count_drop(OT_DROP_READ_FAULT);
	close_request(key.pid, gs, resp);
	return 0;
}

/*
 * The connection's serve loop is ending: a request still in progress on this
 * goroutine will never reach finishRequest. Its handler panicked, or hijacked
 * the connection (then the hijack probe marked it).
 */
SEC("uprobe")
int conn_serve_done(struct pt_regs *ctx)
{
	struct goroutine_key key = goroutine_of(ctx);
	struct goroutine_span *gs = live_request(&key);
	struct http_start *start;

	if (!gs)
		return 0;
	start = http_state(gs);
	emit_server(&key, gs, http1_status(start->resp),
		    start->flags & OT_HTTP_HIJACKED ? 0 : OT_HTTP_PANICKED);
	close_request(key.pid, gs, 0);
	return 0;
}

/* The status of an HTTP/2 *responseWriter: 0 until the handler wrote the header. */
static __always_inline __s64 h2_status(__u64 rw)
{
	__u64 status = field_path_addr(&http_server_cfg.h2_status, rw);

	return status ? read_s64(status) : 0;
}

/* (*responseWriter).handlerDone(w) of the HTTP/2 server: the handler returned. */
SEC("uprobe")
int h2_handler_done(struct pt_regs *ctx)
{
	struct goroutine_key key = goroutine_of(ctx);
	struct goroutine_span *gs = http_entry(&key);
	struct http_start *start;
	__u64 rw = GO_ARG1(ctx);

	if (!gs) {
		count_drop(OT_DROP_NO_START);
		return 0;
	}
	start = http_state(gs);
	if (!start->req && start->finished_resp == rw)
		return 0; /* the same call again after stack growth */
	/* none, or another writer's: this request began before otrace attached */
	if (!start->req || start->resp != rw) {
		count_drop(OT_DROP_NO_START);
		return 0;
	}
	emit_server(&key, gs, h2_status(rw), 0);
	close_request(key.pid, gs, rw);
	return 0;
}

/*
 * runHandler's deferred closure calls recover: the HTTP/2 handler panicked
 * (or called runtime.Goexit), and net/http resets the stream.
 */
SEC("uprobe")
int h2_handler_panicked(struct pt_regs *ctx)
{
	struct goroutine_key key = goroutine_of(ctx);
	struct goroutine_span *gs = live_request(&key);

	if (!gs)
		return 0;
	emit_server(&key, gs, h2_status(http_state(gs)->resp), OT_HTTP_PANICKED);
	close_request(key.pid, gs, 0);
	return 0;
}

/* (*conn).hijackLocked: the handler takes the connection over. */
SEC("uprobe")
int http_hijack(struct pt_regs *ctx)
{
	struct goroutine_key key = goroutine_of(ctx);
	struct goroutine_span *gs = live_request(&key);

	if (gs)
		http_state(gs)->flags |= OT_HTTP_HIJACKED;
	return 0;
}

/*
 * Diagnostic (--probe-placement=entry-ret): sits on every ret of ServeHTTP,
 * where return-probe tracers end their spans, and does the per-goroutine
 * lookup such an end needs. Spans still end at finishRequest.
 */
SEC("uprobe")
int return_probe(struct pt_regs *ctx)
{
	struct goroutine_key key = goroutine_of(ctx);

	bpf_map_lookup_elem(&goroutine_spans, &key);
	return 0;
}

#endif
