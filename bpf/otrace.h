/* SPDX-License-Identifier: MIT */
/*
 * Wire records shared by the BPF programs and user space.
 *
 * Every ring-buffer record starts with struct ot_rec_hdr; user space switches on
 * the type and checks the size before it reads the rest. Only fixed-width
 * types with explicit padding, so both compilers agree on the layout.
 */
#ifndef OTRACE_WIRE_H
#define OTRACE_WIRE_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

enum ot_rec_type {
	OT_REC_HTTP_SERVER = 1,
	OT_REC_HTTP_CLIENT = 2,
	OT_REC_DB_CLIENT = 3,
	OT_REC_GRPC_SERVER = 4,
	OT_REC_GRPC_CLIENT = 5,
};

struct ot_rec_hdr {
	__u32 type;
	__u32 size; /* of the whole record, header included */
};

/* String capacities; each string travels with its original length. */
#define OT_METHOD_CAP 16
#define OT_PATH_CAP 256
#define OT_HOST_CAP 128
#define OT_ADDR_CAP 64
#define OT_PATTERN_CAP 128
#define OT_UA_CAP 256
#define OT_TRACEPARENT_CAP 64 /* "00-<32 hex>-<16 hex>-<2 hex>" is 55 */
#define OT_SCHEME_CAP 8
#define OT_QUERY_CAP 256
#define OT_FRAGMENT_CAP 64
#define OT_DB_QUERY_CAP 2048 /* statement text */
#define OT_GRPC_METHOD_CAP 128	/* "/package.Service/Method" */
#define OT_GRPC_MESSAGE_CAP 64	/* start of the status message */

/*
 * Identity of a span, made in BPF when the span starts: a child recorded
 * before its parent ends must already know the parent's ids, and
 * --propagate writes them into outgoing requests.
 */
struct ot_span_ids {
	__u8 trace_id[16];
	__u8 span_id[8];
	__u8 parent_span_id[8]; /* all zero: a root span */
	__u8 trace_flags;	/* W3C flags (bit 0: sampled) */
	__u8 parent_remote;	/* the parent came from an incoming traceparent */
	__u8 _pad[6];
};

enum ot_http_flag {
	OT_HTTP_TLS = 1 << 0,
	OT_HTTP_HAS_PATTERN = 1 << 1, /* target records Request.Pattern */
	OT_HTTP_UA_FOUND = 1 << 2,
	OT_HTTP_TRANSPORT_ERROR = 1 << 3, /* client: the round trip returned an error */
	OT_HTTP_HAS_PARENT = 1 << 4,	  /* ids.parent_span_id is set */
	OT_HTTP_PANICKED = 1 << 5,	  /* server: the handler panicked, no response sent */
	OT_HTTP_HIJACKED = 1 << 6,	  /* server: the handler took over the connection */
	OT_HTTP_USERINFO = 1 << 7,	  /* client: the URL carries user info (URL.User) */
};

struct ot_http_server_rec {
	struct ot_rec_hdr hdr;
	__u32 pid;
	__u32 flags; /* enum ot_http_flag */
	__u64 goroutine; /* address of the runtime.g serving the request */
	__u64 start_ns; /* CLOCK_MONOTONIC */
	__u64 end_ns;
	__s64 status;
	__s64 proto_major;
	__s64 proto_minor;
	__u32 method_len;
	__u32 path_len;
	__u32 host_len;
	__u32 remote_len;
	__u32 pattern_len;
	__u32 ua_len;
	struct ot_span_ids ids;
	char method[OT_METHOD_CAP];
	char path[OT_PATH_CAP];
	char host[OT_HOST_CAP];
	char remote[OT_ADDR_CAP];
	char pattern[OT_PATTERN_CAP];
	char ua[OT_UA_CAP];
};

/* One net/http client round trip (Transport.roundTrip), HTTP/1.1 or HTTP/2. */
struct ot_http_client_rec {
	struct ot_rec_hdr hdr;
	__u32 pid;
	__u32 flags; /* enum ot_http_flag */
	__u64 goroutine;
	__u64 start_ns;
	__u64 end_ns;
	__s64 status; /* 0 when the round trip failed */
	__s64 proto_major; /* of the response */
	__s64 proto_minor;
	__u64 error_itab;  /* link-time address of the error's itab (its dynamic type), 0 if none */
	__u32 method_len;
	__u32 scheme_len;
	__u32 host_len;
	__u32 path_len;
	__u32 query_len;
	__u32 fragment_len;
	struct ot_span_ids ids;
	char method[OT_METHOD_CAP];
	char scheme[OT_SCHEME_CAP];
	char host[OT_HOST_CAP];
	char path[OT_PATH_CAP];
	char query[OT_QUERY_CAP];
	char fragment[OT_FRAGMENT_CAP];
};

enum ot_db_flag {
	OT_DB_ERROR = 1 << 0,	   /* the operation returned an error */
	OT_DB_HAS_PARENT = 1 << 1, /* ids.parent_span_id is set */
};

/*
 * One database/sql operation: a query or exec on a DB, Conn or Tx, or on a
 * prepared Stmt. The itab addresses are link-time addresses (the load bias
 * of a PIE is taken off in BPF), so user space can name them from .symtab.
 */
struct ot_db_rec {
	struct ot_rec_hdr hdr;
	__u32 pid;
	__u32 flags; /* enum ot_db_flag */
	__u64 goroutine;
	__u64 start_ns;
	__u64 end_ns;
	__u64 conn_itab;  /* itab of the driver.Conn: its type names the driver; 0 unknown */
	__u64 error_itab; /* itab of the returned error (its dynamic type); 0 none */
	__u32 query_len;  /* full length of the statement text */
	__u32 _pad;
	struct ot_span_ids ids;
	char query[OT_DB_QUERY_CAP];
};

enum ot_grpc_flag {
	OT_GRPC_HAS_PARENT = 1 << 0,	/* ids.parent_span_id is set */
	OT_GRPC_NO_STATUS = 1 << 1,	/* client: the error carried no gRPC status */
	OT_GRPC_AUTHORITY_FOUND = 1 << 2, /* server: :authority was in the metadata */
};

/*
 * One gRPC call, unary or streaming: OT_REC_GRPC_SERVER for a call served
 * (handleStream .. the transport's writeStatus), OT_REC_GRPC_CLIENT for a
 * call made (newClientStream .. (*clientStream).finish).
 */
struct ot_grpc_rec {
	struct ot_rec_hdr hdr;
	__u32 pid;
	__u32 flags; /* enum ot_grpc_flag */
	__u64 goroutine; /* the runtime.g the call started on */
	__u64 start_ns;
	__u64 end_ns;
	__s32 code; /* gRPC status code */
	__u32 method_len;
	__u32 authority_len; /* client: ClientConn.authority; server: :authority */
	__u32 message_len;   /* status message */
	struct ot_span_ids ids;
	char method[OT_GRPC_METHOD_CAP];
	char authority[OT_HOST_CAP];
	char message[OT_GRPC_MESSAGE_CAP];
};

/*
 * BPF cookie of a probe on a Go prologue's stack-check branch: the flags of
 * its cmp tell whether the branch to morestack is taken, after which the
 * function starts over (and the probe hits again).
 */
#define OT_COOKIE_STACK_CHECK 1

/* Why a span was not produced; indexes the drop counters in BPF .bss. */
enum ot_drop_reason {
	OT_DROP_RINGBUF_FULL = 0, /* record lost: ring buffer had no room */
	OT_DROP_NO_START,	  /* end seen without start (request began before attach) */
	OT_DROP_INFLIGHT_FULL,	  /* in-flight map update failed */
	OT_DROP_READ_FAULT,	  /* target memory could not be read */
	OT_DROP_UNFINISHED,	  /* started, but no end was seen before its goroutine moved on */
	OT_DROP__COUNT,
};

/* What --propagate did; indexes propagate_stats in BPF .bss. */
enum ot_propagate_stat {
	OT_PROPAGATE_WRITTEN = 0, /* traceparent written into an outgoing request */
	OT_PROPAGATE_NO_ROOM,	  /* the request's buffer had no room for it */
	OT_PROPAGATE_SKIPPED,	  /* the writer was not the expected type */
	OT_PROPAGATE_FAILED,	  /* the kernel refused the write */
	OT_PROPAGATE__COUNT,
};

/* Layout of the Go runtime map behind http.Header. */
/* Layout of the Go runtime map behind http.Header and gRPC metadata. */
enum ot_map_kind {
	OT_MAP_NONE = 0,
	OT_MAP_HMAP = 1,  /* Go <= 1.23 buckets */
	OT_MAP_SWISS = 2, /* Go >= 1.24 Swiss tables */
};

/*
 * Offsets in the runtime's map headers, a property of the Go release rather
 * than of any library: resolved once, read by bpf/go_map.h.
 */
struct ot_map_cfg {
	__u32 kind; /* enum ot_map_kind; OT_MAP_NONE: maps are not read */
	__u32 _pad;
	__s64 hmap_b;
	__s64 hmap_buckets;
	__s64 hmap_oldbuckets;
	__s64 swiss_dir_ptr;
	__s64 swiss_dir_len;
	__s64 swiss_table_groups; /* offset of groups.data in maps.table */
	__s64 swiss_table_mask;	  /* offset of groups.lengthMask */
};

/*
 * Field offsets the HTTP server probes need, resolved by user space from DWARF
 * or the generated table. A negative offset means "field not present".
 */
struct ot_http_server_cfg {
	__s64 req_method;
	__s64 req_url;
	__s64 req_proto_major;
	__s64 req_proto_minor;
	__s64 req_header;
	__s64 req_host;
	__s64 req_remote_addr;
	__s64 req_tls;
	__s64 req_pattern;
	__s64 req_pat;	   /* Go 1.22: *pattern in Request.pat, when Pattern is absent */
	__s64 pattern_str; /* Go 1.22: pattern.str */
	__s64 url_path;
	__s64 resp_req;
	__s64 resp_status;
	__s64 req_ctx; /* Request.ctx, where the request's context chain starts */
	__s64 h2_rw_rws;     /* http2responseWriter.rws; -1: HTTP/2 requests not traced */
	__s64 h2_rws_status; /* http2responseWriterState.status */
};

/* --propagate: where to write, and how to recognise a *bufio.Writer. */
struct ot_propagate_cfg {
	__u32 enabled;
	__u32 _pad;
	__s64 req_header;	       /* net/http.Request.Header */
	__s64 bufio_buf;	       /* bufio.Writer.buf */
	__s64 bufio_n;		       /* bufio.Writer.n */
	__s64 h2cc_bw;		       /* net/http.http2ClientConn.bw */
	__s64 bytes_buffer_buf;	       /* bytes.Buffer.buf */
	__u64 bufio_write_vaddr;       /* bufio.(*Writer).Write, link-time address */
	__u64 write_subset_probe_vaddr; /* where http1_write_headers sits, link-time */
	/* gRPC (grpc-go's transport) */
	__s64 grpc_header_frame_hf;  /* headerFrame.hf */
	__s64 grpc_loopy_framer;     /* loopyWriter.framer */
	__s64 grpc_loopy_hbuf;	     /* loopyWriter.hBuf */
	__s64 grpc_framer_writer;    /* framer.writer */
	__s64 grpc_bufwriter_buf;    /* bufWriter.buf, or .bufHandle (a *[]byte) */
	__s64 grpc_bufwriter_offset; /* bufWriter.offset */
	__s64 bytes_buffer_off;	     /* bytes.Buffer.off */
	__u32 grpc_buf_is_handle;    /* grpc_bufwriter_buf is bufHandle */
	__u32 _pad2;
};

/* Offsets the net/http client probes need. */
struct ot_http_client_cfg {
	__s64 req_method;
	__s64 req_url;
	__s64 req_ctx;
	__s64 url_scheme;
	__s64 url_host;
	__s64 url_path;
	__s64 url_raw_query;
	__s64 url_user;	    /* -1: not read (no user info in url.full) */
	__s64 url_fragment; /* -1: not read */
	__s64 resp_status;
	__s64 resp_proto_major;
	__s64 resp_proto_minor;
	__u64 enter_probe_vaddr; /* link-time address of http_client_enter: PIE load bias */
};

/*
 * What the database/sql probes need: two field offsets, and the link-time
 * address of each start probe, from which BPF computes the load bias of a PIE
 * (the instruction pointer at a uprobe is the probed address).
 */
struct ot_sql_cfg {
	__s64 dc_ci;	  /* driverConn.ci (driver.Conn), -1: driver unknown */
	__s64 stmt_query; /* Stmt.query (string) */
	__u64 exec_vaddr;	/* probe address in (*DB).execDC */
	__u64 query_vaddr;	/* in (*DB).queryDC */
	__u64 stmt_exec_vaddr;	/* in resultFromStatement */
	__u64 stmt_query_vaddr; /* in rowsiFromStatement */
};

/* How grpc-go's status error leads to the status proto (spb.Status). */
enum ot_grpc_error_kind {
	OT_GRPC_ERROR_STATUS = 0, /* >= v1.3x: internal/status.Error{s *Status} */
	OT_GRPC_ERROR_PROTO_PTR,  /* internal/status.Error{e *spb.Status} */
	OT_GRPC_ERROR_IS_PROTO,	  /* <= v1.2x: status.statusError is an spb.Status */
};

/*
 * Offsets the gRPC probes need (google.golang.org/grpc; DWARF, else the
 * module-keyed offsets table). Negative: field not present.
 */
struct ot_grpc_cfg {
	__s64 stream_ctx;    /* server stream -> transport.Stream.ctx */
	__s64 stream_method; /* server stream -> transport.Stream.method */
	__s64 status_proto;  /* [internal/]status.Status.s (*spb.Status) */
	__s64 proto_code;    /* genproto rpc/status.Status.Code (int32) */
	__s64 proto_message; /* genproto rpc/status.Status.Message */
	__s64 error_field;   /* the status error's s or e field (error_kind) */
	__s64 error_string;  /* errors.errorString.s, to tell io.EOF */
	__s64 cc_authority;  /* grpc.ClientConn.authority */
	__u32 error_kind;    /* enum ot_grpc_error_kind */
	__u32 _pad;
};

#endif
