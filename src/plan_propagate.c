// SPDX-License-Identifier: MIT
/*
 * The --propagate plan: where otrace writes traceparent into outgoing
 * net/http requests (see bpf/propagate.bpf.h). Each protocol is planned on
 * its own; a missing function or field skips that protocol with a warning.
 */
#include <string.h>

#include "log.h"
#include "plan_internal.h"

enum { P_REQ_HEADER, P_BUFIO_BUF, P_BUFIO_N, P_H2CC_HBUF, P_BYTES_BUF, P_FIELDS };

static const struct field_req propagate_fields[P_FIELDS] = {
	[P_REQ_HEADER] = { "net/http.Request", "Header" },
	[P_BUFIO_BUF] = { "bufio.Writer", "buf" },
	[P_BUFIO_N] = { "bufio.Writer", "n" },
	[P_H2CC_HBUF] = { "net/http.http2ClientConn", "hbuf" },
	[P_BYTES_BUF] = { "bytes.Buffer", "buf" },
};

enum { FN_WRITE_SUBSET, FN_BUFIO_WRITE, FN_H2_DO_REQUEST, FN_H2_WRITE_HEADER, FN_MAX };

static bool known(const struct field_req *f, const char *what, const char *version)
{
	if (f->source)
		return true;
	pr_warn("field %s.%s unknown for %s: --propagate skips %s", f->type, f->field,
		version ? version : "this Go version", what);
	return false;
}

int plan__add_propagation(const struct gobin *gb, struct plan *plan)
{
	static const char lib[] = "net/http client (--propagate)";
	const char *version = gobin__go_version(gb);
	struct go_func fns[FN_MAX] = {
		[FN_WRITE_SUBSET] = { .name = "net/http.Header.writeSubset" },
		[FN_BUFIO_WRITE] = { .name = "bufio.(*Writer).Write" },
		[FN_H2_DO_REQUEST] = { .name = "net/http.(*http2clientStream).doRequest" },
		[FN_H2_WRITE_HEADER] = { .name = "net/http.(*http2ClientConn).writeHeader" },
	};
	struct ot_propagate_cfg *c = &plan->propagate_cfg;
	struct field_req f[P_FIELDS];
	size_t first = plan->nprobes;
	struct probe *p, *q;
	int planned = 0;

	if (!plan->http_client) {
		pr_warn("--propagate: the program makes no net/http client calls otrace traces");
		return 0;
	}
	memcpy(f, propagate_fields, sizeof(f));
	plan__resolve_fields(gb, plan, f, P_FIELDS, 0);
	gobin__find_funcs(gb, fns, FN_MAX);
	*c = (struct ot_propagate_cfg){
		.req_header = f[P_REQ_HEADER].offset,
		.bufio_buf = f[P_BUFIO_BUF].offset,
		.bufio_n = f[P_BUFIO_N].offset,
		.h2cc_hbuf = f[P_H2CC_HBUF].offset,
		.bytes_buffer_buf = f[P_BYTES_BUF].offset,
		.bufio_write_vaddr = fns[FN_BUFIO_WRITE].vaddr,
	};
	if (!known(&f[P_REQ_HEADER], "every protocol", version))
		return 0;

	/* HTTP/1.1 */
	if (known(&f[P_BUFIO_BUF], "HTTP/1.1", version) &&
	    known(&f[P_BUFIO_N], "HTTP/1.1", version) && fns[FN_BUFIO_WRITE].vaddr &&
	    (p = plan__add_probe(plan, lib, fns[FN_WRITE_SUBSET].name, "http1_write_headers"))) {
		plan__place_entry(gb, plan, &fns[FN_WRITE_SUBSET], p);
		if (p->planned) {
			c->write_subset_probe_vaddr = p->point.vaddr;
			planned++;
		}
	}
	/* HTTP/2 (the net/http bundle) */
	if (fns[FN_H2_DO_REQUEST].vaddr && known(&f[P_H2CC_HBUF], "HTTP/2", version) &&
	    known(&f[P_BYTES_BUF], "HTTP/2", version) &&
	    (p = plan__add_probe(plan, lib, fns[FN_H2_DO_REQUEST].name, "h2_do_request")) &&
	    (q = plan__add_probe(plan, lib, fns[FN_H2_WRITE_HEADER].name, "h2_write_header"))) {
		plan__place_entry(gb, plan, &fns[FN_H2_DO_REQUEST], p);
		plan__place_entry(gb, plan, &fns[FN_H2_WRITE_HEADER], q);
		if (p->planned && q->planned)
			planned += 2;
		else
			p->planned = q->planned = false;
	}
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
