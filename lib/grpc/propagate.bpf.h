// SPDX-License-Identifier: MIT
/*
 * --propagate for gRPC clients (google.golang.org/grpc over
 * golang.org/x/net/http2): a "traceparent" metadata entry in the request's
 * HEADERS frame. Loaded only with --propagate; uses bpf/core/propagation.bpf.h
 * (formatting, counters, the frame extension) and client.bpf.h (the call
 * being created on this goroutine).
 *
 * grpc-go encodes a stream's headers on another goroutine than the caller's:
 * the caller queues a headerFrame on the transport's control buffer, and the
 * transport's writer goroutine (loopy) HPACK-encodes it into hBuf and writes
 * it as a frame into the connection's bufWriter (32 KiB by default), which
 * is flushed once loopy has nothing more to write. So:
 *
 *   (*controlBuffer).executeAndPut(c, f, it)    caller: a headerFrame queued
 *                                               while a call is being created
 *                                               registers its field list's
 *                                               backing array with the span
 *   (*loopyWriter).writeHeader(l, id, end, hf)  loopy: a registered list arms
 *                                               the goroutine for stream id
 *   after writeHeader's call of                 loopy: the HEADERS frame now
 *   http2.(*Framer).WriteHeaders                ends the bufWriter's buffer
 *   (RAX = the error's itab)                    and gets the field appended
 *                                               (extend_headers_frame) when
 *                                               it holds all of hBuf
 */
#ifndef OTRACE_GRPC_PROPAGATE_BPF_H
#define OTRACE_GRPC_PROPAGATE_BPF_H

#include "propagation.bpf.h"
#include "client.bpf.h"

/* Field lists of client calls being queued, by their backing array. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, struct ctx_key);
	__type(value, struct ot_span_ids);
} propagate_grpc_hf SEC(".maps");

/* transport.(*controlBuffer).executeAndPut(c, f, it cbItem): RCX:RDI = it */
OT_UPROBE(grpc_put_headers)
{
	struct goroutine_key gk = goroutine_of(ctx);
	struct ctx_key key = { .pid = gk.pid };
	const struct grpc_client_call *call, *live;
	struct grpc_stream_key sk = { .pid = gk.pid };
	__u64 item = GO_ARG4(ctx);

	/*
	 * Read once, here: read after the branches below, clang addressed the
	 * register as ctx plus an offset, which verifiers refuse (6.1).
	 */
	barrier_var(item);
	if (entry_repeats(ctx))
		return 0;
	/* what the caller queues while its call is being created is its headers */
	call = bpf_map_lookup_elem(&grpc_client_new, &gk);
	if (!call || call->ended || !item)
		return 0;
	/*
	 * A call linked to its stream is being created only while that stream
	 * is live: one that ended on another goroutine leaves its entry here
	 * (retire_call), and this goroutine, a server's handler, may be
	 * queueing its response's headers now.
	 */
	if (call->cs) {
		sk.stream = call->cs;
		live = bpf_map_lookup_elem(&grpc_client_calls, &sk);
		if (!live || live->ended)
			return 0;
	}
	key.data = read_ptr(item + grpc_cfg.header_frame_hf);
	if (key.data)
		bpf_map_update_elem(&propagate_grpc_hf, &key, &call->ids, BPF_ANY);
	return 0;
}

/* transport.(*loopyWriter).writeHeader(l, streamID, endStream, hf, onWrite) */
OT_UPROBE(grpc_write_header)
{
	const volatile struct ot_grpc_cfg *cfg = &grpc_cfg;
	struct goroutine_key gk = goroutine_of(ctx);
	struct ctx_key key = { .pid = gk.pid, .data = GO_ARG4(ctx) };
	struct frame_to_extend f = { .stream_id = (__u32)GO_ARG2(ctx), .block_len = -1 };
	const struct ot_span_ids *ids;
	__u64 l = GO_ARG1(ctx);

	if (entry_repeats(ctx))
		return 0;
	ids = bpf_map_lookup_elem(&propagate_grpc_hf, &key);
	if (!ids)
		return 0; /* a server's headers, or a call created before otrace came */
	f.ids = *ids;
	bpf_map_delete_elem(&propagate_grpc_hf, &key);
	f.hbuf = read_ptr(l + cfg->loopy_hbuf);
	f.writer = read_ptr(read_ptr(l + cfg->loopy_framer) + cfg->framer_writer);
	if (f.hbuf && f.writer)
		bpf_map_update_elem(&propagate_frames, &gk, &f, BPF_ANY);
	return 0;
}

/* The bufWriter's buffer: a slice field, or in newer releases a *[]byte. */
static __always_inline int read_bufwriter_buf(__u64 writer, struct go_slice *buf)
{
	__u64 at = writer + grpc_cfg.bufwriter_buf;

	if (grpc_cfg.buf_is_handle)
		at = read_ptr(at);
	if (!at)
		return -1;
	return bpf_probe_read_user(buf, sizeof(*buf), (void *)at);
}

/* Right after writeHeader's call of http2.(*Framer).WriteHeaders returned. */
OT_UPROBE(grpc_headers_written)
{
	const volatile struct ot_grpc_cfg *cfg = &grpc_cfg;
	struct goroutine_key gk = goroutine_of(ctx);
	struct frame_to_extend *f;
	struct go_slice block = {}, buf = {};
	__s64 consumed = -1, offset = -1;

	f = bpf_map_lookup_elem(&propagate_frames, &gk);
	if (!f || !f->hbuf)
		return 0;
	if (GO_ARG1(ctx))
		goto done; /* WriteHeaders failed: the connection is going away */
	/* the whole block went into this one frame: hBuf was read to its end */
	if (bpf_probe_read_user(&block, sizeof(block),
				(void *)(f->hbuf + cfg->bytes_buffer_buf)) ||
	    bpf_probe_read_user(&consumed, sizeof(consumed),
				(void *)(f->hbuf + cfg->bytes_buffer_off)) ||
	    consumed != block.len || read_bufwriter_buf(f->writer, &buf) ||
	    bpf_probe_read_user(&offset, sizeof(offset),
				(void *)(f->writer + cfg->bufwriter_offset))) {
		count_propagate(OT_PROPAGATE_NO_ROOM);
		goto done;
	}
	f->block_len = block.len;
	count_propagate(extend_headers_frame(f, buf, offset,
					     f->writer + cfg->bufwriter_offset));
done:
	bpf_map_delete_elem(&propagate_frames, &gk);
	return 0;
}

#endif
