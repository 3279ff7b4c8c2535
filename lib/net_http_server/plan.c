// SPDX-License-Identifier: MIT
/*
 * The net/http server's probe plan: server spans from ServeHTTP to
 * finishRequest, or handlerDone on HTTP/2 (see probe.bpf.h).
 */
#include <errno.h>
#include <string.h>

#include "itabs.h"
#include "library.h"
#include "log.h"
#include "net_http_server.h"
#include "net_http_server/config.h"
#include "net_http_server/record.h"
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
	F_REQ_REQUEST_URI,
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
	/* the path as received (without it, URL.Path at the end) */
	[F_REQ_REQUEST_URI] = { "net/http.Request", "RequestURI" },
};

/*
 * net/http's HTTP/2 server: the x/net/http2 copy bundled into package
 * net/http (names prefixed http2) through Go 1.26, its own package
 * net/http/internal/http2 from 1.27. The same code: a responseWriter ends
 * the request, the status lies in its responseWriterState.
 */
static const struct h2_server {
	const char *handler_done; /* (*responseWriter).handlerDone */
	const char *closures[2];  /* runHandler's deferred closure (its number varies) */
	struct field_path status; /* responseWriter -> responseWriterState.status */
	const char *writer;	  /* the ResponseWriter handlers get: its dynamic type */
	const char *header;	  /* its Header method: its itab's first */
} h2_servers[] = {
	{
		"net/http.(*http2responseWriter).handlerDone",
		{ "net/http.(*http2serverConn).runHandler.func1",
		  "net/http.(*http2serverConn).runHandler.func2" },
		{ { { "net/http.http2responseWriter", "rws" },
		    { "net/http.http2responseWriterState", "status" } } },
		"*net/http.http2responseWriter",
		"net/http.(*http2responseWriter).Header",
	},
	{
		"net/http/internal/http2.(*responseWriter).handlerDone",
		{ "net/http/internal/http2.(*serverConn).runHandler.func1",
		  "net/http/internal/http2.(*serverConn).runHandler.func2" },
		{ { { "net/http/internal/http2.responseWriter", "rws" },
		    { "net/http/internal/http2.responseWriterState", "status" } } },
		/* net/http's adapter: a one-pointer struct, stored in the interface as is */
		"net/http.http2ResponseWriter",
		"net/http.http2ResponseWriter.Header",
	},
};

/*
 * The bytes of a Request that hold every field the probes read from it, so
 * that they take one read where they took one per field (each read of the
 * target's memory costs the traced thread ~0.1-0.2 us here); none when that
 * would pass OT_HTTP_REQ_WINDOW_MAX.
 */
static struct ot_window request_window(const struct ot_http_server_cfg *c)
{
	const struct plan_window_field fields[] = {
		{ c->req_method, 16 },	    { c->req_url, 8 },	   { c->req_proto_major, 8 },
		{ c->req_proto_minor, 8 },  { c->req_header, 8 }, { c->req_host, 16 },
		{ c->req_remote_addr, 16 }, { c->req_tls, 8 },	   { c->req_pattern, 16 },
		{ c->req_pat, 8 },	    { c->req_ctx, 16 },	   { c->req_request_uri, 16 },
	};

	return plan__window(fields, ARRAY_SIZE(fields), OT_HTTP_REQ_WINDOW_MAX);
}

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
	c->req_request_uri = plan__offset_or_none(&f[F_REQ_REQUEST_URI]);
	c->h2_status = (struct ot_field_path){ .derefs = -1 };
	c->xnet_status = (struct ot_field_path){ .derefs = -1 };
	c->req_pat = -1;
	c->pattern_str = -1;
	if (!f[F_REQ_PATTERN].source && f[F_REQ_PAT].source && f[F_PATTERN_STR].source) {
		c->req_pat = f[F_REQ_PAT].offset;
		c->pattern_str = f[F_PATTERN_STR].offset;
	}
	c->req_window = request_window(c);
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
 * HTTP/2 handlers that panic (the bundled server's and x/net's): runHandler's
 * deferred closure (its number is the compiler's choice) recovers instead of
 * calling handlerDone; a probe on that call of recover ends the span.
 */
static void plan_panic_ends(const struct gobin *gb, struct plan *plan, const char *lib,
			    const struct go_func *closures, size_t n,
			    const struct go_func *gorecover)
{
	int panics = 0;

	for (size_t i = 0; i < n; i++)
		panics += plan__add_at_calls(gb, plan, lib, &closures[i], gorecover, 1,
					     "h2_handler_panicked");
	if (!panics)
		pr_warn("%s: no call of recover found in runHandler's closures; HTTP/2 requests "
			"whose handler panics are counted as unfinished",
			lib);
}

/*
 * HTTP/2 requests (net/http's own server, h2_servers) run on a goroutine each
 * and end in (*responseWriter).handlerDone, which runHandler's deferred
 * closure calls after the handler returned. When the handler panics the
 * closure skips it and calls recover instead: the probe on that call ends
 * those requests. Optional: without these probes HTTP/2 requests are counted
 * as unfinished.
 */
static const struct h2_server *plan_h2_requests(const struct gobin *gb, struct plan *plan,
						struct ot_http_server_cfg *cfg,
						const struct go_func *gorecover)
{
	static const char lib[] = "net/http server";
	const struct h2_server *h2 = NULL;
	struct go_func fns[3];
	struct field_path status;
	struct probe *done;

	for (size_t i = 0; i < ARRAY_SIZE(h2_servers) && !h2; i++) {
		fns[0] = (struct go_func){ .name = h2_servers[i].handler_done };
		fns[1] = (struct go_func){ .name = h2_servers[i].closures[0] };
		fns[2] = (struct go_func){ .name = h2_servers[i].closures[1] };
		gobin__find_funcs(gb, fns, ARRAY_SIZE(fns));
		if (fns[0].vaddr)
			h2 = &h2_servers[i];
	}
	if (!h2)
		return NULL; /* no HTTP/2 server linked in (-tags nethttpomithttp2) */
	done = plan__add_probe(plan, lib, fns[0].name, "h2_handler_done");
	if (!done)
		return NULL;
	status = h2->status;
	if (plan__resolve_paths(gb, plan, &status, 1, 1)) {
		plan__skip(done, "field %s.%s unknown", field_path__missing(&status)->type,
			   field_path__missing(&status)->field);
		plan__warn_field(gb, lib, field_path__missing(&status),
				 "HTTP/2 requests are counted as unfinished, not traced");
		return NULL;
	}
	field_path__config(&status, &cfg->h2_status);
	plan__place_entry(gb, plan, &fns[0], done);
	if (!done->planned) {
		pr_warn("net/http server: %s; HTTP/2 requests are counted as unfinished, "
			"not traced",
			done->reason);
		return NULL;
	}
	plan_panic_ends(gb, plan, lib, &fns[1], ARRAY_SIZE(fns) - 1, gorecover);
	return h2;
}

/* golang.org/x/net/http2's responseWriter, where its status is. */
static const struct field_path xnet_status = { {
	{ "golang.org/x/net/http2.responseWriter", "rws" },
	{ "golang.org/x/net/http2.responseWriterState", "status" },
} };

enum xnet_func {
	XN_RUN_HANDLER, /* (*serverConn).runHandler: the start */
	XN_DONE,	/* (*responseWriter).handlerDone: the end */
	XN_CLOSURE1,	/* runHandler's deferred closure, whose recover ends a panic */
	XN_CLOSURE2,
	XN_SERVE_CONN, /* (*Server).ServeConn: h2c takes a connection over */
	XN_SERVE_CONN_INNER,
	XN_MAX,
};

/*
 * golang.org/x/net/http2's own server (http2.ConfigureServer, h2c): the same
 * start and ends as the bundled HTTP/2 server, under x/net's names, and the
 * probe that drops h2c's HTTP/1 prelude (see probe.bpf.h). Its status needs
 * its responseWriter's layout; without it the spans have no status code.
 * Returns whether its requests are traced.
 */
static bool plan_xnet_requests(const struct gobin *gb, struct plan *plan,
			       struct ot_http_server_cfg *cfg, const struct go_func *gorecover)
{
	static const char lib[] = "net/http server (golang.org/x/net/http2)";
	struct go_func fns[XN_MAX] = {
		[XN_RUN_HANDLER] = { .name = "golang.org/x/net/http2.(*serverConn).runHandler" },
		[XN_DONE] = { .name = "golang.org/x/net/http2.(*responseWriter).handlerDone" },
		[XN_CLOSURE1] = { .name = "golang.org/x/net/http2.(*serverConn).runHandler.func1" },
		[XN_CLOSURE2] = { .name = "golang.org/x/net/http2.(*serverConn).runHandler.func2" },
		[XN_SERVE_CONN] = { .name = "golang.org/x/net/http2.(*Server).ServeConn" },
		[XN_SERVE_CONN_INNER] = { .name = "golang.org/x/net/http2.(*Server).serveConn" },
	};
	size_t first = plan->nprobes;
	struct field_path status = xnet_status;
	struct probe *start, *done;
	int prelude = 0;

	gobin__find_funcs(gb, fns, ARRAY_SIZE(fns));
	if (!fns[XN_RUN_HANDLER].vaddr && !fns[XN_DONE].vaddr)
		return false; /* the program serves no HTTP/2 with x/net */
	start = plan__add_probe(plan, lib, fns[XN_RUN_HANDLER].name, "xnet_handler_start");
	done = start ? plan__add_probe(plan, lib, fns[XN_DONE].name, "xnet_handler_done") : NULL;
	if (!done)
		return false;
	plan__place_entry(gb, plan, &fns[XN_RUN_HANDLER], start);
	plan__place_entry(gb, plan, &fns[XN_DONE], done);
	if (!start->planned || !done->planned) {
		pr_warn("%s: %s; its requests are counted as unfinished, not traced", lib,
			start->planned ? done->reason : start->reason);
		plan__skip_from(plan, first, "the x/net HTTP/2 span needs both ends");
		return false;
	}
	if (plan__resolve_paths(gb, plan, &status, 1, 1))
		plan__warn_field(gb, lib, field_path__missing(&status),
				 "its spans have no status code");
	else
		field_path__config(&status, &cfg->xnet_status);
	plan_panic_ends(gb, plan, lib, &fns[XN_CLOSURE1], 2, gorecover);
	for (int i = XN_SERVE_CONN; i <= XN_SERVE_CONN_INNER; i++) {
		struct probe *p;

		if (!fns[i].vaddr)
			continue;
		p = plan__add_probe(plan, lib, fns[i].name, "xnet_serve_conn");
		if (!p)
			continue;
		plan__place_entry(gb, plan, &fns[i], p);
		prelude += p->planned;
	}
	if (!prelude)
		pr_warn("%s: (*Server).ServeConn not probed; an h2c Upgrade request also gets an "
			"HTTP/1.1 span",
			lib);
	return true;
}

/*
 * How ServeHTTP's probe tells the ResponseWriter's dynamic type: the itab of
 * each writer otrace ends requests of, else (no itab symbols) its Header
 * method, its itab's first; 0 for a writer whose requests are not traced.
 */
static void fill_writer_types(const struct gobin *gb, struct ot_http_server_cfg *cfg,
			      const struct h2_server *h2, bool xnet)
{
	struct go_itab itabs[] = {
		{ .type = "*net/http.response", .iface = "net/http.ResponseWriter" },
		{ .type = h2 ? h2->writer : h2_servers[0].writer,
		  .iface = "net/http.ResponseWriter" },
		{ .type = "*golang.org/x/net/http2.responseWriter",
		  .iface = "net/http.ResponseWriter" },
	};
	struct go_func headers[] = {
		{ .name = "net/http.(*response).Header" },
		{ .name = h2 ? h2->header : h2_servers[0].header },
		{ .name = "golang.org/x/net/http2.(*responseWriter).Header" },
	};

	if (itabs__find(gb, itabs, ARRAY_SIZE(itabs))) {
		cfg->itab_http1 = itabs[0].vaddr;
		cfg->itab_h2 = h2 ? itabs[1].vaddr : 0;
		cfg->itab_xnet = xnet ? itabs[2].vaddr : 0;
		return;
	}
	if (!gobin__find_funcs(gb, headers, ARRAY_SIZE(headers)))
		pr_info("net/http server: the ResponseWriter's type cannot be told; the status "
			"of a request that panicked is not read");
	cfg->header_http1 = headers[0].vaddr;
	cfg->header_h2 = h2 ? headers[1].vaddr : 0;
	cfg->header_xnet = xnet ? headers[2].vaddr : 0;
}

/*
 * Diagnostic only: a probe on every exit of ServeHTTP, where peers end their
 * spans. The BPF program there does the lookup a span end needs and nothing
 * else, so the benchmark shows what the single-stepped hits cost.
 */
static void plan_return_probes(const struct gobin *gb, struct plan *plan,
			       const struct go_func *serve)
{
	const struct go_func fn = *serve;
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

static void plan_server(const struct gobin *gb, struct plan *plan, struct lib_state *state)
{
	struct ot_http_server_cfg *cfg = LIB_STATE_AS(struct ot_http_server_cfg, state->config);
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
	const struct h2_server *h2;
	bool xnet;

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

	memcpy(f, http_fields, sizeof(http_fields));
	missing = plan__resolve_fields(gb, plan, f, F_HTTP_MAX, F_HTTP_REQUIRED);
	if (missing) {
		plan__field_blocks(gb, plan, state, first, lib, missing);
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
		plan__warn_field(gb, lib, &f[F_REQ_CTX],
				 "spans of calls made while serving a request are linked by "
				 "goroutine only");
	fill_http_cfg(cfg, f);
	if (!plan__map_layout(gb, plan))
		pr_warn("user_agent.original and traceparent are not read from HTTP requests");
	cfg->serve_probe_vaddr = serve->point.vaddr;
	state->active = true;
	plan_abandoned_requests(gb, plan, &fns[2], &fns[3], &fns[4]);
	h2 = plan_h2_requests(gb, plan, cfg, &fns[4]);
	xnet = plan_xnet_requests(gb, plan, cfg, &fns[4]);
	fill_writer_types(gb, cfg, h2, xnet);
	if (plan->placement == PLACEMENT_ENTRY_RET)
		plan_return_probes(gb, plan, &fns[0]);
}

static const char *const programs[] = {
	"serve_http_enter", "finish_request_enter", "conn_serve_done", "http_hijack",
	"h2_handler_done", "h2_handler_panicked", "xnet_handler_start", "xnet_handler_done",
	"xnet_serve_conn", "return_probe", NULL,
};

const struct library lib_net_http_server = {
	.name = "net/http server",
	.plan = plan_server,
	.programs = programs,
	.config_name = "http_server_cfg",
	.config_size = sizeof(struct ot_http_server_cfg),
	/* its requests in progress are the core's goroutine entries it owns and keeps live */
	.maps = { { "goroutine_spans", true,
		    { { "live", INFLIGHT_NONZERO }, { "owner", INFLIGHT_EQUALS, OT_REC_HTTP_SERVER } } } },
	.records = { OT_REC_HTTP_SERVER },
	.decode = net_http_server__decode,
};
