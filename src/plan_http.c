// SPDX-License-Identifier: MIT
/*
 * Probe plans for net/http: server spans (ServeHTTP .. finishRequest, or
 * handlerDone on HTTP/2) and client round trips ((*Transport).roundTrip ..
 * after the call that returns the response).
 */
#include <errno.h>
#include <string.h>

#include "log.h"
#include "plan_internal.h"

/* Fields of the net/http server probes, in the order of enum http_field. */
enum http_field {
	F_REQ_METHOD,
	F_REQ_URL,
	F_REQ_PROTO_MAJOR,
	F_REQ_PROTO_MINOR,
	F_REQ_HEADER,
	F_REQ_HOST,
	F_REQ_REMOTE_ADDR,
	F_REQ_TLS,
	F_URL_PATH,
	F_RESP_REQ,
	F_RESP_STATUS,
	F_HTTP_REQUIRED, /* fields above are required; below, optional */
	F_REQ_PATTERN = F_HTTP_REQUIRED,
	F_REQ_PAT,
	F_PATTERN_STR,
	F_REQ_CTX,
	F_H2_RW_RWS,
	F_H2_RWS_STATUS,
	F_HTTP_MAX,
};

static const struct field_req http_fields[F_HTTP_MAX] = {
	[F_REQ_METHOD] = { "net/http.Request", "Method" },
	[F_REQ_URL] = { "net/http.Request", "URL" },
	[F_REQ_PROTO_MAJOR] = { "net/http.Request", "ProtoMajor" },
	[F_REQ_PROTO_MINOR] = { "net/http.Request", "ProtoMinor" },
	[F_REQ_HEADER] = { "net/http.Request", "Header" },
	[F_REQ_HOST] = { "net/http.Request", "Host" },
	[F_REQ_REMOTE_ADDR] = { "net/http.Request", "RemoteAddr" },
	[F_REQ_TLS] = { "net/http.Request", "TLS" },
	[F_URL_PATH] = { "net/url.URL", "Path" },
	[F_RESP_REQ] = { "net/http.response", "req" },
	[F_RESP_STATUS] = { "net/http.response", "status" },
	[F_REQ_PATTERN] = { "net/http.Request", "Pattern" },
	/* Go 1.22 matched patterns but kept them unexported */
	[F_REQ_PAT] = { "net/http.Request", "pat" },
	[F_PATTERN_STR] = { "net/http.pattern", "str" },
	/* where child spans find their parent */
	[F_REQ_CTX] = { "net/http.Request", "ctx" },
	/* the status of an HTTP/2 response */
	[F_H2_RW_RWS] = { "net/http.http2responseWriter", "rws" },
	[F_H2_RWS_STATUS] = { "net/http.http2responseWriterState", "status" },
};

static void fill_http_cfg(struct ot_http_server_cfg *c, const struct field_req *f)
{
	c->req_method = f[F_REQ_METHOD].offset;
	c->req_url = f[F_REQ_URL].offset;
	c->req_proto_major = f[F_REQ_PROTO_MAJOR].offset;
	c->req_proto_minor = f[F_REQ_PROTO_MINOR].offset;
	c->req_header = f[F_REQ_HEADER].offset;
	c->req_host = f[F_REQ_HOST].offset;
	c->req_remote_addr = f[F_REQ_REMOTE_ADDR].offset;
	c->req_tls = f[F_REQ_TLS].offset;
	c->url_path = f[F_URL_PATH].offset;
	c->resp_req = f[F_RESP_REQ].offset;
	c->resp_status = f[F_RESP_STATUS].offset;
	c->req_ctx = plan__offset_or_none(&f[F_REQ_CTX]);
	c->req_pattern = plan__offset_or_none(&f[F_REQ_PATTERN]);
	c->h2_rw_rws = plan__offset_or_none(&f[F_H2_RW_RWS]);
	c->h2_rws_status = plan__offset_or_none(&f[F_H2_RWS_STATUS]);
	c->req_pat = -1;
	c->pattern_str = -1;
	if (!f[F_REQ_PATTERN].source && f[F_REQ_PAT].source && f[F_PATTERN_STR].source) {
		c->req_pat = f[F_REQ_PAT].offset;
		c->pattern_str = f[F_PATTERN_STR].offset;
	}
}

/*
 * Requests that never reach finishRequest: the serve loop's deferred cleanup
 * (the closure that recovers a handler's panic) ends them, and a probe on
 * hijackLocked tells a hijacked connection from a panic. Optional: without
 * them such requests are counted as unfinished instead of traced.
 */
static void plan_abandoned_requests(const struct gobin *gb, struct plan *plan,
				    const struct go_func *cleanup, const struct go_func *hijack,
				    const struct go_func *gorecover)
{
	static const char lib[] = "net/http server";
	struct probe_point site;
	const uint8_t *code;
	struct probe *p;

	/* the closure's number is the compiler's choice: check it is the recovering one */
	code = cleanup->vaddr && gorecover->vaddr ? gobin__bytes_at(gb, cleanup->vaddr, cleanup->size) :
						    NULL;
	if (!code || insn__after_calls(code, cleanup->size, cleanup->vaddr, &gorecover->vaddr, 1, 0,
				       &site, 1) <= 0) {
		pr_warn("net/http server: the connection cleanup closure was not found; requests "
			"whose handler panics are counted as unfinished, not traced");
		return;
	}
	p = plan__add_probe(plan, lib, cleanup->name, "conn_serve_done");
	if (p)
		plan__place_entry(gb, plan, cleanup, p);
	if (!hijack->vaddr)
		return; /* the program never hijacks a connection */
	p = plan__add_probe(plan, lib, hijack->name, "http_hijack");
	if (p)
		plan__place_entry(gb, plan, hijack, p);
}

/*
 * HTTP/2 requests (the server bundled in net/http) run on a goroutine each
 * and end in (*http2responseWriter).handlerDone, which runHandler's deferred
 * closure calls after the handler returned. When the handler panics the
 * closure skips it and calls recover instead: the probe on that call ends
 * those requests. Optional: without these probes HTTP/2 requests are counted
 * as unfinished.
 */
static void plan_h2_requests(const struct gobin *gb, struct plan *plan,
			     const struct field_req *f, const struct go_func *gorecover)
{
	static const char lib[] = "net/http server";
	/* the closure's number depends on the Go release (1.21 also wraps a defer) */
	struct go_func fns[] = { { .name = "net/http.(*http2responseWriter).handlerDone" },
				 { .name = "net/http.(*http2serverConn).runHandler.func1" },
				 { .name = "net/http.(*http2serverConn).runHandler.func2" } };
	struct probe *done;
	int panics = 0;

	gobin__find_funcs(gb, fns, ARRAY_SIZE(fns));
	if (!fns[0].vaddr)
		return; /* no HTTP/2 server linked in (-tags nethttpomithttp2) */
	done = plan__add_probe(plan, lib, fns[0].name, "h2_handler_done");
	if (!done)
		return;
	if (plan->http_cfg.h2_rw_rws < 0 || plan->http_cfg.h2_rws_status < 0) {
		const struct field_req *missing =
			f[F_H2_RW_RWS].source ? &f[F_H2_RWS_STATUS] : &f[F_H2_RW_RWS];

		plan__skip(done, "field %s.%s unknown", missing->type, missing->field);
		pr_warn("field %s.%s unknown: HTTP/2 requests are counted as unfinished, "
			"not traced",
			missing->type, missing->field);
		return;
	}
	plan__place_entry(gb, plan, &fns[0], done);
	if (!done->planned) {
		pr_warn("net/http server: %s; HTTP/2 requests are counted as unfinished, "
			"not traced",
			done->reason);
		return;
	}
	for (size_t i = 1; i < ARRAY_SIZE(fns); i++)
		panics += plan__add_at_calls(gb, plan, lib, &fns[i], gorecover, 1,
					     "h2_handler_panicked");
	if (!panics)
		pr_warn("net/http server: no call of recover found in runHandler's closures; "
			"HTTP/2 requests whose handler panics are counted as unfinished");
}

void plan_http_server(const struct gobin *gb, struct plan *plan)
{
	static const char lib[] = "net/http server";
	const char *version = gobin__go_version(gb);
	size_t first = plan->nprobes;
	struct go_func fns[] = { { .name = "net/http.serverHandler.ServeHTTP" },
				 { .name = "net/http.(*response).finishRequest" },
				 { .name = "net/http.(*conn).serve.func1" },
				 { .name = "net/http.(*conn).hijackLocked" },
				 { .name = "runtime.gorecover" } };
	struct field_req f[F_HTTP_MAX];
	const struct field_req *missing;
	struct probe *serve, *finish;

	serve = plan__add_probe(plan, lib, fns[0].name, "serve_http_enter");
	finish = plan__add_probe(plan, lib, fns[1].name, "finish_request_enter");
	if (!serve || !finish)
		return;
	/* one lookup for both: each is a pass over the symbol table */
	gobin__find_funcs(gb, fns, ARRAY_SIZE(fns));
	plan__place_entry(gb, plan, &fns[0], serve);
	plan__place_entry(gb, plan, &fns[1], finish);
	if (!serve->planned && !finish->planned)
		return; /* the program does not serve HTTP with net/http */
	plan->serve_func = fns[0];

	memcpy(f, http_fields, sizeof(http_fields));
	missing = plan__resolve_fields(gb, plan, f, F_HTTP_MAX, F_HTTP_REQUIRED);
	if (missing) {
		pr_warn("field %s.%s unknown for %s (no DWARF, not in the offsets table): "
			"net/http server probes skipped",
			missing->type, missing->field, version ? version : "this Go version");
		plan__skip_from(plan, first, "field %s.%s unknown", missing->type, missing->field);
		return;
	}
	if (!serve->planned || !finish->planned) {
		/* a span needs both ends */
		pr_warn("net/http server probes skipped: %s",
			serve->planned ? finish->reason : serve->reason);
		serve->planned = finish->planned = false;
		return;
	}
	/* ServeMux records the matched pattern since 1.22 (exported as Pattern in 1.23) */
	if (!f[F_REQ_PATTERN].source && plan__go_at_least(version, 22) &&
	    (!f[F_REQ_PAT].source || !f[F_PATTERN_STR].source))
		pr_warn("fields net/http.Request.Pattern and .pat unknown for %s: "
			"http.route is not recorded",
			version);
	if (!f[F_REQ_CTX].source)
		pr_warn("field net/http.Request.ctx unknown for %s: spans of calls made while "
			"serving a request are linked by goroutine only",
			version ? version : "this Go version");
	fill_http_cfg(&plan->http_cfg, f);
	if (!plan__map_layout(gb, plan))
		pr_warn("user_agent.original and traceparent are not read from HTTP requests");
	plan->http_server = true;
	plan_abandoned_requests(gb, plan, &fns[2], &fns[3], &fns[4]);
	plan_h2_requests(gb, plan, f, &fns[4]);
}

/* Fields of the net/http client probes. */
enum client_field {
	C_REQ_METHOD,
	C_REQ_URL,
	C_URL_SCHEME,
	C_URL_HOST,
	C_URL_PATH,
	C_URL_RAW_QUERY,
	C_RESP_STATUS,
	C_RESP_PROTO_MAJOR,
	C_RESP_PROTO_MINOR,
	C_REQUIRED,
	C_REQ_CTX = C_REQUIRED,
	C_URL_USER,	/* optional: url.full says REDACTED:REDACTED@ when set */
	C_URL_FRAGMENT, /* optional: url.full keeps the fragment */
	C_MAX,
};

static const struct field_req client_fields[C_MAX] = {
	[C_REQ_METHOD] = { "net/http.Request", "Method" },
	[C_REQ_URL] = { "net/http.Request", "URL" },
	[C_URL_SCHEME] = { "net/url.URL", "Scheme" },
	[C_URL_HOST] = { "net/url.URL", "Host" },
	[C_URL_PATH] = { "net/url.URL", "Path" },
	[C_URL_RAW_QUERY] = { "net/url.URL", "RawQuery" },
	[C_RESP_STATUS] = { "net/http.Response", "StatusCode" },
	[C_RESP_PROTO_MAJOR] = { "net/http.Response", "ProtoMajor" },
	[C_RESP_PROTO_MINOR] = { "net/http.Response", "ProtoMinor" },
	[C_REQ_CTX] = { "net/http.Request", "ctx" },
	[C_URL_USER] = { "net/url.URL", "User" },
	[C_URL_FRAGMENT] = { "net/url.URL", "Fragment" },
};

enum client_func {
	FN_ROUND_TRIP,	   /* (*Transport).roundTrip: start; caller of the ends below */
	FN_GET_CONN,	   /* (*Transport).getConn: an error ends the span */
	FN_PCONN_RT,	   /* (*persistConn).roundTrip: HTTP/1.1 response */
	FN_H2_RT_OPT,	   /* (*http2Transport).RoundTripOpt: caller of the HTTP/2 round trip */
	FN_H2_CC_RT,	   /* (*http2ClientConn).RoundTrip */
	FN_H2_CC_RT_INNER, /* (*http2ClientConn).roundTrip (RoundTrip inlined into its callers) */
	FN_CLIENT_MAX,
};

void plan_http_client(const struct gobin *gb, struct plan *plan)
{
	static const char lib[] = "net/http client";
	const char *version = gobin__go_version(gb);
	struct go_func fns[FN_CLIENT_MAX] = {
		[FN_ROUND_TRIP] = { .name = "net/http.(*Transport).roundTrip" },
		[FN_GET_CONN] = { .name = "net/http.(*Transport).getConn" },
		[FN_PCONN_RT] = { .name = "net/http.(*persistConn).roundTrip" },
		[FN_H2_RT_OPT] = { .name = "net/http.(*http2Transport).RoundTripOpt" },
		[FN_H2_CC_RT] = { .name = "net/http.(*http2ClientConn).RoundTrip" },
		[FN_H2_CC_RT_INNER] = { .name = "net/http.(*http2ClientConn).roundTrip" },
	};
	struct field_req f[C_MAX];
	const struct field_req *missing;
	struct ot_http_client_cfg *c = &plan->http_client_cfg;
	size_t first = plan->nprobes;
	struct probe *start;
	int h1, h2;

	gobin__find_funcs(gb, fns, ARRAY_SIZE(fns));
	if (!fns[FN_ROUND_TRIP].vaddr)
		return; /* the program makes no net/http client calls */
	start = plan__add_probe(plan, lib, fns[FN_ROUND_TRIP].name, "http_client_enter");
	if (!start)
		return;
	plan__place_entry(gb, plan, &fns[FN_ROUND_TRIP], start);
	plan__add_after_calls(gb, plan, lib, &fns[FN_ROUND_TRIP], &fns[FN_GET_CONN], 1, INSN_RBX,
			      "http_client_conn_done");
	h1 = plan__add_after_calls(gb, plan, lib, &fns[FN_ROUND_TRIP], &fns[FN_PCONN_RT], 1,
				   INSN_RAX | INSN_RBX, "http_client_done");
	h2 = plan__add_after_calls(gb, plan, lib, &fns[FN_H2_RT_OPT], &fns[FN_H2_CC_RT], 2,
				   INSN_RAX | INSN_RBX, "http_client_done");
	if (!start->planned || !h1) {
		plan__skip_from(plan, first, "%s", !start->planned ? start->reason :
					     "no call of (*persistConn).roundTrip found in "
					     "(*Transport).roundTrip");
		pr_warn("net/http client probes skipped: %s", plan->probes[first].reason);
		return;
	}
	if (!h2 && fns[FN_H2_RT_OPT].vaddr)
		pr_warn("net/http client: no HTTP/2 round trip call found in %s; HTTP/2 client "
			"calls end only on connection errors",
			fns[FN_H2_RT_OPT].name);

	memcpy(f, client_fields, sizeof(f));
	missing = plan__resolve_fields(gb, plan, f, C_MAX, C_REQUIRED);
	if (missing) {
		pr_warn("field %s.%s unknown for %s (no DWARF, not in the offsets table): "
			"net/http client probes skipped",
			missing->type, missing->field, version ? version : "this Go version");
		plan__skip_from(plan, first, "field %s.%s unknown", missing->type, missing->field);
		return;
	}
	*c = (struct ot_http_client_cfg){
		.req_method = f[C_REQ_METHOD].offset,
		.req_url = f[C_REQ_URL].offset,
		.req_ctx = plan__offset_or_none(&f[C_REQ_CTX]),
		.url_scheme = f[C_URL_SCHEME].offset,
		.url_host = f[C_URL_HOST].offset,
		.url_path = f[C_URL_PATH].offset,
		.url_raw_query = f[C_URL_RAW_QUERY].offset,
		.url_user = plan__offset_or_none(&f[C_URL_USER]),
		.url_fragment = plan__offset_or_none(&f[C_URL_FRAGMENT]),
		.resp_status = f[C_RESP_STATUS].offset,
		.resp_proto_major = f[C_RESP_PROTO_MAJOR].offset,
		.resp_proto_minor = f[C_RESP_PROTO_MINOR].offset,
		.enter_probe_vaddr = start->point.vaddr,
	};
	plan->http_client = true;
}

/*
 * Diagnostic only: a probe on every exit of ServeHTTP, where peers end their
 * spans. The BPF program there does the lookup a span end needs and nothing
 * else, so the benchmark shows what the single-stepped hits cost.
 */
void plan_http_return_probes(const struct gobin *gb, struct plan *plan)
{
	const struct go_func fn = plan->serve_func; /* found while planning the entry */
	struct probe_point exits[PLAN_MAX_PROBES];
	size_t room = PLAN_MAX_PROBES - plan->nprobes;
	const uint8_t *code;
	int n;

	if (!fn.size)
		return;
	code = gobin__bytes_at(gb, fn.vaddr, fn.size);
	n = code ? insn__exits(code, fn.size, fn.vaddr, exits, room) : 0;
	if (n > (int)room) {
		pr_warn("%s has %d exits; probing the first %zu", fn.name, n, room);
		n = (int)room;
	}
	for (int i = 0; i < n; i++) {
		struct probe *p =
			plan__add_probe(plan, "net/http server (diagnostic)", fn.name, "return_probe");

		if (!p)
			break;
		p->point = exits[i];
		if (gobin__vaddr_to_offset(gb, p->point.vaddr, &p->file_offset))
			continue;
		p->planned = true;
	}
}
