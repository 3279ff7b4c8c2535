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
 *
 * golang.org/x/net/http2's own server (http2.ConfigureServer, h2c) has the
 * same shape under other names: its (*serverConn).runHandler(sc, rw, req,
 * handler) starts the request (its handler reaches ServeHTTP only over TLS,
 * where the start is then recognised as the same request), its
 * (*responseWriter).handlerDone or the recover call of runHandler's closure
 * ends it. h2c begins inside an HTTP/1 request, the "PRI *" preface or an
 * Upgrade, whose handler hijacks the connection and serves it as HTTP/2 in
 * (*Server).ServeConn: that HTTP/1 "request" is no request and gets no span.
 *
 * The ResponseWriter ServeHTTP is given is an interface: its itab says which
 * writer it is (the dynamic type), and its fields are read only with the
 * layout of that type.
 */
#ifndef OTRACE_NET_HTTP_SERVER_BPF_H
#define OTRACE_NET_HTTP_SERVER_BPF_H

#include "common.bpf.h"
#include "go_map.h"
#include "net_http_server/config.h"
#include "net_http_server/record.h"

const volatile struct ot_http_server_cfg http_server_cfg = {};

/* The dynamic type of a request's ResponseWriter. */
enum http_writer {
	WRITER_UNCHECKED = 0, /* the binary names no itab to check it with */
	WRITER_HTTP1,	      /* *net/http.response */
	WRITER_H2,	      /* *net/http.http2responseWriter */
	WRITER_XNET,	      /* *golang.org/x/net/http2.responseWriter */
	WRITER_OTHER,	      /* none of these: no probe ends its request */
};

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
	__u32 writer; /* enum http_writer: resp's dynamic type */
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
 * A Request's fields, read in one piece into a per-CPU copy (req_window,
 * from the plan): one read where there were up to ten.
 */
DEFINE_SLOTS(http_request_copy, OT_HTTP_REQ_WINDOW_MAX);

struct req_copy {
	struct window_copy win;
	struct slot_hold hold; /* the slot the copy is in: request_done releases it */
};

/* A copy of req's fields; with no slot free, they are read one by one. */
static __always_inline void request_copy(__u64 req, struct req_copy *rc)
{
	__u8 *buf = NULL;

	rc->hold.busy = NULL;
	if (http_server_cfg.req_window.len)
		buf = slot_get(&http_request_copy, &rc->hold);
	window_read(&rc->win, req, &http_server_cfg.req_window, buf, OT_HTTP_REQ_WINDOW_MAX);
}

static __always_inline void request_done(struct req_copy *rc)
{
	rc->win.len = 0;
	slot_put(&rc->hold);
}

/* The Request's 8-byte field at off (0 when off < 0). */
static __always_inline __u64 req_u64(const struct req_copy *rc, __s64 off)
{
	return window_u64(&rc->win, off, OT_HTTP_REQ_WINDOW_MAX);
}

/* The Request's 16-byte field at off, a string header or an interface (dst untouched when off < 0). */
static __always_inline void req_pair(const struct req_copy *rc, __s64 off, void *dst)
{
	window_field(&rc->win, off, dst, 16, OT_HTTP_REQ_WINDOW_MAX);
}

/*
 * Reads the request headers otrace uses, in one pass over the header map:
 * User-Agent (kept as a string header, read at the end) and traceparent,
 * which decides the span's trace before any child can start.
 */
static __always_inline void read_start_headers(struct goroutine_span *gs, const struct req_copy *rc)
{
	const volatile struct ot_http_server_cfg *cfg = &http_server_cfg;
	struct http_start *start = http_state(gs);
	struct map_scan scan = {
		.key = { "User-Agent", "Traceparent" },
		.key_len = { sizeof("User-Agent") - 1, sizeof("Traceparent") - 1 },
		.nkeys = 2,
	};
	struct go_string tp = {};

	new_root(&gs->ids);
	if (!go_header_lookup(req_u64(rc, cfg->req_header), &scan))
		return;
	if (scan.value[0].len > 0 && scan.value[0].ptr &&
	    !bpf_probe_read_user(&start->ua, sizeof(start->ua), (void *)scan.value[0].ptr))
		start->flags |= OT_HTTP_UA_FOUND;
	/* W3C: a request with several traceparent headers has no valid one */
	if (scan.value[1].len != 1 || !scan.value[1].ptr ||
	    bpf_probe_read_user(&tp, sizeof(tp), (void *)scan.value[1].ptr))
		return;
	if (continue_traceparent(tp, &gs->ids))
		start->flags |= OT_HTTP_HAS_PARENT;
}

/* Unregisters the request's context: spans started later are not its children. */
static __always_inline void forget_context(__u32 pid, struct goroutine_span *gs)
{
	struct http_start *start = http_state(gs);

	if (!start->ctx)
		return;
	ctx_unregister(pid, start->ctx, span_id_of(&gs->ids));
	start->ctx = 0;
}

/*
 * The dynamic type behind ServeHTTP's ResponseWriter, from its itab tab: its
 * address, or in a binary without itab symbols its first method (Header).
 */
static __always_inline __u32 writer_of(struct pt_regs *ctx, __u64 tab)
{
	const volatile struct ot_http_server_cfg *cfg = &http_server_cfg;
	__u64 bias = REGS_IP(ctx) - cfg->serve_probe_vaddr;
	__u64 header;

	if (cfg->itab_http1 || cfg->itab_h2 || cfg->itab_xnet) {
		if (cfg->itab_http1 && tab == cfg->itab_http1 + bias)
			return WRITER_HTTP1;
		if (cfg->itab_h2 && tab == cfg->itab_h2 + bias)
			return WRITER_H2;
		if (cfg->itab_xnet && tab == cfg->itab_xnet + bias)
			return WRITER_XNET;
		return WRITER_OTHER;
	}
	if (!cfg->header_http1 && !cfg->header_h2 && !cfg->header_xnet)
		return WRITER_UNCHECKED;
	header = read_ptr(tab + GO_ITAB_FUN_OFF) - bias;
	if (cfg->header_http1 && header == cfg->header_http1)
		return WRITER_HTTP1;
	if (cfg->header_h2 && header == cfg->header_h2)
		return WRITER_H2;
	if (cfg->header_xnet && header == cfg->header_xnet)
		return WRITER_XNET;
	return WRITER_OTHER;
}

/* URL.Path now: a handler may have rewritten it. */
static __always_inline struct go_string url_path(const struct req_copy *rc)
{
	const volatile struct ot_http_server_cfg *cfg = &http_server_cfg;
	struct go_string path = {};
	__u64 url = req_u64(rc, cfg->req_url);

	if (url)
		bpf_probe_read_user(&path, sizeof(path), (void *)(url + cfg->url_path));
	return path;
}

/* Starts the span of request req, answered through resp of type writer. */
static __always_inline int start_request(struct pt_regs *ctx, __u64 req, __u64 resp,
					 __u32 writer)
{
	const volatile struct ot_http_server_cfg *cfg = &http_server_cfg;
	struct goroutine_key key = goroutine_of(ctx);
	struct goroutine_span *gs;
	struct http_start *start;
	struct go_iface rctx = {};
	struct req_copy rc;

	gs = goroutine_span_claim(&key, OT_REC_HTTP_SERVER, true);
	if (!gs) {
		count_drop(OT_DROP_INFLIGHT_FULL);
		return 0;
	}
	start = http_state(gs);
	/* stack growth re-enters the function, x/net's TLS handler reaches ServeHTTP */
	if (start->req == req && req)
		return 0;
	if (start->req) {
		/* the goroutine moved on without an end we saw: forget that request */
		count_drop(OT_DROP_UNFINISHED);
		forget_context(key.pid, gs);
		start->req = 0;
		gs->live = 0;
	}
	if (writer == WRITER_OTHER) {
		/* a server otrace has no end for: its span would never end */
		count_drop(OT_DROP_UNFINISHED);
		return 0;
	}
	start->start_ns = bpf_ktime_get_ns();
	start->req = req;
	start->resp = resp;
	start->writer = writer;
	start->finished_resp = 0;
	start->ctx = 0;
	start->flags = 0;
	start->ua = (struct go_string){};
	request_copy(req, &rc);
	read_start_headers(gs, &rc);
	req_pair(&rc, cfg->req_ctx, &rctx);
	request_done(&rc);
	if (rctx.data) {
		start->ctx = rctx.data;
		ctx_register(key.pid, rctx.data, key.g, &gs->ids);
	}
	gs->live = 1;
	return 0;
}

/* serverHandler.ServeHTTP(sh, rw ResponseWriter, req) */
OT_UPROBE(serve_http_enter)
{
	return start_request(ctx, GO_ARG4(ctx), GO_ARG3(ctx), writer_of(ctx, GO_ARG2(ctx)));
}

/* golang.org/x/net/http2.(*serverConn).runHandler(sc, rw *responseWriter, req, handler) */
OT_UPROBE(xnet_handler_start)
{
	return start_request(ctx, GO_ARG3(ctx), GO_ARG2(ctx), WRITER_XNET);
}

/*
 * The record being built on this CPU (struct ot_http_server_wire): its head
 * and room for its packed strings past the mask's reach (pack_go_string),
 * copied into the ring buffer at the size they took.
 */
_Static_assert(OT_HTTP_SERVER_STRINGS_MAX <= OT_PACK_MASK, "strings beyond the mask");
_Static_assert(OT_PATH_CAP <= OT_UA_CAP && OT_ROUTE_CAP <= OT_UA_CAP, "room for the largest string");

DEFINE_RECORD_SLOTS(http_wire, struct ot_http_server_wire, OT_UA_CAP);

/*
 * The path the request arrived with: RequestURI, as received, which
 * user space parses and decodes as net/http parsed URL.Path from it
 * (OT_HTTP_PATH_RAW). A handler may rewrite URL.Path, never the
 * RequestURI the server set, and reading it at the end costs no read of
 * its own at the start. URL.Path only when the layout or the request
 * has no RequestURI.
 */
static __always_inline void pack_path(struct ot_http_server_wire *w, __u32 *pos,
				      const struct req_copy *rc)
{
	const volatile struct ot_http_server_cfg *cfg = &http_server_cfg;
	struct go_string uri = {};

	if (cfg->req_request_uri >= 0)
		req_pair(rc, cfg->req_request_uri, &uri);
	if (uri.ptr && uri.len > 0) {
		w->path_len = pack_go_string(w->strings, pos, OT_PATH_CAP, uri);
		w->flags |= OT_HTTP_PATH_RAW;
		return;
	}
	w->path_len = pack_go_string(w->strings, pos, OT_PATH_CAP, url_path(rc));
}

/* The request's fields, its strings packed in their order (record.h) up to the user agent. */
static __always_inline void pack_request(struct ot_http_server_wire *w, __u32 *pos,
					 struct http_start *start)
{
	const volatile struct ot_http_server_cfg *cfg = &http_server_cfg;
	struct go_string str = {};
	struct req_copy rc;

	request_copy(start->req, &rc);

	req_pair(&rc, cfg->req_method, &str);
	w->method_len = pack_go_string(w->strings, pos, OT_METHOD_CAP, str);
	pack_path(w, pos, &rc);
	w->proto_major = (__s64)req_u64(&rc, cfg->req_proto_major);
	w->proto_minor = (__s64)req_u64(&rc, cfg->req_proto_minor);
	str = (struct go_string){};
	req_pair(&rc, cfg->req_host, &str);
	w->host_len = pack_go_string(w->strings, pos, OT_HOST_CAP, str);
	str = (struct go_string){};
	req_pair(&rc, cfg->req_remote_addr, &str);
	w->remote_len = pack_go_string(w->strings, pos, OT_ADDR_CAP, str);
	if (req_u64(&rc, cfg->req_tls))
		w->flags |= OT_HTTP_TLS;
	str = (struct go_string){};
	if (cfg->req_pattern >= 0) {
		w->flags |= OT_HTTP_HAS_PATTERN;
		req_pair(&rc, cfg->req_pattern, &str);
	} else if (cfg->req_pat >= 0) {
		__u64 pat = req_u64(&rc, cfg->req_pat);

		w->flags |= OT_HTTP_HAS_PATTERN;
		if (pat)
			bpf_probe_read_user(&str, sizeof(str), (void *)(pat + cfg->pattern_str));
	}
	w->pattern_len = pack_go_string(w->strings, pos, OT_PATTERN_CAP, str);
	request_done(&rc);
}

/*
 * Emits the server span of gs's request, ending now; flags add to the
 * start's. status < 0: unknown (not read). An HTTP/1 "request" of protocol
 * 2.0 is h2c's preface "PRI *", which net/http hands to the handler only so
 * that it can take the connection over: no request, no span.
 */
static __always_inline void emit_server(struct goroutine_key *key, struct goroutine_span *gs,
					__s64 status, __u32 flags)
{
	struct http_start *start = http_state(gs);
	struct ot_http_server_wire *w;
	struct slot_hold hold;
	__u32 *pos;

	/* ended before it is written: evicted from now on, it is no loss (evictwatch) */
	gs->live = 0;
	w = record_get(&http_wire, &hold);
	if (!w)
		return;
	pos = record_pos(w);
	__builtin_memset(w, 0, sizeof(*w));
	w->hdr.type = OT_REC_HTTP_SERVER;
	w->pid = key->pid;
	w->goroutine = key->g;
	w->start_ns = start->start_ns;
	w->end_ns = bpf_ktime_get_ns();
	w->status = status < 0 ? 0 : status;
	w->flags = start->flags | flags | (status < 0 ? OT_HTTP_STATUS_UNKNOWN : 0);
	if (start->writer == WRITER_H2 || start->writer == WRITER_XNET)
		w->flags |= OT_HTTP_SERVED_H2;
	w->ids = gs->ids;
	pack_request(w, pos, start);
	if (w->flags & OT_HTTP_SERVED_H2 || w->proto_major != 2) {
		if (start->flags & OT_HTTP_UA_FOUND)
			w->ua_len = pack_go_string(w->strings, pos, OT_UA_CAP, start->ua);
		route_pack(gs, w->strings, pos, &w->route_state, &w->route_len);
		submit_packed(w, sizeof(*w), *pos);
	}
	slot_put(&hold);
}

/*
 * Closes gs's request: unregisters its context and remembers the response
 * writer whose end was seen (0: none), so that a second hit of the same end
 * after stack growth is recognised.
 */
static __always_inline void close_request(__u32 pid, struct goroutine_span *gs, __u64 finished)
{
	struct http_start *start = http_state(gs);

	forget_context(pid, gs);
	start->req = 0;
	start->finished_resp = finished;
	gs->live = 0;
}

/* The status of an HTTP/1 *response: 0 until the handler wrote the header. */
static __always_inline __s64 http1_status(__u64 resp)
{
	return resp ? read_s64(resp + http_server_cfg.resp_status) : 0;
}

/*
 * The status of an HTTP/2 responseWriter, bundled or x/net's, through its
 * state (rws): 0 until the handler wrote the header, -1 when the layout is
 * not known.
 */
static __always_inline __s64 rws_status(__u64 rw, const volatile struct ot_field_path *status)
{
	__u64 addr;

	if (status->derefs < 0)
		return -1;
	addr = field_path_addr(status, rw);
	return addr ? read_s64(addr) : 0;
}

/*
 * The status written to the writer of gs's request, read with the layout of
 * its dynamic type; -1 (and counted) when that type was not checked.
 */
static __always_inline __s64 writer_status(struct http_start *start)
{
	const volatile struct ot_http_server_cfg *cfg = &http_server_cfg;

	switch (start->writer) {
	case WRITER_HTTP1:
		return http1_status(start->resp);
	case WRITER_H2:
		return rws_status(start->resp, &cfg->h2_status);
	case WRITER_XNET:
		return rws_status(start->resp, &cfg->xnet_status);
	}
	count_drop(OT_DROP_WRONG_TYPE);
	return -1;
}

OT_UPROBE(finish_request_enter)
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
	if (!start->req || start->resp != resp) {
		/* none, or another writer's: this request began before otrace attached */
		if (start->req) {
			count_drop(OT_DROP_UNFINISHED);
			close_request(key.pid, gs, 0);
		}
		count_drop(OT_DROP_NO_START);
		return 0;
	}
	/* resp is the concrete *response finishRequest is a method of */
	emit_server(&key, gs, http1_status(resp), 0);
	close_request(key.pid, gs, resp);
	return 0;
}

/*
 * The connection's serve loop is ending: a request still in progress on this
 * goroutine will never reach finishRequest. Its handler panicked, or hijacked
 * the connection (then the hijack probe marked it). A live HTTP/2 request
 * here is a leftover of an earlier goroutine at the same address.
 */
OT_UPROBE(conn_serve_done)
{
	struct goroutine_key key = goroutine_of(ctx);
	struct goroutine_span *gs = live_request(&key);
	struct http_start *start;

	if (!gs)
		return 0;
	start = http_state(gs);
	if (start->writer == WRITER_HTTP1 || start->writer == WRITER_UNCHECKED)
		emit_server(&key, gs, writer_status(start),
			    start->flags & OT_HTTP_HIJACKED ? 0 : OT_HTTP_PANICKED);
	else
		count_drop(OT_DROP_UNFINISHED);
	close_request(key.pid, gs, 0);
	return 0;
}

/* An HTTP/2 handler of writer rw returned: status through its state (rws). */
static __always_inline int h2_done(struct pt_regs *ctx, __u64 rw,
				   const volatile struct ot_field_path *status)
{
	struct goroutine_key key = goroutine_of(ctx);
	struct goroutine_span *gs = http_entry(&key);
	struct http_start *start;

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
	/* rw is the concrete writer handlerDone is a method of */
	emit_server(&key, gs, rws_status(rw, status), 0);
	close_request(key.pid, gs, rw);
	return 0;
}

/* (*responseWriter).handlerDone(w) of net/http's HTTP/2 server: the handler returned. */
OT_UPROBE(h2_handler_done)
{
	return h2_done(ctx, GO_ARG1(ctx), &http_server_cfg.h2_status);
}

/* golang.org/x/net/http2.(*responseWriter).handlerDone(w) */
OT_UPROBE(xnet_handler_done)
{
	return h2_done(ctx, GO_ARG1(ctx), &http_server_cfg.xnet_status);
}

/*
 * runHandler's deferred closure calls recover: the HTTP/2 handler panicked
 * (or called runtime.Goexit), and the server resets the stream. The same
 * program for the bundled server and x/net's: the writer's dynamic type,
 * known since the start, says whose layout its status has.
 */
OT_UPROBE(h2_handler_panicked)
{
	struct goroutine_key key = goroutine_of(ctx);
	struct goroutine_span *gs = live_request(&key);

	if (!gs)
		return 0;
	emit_server(&key, gs, writer_status(http_state(gs)), OT_HTTP_PANICKED);
	close_request(key.pid, gs, 0);
	return 0;
}

/*
 * golang.org/x/net/http2.(*Server).ServeConn: a handler serves the connection
 * it hijacked as HTTP/2 (h2c). The HTTP/1 request it hijacked it in, the
 * "PRI *" preface or an Upgrade whose request HTTP/2 serves again as stream
 * 1, is no request of its own.
 */
OT_UPROBE(xnet_serve_conn)
{
	struct goroutine_key key = goroutine_of(ctx);
	struct goroutine_span *gs = live_request(&key);

	if (gs)
		close_request(key.pid, gs, 0);
	return 0;
}

/* (*conn).hijackLocked: the handler takes the connection over. */
OT_UPROBE(http_hijack)
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
OT_UPROBE(return_probe)
{
	struct goroutine_key key = goroutine_of(ctx);

	bpf_map_lookup_elem(&goroutine_spans, &key);
	return 0;
}

#endif
