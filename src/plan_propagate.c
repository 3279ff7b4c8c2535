// SPDX-License-Identifier: MIT
/*
 * The --propagate plan: where otrace writes traceparent into outgoing
 * net/http requests (see bpf/propagate.bpf.h) and gRPC calls
 * (bpf/propagate_grpc.bpf.h). Each protocol is planned on its own; a
 * missing function or field skips that protocol with a warning.
 */
#include <string.h>

#include "insn.h"
#include "log.h"
#include "plan_internal.h"

#define GRPC_TRANSPORT "google.golang.org/grpc/internal/transport"

enum {
	P_REQ_HEADER,
	P_BUFIO_BUF,
	P_BUFIO_N,
	P_H2CC_BW,
	P_BYTES_BUF,
	P_BYTES_OFF,
	P_HEADER_FRAME_HF,
	P_CLIENT_HEADERS_HF,
	P_LOOPY_FRAMER,
	P_LOOPY_HBUF,
	P_FRAMER_WRITER,
	P_BUFWRITER_BUF,
	P_BUFWRITER_HANDLE,
	P_BUFWRITER_OFFSET,
	P_FIELDS
};

static const struct field_req propagate_fields[P_FIELDS] = {
	[P_REQ_HEADER] = { "net/http.Request", "Header" },
	[P_BUFIO_BUF] = { "bufio.Writer", "buf" },
	[P_BUFIO_N] = { "bufio.Writer", "n" },
	[P_H2CC_BW] = { "net/http.http2ClientConn", "bw" },
	[P_BYTES_BUF] = { "bytes.Buffer", "buf" },
	[P_BYTES_OFF] = { "bytes.Buffer", "off" },
	[P_HEADER_FRAME_HF] = { GRPC_TRANSPORT ".headerFrame", "hf" },
	[P_CLIENT_HEADERS_HF] = { GRPC_TRANSPORT ".clientHeaders", "hf" }, /* >= v1.82 */
	[P_LOOPY_FRAMER] = { GRPC_TRANSPORT ".loopyWriter", "framer" },
	[P_LOOPY_HBUF] = { GRPC_TRANSPORT ".loopyWriter", "hBuf" },
	[P_FRAMER_WRITER] = { GRPC_TRANSPORT ".framer", "writer" },
	[P_BUFWRITER_BUF] = { GRPC_TRANSPORT ".bufWriter", "buf" },
	[P_BUFWRITER_HANDLE] = { GRPC_TRANSPORT ".bufWriter", "bufHandle" }, /* newer */
	[P_BUFWRITER_OFFSET] = { GRPC_TRANSPORT ".bufWriter", "offset" },
};

enum {
	FN_WRITE_SUBSET,
	FN_BUFIO_WRITE,
	FN_H2_DO_REQUEST,
	FN_H2_WRITE_HEADERS,
	FN_H2_FRAMER_WRITE_HEADERS,
	FN_EXECUTE_AND_PUT,
	FN_LOOPY_WRITE_HEADER,
	FN_FRAMER_WRITE_HEADERS,
	FN_MAX
};

static bool known(const struct field_req *f, const char *what, const char *version)
{
	if (f->source)
		return true;
	pr_warn("field %s.%s unknown for %s: --propagate skips %s", f->type, f->field,
		version ? version : "this Go version", what);
	return false;
}

/*
 * The three probes that extend a HEADERS frame (see extend_headers_frame in
 * bpf/propagate.bpf.h): on arm's entry, which marks the goroutine, on
 * writer's entry, and right after writer's one call of frame_write (keep:
 * the registers read there). All or none: returns 3, or 0 with a warning
 * naming what (the protocol) and the probes listed as skipped.
 */
static int plan_frame_extension(const struct gobin *gb, struct plan *plan, const char *lib,
				const char *what, const struct go_func *arm, const char *arm_prog,
				const struct go_func *writer, const char *writer_prog,
				const struct go_func *frame_write, unsigned keep,
				const char *after_prog)
{
	size_t first = plan->nprobes;
	struct probe *p = plan__add_probe(plan, lib, arm->name, arm_prog);
	struct probe *q = p ? plan__add_probe(plan, lib, writer->name, writer_prog) : NULL;
	int written;

	if (!q)
		return 0; /* the plan is full, which plan__add_probe said */
	plan__place_entry(gb, plan, arm, p);
	plan__place_entry(gb, plan, writer, q);
	written = plan__add_after_calls(gb, plan, lib, writer, frame_write, 1, keep, after_prog);
	if (p->planned && q->planned && written == 1)
		return 3;
	if (written == 1)
		pr_warn("--propagate skips %s: %s", what, p->planned ? q->reason : p->reason);
	else if (written)
		pr_warn("--propagate skips %s: %s calls %s more than once", what, writer->name,
			frame_write->name);
	else
		pr_warn("--propagate skips %s: no emulated instruction found after %s's call of %s",
			what, writer->name, frame_write->name);
	plan__skip_from(plan, first, "the %s propagation needs all three of its probes", what);
	return 0;
}

/* net/http: HTTP/1.1 and the bundled HTTP/2; returns the probes planned. */
static int plan_http_propagation(const struct gobin *gb, struct plan *plan,
				 const struct field_req *f, const struct go_func *fns,
				 const char *version)
{
	static const char lib[] = "net/http client (--propagate)";
	struct probe *p;
	int planned = 0;

	if (!known(&f[P_REQ_HEADER], "net/http", version))
		return 0;
	/* HTTP/1.1 */
	if (known(&f[P_BUFIO_BUF], "HTTP/1.1", version) &&
	    known(&f[P_BUFIO_N], "HTTP/1.1", version) && fns[FN_BUFIO_WRITE].vaddr &&
	    (p = plan__add_probe(plan, lib, fns[FN_WRITE_SUBSET].name, "http1_write_headers"))) {
		plan__place_entry(gb, plan, &fns[FN_WRITE_SUBSET], p);
		if (p->planned) {
			plan->propagate_cfg.write_subset_probe_vaddr = p->point.vaddr;
			planned++;
		}
	}
	/* HTTP/2 (the net/http bundle): the frame goes into cc.bw, a *bufio.Writer */
	if (fns[FN_H2_DO_REQUEST].vaddr && known(&f[P_H2CC_BW], "HTTP/2", version) &&
	    known(&f[P_BUFIO_BUF], "HTTP/2", version) && known(&f[P_BUFIO_N], "HTTP/2", version))
		planned += plan_frame_extension(gb, plan, lib, "HTTP/2", &fns[FN_H2_DO_REQUEST],
						"h2_do_request", &fns[FN_H2_WRITE_HEADERS],
						"h2_write_headers", &fns[FN_H2_FRAMER_WRITE_HEADERS],
						0, "h2_headers_written");
	return planned;
}

/* grpc-go clients (see bpf/propagate_grpc.bpf.h); returns the probes planned. */
static int plan_grpc_propagation(const struct gobin *gb, struct plan *plan, struct field_req *f,
				 const struct go_func *fns)
{
	static const char lib[] = "gRPC client (--propagate)";
	static const int need[] = { P_BYTES_BUF, P_BYTES_OFF, P_HEADER_FRAME_HF, P_LOOPY_FRAMER,
				    P_LOOPY_HBUF, P_FRAMER_WRITER, P_BUFWRITER_BUF,
				    P_BUFWRITER_OFFSET };
	struct ot_propagate_cfg *c = &plan->propagate_cfg;

	/* the queued headers: a headerFrame, since v1.82 a clientHeaders */
	if (!f[P_HEADER_FRAME_HF].source)
		f[P_HEADER_FRAME_HF] = f[P_CLIENT_HEADERS_HF];
	/* bufWriter's buffer is a slice in older releases, a *[]byte in newer ones */
	if (!f[P_BUFWRITER_BUF].source && f[P_BUFWRITER_HANDLE].source) {
		f[P_BUFWRITER_BUF].offset = f[P_BUFWRITER_HANDLE].offset;
		f[P_BUFWRITER_BUF].source = f[P_BUFWRITER_HANDLE].source;
		c->grpc_buf_is_handle = 1;
	}
	for (size_t i = 0; i < ARRAY_SIZE(need); i++)
		if (!f[need[i]].source) {
			pr_warn("field %s.%s unknown (no DWARF, not in the offsets table): "
				"--propagate skips gRPC",
				f[need[i]].type, f[need[i]].field);
			return 0;
		}
	/* WriteHeaders' result: the error's itab in RAX */
	if (!plan_frame_extension(gb, plan, lib, "gRPC", &fns[FN_EXECUTE_AND_PUT],
				  "grpc_put_headers", &fns[FN_LOOPY_WRITE_HEADER], "grpc_write_header",
				  &fns[FN_FRAMER_WRITE_HEADERS], INSN_RAX, "grpc_headers_written"))
		return 0;
	c->bytes_buffer_off = f[P_BYTES_OFF].offset;
	c->grpc_header_frame_hf = f[P_HEADER_FRAME_HF].offset;
	c->grpc_loopy_framer = f[P_LOOPY_FRAMER].offset;
	c->grpc_loopy_hbuf = f[P_LOOPY_HBUF].offset;
	c->grpc_framer_writer = f[P_FRAMER_WRITER].offset;
	c->grpc_bufwriter_buf = f[P_BUFWRITER_BUF].offset;
	c->grpc_bufwriter_offset = f[P_BUFWRITER_OFFSET].offset;
	return 3;
}

int plan__add_propagation(const struct gobin *gb, struct plan *plan)
{
	const char *version = gobin__go_version(gb);
	struct go_func fns[FN_MAX] = {
		[FN_WRITE_SUBSET] = { .name = "net/http.Header.writeSubset" },
		[FN_BUFIO_WRITE] = { .name = "bufio.(*Writer).Write" },
		[FN_H2_DO_REQUEST] = { .name = "net/http.(*http2clientStream).doRequest" },
		[FN_H2_WRITE_HEADERS] = { .name = "net/http.(*http2ClientConn).writeHeaders" },
		[FN_H2_FRAMER_WRITE_HEADERS] = { .name = "net/http.(*http2Framer).WriteHeaders" },
		[FN_EXECUTE_AND_PUT] = { .name = GRPC_TRANSPORT ".(*controlBuffer).executeAndPut" },
		[FN_LOOPY_WRITE_HEADER] = { .name = GRPC_TRANSPORT ".(*loopyWriter).writeHeader" },
		[FN_FRAMER_WRITE_HEADERS] = { .name = "golang.org/x/net/http2.(*Framer).WriteHeaders" },
	};
	struct ot_propagate_cfg *c = &plan->propagate_cfg;
	struct field_req f[P_FIELDS];
	size_t first = plan->nprobes;
	int planned = 0;

	if (!plan->http_client && !plan->grpc_client) {
		pr_warn("--propagate: the program makes no net/http or gRPC client calls otrace "
			"traces");
		return 0;
	}
	memcpy(f, propagate_fields, sizeof(f));
	plan__resolve_fields(gb, plan, f, P_FIELDS, 0);
	gobin__find_funcs(gb, fns, FN_MAX);
	*c = (struct ot_propagate_cfg){
		.req_header = f[P_REQ_HEADER].offset,
		.bufio_buf = f[P_BUFIO_BUF].offset,
		.bufio_n = f[P_BUFIO_N].offset,
		.h2cc_bw = f[P_H2CC_BW].offset,
		.bytes_buffer_buf = f[P_BYTES_BUF].offset,
		.bufio_write_vaddr = fns[FN_BUFIO_WRITE].vaddr,
	};
	if (plan->http_client)
		planned += plan_http_propagation(gb, plan, f, fns, version);
	if (plan->grpc_client)
		planned += plan_grpc_propagation(gb, plan, f, fns);
	if (!planned) {
		pr_warn("--propagate: no place to write traceparent found; outgoing requests are "
			"left as they are");
		return 0;
	}
	c->enabled = 1;
	plan->propagate = true;
	for (size_t i = first; i < plan->nprobes; i++)
		plan->single_stepped += plan->probes[i].planned && !plan->probes[i].point.emulated;
	return planned;
}
