/* SPDX-License-Identifier: MIT */
/*
 * What every library's wire records share with user space: the header each
 * ring-buffer record starts with, span identity, and the counters of what
 * was lost. Each library's own record lives in lib/<library>/record.h.
 *
 * User space switches on the header's type and checks the size before it
 * reads the rest. Only fixed-width types with explicit padding, so both
 * compilers agree on the layout.
 */
#ifndef OTRACE_RECORDS_H
#define OTRACE_RECORDS_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

struct ot_rec_hdr {
	__u32 type; /* a library's OT_REC_* (see its record.h); unique across libraries */
	__u32 size; /* of the whole record, header included */
};

/*
 * String capacities more than one library uses; each string travels with
 * its original length.
 */
#define OT_METHOD_CAP 16
#define OT_PATH_CAP 256
#define OT_HOST_CAP 128
#define OT_ADDR_CAP 64
#define OT_TRACEPARENT_CAP 64 /* "00-<32 hex>-<16 hex>-<2 hex>" is 55 */

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

/*
 * The route a router matched for a server span (lib/<router>/): its template,
 * as the router spells it ("/users/:id", "/users/{id}"), copied while the
 * router held it. A server library carries it in its record; a router's
 * route wins over what the server itself knows (net/http's ServeMux
 * pattern), and a router that saw the request but matched no route leaves
 * the span without one.
 */
#define OT_ROUTE_CAP 128

enum ot_route_state {
	OT_ROUTE_NONE = 0,	/* no router saw the request */
	OT_ROUTE_UNMATCHED = 1, /* a router saw it and matched no route (404, 405, redirect) */
	OT_ROUTE_MATCHED = 2,	/* text holds the route (len > OT_ROUTE_CAP: it did not fit) */
	OT_ROUTE_UNREADABLE = 3, /* a router matched a route whose text could not be read */
};

struct ot_route {
	__u32 state; /* enum ot_route_state */
	__u32 len;   /* the route's full length */
	char text[OT_ROUTE_CAP];
};

/*
 * A probe's BPF cookie. Bit 0, OT_COOKIE_STACK_CHECK: the probe is on a Go
 * prologue's stack-check branch; the flags of its cmp tell whether the
 * branch to morestack is taken, after which the function starts over (and
 * the probe hits again). The bits above it: the token of the attach that put
 * the probe there. Its programs run only while link_live[token] is set: user
 * space clears it before it removes the links, which takes the kernel a
 * grace period, so that links on their way out never run a program a second
 * time for the same hit as the links that replace them.
 */
#define OT_COOKIE_STACK_CHECK 1
#define OT_COOKIE_TOKEN_SHIFT 1
/* tokens 1 to OT_LINK_TOKENS - 1 (0 is never live) */
#define OT_LINK_TOKENS 4096

/* Why a span was not produced; indexes the drop counters in BPF .bss. */
enum ot_drop_reason {
	OT_DROP_RINGBUF_FULL = 0, /* record lost: ring buffer had no room */
	OT_DROP_NO_START,	  /* end seen without start (request began before attach) */
	OT_DROP_INFLIGHT_FULL,	  /* in-flight map update failed */
	OT_DROP_READ_FAULT,	  /* target memory could not be read */
	OT_DROP_UNFINISHED,	  /* started, but no end was seen before its goroutine moved on */
	/*
	 * Not a lost span: a value behind an interface was not of the dynamic
	 * type whose layout the probe knows (or the type could not be checked),
	 * so it was not read; the span went out without it.
	 */
	OT_DROP_WRONG_TYPE,
	/*
	 * Started, and still in progress when its process ended or exec'd, or
	 * when otrace stopped: counted by user space from the in-flight maps.
	 */
	OT_DROP_IN_FLIGHT,
	OT_DROP_EVICTED, /* in progress, and its entry evicted from a full LRU map */
	/*
	 * Record lost: every slot of the CPU's buffer for building it was held
	 * by threads preempted inside a program (slots.h; kernels booted
	 * preempt=full).
	 */
	OT_DROP_BUSY,
	/* Not a lost span: a value (a traceparent, a route) went unread, as for OT_DROP_BUSY. */
	OT_DROP_VALUE_BUSY,
	OT_DROP__COUNT,
};

/* What --propagate did; indexes propagate_stats in BPF .bss. */
enum ot_propagate_stat {
	OT_PROPAGATE_WRITTEN = 0, /* traceparent written into an outgoing request */
	OT_PROPAGATE_NO_ROOM,	  /* the request's buffer had no room for it */
	OT_PROPAGATE_SKIPPED,	  /* the writer was not the expected type */
	OT_PROPAGATE_FAILED,	  /* the kernel refused the write */
	OT_PROPAGATE_STALE,	  /* not the claimed round trip's request any more: left alone */
	OT_PROPAGATE_PRESENT,	  /* the request already carried a traceparent */
	OT_PROPAGATE__COUNT,
};

#endif
