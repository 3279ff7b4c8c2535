/* SPDX-License-Identifier: MIT */
/*
 * --propagate's shared part: formatting a traceparent, the counters of what
 * was written, and appending it to an HTTP/2 HEADERS frame just written into
 * a connection's write buffer (net/http's bundled HTTP/2 client and grpc-go
 * write the same frames). Each library's own probes decide what to write and
 * when (lib/<library>/propagate.bpf.h). Those programs are loaded only with
 * --propagate.
 */
#ifndef OTRACE_PROPAGATION_BPF_H
#define OTRACE_PROPAGATION_BPF_H

#include "common.bpf.h"

/* 0x00, name length, "traceparent", value length, value */
#define TRACEPARENT_HPACK_LEN (1 + 1 + 11 + 1 + OT_TRACEPARENT_LEN)

/*
 * What --propagate did, per CPU: a count every instance shares, which CPUs
 * writing traceparents at once do not contend for.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, OT_PROPAGATE__COUNT);
	__type(key, __u32);
	__type(value, __u64);
} propagate_counts SEC(".maps");

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
	__u32 key = s;
	__u64 *n = bpf_map_lookup_elem(&propagate_counts, &key);

	/* atomic still: a program preempted on this CPU may share it with another */
	if (n)
		__sync_fetch_and_add(n, 1);
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

#endif
