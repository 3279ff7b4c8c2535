/* SPDX-License-Identifier: MIT */
/* gRPC's wire record: one call served or made (google.golang.org/grpc). */
#ifndef OTRACE_GRPC_RECORD_H
#define OTRACE_GRPC_RECORD_H

#include "records.h"

#define OT_REC_GRPC_SERVER 4
#define OT_REC_GRPC_CLIENT 5

#define OT_GRPC_METHOD_CAP 128 /* "/package.Service/Method" */
#define OT_GRPC_MESSAGE_CAP 128 /* start of the status message */

enum ot_grpc_flag {
	OT_GRPC_HAS_PARENT = 1 << 0,	/* ids.parent_span_id is set */
	OT_GRPC_NO_STATUS = 1 << 1,	/* client: the error carried no gRPC status */
	OT_GRPC_LOCAL_ADDR = 1 << 2,	/* server: local_ip and local_port are set */
};

/* What a call's record holds besides its strings, first in both its forms. */
#define OT_GRPC_HEAD                                                                     \
	struct ot_rec_hdr hdr;                                                           \
	__u32 pid;                                                                       \
	__u32 flags; /* enum ot_grpc_flag */                                             \
	__u64 goroutine; /* the runtime.g the call started on */                         \
	__u64 start_ns;                                                                  \
	__u64 end_ns;                                                                    \
	__s32 code; /* gRPC status code */                                               \
	/* each string's full length; its first bytes, up to its cap, travel with it */ \
	__u32 method_len;                                                                \
	__u32 authority_len; /* client: ClientConn.authority */                          \
	__u32 message_len;   /* status message */                                        \
	/* server: the TCP address the call came in on (its connection's local one) */   \
	__u8 local_ip[16];                                                               \
	__u32 local_ip_len; /* 4 or 16 */                                                \
	__u32 local_port;                                                                \
	struct ot_span_ids ids;

/*
 * One gRPC call, unary or streaming, decoded: OT_REC_GRPC_SERVER for a call
 * served (handleStream .. the transport's writeStatus), OT_REC_GRPC_CLIENT
 * for a call made (newClientStream .. (*clientStream).finish).
 */
struct ot_grpc_rec {
	OT_GRPC_HEAD
	char method[OT_GRPC_METHOD_CAP];
	char authority[OT_HOST_CAP];
	char message[OT_GRPC_MESSAGE_CAP];
};

/*
 * One call as the ring buffer carries it: the head, then the captured bytes
 * of method, authority and message, one after the other; hdr.size ends
 * after the last.
 */
struct ot_grpc_wire {
	OT_GRPC_HEAD
	char strings[];
};

/* The most the strings of a wire record take: the sum of their caps. */
#define OT_GRPC_STRINGS_MAX (OT_GRPC_METHOD_CAP + OT_HOST_CAP + OT_GRPC_MESSAGE_CAP)

#endif
