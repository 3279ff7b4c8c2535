// SPDX-License-Identifier: MIT
/*
 * --propagate for gRPC clients (google.golang.org/grpc over
 * golang.org/x/net/http2): a "traceparent" metadata entry in the request's
 * HEADERS frame. Loaded only with --propagate; needs bpf/propagate.bpf.h
 * (formatting, counters) and bpf/grpc_client.bpf.h (the call being created
 * on this goroutine).
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
 *   http2.(*Framer).WriteHeaders                ends the bufWriter's buffer;
 *   (RAX = the error's itab)                    a literal field without
 *                                               indexing is appended to it and
 *                                               the frame's length grown by as
 *                                               much
 *
 * The frame is found, not assumed: it must end exactly at the buffer's
 * offset, be a HEADERS frame of the armed stream with END_HEADERS and no
 * padding or priority, and hold exactly the block hBuf encoded. Otherwise
 * (the block took several frames, the write was flushed at once, the buffer
 * is full, the frame would pass HTTP/2's minimum frame size limit) nothing
 * is written and the miss is counted. The literal leaves the HPACK dynamic
 * table, and so both ends' decoder state, untouched; a regular field after
 * the pseudo-headers is valid anywhere in the block.
 */

/* Field lists of client calls being queued, by their backing array. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, struct ctx_key);
	__type(value, struct ot_span_ids);
} propagate_grpc_hf SEC(".maps");

struct grpc_armed {
	struct ot_span_ids ids;
	__u32 stream_id;
	__u32 _pad;
	__u64 hbuf;   /* the loopy writer's *bytes.Buffer */
	__u64 writer; /* its framer's *bufWriter */
};

/* Writer goroutines about to write a registered stream's HEADERS frame. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct goroutine_key);
	__type(value, struct grpc_armed);
} propagate_grpc_arm SEC(".maps");

/* The HTTP/2 frame size every peer accepts (SETTINGS_MAX_FRAME_SIZE's minimum). */
#define HTTP2_MIN_MAX_FRAME 16384
#define HTTP2_FRAME_HEADER 9
#define HTTP2_HEADERS 0x1
#define HTTP2_END_HEADERS 0x4
#define HTTP2_PADDED 0x8
#define HTTP2_PRIORITY 0x20

/* transport.(*controlBuffer).executeAndPut(c, f, it cbItem): RCX:RDI = it */
SEC("uprobe")
int grpc_put_headers(struct pt_regs *ctx)
{
	struct goroutine_key gk = goroutine_of(ctx);
	struct ctx_key key = { .pid = gk.pid };
	const struct grpc_client_call *call;

	if (entry_repeats(ctx))
		return 0;
	/* what the caller queues while its call is being created is its headers */
	call = bpf_map_lookup_elem(&grpc_client_new, &gk);
	if (!call || call->ended || !GO_ARG4(ctx))
		return 0;
	key.data = read_ptr(GO_ARG4(ctx) + propagate_cfg.grpc_header_frame_hf);
	if (key.data)
		bpf_map_update_elem(&propagate_grpc_hf, &key, &call->ids, BPF_ANY);
	return 0;
}

/* transport.(*loopyWriter).writeHeader(l, streamID, endStream, hf, onWrite) */
SEC("uprobe")
int grpc_write_header(struct pt_regs *ctx)
{
	const volatile struct ot_propagate_cfg *cfg = &propagate_cfg;
	struct goroutine_key gk = goroutine_of(ctx);
	struct ctx_key key = { .pid = gk.pid, .data = GO_ARG4(ctx) };
	struct grpc_armed armed = { .stream_id = (__u32)GO_ARG2(ctx) };
	const struct ot_span_ids *ids;
	__u64 l = GO_ARG1(ctx);

	if (entry_repeats(ctx))
		return 0;
	ids = bpf_map_lookup_elem(&propagate_grpc_hf, &key);
	if (!ids)
		return 0; /* a server's headers, or a call created before otrace came */
	armed.ids = *ids;
	bpf_map_delete_elem(&propagate_grpc_hf, &key);
	armed.hbuf = read_ptr(l + cfg->grpc_loopy_hbuf);
	armed.writer = read_ptr(read_ptr(l + cfg->grpc_loopy_framer) + cfg->grpc_framer_writer);
	if (armed.hbuf && armed.writer)
		bpf_map_update_elem(&propagate_grpc_arm, &gk, &armed, BPF_ANY);
	return 0;
}

/* The bufWriter's buffer: a slice field, or in newer releases a *[]byte. */
static __always_inline int read_bufwriter_buf(__u64 writer, struct go_slice *buf)
{
	__u64 at = writer + propagate_cfg.grpc_bufwriter_buf;

	if (propagate_cfg.grpc_buf_is_handle)
		at = read_ptr(at);
	if (!at)
		return -1;
	return bpf_probe_read_user(buf, sizeof(*buf), (void *)at);
}

/* Right after writeHeader's call of http2.(*Framer).WriteHeaders returned. */
SEC("uprobe")
int grpc_headers_written(struct pt_regs *ctx)
{
	const volatile struct ot_propagate_cfg *cfg = &propagate_cfg;
	struct goroutine_key gk = goroutine_of(ctx);
	char field[TRACEPARENT_HPACK_LEN] = { 0x00, 11, 't', 'r', 'a', 'c', 'e', 'p',
					      'a', 'r', 'e', 'n', 't', OT_TRACEPARENT_LEN };
	struct grpc_armed *armed;
	struct go_slice block = {}, buf = {};
	__s64 consumed = -1, offset = -1, head;
	__u8 fh[HTTP2_FRAME_HEADER] = {};
	__u32 len, stream_id;

	armed = bpf_map_lookup_elem(&propagate_grpc_arm, &gk);
	if (!armed)
		return 0;
	if (GO_ARG1(ctx))
		goto done; /* WriteHeaders failed: the connection is going away */
	/* the whole block went into this one frame: hBuf read to its end */
	if (bpf_probe_read_user(&block, sizeof(block),
				(void *)(armed->hbuf + cfg->bytes_buffer_buf)) ||
	    bpf_probe_read_user(&consumed, sizeof(consumed),
				(void *)(armed->hbuf + cfg->bytes_buffer_off)) ||
	    read_bufwriter_buf(armed->writer, &buf) ||
	    bpf_probe_read_user(&offset, sizeof(offset),
				(void *)(armed->writer + cfg->grpc_bufwriter_offset)))
		goto no_room;
	head = offset - HTTP2_FRAME_HEADER - block.len;
	if (block.len <= 0 || consumed != block.len || head < 0 || !buf.ptr ||
	    offset + (__s64)TRACEPARENT_HPACK_LEN > buf.len ||
	    block.len + TRACEPARENT_HPACK_LEN > HTTP2_MIN_MAX_FRAME ||
	    bpf_probe_read_user(fh, sizeof(fh), (void *)(buf.ptr + head)))
		goto no_room;
	len = (__u32)fh[0] << 16 | (__u32)fh[1] << 8 | fh[2];
	stream_id = ((__u32)fh[5] << 24 | (__u32)fh[6] << 16 | (__u32)fh[7] << 8 | fh[8]) &
		    0x7fffffff;
	if (len != block.len || fh[3] != HTTP2_HEADERS || !(fh[4] & HTTP2_END_HEADERS) ||
	    (fh[4] & (HTTP2_PADDED | HTTP2_PRIORITY)) || stream_id != armed->stream_id)
		goto no_room; /* the frame is not (or no longer) the buffer's last */
	format_traceparent(field + 14, &armed->ids);
	len += TRACEPARENT_HPACK_LEN;
	fh[0] = len >> 16;
	fh[1] = len >> 8;
	fh[2] = len;
	offset += TRACEPARENT_HPACK_LEN;
	/*
	 * The field, the frame's length, then the buffer's end, which makes
	 * them part of the stream; loopy, the only writer, waits in this probe.
	 */
	if (bpf_probe_write_user((void *)(buf.ptr + offset - TRACEPARENT_HPACK_LEN), field,
				 sizeof(field)) ||
	    bpf_probe_write_user((void *)(buf.ptr + head), fh, 3)) {
		count_propagate(OT_PROPAGATE_FAILED);
		goto done;
	}
	if (bpf_probe_write_user((void *)(armed->writer + cfg->grpc_bufwriter_offset), &offset,
				 sizeof(offset))) {
		/* the length grew but the bytes are not in: put the length back */
		len -= TRACEPARENT_HPACK_LEN;
		fh[0] = len >> 16;
		fh[1] = len >> 8;
		fh[2] = len;
		bpf_probe_write_user((void *)(buf.ptr + head), fh, 3);
		count_propagate(OT_PROPAGATE_FAILED);
		goto done;
	}
	count_propagate(OT_PROPAGATE_WRITTEN);
	goto done;
no_room:
	count_propagate(OT_PROPAGATE_NO_ROOM);
done:
	bpf_map_delete_elem(&propagate_grpc_arm, &gk);
	return 0;
}
