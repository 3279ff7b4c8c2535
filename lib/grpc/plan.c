// SPDX-License-Identifier: MIT
/*
 * Probe plans for google.golang.org/grpc: server calls ((*Server).handleStream
 * .. the transport's status writer) and client calls (newClientStream ..
 * (*clientStream).finish), unary and streaming alike; see bpf/grpc_*.bpf.h.
 *
 * Supported: grpc-go v1.14 and later, any patch; the latest patch of every
 * minor v1.14-v1.85 is tested end to end, with DWARF and stripped
 * (test/grpc/run-releases.sh): the probed functions exist out of line in all
 * of them, with the same arguments in the registers read. Before v1.14 there is no internal/transport and no
 * newAttemptLocked (no retries), and the probes are skipped naming what is
 * missing. Where releases differ, the plan goes by which symbol or field
 * exists: the status writer is the transport's writeStatus since the
 * ServerStream split (v1.69; ServerStream.WriteStatus itself is inlined into
 * its callers), WriteStatus before; the status error's shape is in
 * fold_old_fields.
 *
 * Struct layouts come from DWARF, else from the binary's runtime type data
 * (grpc-go's transport and status types, genproto's status proto all have
 * descriptors), whatever the module versions and whether or not the build
 * info lists modules at all (Debian builds it without). The server stream's
 * fields are field paths: since v1.69 the stream is a ServerStream embedding
 * the Stream, through a pointer until v1.76 and by value since v1.77, which
 * the resolver tells. A field found nowhere skips the side that needs it,
 * naming it and where otrace looked.
 */
#include <string.h>

#include "grpc.h"
#include "grpc/config.h"
#include "grpc/record.h"
#include "insn.h"
#include "library.h"
#include "log.h"
#include "plan_internal.h"

#define GRPC "google.golang.org/grpc"
#define GRPC_TRANSPORT GRPC "/internal/transport"

enum grpc_func {
	FN_HANDLE_STREAM,  /* (*Server).handleStream: server start */
	FN_H2_WRITE,	   /* (*http2Server).writeStatus: server end (>= v1.69) */
	FN_HT_WRITE,	   /* (*serverHandlerTransport).writeStatus: ServeHTTP mode */
	FN_H2_WRITE_OLD,   /* (*http2Server).WriteStatus: server end (< v1.69) */
	FN_HT_WRITE_OLD,   /* (*serverHandlerTransport).WriteStatus */
	FN_NEW_STREAM,	   /* newClientStream: client start */
	FN_ATTEMPT,	   /* (*clientStream).newAttemptLocked: the call gets its stream */
	FN_FINISH,	   /* (*clientStream).finish: client end */
	FN_INVOKE,	   /* invoke: calls newClientStream for unary calls */
	FN_CC_NEW_STREAM,  /* (*ClientConn).NewStream: and for streams */
	FN_STATUS_ERROR,   /* (*status.statusError).Error: the error is the proto (<= v1.2x) */
	FN_INTERNAL_ERROR, /* (*internal/status.Error).Error: the status error since */
	FN_ERROR_STRING,   /* (*errors.errorString).Error: io.EOF's type */
	FN_GRPC_MAX,
};

/*
 * Fields; the _OLD one and ERROR_PROTO stand in for others in older releases.
 * The oldest form of the status error, status.statusError, is spb.Status
 * itself (a defined type of it): it has no field of its own, so its method
 * (FN_STATUS_ERROR) tells it apart, and its layout is genproto's, not grpc's.
 */
enum grpc_field {
	G_STATUS_PROTO,
	G_PROTO_CODE,
	G_PROTO_MESSAGE,
	G_ERROR_STATUS,
	G_ERROR_STRING,
	G_CC_AUTHORITY,
	G_STATUS_PROTO_OLD, /* Status lived in package status before internal/status */
	G_ERROR_PROTO,	    /* internal/status.Error held the proto itself at first */
	G_ERROR_CODE,	    /* v1.29: internal/status.Error is an spb.Status, its Code its own */
	G_MAX,
};

#define SPB_STATUS "google.golang.org/genproto/googleapis/rpc/status.Status"

static const struct field_req grpc_fields[G_MAX] = {
	[G_STATUS_PROTO] = { GRPC "/internal/status.Status", "s" },
	[G_PROTO_CODE] = { SPB_STATUS, "Code" },
	[G_PROTO_MESSAGE] = { SPB_STATUS, "Message" },
	[G_ERROR_STATUS] = { GRPC "/internal/status.Error", "s" },
	[G_ERROR_STRING] = { "errors.errorString", "s" },
	[G_CC_AUTHORITY] = { GRPC ".ClientConn", "authority" },
	[G_STATUS_PROTO_OLD] = { GRPC "/status.Status", "s" },
	[G_ERROR_PROTO] = { GRPC "/internal/status.Error", "e" },
	[G_ERROR_CODE] = { GRPC "/internal/status.Error", "Code" },
};

/*
 * The server stream's context and method, from the stream the server's
 * functions get: a ServerStream since v1.69 (the split that brought the
 * transport's writeStatus), which embeds the Stream; the Stream before.
 */
enum stream_path { S_CTX, S_METHOD, S_MAX };

static const struct field_path stream_paths[][S_MAX] = {
	{
		[S_CTX] = { { { GRPC_TRANSPORT ".ServerStream", "Stream" },
			      { GRPC_TRANSPORT ".Stream", "ctx" } } },
		[S_METHOD] = { { { GRPC_TRANSPORT ".ServerStream", "Stream" },
				 { GRPC_TRANSPORT ".Stream", "method" } } },
	},
	{
		[S_CTX] = { { { GRPC_TRANSPORT ".Stream", "ctx" } } },
		[S_METHOD] = { { { GRPC_TRANSPORT ".Stream", "method" } } },
	},
};

/* G_ERROR_STATUS stands for whichever form of the status error the release has. */
static const enum grpc_field server_required[] = { G_STATUS_PROTO, G_PROTO_CODE, G_PROTO_MESSAGE };
static const enum grpc_field client_required[] = { G_STATUS_PROTO, G_PROTO_CODE, G_PROTO_MESSAGE,
						   G_ERROR_STATUS, G_ERROR_STRING };

/*
 * Folds the older releases' forms into the fields the probes read: the
 * status proto's holder, and how the status error leads to the proto.
 * error_is_proto: the binary has status.statusError's methods; in v1.29 the
 * status error moved to internal/status.Error, still a defined type of
 * spb.Status: its layout says so (spb.Status's Code where the proto has it).
 */
static enum ot_grpc_error_kind fold_old_fields(struct field_req *f, bool error_is_proto)
{
	if (!f[G_STATUS_PROTO].source && f[G_STATUS_PROTO_OLD].source)
		f[G_STATUS_PROTO] = f[G_STATUS_PROTO_OLD];
	if (f[G_ERROR_STATUS].source)
		return OT_GRPC_ERROR_STATUS;
	if (f[G_ERROR_PROTO].source) {
		f[G_ERROR_STATUS] = f[G_ERROR_PROTO];
		return OT_GRPC_ERROR_PROTO_PTR;
	}
	if (f[G_ERROR_CODE].source && f[G_PROTO_CODE].source &&
	    f[G_ERROR_CODE].offset == f[G_PROTO_CODE].offset)
		error_is_proto = true;
	if (error_is_proto) {
		f[G_ERROR_STATUS].offset = 0; /* the error is the proto */
		f[G_ERROR_STATUS].source = "symbol";
		return OT_GRPC_ERROR_IS_PROTO;
	}
	return OT_GRPC_ERROR_STATUS;
}

/* The first field of need[] that is unknown, or NULL. */
static const struct field_req *first_missing(const struct field_req *f,
					     const enum grpc_field *need, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!f[need[i]].source)
			return &f[need[i]];
	return NULL;
}

static void fill_grpc_cfg(struct ot_grpc_cfg *c, const struct field_req *f,
			  const struct field_path *stream, enum ot_grpc_error_kind error_kind)
{
	*c = (struct ot_grpc_cfg){
		.status_proto = plan__offset_or_none(&f[G_STATUS_PROTO]),
		.proto_code = plan__offset_or_none(&f[G_PROTO_CODE]),
		.proto_message = plan__offset_or_none(&f[G_PROTO_MESSAGE]),
		.error_field = plan__offset_or_none(&f[G_ERROR_STATUS]),
		.error_string = plan__offset_or_none(&f[G_ERROR_STRING]),
		.cc_authority = plan__offset_or_none(&f[G_CC_AUTHORITY]),
		.error_kind = error_kind,
	};
	field_path__config(&stream[S_CTX], &c->stream_ctx);
	field_path__config(&stream[S_METHOD], &c->stream_method);
}

/* Adds an entry probe of program on fn; false when it could not be placed. */
static bool add_entry(const struct gobin *gb, struct plan *plan, const char *lib,
		      const struct go_func *fn, const char *program)
{
	struct probe *p = plan__add_probe(plan, lib, fn->name, program);

	if (!p)
		return false;
	plan__place_entry(gb, plan, fn, p);
	return p->planned;
}

/* Returns whether the server side is planned. */
static bool plan_server(const struct gobin *gb, struct plan *plan, const struct go_func *fns)
{
	static const char lib[] = "gRPC server";
	size_t first = plan->nprobes;
	bool start, end = false;
	int write = fns[FN_H2_WRITE].vaddr ? FN_H2_WRITE : FN_H2_WRITE_OLD;

	start = add_entry(gb, plan, lib, &fns[FN_HANDLE_STREAM], "grpc_server_start");
	/* one writer per transport: HTTP/2, and net/http's for ServeHTTP */
	for (int i = write; i <= write + 1; i++)
		if (fns[i].vaddr && add_entry(gb, plan, lib, &fns[i], "grpc_server_end"))
			end = true;
	if (start && end)
		return true;
	if (plan->nprobes == first)
		return false; /* the plan is full, which plan__add_probe said */
	if (start)
		plan__skip_from(plan, first, "no status writer of the gRPC transport found "
					     "((*http2Server).writeStatus or WriteStatus)");
	else
		plan__skip_from(plan, first, "%s", plan->probes[first].reason);
	pr_warn("gRPC server probes skipped: %s", plan->probes[first].reason);
	return false;
}

/* Returns whether the client side is planned. */
static bool plan_client(const struct gobin *gb, struct plan *plan, const struct go_func *fns)
{
	static const char lib[] = "gRPC client";
	size_t first = plan->nprobes;

	if (!add_entry(gb, plan, lib, &fns[FN_NEW_STREAM], "grpc_client_start") ||
	    !add_entry(gb, plan, lib, &fns[FN_ATTEMPT], "grpc_client_attempt") ||
	    !add_entry(gb, plan, lib, &fns[FN_FINISH], "grpc_client_finish")) {
		const char *reason = plan->nprobes > first ? plan->probes[plan->nprobes - 1].reason :
							    "the probe plan is full";

		plan__skip_from(plan, first, "%s", reason);
		pr_warn("gRPC client probes skipped: %s", reason);
		return false;
	}
	/* newClientStream's results: (ClientStream in RAX:RBX, error in RCX:RDI) */
	for (int caller = FN_INVOKE; caller <= FN_CC_NEW_STREAM; caller++) {
		size_t from = plan->nprobes;

		if (!plan__add_after_calls(gb, plan, lib, &fns[caller], &fns[FN_NEW_STREAM], 1,
					   INSN_RCX | INSN_RDI, "grpc_client_created")) {
			pr_warn("gRPC client: no call of newClientStream found in %s; its calls "
				"failing before their stream exists give no span",
				fns[caller].name);
			continue;
		}
		/*
		 * NewStream returns newClientStream's results straight away: only its
		 * epilogue follows the call. A single step on every stream created is
		 * not worth the spans of streams that could not even be created.
		 */
		for (size_t i = from; i < plan->nprobes; i++)
			if (plan->probes[i].planned && !plan->probes[i].point.emulated)
				plan__skip(&plan->probes[i],
					   "no emulated instruction after the call (would be "
					   "single-stepped): streams failing before they exist "
					   "give no span");
	}
	return true;
}

/* Where program's probe on symbol sits (its load bias is the process's), 0: none. */
static uint64_t probe_vaddr(const struct plan *plan, const char *program, const char *symbol)
{
	for (size_t i = 0; i < plan->nprobes; i++)
		if (plan->probes[i].planned && !strcmp(plan->probes[i].program, program) &&
		    !strcmp(plan->probes[i].symbol, symbol))
			return plan->probes[i].point.vaddr;
	return 0;
}

/* Where a served call came in: its HTTP/2 transport's local address, a *net.TCPAddr. */
enum local_field { L_LOCAL_ADDR, L_PEER, L_PEER_LOCAL, L_TCP_IP, L_TCP_PORT, L_MAX };

static const struct field_req local_fields[L_MAX] = {
	[L_LOCAL_ADDR] = { GRPC_TRANSPORT ".http2Server", "localAddr" }, /* before v1.60 */
	[L_PEER] = { GRPC_TRANSPORT ".http2Server", "peer" },		   /* a peer.Peer since */
	[L_PEER_LOCAL] = { GRPC "/peer.Peer", "LocalAddr" },
	[L_TCP_IP] = { "net.TCPAddr", "IP" },
	[L_TCP_PORT] = { "net.TCPAddr", "Port" },
};

/*
 * server.address and server.port of server spans: what the probe needs to
 * read the local address (see read_local_addr in server.bpf.h), or a
 * warning naming what is missing (the spans then have none).
 */
static void plan_local_addr(const struct gobin *gb, struct plan *plan, struct ot_grpc_cfg *c,
			    const char *start_symbol)
{
	struct go_func fns[] = { { .name = GRPC_TRANSPORT ".(*http2Server).Close" },
				 { .name = "net.(*TCPAddr).Network" } };
	struct field_req f[L_MAX];
	const char *missing = NULL;

	memcpy(f, local_fields, sizeof(f));
	plan__resolve_fields(gb, plan, f, L_MAX, 0);
	gobin__find_funcs(gb, fns, ARRAY_SIZE(fns));
	c->h2_local_addr = -1;
	if (f[L_LOCAL_ADDR].source)
		c->h2_local_addr = f[L_LOCAL_ADDR].offset;
	else if (f[L_PEER].source && f[L_PEER_LOCAL].source)
		c->h2_local_addr = f[L_PEER].offset + f[L_PEER_LOCAL].offset;
	if (c->h2_local_addr < 0)
		missing = "field http2Server.localAddr or peer.Peer.LocalAddr";
	else if (!f[L_TCP_IP].source || !f[L_TCP_PORT].source)
		missing = "field net.TCPAddr.IP or Port";
	else if (!fns[0].vaddr || !fns[1].vaddr)
		missing = !fns[0].vaddr ? fns[0].name : fns[1].name;
	if (missing) {
		pr_warn("gRPC server spans have no server.address: %s unknown", missing);
		c->h2_local_addr = -1;
		return;
	}
	c->tcpaddr_ip = f[L_TCP_IP].offset;
	c->tcpaddr_port = f[L_TCP_PORT].offset;
	c->h2_close = fns[0].vaddr;
	c->tcpaddr_network = fns[1].vaddr;
	c->server_start_vaddr = probe_vaddr(plan, "grpc_server_start", start_symbol);
}

/* What later planning steps need: which side is traced. */
struct grpc_plan {
	bool server;
	bool client;
};

static void plan_grpc(const struct gobin *gb, struct plan *plan, struct lib_state *state)
{
	struct ot_grpc_cfg *cfg = LIB_STATE_AS(struct ot_grpc_cfg, state->config);
	struct grpc_plan *sides = LIB_STATE_AS(struct grpc_plan, state->data);
	struct go_func fns[FN_GRPC_MAX] = {
		[FN_HANDLE_STREAM] = { .name = GRPC ".(*Server).handleStream" },
		[FN_H2_WRITE] = { .name = GRPC_TRANSPORT ".(*http2Server).writeStatus" },
		[FN_HT_WRITE] = { .name = GRPC_TRANSPORT ".(*serverHandlerTransport).writeStatus" },
		[FN_H2_WRITE_OLD] = { .name = GRPC_TRANSPORT ".(*http2Server).WriteStatus" },
		[FN_HT_WRITE_OLD] = { .name = GRPC_TRANSPORT
				      ".(*serverHandlerTransport).WriteStatus" },
		[FN_NEW_STREAM] = { .name = GRPC ".newClientStream" },
		[FN_ATTEMPT] = { .name = GRPC ".(*clientStream).newAttemptLocked" },
		[FN_FINISH] = { .name = GRPC ".(*clientStream).finish" },
		[FN_INVOKE] = { .name = GRPC ".invoke" },
		[FN_CC_NEW_STREAM] = { .name = GRPC ".(*ClientConn).NewStream" },
		[FN_STATUS_ERROR] = { .name = GRPC "/status.(*statusError).Error" },
		[FN_INTERNAL_ERROR] = { .name = GRPC "/internal/status.(*Error).Error" },
		[FN_ERROR_STRING] = { .name = "errors.(*errorString).Error" },
	};
	struct field_req f[G_MAX];
	struct field_path stream[S_MAX];
	const struct field_req *missing;
	enum ot_grpc_error_kind error_kind;
	bool server = false, client = false;
	size_t first;

	gobin__find_funcs(gb, fns, ARRAY_SIZE(fns));
	if (!fns[FN_HANDLE_STREAM].vaddr && !fns[FN_NEW_STREAM].vaddr)
		return; /* the program neither serves nor calls gRPC */
	memcpy(f, grpc_fields, sizeof(f));
	plan__resolve_fields(gb, plan, f, G_MAX, 0);
	error_kind = fold_old_fields(f, fns[FN_STATUS_ERROR].vaddr != 0);
	memcpy(stream, stream_paths[fns[FN_H2_WRITE].vaddr ? 0 : 1], sizeof(stream));
	if (fns[FN_HANDLE_STREAM].vaddr)
		plan__resolve_paths(gb, plan, stream, S_MAX, 0);

	/* each side checks its fields once its own probes are the last in the plan */
	first = plan->nprobes;
	if (fns[FN_HANDLE_STREAM].vaddr && plan_server(gb, plan, fns)) {
		missing = first_missing(f, server_required, ARRAY_SIZE(server_required));
		for (int i = 0; i < S_MAX && !missing; i++)
			missing = field_path__missing(&stream[i]);
		if (missing)
			plan__field_blocks(gb, plan, state, first, "gRPC server", missing);
		server = !missing;
	}
	first = plan->nprobes;
	if (fns[FN_NEW_STREAM].vaddr && plan_client(gb, plan, fns)) {
		missing = first_missing(f, client_required, ARRAY_SIZE(client_required));
		if (missing)
			plan__field_blocks(gb, plan, state, first, "gRPC client", missing);
		client = !missing;
	}
	if (server && !plan__map_layout(gb, plan))
		pr_warn("gRPC server: incoming traceparent and :authority are not read");
	if (client && !f[G_CC_AUTHORITY].source)
		plan__warn_field(gb, "gRPC client", &f[G_CC_AUTHORITY],
				 "its spans have no server.address");
	fill_grpc_cfg(cfg, f, stream, error_kind);
	/*
	 * The status error's type, told by its Error method: status.statusError
	 * through v1.28, internal/status.Error since (in v1.29 a defined type of
	 * the proto too, IS_PROTO like statusError: the method says which).
	 */
	cfg->status_error_method = fns[FN_STATUS_ERROR].vaddr ? fns[FN_STATUS_ERROR].vaddr :
								   fns[FN_INTERNAL_ERROR].vaddr;
	cfg->error_string_method = fns[FN_ERROR_STRING].vaddr;
	cfg->client_start_vaddr = probe_vaddr(plan, "grpc_client_start", fns[FN_NEW_STREAM].name);
	if (server)
		plan_local_addr(gb, plan, cfg, fns[FN_HANDLE_STREAM].name);
	else
		cfg->h2_local_addr = -1;
	sides->server = server;
	sides->client = client;
	state->active = server || client;
}

/* Fields --propagate writes with. */
enum propagate_field {
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

/* grpc-go clients (see propagate.bpf.h); returns the probes planned. */
static int plan_propagation(const struct gobin *gb, struct plan *plan, struct lib_state *state)
{
	static const char lib[] = "gRPC client (--propagate)";
	static const int need[] = { P_BYTES_BUF, P_BYTES_OFF, P_HEADER_FRAME_HF, P_LOOPY_FRAMER,
				    P_LOOPY_HBUF, P_FRAMER_WRITER, P_BUFWRITER_BUF,
				    P_BUFWRITER_OFFSET };
	struct ot_grpc_cfg *c = LIB_STATE_AS(struct ot_grpc_cfg, state->config);
	const struct grpc_plan *sides = LIB_STATE_AS(struct grpc_plan, state->data);
	struct go_func fns[] = {
		{ .name = GRPC_TRANSPORT ".(*controlBuffer).executeAndPut" },
		{ .name = GRPC_TRANSPORT ".(*loopyWriter).writeHeader" },
		{ .name = "golang.org/x/net/http2.(*Framer).WriteHeaders" },
	};
	struct field_req f[P_FIELDS];

	if (!sides->client)
		return 0;
	memcpy(f, propagate_fields, sizeof(f));
	plan__resolve_fields(gb, plan, f, P_FIELDS, 0);
	/* the queued headers: a headerFrame, since v1.82 a clientHeaders */
	if (!f[P_HEADER_FRAME_HF].source)
		f[P_HEADER_FRAME_HF] = f[P_CLIENT_HEADERS_HF];
	/* bufWriter's buffer is a slice in older releases, a *[]byte in newer ones */
	if (!f[P_BUFWRITER_BUF].source && f[P_BUFWRITER_HANDLE].source) {
		f[P_BUFWRITER_BUF].offset = f[P_BUFWRITER_HANDLE].offset;
		f[P_BUFWRITER_BUF].source = f[P_BUFWRITER_HANDLE].source;
		c->buf_is_handle = 1;
	}
	for (size_t i = 0; i < ARRAY_SIZE(need); i++)
		if (!f[need[i]].source) {
			plan__warn_field(gb, "gRPC client", &f[need[i]], "--propagate skips gRPC");
			return 0;
		}
	gobin__find_funcs(gb, fns, ARRAY_SIZE(fns));
	/* WriteHeaders' result: the error's itab in RAX */
	if (!plan__frame_extension(gb, plan, lib, "gRPC", &fns[0], "grpc_put_headers", &fns[1],
				   "grpc_write_header", &fns[2], INSN_RAX, "grpc_headers_written"))
		return 0;
	c->bytes_buffer_buf = f[P_BYTES_BUF].offset;
	c->bytes_buffer_off = f[P_BYTES_OFF].offset;
	c->header_frame_hf = f[P_HEADER_FRAME_HF].offset;
	c->loopy_framer = f[P_LOOPY_FRAMER].offset;
	c->loopy_hbuf = f[P_LOOPY_HBUF].offset;
	c->framer_writer = f[P_FRAMER_WRITER].offset;
	c->bufwriter_buf = f[P_BUFWRITER_BUF].offset;
	c->bufwriter_offset = f[P_BUFWRITER_OFFSET].offset;
	return 3;
}

static const char *const programs[] = {
	"grpc_server_start",	 "grpc_server_end",   "grpc_client_start",
	"grpc_client_attempt",	 "grpc_client_finish", "grpc_client_created",
	"grpc_put_headers",	 "grpc_write_header", "grpc_headers_written",
	NULL,
};

const struct library lib_grpc = {
	.name = "gRPC",
	.plan = plan_grpc,
	.plan_propagation = plan_propagation,
	.programs = programs,
	.config_name = "grpc_cfg",
	.config_size = sizeof(struct ot_grpc_cfg),
	.maps = { { "grpc_server_calls", true, { { "ended", INFLIGHT_ZERO } } },
		  { "grpc_client_calls", true, { { "ended", INFLIGHT_ZERO } } },
		  /* a call not yet given its stream: once it is, grpc_client_calls has it */
		  { "grpc_client_new", true, { { "ended", INFLIGHT_ZERO }, { "cs", INFLIGHT_ZERO } } },
		  { "propagate_grpc_hf" } },
	.records = { OT_REC_GRPC_SERVER, OT_REC_GRPC_CLIENT },
	.decode = grpc__decode,
};
