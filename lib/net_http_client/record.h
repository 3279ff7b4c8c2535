/* SPDX-License-Identifier: MIT */
/* The net/http client's wire record: one (*Transport).roundTrip, HTTP/1.1 or HTTP/2. */
#ifndef OTRACE_NET_HTTP_CLIENT_RECORD_H
#define OTRACE_NET_HTTP_CLIENT_RECORD_H

#include "records.h"

#define OT_REC_HTTP_CLIENT 2

#define OT_SCHEME_CAP 8
#define OT_QUERY_CAP 256
#define OT_FRAGMENT_CAP 64

enum ot_http_client_flag {
	OT_HTTP_CLIENT_TRANSPORT_ERROR = 1 << 3, /* the round trip returned an error */
	OT_HTTP_CLIENT_HAS_PARENT = 1 << 4,	 /* ids.parent_span_id is set */
	OT_HTTP_CLIENT_OWN_TRACEPARENT = 1 << 5, /* --propagate: the request had its own */
	OT_HTTP_CLIENT_USERINFO = 1 << 7,	 /* the URL carries user info (URL.User) */
};

/* What a round trip's record holds besides its strings, first in both its forms. */
#define OT_HTTP_CLIENT_HEAD                                                              \
	struct ot_rec_hdr hdr;                                                           \
	__u32 pid;                                                                       \
	__u32 flags; /* enum ot_http_client_flag */                                      \
	__u64 goroutine;                                                                 \
	__u64 start_ns;                                                                  \
	__u64 end_ns;                                                                    \
	__s64 status;	   /* 0 when the round trip failed */                            \
	__s64 proto_major; /* of the response */                                         \
	__s64 proto_minor;                                                               \
	/* link-time address of the error's itab (its dynamic type), 0 if none */       \
	__u64 error_itab;                                                                \
	/* each string's full length; its first bytes, up to its cap, travel with it */ \
	__u32 method_len;                                                                \
	__u32 scheme_len;                                                                \
	__u32 host_len;                                                                  \
	__u32 path_len;                                                                  \
	__u32 query_len;                                                                 \
	__u32 resend_count; /* attempts of the same request before this one */           \
	__u32 fragment_len;                                                              \
	__u32 _pad;                                                                      \
	struct ot_span_ids ids;

/* One round trip, decoded: each string in a buffer of its own. */
struct ot_http_client_rec {
	OT_HTTP_CLIENT_HEAD
	char method[OT_METHOD_CAP];
	char scheme[OT_SCHEME_CAP];
	char host[OT_HOST_CAP];
	char path[OT_PATH_CAP];
	char query[OT_QUERY_CAP];
	char fragment[OT_FRAGMENT_CAP];
};

/*
 * One round trip as the ring buffer carries it (OT_REC_HTTP_CLIENT): the
 * head, then the captured bytes of method, scheme, host, path, query and
 * fragment, one after the other; hdr.size ends after the last.
 */
struct ot_http_client_wire {
	OT_HTTP_CLIENT_HEAD
	char strings[];
};

/* The most the strings of a wire record take: the sum of their caps. */
#define OT_HTTP_CLIENT_STRINGS_MAX                                                       \
	(OT_METHOD_CAP + OT_SCHEME_CAP + OT_HOST_CAP + OT_PATH_CAP + OT_QUERY_CAP +        \
	 OT_FRAGMENT_CAP)

#endif
