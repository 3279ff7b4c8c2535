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
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "otrace.h"
#include "go_abi.h"
#include "go_map.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

const volatile struct ot_http_server_cfg http_cfg = {};
/*
 * Wake the reader only once this many bytes wait: a wakeup per record costs
 * the traced thread an IPI and a scheduler wakeup, several times the probe
 * itself. otrace also polls the ring on a short timer, so a lone record
 * never waits long.
 */
const volatile __u64 wakeup_bytes = 64 << 10;

__u64 drops[OT_DROP__COUNT] = {};
__u64 spans_emitted = 0;

struct goroutine_key {
	__u32 pid;
	__u32 _pad;
	__u64 g;
};

/*
 * One entry per goroutine serving HTTP. After a request finishes the entry
 * stays, with req cleared and the response remembered, so a second hit of
 * the same finishRequest (stack growth re-enters it) is recognised.
 */
struct http_start {
	__u64 start_ns;
	__u64 req;	     /* 0 once finished */
	__u64 finished_resp; /* response of the last finished request */
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20); /* resized by user space */
} events SEC(".maps");

/* LRU so requests that never finish (hijacked, panicked) age out */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct goroutine_key);
	__type(value, struct http_start);
} http_inflight SEC(".maps");

static __always_inline void count_drop(enum ot_drop_reason r)
{
	if (r < OT_DROP__COUNT)
		__sync_fetch_and_add(&drops[r], 1);
}

/* Copies a Go string field into dst (capacity cap); returns its full length. */
static __always_inline __u32 read_go_string(char *dst, __u32 cap, __u64 addr)
{
	struct go_string s = {};
	__u64 n;

	if (bpf_probe_read_user(&s, sizeof(s), (void *)addr) || s.len < 0)
		return 0;
	n = s.len;
	if (n > cap)
		n = cap;
	if (bpf_probe_read_user(dst, n, (void *)s.ptr))
		return 0;
	return s.len > 0xffffffffLL ? 0xffffffffU : (__u32)s.len;
}

static __always_inline __s64 read_s64(__u64 addr)
{
	__s64 v = 0;

	bpf_probe_read_user(&v, sizeof(v), (void *)addr);
	return v;
}

static __always_inline __u64 read_ptr(__u64 addr)
{
	__u64 v = 0;

	bpf_probe_read_user(&v, sizeof(v), (void *)addr);
	return v;
}

SEC("uprobe")
int serve_http_enter(struct pt_regs *ctx)
{
	struct goroutine_key key = {
		.pid = bpf_get_current_pid_tgid() >> 32,
		.g = GO_G(ctx),
	};
	struct http_start start = {
		.start_ns = bpf_ktime_get_ns(),
		.req = GO_ARG4(ctx),
	};
	struct http_start *prev;

	/* stack growth re-enters the function: keep the first start time */
	prev = bpf_map_lookup_elem(&http_inflight, &key);
	if (prev && prev->req == start.req && start.req)
		return 0;
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

	/* both headers in one pass over the map; Go canonicalises their keys */
	struct map_scan scan = {
		.key = { "User-Agent", "Traceparent" },
		.key_len = { sizeof("User-Agent") - 1, sizeof("Traceparent") - 1 },
		.nkeys = 2,
	};
	if (!go_header_lookup(cfg, read_ptr(req + cfg->req_header), &scan))
		return;
	struct go_slice values = {};

	if (scan.elem_addr[0] &&
	    !bpf_probe_read_user(&values, sizeof(values), (void *)scan.elem_addr[0]) &&
	    values.len > 0 && values.ptr) {
		rec->ua_len = read_go_string(rec->ua, OT_UA_CAP, values.ptr);
		rec->flags |= OT_HTTP_UA_FOUND;
	}
	/* W3C: a request with several traceparent headers has no valid one */
	if (scan.elem_addr[1] &&
	    !bpf_probe_read_user(&values, sizeof(values), (void *)scan.elem_addr[1]) &&
	    values.len == 1 && values.ptr) {
		rec->traceparent_len =
			read_go_string(rec->traceparent, OT_TRACEPARENT_CAP, values.ptr);
		rec->flags |= OT_HTTP_TRACEPARENT_FOUND;
	}
}

SEC("uprobe")
int finish_request_enter(struct pt_regs *ctx)
{
	struct goroutine_key key = {
		.pid = bpf_get_current_pid_tgid() >> 32,
		.g = GO_G(ctx),
	};
	struct ot_http_server_rec *rec;
	struct http_start *start;
	__u64 resp = GO_ARG1(ctx);
	__u64 req;

	start = bpf_map_lookup_elem(&http_inflight, &key);
	if (start && !start->req && start->finished_resp == resp)
		return 0; /* the same call again after stack growth */
	if (!start || !start->req) {
		count_drop(OT_DROP_NO_START);
		return 0;
	}
	req = read_ptr(resp + http_cfg.resp_req);
	if (!req) {
		count_drop(OT_DROP_READ_FAULT);
		goto out;
	}
	rec = bpf_ringbuf_reserve(&events, sizeof(*rec), 0);
	if (!rec) {
		count_drop(OT_DROP_RINGBUF_FULL);
		goto out;
	}
	__builtin_memset(rec, 0, sizeof(*rec));
	rec->hdr.type = OT_REC_HTTP_SERVER;
	rec->hdr.size = sizeof(*rec);
	rec->pid = key.pid;
	rec->goroutine = key.g;
	rec->start_ns = start->start_ns;
	rec->end_ns = bpf_ktime_get_ns();
	rec->status = read_s64(resp + http_cfg.resp_status);
	read_request(rec, req);
	bpf_ringbuf_submit(rec, bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= wakeup_bytes ?
					 BPF_RB_FORCE_WAKEUP :
					 BPF_RB_NO_WAKEUP);
	__sync_fetch_and_add(&spans_emitted, 1);
out:
	start->req = 0;
	start->finished_resp = resp;
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
	struct goroutine_key key = {
		.pid = bpf_get_current_pid_tgid() >> 32,
		.g = GO_G(ctx),
	};

	bpf_map_lookup_elem(&http_inflight, &key);
	return 0;
}
