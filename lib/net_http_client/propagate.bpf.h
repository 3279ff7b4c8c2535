// SPDX-License-Identifier: MIT
/*
 * --propagate: W3C traceparent on outgoing net/http requests, written into
 * the target's memory. Off unless asked for (rodata http_client_cfg.propagate);
 * these programs are not even loaded otherwise.
 *
 * HTTP/1.1: Request.write serialises the headers through
 * Header.writeSubset(h, w, ...) into the connection's *bufio.Writer. At that
 * function's entry, for a header map registered by a client span in
 * progress, one "Traceparent: ...\r\n" line is appended to the writer's
 * buffer (buf[n:], n += 70) when it fits; the request's other header lines
 * follow it. The writer's type is checked through its itab's first method
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
 */
#ifndef OTRACE_NET_HTTP_CLIENT_PROPAGATE_BPF_H
#define OTRACE_NET_HTTP_CLIENT_PROPAGATE_BPF_H

/* included by probe.bpf.h, after http_client_cfg */
#include "propagation.bpf.h"

#define TRACEPARENT_LINE_LEN (sizeof("Traceparent: ") - 1 + OT_TRACEPARENT_LEN + 2)

/* client spans in progress, by the data pointer of their request's header map */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, struct ctx_key);
	__type(value, struct ot_span_ids);
} propagate_hdrs SEC(".maps");

/* Called by http_client_enter: remember the request's header map. */
static __always_inline void propagate_register(__u32 pid, __u64 req,
					       const struct ot_span_ids *ids)
{
	struct ctx_key key = { .pid = pid };

	if (!http_client_cfg.propagate)
		return;
	key.data = read_ptr(req + http_client_cfg.req_header);
	if (key.data)
		bpf_map_update_elem(&propagate_hdrs, &key, ids, BPF_ANY);
}

static __always_inline void propagate_forget(__u32 pid, __u64 req)
{
	struct ctx_key key = { .pid = pid };

	if (!http_client_cfg.propagate)
		return;
	key.data = read_ptr(req + http_client_cfg.req_header);
	bpf_map_delete_elem(&propagate_hdrs, &key);
}

/* net/http.Header.writeSubset(h Header, w io.Writer, exclude, trace) */
SEC("uprobe")
int http1_write_headers(struct pt_regs *ctx)
{
	const volatile struct ot_http_client_cfg *cfg = &http_client_cfg;
	struct ctx_key key = { .pid = pid_of_current(), .data = GO_ARG1(ctx) };
	char line[TRACEPARENT_LINE_LEN] = "Traceparent: ";
	const struct ot_span_ids *ids;
	struct go_slice buf = {};
	__u64 w = GO_ARG3(ctx), itab = GO_ARG2(ctx), method = 0;
	__s64 n = 0;

	ids = bpf_map_lookup_elem(&propagate_hdrs, &key);
	if (!ids)
		return 0;
	/* only a *bufio.Writer: its io.Writer itab's one method is (*Writer).Write */
	if (!itab || bpf_probe_read_user(&method, sizeof(method), (void *)(itab + 24)) ||
	    method != cfg->bufio_write_vaddr + (PT_REGS_IP(ctx) - cfg->write_subset_probe_vaddr)) {
		count_propagate(OT_PROPAGATE_SKIPPED);
		return 0;
	}
	if (bpf_probe_read_user(&buf, sizeof(buf), (void *)(w + cfg->bufio_buf)) ||
	    bpf_probe_read_user(&n, sizeof(n), (void *)(w + cfg->bufio_n)) || n < 0 ||
	    n + (__s64)TRACEPARENT_LINE_LEN > buf.len || !buf.ptr) {
		count_propagate(OT_PROPAGATE_NO_ROOM);
		return 0;
	}
	format_traceparent(line + 13, ids);
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
SEC("uprobe")
int h2_do_request(struct pt_regs *ctx)
{
	struct ctx_key key = { .pid = pid_of_current() };
	struct goroutine_key gk = { .pid = key.pid, .g = GO_G(ctx) };
	struct frame_to_extend f = { .block_len = -1 };
	const struct ot_span_ids *ids;

	key.data = read_ptr(GO_ARG2(ctx) + http_client_cfg.h2_req_header);
	ids = key.data ? bpf_map_lookup_elem(&propagate_hdrs, &key) : NULL;
	if (ids) {
		f.ids = *ids;
		bpf_map_update_elem(&propagate_frames, &gk, &f, BPF_ANY);
	} else {
		bpf_map_delete_elem(&propagate_frames, &gk); /* a reused goroutine's old arming */
	}
	return 0;
}

/* net/http.(*http2ClientConn).writeHeaders(cc, streamID, endStream, maxFrameSize, hdrs) */
SEC("uprobe")
int h2_write_headers(struct pt_regs *ctx)
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
SEC("uprobe")
int h2_headers_written(struct pt_regs *ctx)
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
