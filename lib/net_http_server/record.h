/* SPDX-License-Identifier: MIT */
/* The net/http server's wire record: one HTTP request served (HTTP/1.1 or HTTP/2). */
#ifndef OTRACE_NET_HTTP_SERVER_RECORD_H
#define OTRACE_NET_HTTP_SERVER_RECORD_H

#include "records.h"

#define OT_REC_HTTP_SERVER 1

#define OT_PATTERN_CAP 128
#define OT_UA_CAP 256

enum ot_http_flag {
	OT_HTTP_TLS = 1 << 0,
	OT_HTTP_HAS_PATTERN = 1 << 1, /* target records Request.Pattern */
	OT_HTTP_UA_FOUND = 1 << 2,
	OT_HTTP_HAS_PARENT = 1 << 4, /* ids.parent_span_id is set */
	OT_HTTP_PANICKED = 1 << 5,   /* the handler panicked, no response sent */
	OT_HTTP_HIJACKED = 1 << 6,   /* the handler took over the connection */
	OT_HTTP_SERVED_H2 = 1 << 7,  /* answered over HTTP/2 (also an h2c upgrade's request) */
	OT_HTTP_PATH_RAW = 1 << 8,   /* path holds RequestURI, as received (else URL.Path) */
	OT_HTTP_STATUS_UNKNOWN = 1 << 9, /* the status could not be read: none, not 200 */
};

/* What a request's record holds besides its strings, first in both its forms. */
#define OT_HTTP_SERVER_HEAD                                                              \
	struct ot_rec_hdr hdr;                                                           \
	__u32 pid;                                                                       \
	__u32 flags;	 /* enum ot_http_flag */                                         \
	__u64 goroutine; /* address of the runtime.g serving the request */              \
	__u64 start_ns;	 /* CLOCK_MONOTONIC */                                           \
	__u64 end_ns;                                                                    \
	__s64 status;                                                                    \
	__s64 proto_major;                                                               \
	__s64 proto_minor;                                                               \
	/* each string's full length in the target; its first bytes, up to its cap, */ \
	/* travel with it */                                                             \
	__u32 method_len;                                                                \
	__u32 path_len;                                                                  \
	__u32 host_len;                                                                  \
	__u32 remote_len;                                                                \
	__u32 pattern_len;                                                               \
	__u32 ua_len;                                                                    \
	struct ot_span_ids ids;

/*
 * One request, decoded: each string in a buffer of its own (what the
 * decoder reads, and tests build).
 */
struct ot_http_server_rec {
	OT_HTTP_SERVER_HEAD
	char method[OT_METHOD_CAP];
	char path[OT_PATH_CAP];
	char host[OT_HOST_CAP];
	char remote[OT_ADDR_CAP];
	char pattern[OT_PATTERN_CAP];
	char ua[OT_UA_CAP];
	struct ot_route route; /* what a router matched (records.h); wins over pattern */
};

/*
 * One request as the ring buffer carries it (OT_REC_HTTP_SERVER): the head,
 * the route's state and length, then the captured bytes of method, path,
 * host, remote, pattern, user agent and route text, one after the other;
 * hdr.size ends after the last. Most strings are short: the record is a
 * third of the decoded form's 1.1 KB, and the ring holds three times as
 * many.
 */
struct ot_http_server_wire {
	OT_HTTP_SERVER_HEAD
	__u32 route_state; /* enum ot_route_state */
	__u32 route_len;
	char strings[];
};

/* The most the strings of a wire record take: the sum of their caps. */
#define OT_HTTP_SERVER_STRINGS_MAX                                                      \
	(OT_METHOD_CAP + OT_PATH_CAP + OT_HOST_CAP + OT_ADDR_CAP + OT_PATTERN_CAP + OT_UA_CAP + \
	 OT_ROUTE_CAP)

#endif
