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
/*
 * One entry per goroutine serving HTTP. After a request finishes the entry
 * stays, with req cleared and the response remembered, so a second hit of
 * the same finishRequest (stack growth re-enters it) is recognised.
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
	struct ot_span_ids ids;
};

/* LRU so requests that never finish (hijacked, panicked) age out */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct goroutine_key);
	__type(value, struct http_start);
} http_inflight SEC(".maps");

/* The request in progress on key's goroutine, NULL when none. */
static __always_inline struct http_start *live_request(struct goroutine_key *key)
{
	struct http_start *start = bpf_map_lookup_elem(&http_inflight, key);

	return start && start->req ? start : NULL;
}

/* The server span (HTTP or gRPC) a child started on goroutine g belongs to, if any. */
static __always_inline const struct ot_span_ids *find_goroutine_parent(__u32 pid, __u64 g)
{
	struct goroutine_key key = { .pid = pid, .g = g };
	struct http_start *start = live_request(&key);

	if (start)
		return &start->ids;
	return bpf_map_lookup_elem(&rpc_by_goroutine, &key);
}

/*
 * Reads the request headers otrace uses, in one pass over the header map:
 * User-Agent (kept as a string header, read at the end) and traceparent,
 * which decides the span's trace before any child can start.
 */
static __always_inline void read_start_headers(struct http_start *start, __u64 req)
{
	const volatile struct ot_http_server_cfg *cfg = &http_cfg;
	struct map_scan scan = {
		.key = { "User-Agent", "Traceparent" },
		.key_len = { sizeof("User-Agent") - 1, sizeof("Traceparent") - 1 },
		.nkeys = 2,
	};
	struct go_slice values = {};
	struct go_string tp = {};

	new_root(&start->ids);
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
	if (continue_traceparent(tp, &start->ids))
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
	struct goroutine_key key = goroutine_of(ctx);
	struct http_start start = {
		.start_ns = bpf_ktime_get_ns(),
		.req = GO_ARG4(ctx),
		.resp = GO_ARG3(ctx),
	};
	struct http_start *prev;
	struct ctx_key ck = { .pid = key.pid };
	struct go_iface rctx = {};

	/* stack growth re-enters the function: keep the first start time */
	prev = bpf_map_lookup_elem(&http_inflight, &key);
	if (prev && prev->req == start.req && start.req)
		return 0;
	if (prev && prev->req) {
		/* the goroutine moved on without an end we saw: forget that request */
		count_drop(OT_DROP_UNFINISHED);
		forget_context(key.pid, prev);
	}
	read_start_headers(&start, start.req);
	if (http_cfg.req_ctx >= 0 &&
	    !bpf_probe_read_user(&rctx, sizeof(rctx), (void *)(start.req + http_cfg.req_ctx)) &&
	    rctx.data) {
		start.ctx = rctx.data;
		ck.data = rctx.data;
		bpf_map_update_elem(&ctx_spans, &ck, &start.ids, BPF_ANY);
	}
	if (bpf_map_update_elem(&http_inflight, &key, &start, BPF_ANY))
		count_drop(OT_DROP_INFLIGHT_FULL);
	return 0;
}

static __always_inline void read_request(struct ot_http_server_rec *rec, __u64 req)
{
	const volatile struct ot_http_server_cfg *cfg = &http_cfg;
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

/* Emits the server span of start, ending now; flags add to the start's. */
static __always_inline void emit_server(struct goroutine_key *key, struct http_start *start,
					__s64 status, __u32 flags)
{
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
	rec->ids = start->ids;
	if (start->flags & OT_HTTP_UA_FOUND)
		rec->ua_len = read_go_string_at(rec->ua, OT_UA_CAP, start->ua);
	read_request(rec, start->req);
	submit(rec);
}

/*
 * Closes start's request: unregisters its context and remembers the response
 * writer whose end was seen (0: none), so that a second hit of the same end
 * after stack growth is recognised.
 */
static __always_inline void close_request(__u32 pid, struct http_start *start, __u64 finished)
{
	forget_context(pid, start);
	start->req = 0;
	start->finished_resp = finished;
}

/* The status of an HTTP/1 *response: 0 until the handler wrote the header. */
static __always_inline __s64 http1_status(__u64 resp)
{
	return resp ? read_s64(resp + http_cfg.resp_status) : 0;
}

SEC("uprobe")
int finish_request_enter(struct pt_regs *ctx)
{
	struct goroutine_key key = goroutine_of(ctx);
	struct http_start *start;
	__u64 resp = GO_ARG1(ctx);

	start = bpf_map_lookup_elem(&http_inflight, &key);
	if (start && !start->req && start->finished_resp == resp)
		return 0; /* the same call again after stack growth */
	if (!start || !start->req) {
		count_drop(OT_DROP_NO_START);
		return 0;
	}
	if (read_ptr(resp + http_cfg.resp_req))
		emit_server(&key, start, http1_status(resp), 0);
	else
		count_drop(OT_DROP_READ_FAULT);
	close_request(key.pid, start, resp);
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
	struct http_start *start = live_request(&key);

	if (!start)
		return 0;
	emit_server(&key, start, http1_status(start->resp),
		    start->flags & OT_HTTP_HIJACKED ? 0 : OT_HTTP_PANICKED);
	close_request(key.pid, start, 0);
	return 0;
}

/* The status of an *http2responseWriter: 0 until the handler wrote the header. */
static __always_inline __s64 h2_status(__u64 rw)
{
	__u64 rws = rw ? read_ptr(rw + http_cfg.h2_rw_rws) : 0;

	return rws ? read_s64(rws + http_cfg.h2_rws_status) : 0;
}

/* (*http2responseWriter).handlerDone(w): the HTTP/2 handler returned. */
SEC("uprobe")
int h2_handler_done(struct pt_regs *ctx)
{
	struct goroutine_key key = goroutine_of(ctx);
	struct http_start *start;
	__u64 rw = GO_ARG1(ctx);

	start = bpf_map_lookup_elem(&http_inflight, &key);
	if (start && !start->req && start->finished_resp == rw)
		return 0; /* the same call again after stack growth */
	/* none, or another writer's: this request began before otrace attached */
	if (!start || !start->req || start->resp != rw) {
		count_drop(OT_DROP_NO_START);
		return 0;
	}
	emit_server(&key, start, h2_status(rw), 0);
	close_request(key.pid, start, rw);
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
	struct http_start *start = live_request(&key);

	if (!start)
		return 0;
	emit_server(&key, start, h2_status(start->resp), OT_HTTP_PANICKED);
	close_request(key.pid, start, 0);
	return 0;
}

/* (*conn).hijackLocked: the handler takes the connection over. */
SEC("uprobe")
int http_hijack(struct pt_regs *ctx)
{
	struct goroutine_key key = goroutine_of(ctx);
	struct http_start *start = live_request(&key);

	if (start)
		start->flags |= OT_HTTP_HIJACKED;
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

	bpf_map_lookup_elem(&http_inflight, &key);
	return 0;
}
