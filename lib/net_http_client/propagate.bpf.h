// SPDX-License-Identifier: MIT
/*
 * --propagate: W3C traceparent on outgoing net/http requests, written into
 * the target's memory. Off unless asked for (rodata http_client_cfg.propagate);
 * these programs are not even loaded otherwise.
 *
 * HTTP/1.1: (*Request).write serialises the headers through
 * Header.writeSubset(h, w, ...) into the connection's *bufio.Writer. At
 * (*Request).write's entry the request's claim notes the goroutine writing
 * it; at writeSubset's entry, called from there on that goroutine for the
 * claimed header map, one "Traceparent: ...\r\n" line is appended to the
 * writer's buffer (buf[n:], n += 70) when it fits; the request's other header
 * lines follow it. The writer's type is checked through its itab's first method
 * (bufio.(*Writer).Write) so that no other io.Writer is ever written to.
 *
 * HTTP/2: (*http2clientStream).doRequest(req) arms its goroutine for the
 * request; its (*http2ClientConn).writeHeaders(cc, streamID, ..., hdrs) then
 * notes the stream, the block's length and the connection's *bufio.Writer,
 * and right after it has called (*http2Framer).WriteHeaders the HEADERS
 * frame ends that writer's buffer: a literal field without indexing,
 * "traceparent: ...", is appended to the frame (extend_headers_frame). The
 * header block's own buffer cannot be used: on a new connection it is sized
 * to fit just the fields encoded so far.
 *
 * A header map is claimed by the round trip that registered it, and only
 * while that round trip is in progress: before anything is written, its
 * goroutine must still be in that very attempt (a header map left claimed by
 * a round trip that returned early, or whose address a later request or a
 * server's response reuses, is never written to), and over HTTP/1.1 the
 * headers must be serialised by (*Request).write, not by a server's response.
 * A request whose headers already carry a traceparent (looked up once, when
 * its round trip starts) is left as it is.
 */
#ifndef OTRACE_NET_HTTP_CLIENT_PROPAGATE_BPF_H
#define OTRACE_NET_HTTP_CLIENT_PROPAGATE_BPF_H

/* included by probe.bpf.h, after http_client_cfg and http_client_inflight */
#include "go_map.h"
#include "propagation.bpf.h"

#define TRACEPARENT_LINE_LEN (sizeof("Traceparent: ") - 1 + OT_TRACEPARENT_LEN + 2)

/* Which round trip's request a header map is, and the span it names. */
struct propagate_claim {
	struct ot_span_ids ids;
	struct goroutine_key owner; /* the goroutine making the round trip */
	__u64 req;
	__u64 start_ns; /* of the attempt: with owner, tells it from a later round trip */
	__u64 writer_g; /* HTTP/1.1: the goroutine in (*Request).write of req */
};

/* client spans in progress, by the data pointer of their request's header map */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, struct ctx_key);
	__type(value, struct propagate_claim);
} propagate_hdrs SEC(".maps");

/* Whether header map h holds a traceparent already (as set, or written in lower case). */
static __always_inline bool carries_traceparent(__u64 h)
{
	struct map_scan scan = {
		.key = { "Traceparent", "traceparent" },
		.key_len = { sizeof("Traceparent") - 1, sizeof("traceparent") - 1 },
		.nkeys = 2,
	};

	return go_header_lookup(h, &scan) > 0;
}

/* Claims header map hdr of start's request for its attempt. */
static __always_inline void claim_headers(struct goroutine_key owner,
					  struct http_client_start *start, __u64 hdr)
{
	struct ctx_key key = { .pid = owner.pid, .data = hdr };
	struct propagate_claim claim = {
		.ids = start->ids,
		.owner = owner,
		.req = start->req,
		.start_ns = start->start_ns,
	};

	start->hdr = hdr;
	bpf_map_update_elem(&propagate_hdrs, &key, &claim, BPF_ANY);
}

/*
 * start_client: claims the header map of start's request, unless the
 * request carries a traceparent of its own (it keeps it).
 */
static __always_inline void propagate_register(struct goroutine_key owner,
					       struct http_client_start *start)
{
	__u64 hdr;

	if (!http_client_cfg.propagate)
		return;
	hdr = read_ptr(start->req + http_client_cfg.req_header);
	if (!hdr)
		return;
	if (carries_traceparent(hdr)) {
		start->flags |= OT_HTTP_CLIENT_OWN_TRACEPARENT;
		count_propagate(OT_PROPAGATE_PRESENT);
		return;
	}
	claim_headers(owner, start, hdr);
}

/* A resent attempt: its own claim, for its own span. */
static __always_inline void propagate_reclaim(struct goroutine_key owner,
					      struct http_client_start *start)
{
	__u64 hdr;

	if (!http_client_cfg.propagate || (start->flags & OT_HTTP_CLIENT_OWN_TRACEPARENT))
		return;
	hdr = read_ptr(start->req + http_client_cfg.req_header);
	if (hdr)
		claim_headers(owner, start, hdr);
}

/* Drops start's claim, unless a later request has claimed the same map since. */
static __always_inline void propagate_forget(__u32 pid, struct http_client_start *start)
{
	struct ctx_key key = { .pid = pid, .data = start->hdr };
	const struct propagate_claim *claim;

	if (!start->hdr)
		return;
	claim = bpf_map_lookup_elem(&propagate_hdrs, &key);
	if (claim && claim->req == start->req && claim->start_ns == start->start_ns)
		bpf_map_delete_elem(&propagate_hdrs, &key);
	start->hdr = 0;
}

/*
 * The claim on header map key, if the round trip that made it is still in
 * that attempt; a stale one is dropped and counted.
 */
static __always_inline struct propagate_claim *live_claim(struct ctx_key *key)
{
	struct propagate_claim *claim = bpf_map_lookup_elem(&propagate_hdrs, key);
	const struct http_client_start *rt;

	if (!claim)
		return NULL;
	rt = bpf_map_lookup_elem(&http_client_inflight, &claim->owner);
	if (rt && rt->state != CLIENT_DONE && rt->req == claim->req &&
	    rt->start_ns == claim->start_ns && rt->hdr == key->data)
		return claim;
	count_propagate(OT_PROPAGATE_STALE);
	bpf_map_delete_elem(&propagate_hdrs, key);
	return NULL;
}

/* The live claim on request req's header map (key), if req is the request that made it. */
static __always_inline struct propagate_claim *claim_of(__u64 req, struct ctx_key *key)
{
	struct propagate_claim *claim;

	key->data = read_ptr(req + http_client_cfg.req_header);
	claim = key->data ? live_claim(key) : NULL;
	if (!claim || claim->req == req)
		return claim;
	count_propagate(OT_PROPAGATE_STALE);
	bpf_map_delete_elem(&propagate_hdrs, key);
	return NULL;
}

/*
 * net/http.(*Request).write(r, w, ...): r's claim, if r is the request that
 * claimed its header map, is being written on this goroutine. Another
 * request with the same header map (one sent without a round trip, by
 * Request.Write) is not.
 */
OT_UPROBE(http1_request_write)
{
	struct ctx_key key = { .pid = pid_of_current() };
	struct propagate_claim *claim;
	__u64 req = GO_ARG1(ctx);

	if (entry_repeats(ctx))
		return 0;
	claim = claim_of(req, &key);
	if (claim)
		claim->writer_g = GO_G(ctx);
	return 0;
}

/*
 * net/http.Header.writeSubset(h Header, w io.Writer, exclude, trace): only
 * where (*Request).write calls it (its return address, on the stack at the
 * prologue's stack check, is in there) on the goroutine writing the claimed
 * request, never for a server's response.
 */
OT_UPROBE(http1_write_headers)
{
	const volatile struct ot_http_client_cfg *cfg = &http_client_cfg;
	struct ctx_key key = { .pid = pid_of_current(), .data = GO_ARG1(ctx) };
	char line[TRACEPARENT_LINE_LEN] = "Traceparent: ";
	const struct propagate_claim *claim;
	struct go_slice buf = {};
	__u64 w = GO_ARG3(ctx), itab = GO_ARG2(ctx), method = 0, ret = 0;
	__u64 bias = REGS_IP(ctx) - cfg->write_subset_probe_vaddr;
	__s64 n = 0;

	claim = live_claim(&key);
	if (!claim)
		return 0;
	if (claim->writer_g != GO_G(ctx) ||
	    bpf_probe_read_user(&ret, sizeof(ret), (void *)REGS_SP(ctx)) ||
	    ret - bias < cfg->req_write_vaddr || ret - bias >= cfg->req_write_end) {
		count_propagate(OT_PROPAGATE_STALE); /* not the claimed request being written */
		return 0;
	}
	/* only a *bufio.Writer: its io.Writer itab's one method is (*Writer).Write */
	if (!itab ||
	    bpf_probe_read_user(&method, sizeof(method), (void *)(itab + GO_ITAB_FUN_OFF)) ||
	    method != cfg->bufio_write_vaddr + bias) {
		count_propagate(OT_PROPAGATE_SKIPPED);
		return 0;
	}
	if (bpf_probe_read_user(&buf, sizeof(buf), (void *)(w + cfg->bufio_buf)) ||
	    bpf_probe_read_user(&n, sizeof(n), (void *)(w + cfg->bufio_n)) || n < 0 ||
	    n + (__s64)TRACEPARENT_LINE_LEN > buf.len || !buf.ptr) {
		count_propagate(OT_PROPAGATE_NO_ROOM);
		return 0;
	}
	format_traceparent(line + 13, &claim->ids);
	line[TRACEPARENT_LINE_LEN - 2] = '\r';
	line[TRACEPARENT_LINE_LEN - 1] = '\n';
	if (bpf_probe_write_user((void *)(buf.ptr + n), line, sizeof(line))) {
		count_propagate(OT_PROPAGATE_FAILED);
		return 0;
	}
	n += TRACEPARENT_LINE_LEN;
	if (bpf_probe_write_user((void *)(w + cfg->bufio_n), &n, sizeof(n))) {
		count_propagate(OT_PROPAGATE_FAILED);
		return 0;
	}
	count_propagate(OT_PROPAGATE_WRITTEN);
	bpf_map_delete_elem(&propagate_hdrs, &key); /* a retry gets no second line */
	return 0;
}

/*
 * (*clientStream).doRequest(cs, req, ...) of net/http's HTTP/2 client: arm this
 * goroutine (req is the *http.Request, from Go 1.27 a ClientRequest sharing its
 * header map)
 */
OT_UPROBE(h2_do_request)
{
	struct ctx_key key = { .pid = pid_of_current() };
	struct goroutine_key gk = { .pid = key.pid, .g = GO_G(ctx) };
	struct frame_to_extend f = { .block_len = -1 };
	const struct propagate_claim *claim;

	bpf_map_delete_elem(&propagate_frames, &gk); /* a reused goroutine's old arming */
	if (http_client_cfg.h2_req_is_request) {
		claim = claim_of(GO_ARG2(ctx), &key);
	} else {
		/* Go 1.27: a ClientRequest of its own, holding the request's header map */
		key.data = read_ptr(GO_ARG2(ctx) + http_client_cfg.h2_req_header);
		claim = key.data ? live_claim(&key) : NULL;
	}
	if (!claim)
		return 0;
	f.ids = claim->ids;
	bpf_map_update_elem(&propagate_frames, &gk, &f, BPF_ANY);
	return 0;
}

/* net/http.(*http2ClientConn).writeHeaders(cc, streamID, endStream, maxFrameSize, hdrs) */
OT_UPROBE(h2_write_headers)
{
	struct goroutine_key gk = goroutine_of(ctx);
	struct frame_to_extend *f;
	__s64 max_frame = GO_ARG4(ctx), block_len = GO_ARG6(ctx);

	if (entry_repeats(ctx))
		return 0;
	f = bpf_map_lookup_elem(&propagate_frames, &gk);
	if (!f || f->block_len >= 0)
		return 0;
	if (block_len <= 0 || block_len + TRACEPARENT_HPACK_LEN > max_frame) {
		count_propagate(OT_PROPAGATE_NO_ROOM); /* more than one frame */
		bpf_map_delete_elem(&propagate_frames, &gk);
		return 0;
	}
	f->stream_id = (__u32)GO_ARG2(ctx);
	f->block_len = block_len;
	f->writer = read_ptr(GO_ARG1(ctx) + http_client_cfg.h2cc_bw);
	return 0;
}

/* Right after writeHeaders' call of (*http2Framer).WriteHeaders returned. */
OT_UPROBE(h2_headers_written)
{
	const volatile struct ot_http_client_cfg *cfg = &http_client_cfg;
	struct goroutine_key gk = goroutine_of(ctx);
	const struct frame_to_extend *f;
	struct go_slice buf = {};
	__s64 n = -1;

	f = bpf_map_lookup_elem(&propagate_frames, &gk);
	if (!f || f->block_len < 0)
		return 0;
	if (!f->writer ||
	    bpf_probe_read_user(&buf, sizeof(buf), (void *)(f->writer + cfg->bufio_buf)) ||
	    bpf_probe_read_user(&n, sizeof(n), (void *)(f->writer + cfg->bufio_n)))
		count_propagate(OT_PROPAGATE_NO_ROOM);
	else
		count_propagate(extend_headers_frame(f, buf, n, f->writer + cfg->bufio_n));
	bpf_map_delete_elem(&propagate_frames, &gk);
	return 0;
}

#endif
