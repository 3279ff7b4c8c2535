// SPDX-License-Identifier: MIT
/*
 * --propagate: W3C traceparent on outgoing net/http requests, written into
 * the target's memory. Off unless asked for (rodata propagate_cfg.enabled);
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
#define TRACEPARENT_LINE_LEN (sizeof("Traceparent: ") - 1 + OT_TRACEPARENT_LEN + 2)
/* 0x00, name length, "traceparent", value length, value */
#define TRACEPARENT_HPACK_LEN (1 + 1 + 11 + 1 + OT_TRACEPARENT_LEN)

__u64 propagate_stats[OT_PROPAGATE__COUNT] = {};

/* client spans in progress, by the data pointer of their request's header map */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, struct ctx_key);
	__type(value, struct ot_span_ids);
} propagate_hdrs SEC(".maps");

/*
 * HTTP/2 and gRPC: goroutines that are to write a request's HEADERS frame
 * that still needs its traceparent
 */
struct frame_to_extend {
	struct ot_span_ids ids;
	__u32 stream_id; /* 0 until the stream is known */
	__u32 _pad;
	__s64 block_len; /* the header block's length, -1: read it later */
	__u64 writer;	 /* the buffered writer the frame goes into */
	__u64 hbuf;	 /* gRPC: the *bytes.Buffer the block was encoded in */
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, struct goroutine_key);
	__type(value, struct frame_to_extend);
} propagate_frames SEC(".maps");

static __always_inline char hex_digit(__u8 v)
{
	return v < 10 ? '0' + v : 'a' + v - 10;
}

static __always_inline void hex_bytes(char *dst, const __u8 *src, int n)
{
	for (int i = 0; i < 16; i++) {
		if (i >= n)
			break;
		dst[2 * i] = hex_digit(src[i] >> 4);
		dst[2 * i + 1] = hex_digit(src[i] & 15);
	}
}

/* "00-<trace>-<span>-<flags>": the client span is the next service's parent */
static __always_inline void format_traceparent(char *dst, const struct ot_span_ids *ids)
{
	dst[0] = '0';
	dst[1] = '0';
	dst[2] = '-';
	hex_bytes(dst + 3, ids->trace_id, 16);
	dst[35] = '-';
	hex_bytes(dst + 36, ids->span_id, 8);
	dst[52] = '-';
	hex_bytes(dst + 53, &ids->trace_flags, 1);
}

static __always_inline void count_propagate(enum ot_propagate_stat s)
{
	__sync_fetch_and_add(&propagate_stats[s], 1);
}

/* Called by http_client_enter: remember the request's header map. */
static __always_inline void propagate_register(__u32 pid, __u64 req,
					       const struct ot_span_ids *ids)
{
	struct ctx_key key = { .pid = pid };

	if (!propagate_cfg.enabled)
		return;
	key.data = read_ptr(req + propagate_cfg.req_header);
	if (key.data)
		bpf_map_update_elem(&propagate_hdrs, &key, ids, BPF_ANY);
}

static __always_inline void propagate_forget(__u32 pid, __u64 req)
{
	struct ctx_key key = { .pid = pid };

	if (!propagate_cfg.enabled)
		return;
	key.data = read_ptr(req + propagate_cfg.req_header);
	bpf_map_delete_elem(&propagate_hdrs, &key);
}

/* net/http.Header.writeSubset(h Header, w io.Writer, exclude, trace) */
SEC("uprobe")
int http1_write_headers(struct pt_regs *ctx)
{
	const volatile struct ot_propagate_cfg *cfg = &propagate_cfg;
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

#define HTTP2_FRAME_HEADER 9
#define HTTP2_HEADERS 0x1
#define HTTP2_END_HEADERS 0x4
#define HTTP2_PADDED 0x8
#define HTTP2_PRIORITY 0x20
/* The frame size every HTTP/2 peer accepts (SETTINGS_MAX_FRAME_SIZE's minimum). */
#define HTTP2_MIN_MAX_FRAME 16384

/*
 * Appends the traceparent field to the HEADERS frame that was just written
 * into a write buffer: buf (its len is the buffer's size) holds end bytes,
 * and *end_at is where the buffer keeps end. The frame is found, not
 * assumed: it must end exactly at end, be a HEADERS frame of f->stream_id
 * with END_HEADERS and no padding or priority, and carry f->block_len bytes.
 * Anything else (the write was flushed at once, the block took several
 * frames, no room is left, the frame would pass the minimum frame size
 * limit) leaves everything as it was. The literal leaves the HPACK dynamic
 * table, and so both ends' decoder state, untouched; a regular field after
 * the pseudo-headers is valid anywhere in the block. The writing goroutine,
 * the buffer's only user, waits in the probe meanwhile.
 */
static __always_inline enum ot_propagate_stat
extend_headers_frame(const struct frame_to_extend *f, struct go_slice buf, __s64 end,
		     __u64 end_at)
{
	char field[TRACEPARENT_HPACK_LEN] = { 0x00, 11, 't', 'r', 'a', 'c', 'e', 'p',
					      'a', 'r', 'e', 'n', 't', OT_TRACEPARENT_LEN };
	__s64 head = end - HTTP2_FRAME_HEADER - f->block_len;
	__u8 fh[HTTP2_FRAME_HEADER] = {};
	__u32 len, stream_id;

	if (f->block_len <= 0 || head < 0 || !buf.ptr ||
	    end + (__s64)TRACEPARENT_HPACK_LEN > buf.len ||
	    f->block_len + TRACEPARENT_HPACK_LEN > HTTP2_MIN_MAX_FRAME ||
	    bpf_probe_read_user(fh, sizeof(fh), (void *)(buf.ptr + head)))
		return OT_PROPAGATE_NO_ROOM;
	len = (__u32)fh[0] << 16 | (__u32)fh[1] << 8 | fh[2];
	stream_id = ((__u32)fh[5] << 24 | (__u32)fh[6] << 16 | (__u32)fh[7] << 8 | fh[8]) &
		    0x7fffffff;
	if (len != f->block_len || fh[3] != HTTP2_HEADERS || !(fh[4] & HTTP2_END_HEADERS) ||
	    (fh[4] & (HTTP2_PADDED | HTTP2_PRIORITY)) || stream_id != f->stream_id)
		return OT_PROPAGATE_NO_ROOM; /* not (or no longer) the buffer's last frame */
	format_traceparent(field + 14, &f->ids);
	if (bpf_probe_write_user((void *)(buf.ptr + end), field, sizeof(field)))
		return OT_PROPAGATE_FAILED;
	len += TRACEPARENT_HPACK_LEN;
	fh[0] = len >> 16;
	fh[1] = len >> 8;
	fh[2] = len;
	if (bpf_probe_write_user((void *)(buf.ptr + head), fh, 3))
		return OT_PROPAGATE_FAILED;
	/* last: this makes the field and the new length part of the stream */
	end += TRACEPARENT_HPACK_LEN;
	if (bpf_probe_write_user((void *)end_at, &end, sizeof(end))) {
		len -= TRACEPARENT_HPACK_LEN;
		fh[0] = len >> 16;
		fh[1] = len >> 8;
		fh[2] = len;
		bpf_probe_write_user((void *)(buf.ptr + head), fh, 3);
		return OT_PROPAGATE_FAILED;
	}
	return OT_PROPAGATE_WRITTEN;
}

/* net/http.(*http2clientStream).doRequest(cs, req, ...): arm this goroutine */
SEC("uprobe")
int h2_do_request(struct pt_regs *ctx)
{
	struct ctx_key key = { .pid = pid_of_current() };
	struct goroutine_key gk = { .pid = key.pid, .g = GO_G(ctx) };
	struct frame_to_extend f = { .block_len = -1 };
	const struct ot_span_ids *ids;

	key.data = read_ptr(GO_ARG2(ctx) + propagate_cfg.req_header);
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
	f->writer = read_ptr(GO_ARG1(ctx) + propagate_cfg.h2cc_bw);
	return 0;
}

/* Right after writeHeaders' call of (*http2Framer).WriteHeaders returned. */
SEC("uprobe")
int h2_headers_written(struct pt_regs *ctx)
{
	const volatile struct ot_propagate_cfg *cfg = &propagate_cfg;
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
