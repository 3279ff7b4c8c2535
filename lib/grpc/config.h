/* SPDX-License-Identifier: MIT */
/*
 * The gRPC probes' read-only configuration (.rodata grpc_cfg): offsets from
 * DWARF or the binary's type data (google.golang.org/grpc, genproto), and
 * what --propagate writes with (grpc-go's transport).
 */
#ifndef OTRACE_GRPC_CONFIG_H
#define OTRACE_GRPC_CONFIG_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#include "core_config.h"

/* How grpc-go's status error leads to the status proto (spb.Status). */
enum ot_grpc_error_kind {
	OT_GRPC_ERROR_STATUS = 0, /* >= v1.3x: internal/status.Error{s *Status} */
	OT_GRPC_ERROR_PROTO_PTR,  /* internal/status.Error{e *spb.Status} */
	OT_GRPC_ERROR_IS_PROTO,	  /* <= v1.2x: status.statusError is an spb.Status */
};

/*
 * Offsets the gRPC probes need. Negative: field not present.
 */
struct ot_grpc_cfg {
	struct ot_field_path stream_ctx;    /* server stream -> transport.Stream.ctx */
	struct ot_field_path stream_method; /* server stream -> transport.Stream.method */
	__s64 status_proto;  /* [internal/]status.Status.s (*spb.Status) */
	__s64 proto_code;    /* genproto rpc/status.Status.Code (int32) */
	__s64 proto_message; /* genproto rpc/status.Status.Message */
	__s64 error_field;   /* the status error's s or e field (error_kind) */
	__s64 error_string;  /* errors.errorString.s, to tell io.EOF */
	__s64 cc_authority;  /* grpc.ClientConn.authority */
	__u32 error_kind;    /* enum ot_grpc_error_kind */
	__u32 _pad;
	/*
	 * The Error methods (link-time) of the status error and of
	 * errors.errorString (io.EOF): an error's itab names its dynamic type by
	 * its first method; 0 when not found (the type is then not read).
	 */
	__u64 status_error_method;
	__u64 error_string_method;
	__u64 client_start_vaddr; /* where grpc_client_start sits, link-time: PIE load bias */
	/* server.address: the address a call came in on (see server.bpf.h) */
	__u64 server_start_vaddr; /* where grpc_server_start sits, link-time: PIE load bias */
	__u64 h2_close;		  /* (*http2Server).Close, link-time: the transport's type */
	__u64 tcpaddr_network;	  /* (*net.TCPAddr).Network, link-time: the address's type */
	__s64 h2_local_addr;	  /* http2Server's local net.Addr: localAddr, or peer.LocalAddr */
	__s64 tcpaddr_ip;	  /* net.TCPAddr.IP */
	__s64 tcpaddr_port;	  /* net.TCPAddr.Port */
	/* --propagate (see propagate.bpf.h) */
	__s64 header_frame_hf;	/* headerFrame.hf (clientHeaders.hf since v1.82) */
	__s64 loopy_framer;	/* loopyWriter.framer */
	__s64 loopy_hbuf;	/* loopyWriter.hBuf */
	__s64 framer_writer;	/* framer.writer */
	__s64 bufwriter_buf;	/* bufWriter.buf, or .bufHandle (a *[]byte) */
	__s64 bufwriter_offset; /* bufWriter.offset */
	__s64 bytes_buffer_buf; /* bytes.Buffer.buf */
	__s64 bytes_buffer_off; /* bytes.Buffer.off */
	__u32 buf_is_handle;	/* bufwriter_buf is bufHandle */
	__u32 _pad2;
};

#endif
