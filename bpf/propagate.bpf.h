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
 * HTTP/2: (*http2clientStream).doRequest(req) arms its goroutine; the
 * request's header fields are then HPACK-encoded one by one by
 * (*http2ClientConn).writeHeader(name, value) into cc.hbuf on that
 * goroutine. Before the first regular (non-pseudo) field that finds room,
 * a literal field without indexing, "traceparent: ...", is appended to
 * hbuf: it leaves the HPACK dynamic table, and so the peer's decoder state,
 * untouched.
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

/* HTTP/2: goroutines encoding a request that still needs its traceparent */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, struct goroutine_key);
	__type(value, struct ot_span_ids);
} propagate_h2 SEC(".maps");

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

/* net/http.(*http2clientStream).doRequest(cs, req, ...): arm this goroutine */
SEC("uprobe")
int h2_do_request(struct pt_regs *ctx)
{
	struct ctx_key key = { .pid = pid_of_current() };
	struct goroutine_key gk = { .pid = key.pid, .g = GO_G(ctx) };
	const struct ot_span_ids *ids;

	key.data = read_ptr(GO_ARG2(ctx) + propagate_cfg.req_header);
	ids = key.data ? bpf_map_lookup_elem(&propagate_hdrs, &key) : NULL;
	if (ids)
		bpf_map_update_elem(&propagate_h2, &gk, ids, BPF_ANY);
	else
		bpf_map_delete_elem(&propagate_h2, &gk); /* a reused goroutine's old arming */
	return 0;
}

/* net/http.(*http2ClientConn).writeHeader(cc, name, value string) */
SEC("uprobe")
int h2_write_header(struct pt_regs *ctx)
{
	const volatile struct ot_propagate_cfg *cfg = &propagate_cfg;
	struct goroutine_key gk = goroutine_of(ctx);
	char field[TRACEPARENT_HPACK_LEN] = { 0x00, 11, 't', 'r', 'a', 'c', 'e', 'p',
					      'a', 'r', 'e', 'n', 't', OT_TRACEPARENT_LEN };
	__u64 hbuf = GO_ARG1(ctx) + cfg->h2cc_hbuf + cfg->bytes_buffer_buf;
	const struct ot_span_ids *ids;
	struct go_slice buf = {};
	char first = ':';
	__s64 len;

	ids = bpf_map_lookup_elem(&propagate_h2, &gk);
	if (!ids)
		return 0;
	/* pseudo-header fields (":method", ...) must all come first */
	if (GO_ARG3(ctx) < 1 || bpf_probe_read_user(&first, 1, (void *)GO_ARG2(ctx)) ||
	    first == ':')
		return 0;
	if (bpf_probe_read_user(&buf, sizeof(buf), (void *)hbuf) || !buf.ptr || buf.len < 0 ||
	    buf.len + (__s64)TRACEPARENT_HPACK_LEN > buf.cap)
		return 0; /* no room yet: the buffer grows with every field, try the next */
	format_traceparent(field + 14, ids);
	if (bpf_probe_write_user((void *)(buf.ptr + buf.len), field, sizeof(field))) {
		count_propagate(OT_PROPAGATE_FAILED);
		bpf_map_delete_elem(&propagate_h2, &gk);
		return 0;
	}
	len = buf.len + TRACEPARENT_HPACK_LEN;
	if (bpf_probe_write_user((void *)(hbuf + 8), &len, sizeof(len)))
		count_propagate(OT_PROPAGATE_FAILED);
	else
		count_propagate(OT_PROPAGATE_WRITTEN);
	bpf_map_delete_elem(&propagate_h2, &gk);
	return 0;
}
