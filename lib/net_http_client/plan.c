// SPDX-License-Identifier: MIT
/*
 * The net/http client's probe plan: a span per (*Transport).roundTrip, from
 * its entry to the first emulated instruction after each call that returns
 * the outcome (see probe.bpf.h); with --propagate, the probes that write
 * traceparent into HTTP/1.1 and HTTP/2 requests (propagate.bpf.h).
 */
#include <string.h>

#include "insn.h"
#include "library.h"
#include "log.h"
#include "net_http_client.h"
#include "net_http_client/config.h"
#include "net_http_client/record.h"
#include "plan_internal.h"

/* From Go 1.27, net/http's HTTP/2 client is a package of its own. */
#define H2_INTERNAL "net/http/internal/http2"

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
	C_URL_FRAGMENT,	  /* optional: url.full keeps the fragment */
	C_H2_RESP_STATUS, /* Go 1.27: the HTTP/2 client's own response's status */
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
	[C_H2_RESP_STATUS] = { H2_INTERNAL ".ClientResponse", "StatusCode" },
};

enum client_func {
	FN_ROUND_TRIP,	   /* (*Transport).roundTrip: start; caller of the ends below */
	FN_GET_CONN,	   /* (*Transport).getConn: an error ends the span */
	FN_PCONN_RT,	   /* (*persistConn).roundTrip: HTTP/1.1 response */
	FN_H2_RT_OPT,	   /* (*http2Transport).RoundTripOpt: caller of the HTTP/2 round trip */
	FN_H2_CC_RT,	   /* (*http2ClientConn).RoundTrip */
	FN_H2_CC_RT_INNER, /* (*http2ClientConn).roundTrip (RoundTrip inlined into its callers) */
	/* Go 1.27: the HTTP/2 client is package net/http/internal/http2, its own responses */
	FN_H2_RT_OPT_INTERNAL,	    /* (*Transport).RoundTripOpt */
	FN_H2_CC_RT_INTERNAL,	    /* (*ClientConn).RoundTrip */
	FN_H2_CC_RT_INNER_INTERNAL, /* (*ClientConn).roundTrip */
	FN_CLIENT_MAX,
};

enum xnet_func {
	XN_VIA_POOL,	/* (*Transport).roundTripViaPool: the round-trip loop */
	XN_RT_OPT,	/* (*Transport).RoundTripOpt: the loop in older releases */
	XN_CC_RT,	/* (*ClientConn).RoundTrip: one attempt */
	XN_CC_RT_INNER, /* (*ClientConn).roundTrip (RoundTrip inlined into the loop) */
	XN_MAX,
};

/*
 * golang.org/x/net/http2's Transport: a span from the entry of the function
 * whose loop sends the request over its connections to the first emulated
 * instruction after each of its calls of the connection's round trip (one
 * attempt each). Without it, a Transport set up with ConfigureTransport
 * leaves its spans unfinished. Sets c->xnet_enter_probe_vaddr.
 */
static void plan_xnet_client(const struct gobin *gb, struct plan *plan,
			     struct ot_http_client_cfg *c)
{
	static const char lib[] = "net/http client (golang.org/x/net/http2)";
	struct go_func fns[XN_MAX] = {
		[XN_VIA_POOL] = { .name = "golang.org/x/net/http2.(*Transport).roundTripViaPool" },
		[XN_RT_OPT] = { .name = "golang.org/x/net/http2.(*Transport).RoundTripOpt" },
		[XN_CC_RT] = { .name = "golang.org/x/net/http2.(*ClientConn).RoundTrip" },
		[XN_CC_RT_INNER] = { .name = "golang.org/x/net/http2.(*ClientConn).roundTrip" },
	};

	gobin__find_funcs(gb, fns, ARRAY_SIZE(fns));
	if (!fns[XN_CC_RT].vaddr && !fns[XN_CC_RT_INNER].vaddr)
		return; /* no x/net HTTP/2 client */
	for (int i = XN_VIA_POOL; i <= XN_RT_OPT; i++) {
		size_t first = plan->nprobes;
		struct probe *start;

		if (!fns[i].vaddr)
			continue;
		start = plan__add_probe(plan, lib, fns[i].name, "xnet_client_enter");
		if (!start)
			return;
		plan__place_entry(gb, plan, &fns[i], start);
		if (plan__add_after_calls(gb, plan, lib, &fns[i], &fns[XN_CC_RT], 2,
					  INSN_RAX | INSN_RBX, "http_client_done") &&
		    start->planned) {
			c->xnet_enter_probe_vaddr = start->point.vaddr;
			return;
		}
		/* not the loop (RoundTripOpt only calls it in newer releases): no probe */
		plan->nprobes = first;
	}
	pr_warn("%s: no call of (*ClientConn).RoundTrip found in its round-trip loop; its "
		"client calls are not traced",
		lib);
}

/* The url.URL's and the Response's fields the probes read, each struct's in one piece. */
static void client_windows(struct ot_http_client_cfg *c)
{
	const struct plan_window_field url[] = {
		{ c->url_scheme, 16 },	  { c->url_host, 16 }, { c->url_path, 16 },
		{ c->url_raw_query, 16 }, { c->url_user, 8 },  { c->url_fragment, 16 },
	};
	const struct plan_window_field resp[] = {
		{ c->resp_status, 8 },
		{ c->resp_proto_major, 8 },
		{ c->resp_proto_minor, 8 },
	};

	c->url_window = plan__window(url, ARRAY_SIZE(url), OT_URL_WINDOW_MAX);
	c->resp_window = plan__window(resp, ARRAY_SIZE(resp), OT_RESP_WINDOW_MAX);
}

static void plan_client(const struct gobin *gb, struct plan *plan, struct lib_state *state)
{
	static const char lib[] = "net/http client";
	struct go_func fns[FN_CLIENT_MAX] = {
		[FN_ROUND_TRIP] = { .name = "net/http.(*Transport).roundTrip" },
		[FN_GET_CONN] = { .name = "net/http.(*Transport).getConn" },
		[FN_PCONN_RT] = { .name = "net/http.(*persistConn).roundTrip" },
		[FN_H2_RT_OPT] = { .name = "net/http.(*http2Transport).RoundTripOpt" },
		[FN_H2_CC_RT] = { .name = "net/http.(*http2ClientConn).RoundTrip" },
		[FN_H2_CC_RT_INNER] = { .name = "net/http.(*http2ClientConn).roundTrip" },
		[FN_H2_RT_OPT_INTERNAL] = { .name = H2_INTERNAL ".(*Transport).RoundTripOpt" },
		[FN_H2_CC_RT_INTERNAL] = { .name = H2_INTERNAL ".(*ClientConn).RoundTrip" },
		[FN_H2_CC_RT_INNER_INTERNAL] = { .name = H2_INTERNAL ".(*ClientConn).roundTrip" },
	};
	struct field_req f[C_MAX];
	const struct field_req *missing;
	struct ot_http_client_cfg *c = LIB_STATE_AS(struct ot_http_client_cfg, state->config);
	size_t first = plan->nprobes;
	const struct go_func *h2_caller;
	size_t h2_first, nfields;
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
	/* Go 1.27: the same round trip in net/http/internal/http2, its response its own type */
	h2_caller = &fns[FN_H2_RT_OPT];
	h2_first = plan->nprobes;
	if (!h2_caller->vaddr) {
		h2_caller = &fns[FN_H2_RT_OPT_INTERNAL];
		h2 = plan__add_after_calls(gb, plan, lib, h2_caller, &fns[FN_H2_CC_RT_INTERNAL], 2,
					   INSN_RAX | INSN_RBX, "http_client_h2_done");
	}
	if (!start->planned || !h1) {
		plan__skip_from(plan, first, "%s", !start->planned ? start->reason :
					     "no call of (*persistConn).roundTrip found in "
					     "(*Transport).roundTrip");
		pr_warn("net/http client probes skipped: %s", plan->probes[first].reason);
		return;
	}
	if (!h2 && h2_caller->vaddr)
		pr_warn("net/http client: no HTTP/2 round trip call found in %s; HTTP/2 client "
			"calls end only on connection errors",
			h2_caller->name);

	memcpy(f, client_fields, sizeof(f));
	/* the HTTP/2 client's response type is asked for only where it exists */
	nfields = fns[FN_H2_RT_OPT_INTERNAL].vaddr ? C_MAX : C_H2_RESP_STATUS;
	missing = plan__resolve_fields(gb, plan, f, nfields, C_REQUIRED);
	if (missing) {
		plan__field_blocks(gb, plan, state, first, lib, missing);
		return;
	}
	if (h2 && h2_caller == &fns[FN_H2_RT_OPT_INTERNAL] && !f[C_H2_RESP_STATUS].source) {
		plan__warn_field(gb, lib, &f[C_H2_RESP_STATUS],
				 "HTTP/2 client calls end only on connection errors");
		plan__skip_from(plan, h2_first, "field %s.%s unknown", f[C_H2_RESP_STATUS].type,
				f[C_H2_RESP_STATUS].field);
	}
	plan_xnet_client(gb, plan, c);
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
		.h2_resp_status = plan__offset_or_none(&f[C_H2_RESP_STATUS]),
		.enter_probe_vaddr = start->point.vaddr,
		.xnet_enter_probe_vaddr = c->xnet_enter_probe_vaddr,
	};
	client_windows(c);
	state->active = true;
}

/* Fields --propagate writes with, in the order of enum propagate_field. */
enum propagate_field {
	P_REQ_HEADER,
	P_BUFIO_BUF,
	P_BUFIO_N,
	P_H2CC_BW,
	P_H2_REQ_HEADER,
	P_FIELDS,
};

static const struct field_req propagate_fields[P_FIELDS] = {
	[P_REQ_HEADER] = { "net/http.Request", "Header" },
	[P_BUFIO_BUF] = { "bufio.Writer", "buf" },
	[P_BUFIO_N] = { "bufio.Writer", "n" },
	/* P_H2CC_BW and P_H2_REQ_HEADER: the HTTP/2 client's (h2_clients) */
};

/*
 * net/http's HTTP/2 client: the x/net/http2 copy bundled into package
 * net/http through Go 1.26, its own package net/http/internal/http2 from
 * 1.27, where doRequest gets a ClientRequest rather than the *http.Request
 * (the same header map).
 */
static const struct h2_client {
	const char *do_request, *write_headers, *framer_write_headers;
	struct field_req conn_bw;	 /* the connection's *bufio.Writer */
	struct field_req request_header; /* the header map of doRequest's request */
} h2_clients[] = {
	{ "net/http.(*http2clientStream).doRequest", "net/http.(*http2ClientConn).writeHeaders",
	  "net/http.(*http2Framer).WriteHeaders", { "net/http.http2ClientConn", "bw" },
	  { "net/http.Request", "Header" } },
	{ "net/http/internal/http2.(*clientStream).doRequest",
	  "net/http/internal/http2.(*ClientConn).writeHeaders",
	  "net/http/internal/http2.(*Framer).WriteHeaders",
	  { "net/http/internal/http2.ClientConn", "bw" },
	  { "net/http/internal/http2.ClientRequest", "Header" } },
};

enum propagate_func {
	FN_WRITE_SUBSET,
	FN_BUFIO_WRITE,
	FN_H2_DO_REQUEST,
	FN_H2_WRITE_HEADERS,
	FN_H2_FRAMER_WRITE_HEADERS,
	FN_REQUEST_WRITE,
	FN_PROPAGATE_MAX
};

static bool known(const struct gobin *gb, const struct field_req *f, const char *what)
{
	char consequence[64];

	if (f->source)
		return true;
	snprintf(consequence, sizeof(consequence), "--propagate skips %s", what);
	plan__warn_field(gb, "net/http client", f, consequence);
	return false;
}

/*
 * HTTP/1.1: (*Request).write's entry notes which request is being written,
 * writeSubset's appends the line; both or none. Returns the probes planned.
 */
static int plan_http1_propagation(const struct gobin *gb, struct plan *plan,
				  struct ot_http_client_cfg *c, const struct go_func *request_write,
				  const struct go_func *write_subset)
{
	static const char lib[] = "net/http client (--propagate)";
	size_t first = plan->nprobes;
	struct probe *mark = plan__add_probe(plan, lib, request_write->name, "http1_request_write");
	struct probe *p = mark ? plan__add_probe(plan, lib, write_subset->name,
						 "http1_write_headers") :
				 NULL;

	if (!p)
		return 0;
	plan__place_entry(gb, plan, request_write, mark);
	plan__place_entry(gb, plan, write_subset, p);
	if (mark->planned && p->planned) {
		c->write_subset_probe_vaddr = p->point.vaddr;
		return 2;
	}
	pr_warn("--propagate skips HTTP/1.1: %s", mark->planned ? p->reason : mark->reason);
	plan__skip_from(plan, first, "the HTTP/1.1 propagation needs both of its probes");
	return 0;
}

/*
 * The HTTP/2 client the binary links: its functions into fns, its fields into
 * f; the bundle's names when there is none (nethttpomithttp2).
 */
static const struct h2_client *find_h2_client(const struct gobin *gb, struct go_func *fns,
					      struct field_req *f)
{
	for (size_t i = ARRAY_SIZE(h2_clients); i-- > 0;) {
		const struct h2_client *h2 = &h2_clients[i];

		fns[FN_H2_DO_REQUEST] = (struct go_func){ .name = h2->do_request };
		fns[FN_H2_WRITE_HEADERS] = (struct go_func){ .name = h2->write_headers };
		fns[FN_H2_FRAMER_WRITE_HEADERS] =
			(struct go_func){ .name = h2->framer_write_headers };
		f[P_H2CC_BW] = h2->conn_bw;
		f[P_H2_REQ_HEADER] = h2->request_header;
		if (gobin__find_funcs(gb, fns + FN_H2_DO_REQUEST, 1) == 1)
			return h2;
	}
	return &h2_clients[0];
}

/* HTTP/1.1 and net/http's HTTP/2; returns the probes planned. */
static int plan_propagation(const struct gobin *gb, struct plan *plan, struct lib_state *state)
{
	static const char lib[] = "net/http client (--propagate)";
	struct ot_http_client_cfg *c = LIB_STATE_AS(struct ot_http_client_cfg, state->config);
	struct go_func fns[FN_PROPAGATE_MAX] = {
		[FN_WRITE_SUBSET] = { .name = "net/http.Header.writeSubset" },
		[FN_BUFIO_WRITE] = { .name = "bufio.(*Writer).Write" },
		[FN_REQUEST_WRITE] = { .name = "net/http.(*Request).write" },
	};
	const struct h2_client *h2;
	struct field_req f[P_FIELDS];
	int planned = 0;

	memcpy(f, propagate_fields, sizeof(f));
	h2 = find_h2_client(gb, fns, f);
	plan__resolve_fields(gb, plan, f, P_FIELDS, 0);
	if (!known(gb, &f[P_REQ_HEADER], "net/http"))
		return 0;
	/* a request that carries a traceparent already must be told */
	if (!plan__map_layout(gb, plan)) {
		pr_warn("--propagate skips net/http: its header maps cannot be read");
		return 0;
	}
	gobin__find_funcs(gb, fns, FN_PROPAGATE_MAX);
	c->req_header = f[P_REQ_HEADER].offset;
	c->bufio_buf = f[P_BUFIO_BUF].offset;
	c->bufio_n = f[P_BUFIO_N].offset;
	c->h2cc_bw = f[P_H2CC_BW].offset;
	c->h2_req_header = f[P_H2_REQ_HEADER].offset;
	c->h2_req_is_request = h2 == &h2_clients[0];
	c->bufio_write_vaddr = fns[FN_BUFIO_WRITE].vaddr;
	c->req_write_vaddr = fns[FN_REQUEST_WRITE].vaddr;
	c->req_write_end = fns[FN_REQUEST_WRITE].vaddr + fns[FN_REQUEST_WRITE].size;
	/* HTTP/1.1: only the headers (*Request).write serialises, of the claimed request */
	if (known(gb, &f[P_BUFIO_BUF], "HTTP/1.1") && known(gb, &f[P_BUFIO_N], "HTTP/1.1") &&
	    fns[FN_BUFIO_WRITE].vaddr && fns[FN_REQUEST_WRITE].size)
		planned += plan_http1_propagation(gb, plan, c, &fns[FN_REQUEST_WRITE],
						  &fns[FN_WRITE_SUBSET]);
	/* HTTP/2: the frame goes into cc.bw, a *bufio.Writer */
	if (fns[FN_H2_DO_REQUEST].vaddr && known(gb, &f[P_H2CC_BW], "HTTP/2") &&
	    known(gb, &f[P_H2_REQ_HEADER], "HTTP/2") && known(gb, &f[P_BUFIO_BUF], "HTTP/2") &&
	    known(gb, &f[P_BUFIO_N], "HTTP/2"))
		planned += plan__frame_extension(gb, plan, lib, "HTTP/2", &fns[FN_H2_DO_REQUEST],
						 "h2_do_request", &fns[FN_H2_WRITE_HEADERS],
						 "h2_write_headers", &fns[FN_H2_FRAMER_WRITE_HEADERS],
						 0, "h2_headers_written");
	c->propagate = planned > 0;
	return planned;
}

static const char *const programs[] = {
	"http_client_enter", "xnet_client_enter", "http_client_conn_done", "http_client_done",
	"http_client_h2_done", "http1_request_write", "http1_write_headers",
	"h2_do_request", "h2_write_headers", "h2_headers_written", NULL,
};

const struct library lib_net_http_client = {
	.name = "net/http client",
	.plan = plan_client,
	.plan_propagation = plan_propagation,
	.programs = programs,
	.config_name = "http_client_cfg",
	.names_types = true,
	.config_size = sizeof(struct ot_http_client_cfg),
	/* an attempt in progress; after a failed one, whether another comes is not known */
	.maps = { { "http_client_inflight", true, { { "state", INFLIGHT_ZERO } } },
		  { "propagate_hdrs" } },
	.records = { OT_REC_HTTP_CLIENT },
	.decode = net_http_client__decode,
};
