// SPDX-License-Identifier: MIT
/*
 * gRPC server spans (google.golang.org/grpc), unary and streaming.
 *
 * Start: the stack-check branch of (*Server).handleStream(s, t, stream),
 * emulated. Every call the server accepts passes there, on its own goroutine,
 * before the method is looked up.
 *
 * End: the stack-check branch of the concrete transport's status writer,
 * (*http2Server).writeStatus(t, stream, st) (grpc >= 1.69; WriteStatus
 * before, same arguments) or the ServeHTTP transport's, also emulated.
 * grpc-go writes the final status of every call there, exactly once, and the
 * status is an argument: no return probe is needed.
 *
 * The start also reads where the call came in (server.address, server.port):
 * the HTTP/2 transport's local address, a *net.TCPAddr, each of the two
 * told by its itab's first method ((*http2Server).Close, (*TCPAddr).Network).
 *
 * Both ends see the stream pointer, so the span is keyed by it, in a plain
 * hash map that evicts nothing: the entry goes when the call ends, so a long
 * stream stays however many calls end meanwhile, and a call that does not
 * fit is counted (inflight_full). The span registers the stream's context
 * (see common.bpf.h): the handler's context derives from it, so client calls
 * made while serving become its children.
 */
#ifndef OTRACE_GRPC_SERVER_BPF_H
#define OTRACE_GRPC_SERVER_BPF_H

#include "common.bpf.h"
#include "go_map.h"
#include "grpc/config.h"
#include "grpc/record.h"

const volatile struct ot_grpc_cfg grpc_cfg = {};

/*
 * The record being built on this CPU (struct ot_grpc_wire), for a call
 * served or made: its head and room for its packed strings past the mask's
 * reach (pack_go_string), copied into the ring buffer at the size they took.
 */
_Static_assert(OT_GRPC_STRINGS_MAX <= OT_PACK_MASK, "strings beyond the mask");
_Static_assert(OT_GRPC_METHOD_CAP <= OT_HOST_CAP && OT_GRPC_MESSAGE_CAP <= OT_HOST_CAP,
	       "room for the largest string");

DEFINE_RECORD_SLOTS(grpc_wire, struct ot_grpc_wire, OT_HOST_CAP);

/*
 * Go runtime type descriptors (internal/abi.Type; the same layout since Go
 * 1.0 in reflect's rtype): size at 0, kind byte at 23, and for a map type
 * the key and element types right after the 48-byte common part.
 */
#define GO_TYPE_KIND_OFF 23
#define GO_KIND_MASK 0x1f
#define GO_KIND_MAP 21
#define GO_KIND_SLICE 23
#define GO_KIND_STRING 24
#define GO_KIND_STRUCT 25
#define GO_MAPTYPE_KEY_OFF 48
#define GO_MAPTYPE_ELEM_OFF 56
/* the incoming metadata sits at most this many contexts above the stream's */
#define MD_CTX_DEPTH 4

/* gRPC status codes otrace tells apart in BPF */
#define GRPC_OK 0
#define GRPC_UNKNOWN 2
#define GRPC_MAX_CODE 16

struct grpc_stream_key {
	__u32 pid;
	__u32 side; /* grpc_ended's: GRPC_SERVER or GRPC_CLIENT; 0 elsewhere */
	__u64 stream;
};

enum grpc_side { GRPC_SERVER = 1, GRPC_CLIENT = 2 };

/*
 * Streams whose call ended lately, each side's: grpc-go may end a call again
 * (a stream's RecvMsg that failed writes a status, then its handler's error;
 * a client stream is finished by the goroutine that saw its end and by its
 * context watcher). The next end of a stream found here is no call begun
 * before otrace attached. Forgetting one costs no span, only that count.
 * A stream's mark goes to the bucket its hash picks, over the oldest of the
 * bucket's marks, so it lasts until GRPC_ENDED_WAYS newer marks have landed
 * in the same bucket. An LRU map, written at every call's end and never
 * emptied, evicted at every insert once full: about 1 µs of each call's two
 * ends went to its free lists (bench/cost/where). One slot per hash lost
 * marks to the first collision: 4 of 16,000 repeated ends went unrecognised
 * (TestGRPCConcurrentEnds). A mark torn by two ends writing one way at once
 * matches neither stream.
 */
#define GRPC_ENDED_BUCKETS 4096 /* a power of two */
#define GRPC_ENDED_WAYS 8	/* a power of two */

struct grpc_ended_bucket {
	__u32 next; /* the way the next mark takes: the oldest */
	__u32 pad;
	struct grpc_stream_key marks[GRPC_ENDED_WAYS];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, GRPC_ENDED_BUCKETS);
	__type(key, __u32);
	__type(value, struct grpc_ended_bucket);
} grpc_ended SEC(".maps");

/* The bucket of key's mark: a multiplicative hash of the stream, its process and side. */
static __always_inline struct grpc_ended_bucket *grpc_ended_bucket(const struct grpc_stream_key *key)
{
	__u64 h = (key->stream ^ ((__u64)key->pid << 32) ^ key->side) * 0x9e3779b97f4a7c15ull;
	__u32 index = (__u32)(h >> 40) & (GRPC_ENDED_BUCKETS - 1);

	return bpf_map_lookup_elem(&grpc_ended, &index);
}

static __always_inline void grpc_mark_ended(struct grpc_stream_key key, enum grpc_side side)
{
	struct grpc_ended_bucket *b;
	__u32 way;

	key.side = side;
	b = grpc_ended_bucket(&key);
	if (!b)
		return;
	/* two ends at once may take one way (a mark lost, a count at worst) */
	way = b->next & (GRPC_ENDED_WAYS - 1);
	__sync_fetch_and_add(&b->next, 1);
	b->marks[way] = key;
}

static __always_inline bool grpc_ended_lately(struct grpc_stream_key key, enum grpc_side side)
{
	const struct grpc_ended_bucket *b;

	key.side = side;
	b = grpc_ended_bucket(&key);
	if (!b)
		return false;
#pragma unroll
	for (int i = 0; i < GRPC_ENDED_WAYS; i++)
		if (b->marks[i].stream == key.stream && b->marks[i].pid == key.pid &&
		    b->marks[i].side == key.side)
			return true;
	return false;
}

/* A call being served, until its status is written (ended: by whom, when two race). */
struct grpc_server_call {
	__u64 start_ns;
	__u64 g;
	__u64 ctx; /* data pointer of the stream's context, registered in ctx_spans */
	__u32 flags;
	__u32 local_port;
	__u8 local_ip[16];
	__u32 local_ip_len; /* 0: the local address is not known */
	__u32 _pad;
	__u64 ended; /* set once, atomically: 64 bits, what BPF's compare-and-swap takes */
	struct ot_span_ids ids;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct grpc_stream_key);
	__type(value, struct grpc_server_call);
} grpc_server_calls SEC(".maps");

/* A valueCtx: its parent Context first, then key and value (interfaces). */
struct go_value_ctx {
	struct go_iface parent;
	struct go_iface key;
	struct go_iface val;
};

static __always_inline __u8 go_type_kind(__u64 type)
{
	__u8 kind = 0xff;

	bpf_probe_read_user(&kind, sizeof(kind), (void *)(type + GO_TYPE_KIND_OFF));
	return kind & GO_KIND_MASK;
}

/*
 * The head of a Go type descriptor, read in one piece: its size (at 0) and
 * kind byte; and, for a map type (whose descriptor is longer), its key and
 * element types.
 */
struct go_type_head {
	__u64 size;
	__u8 _before_kind[GO_TYPE_KIND_OFF - 8];
	__u8 kind;
	__u8 _before_key[GO_MAPTYPE_KEY_OFF - GO_TYPE_KIND_OFF - 1];
	__u64 key;
	__u64 elem;
};
_Static_assert(__builtin_offsetof(struct go_type_head, key) == GO_MAPTYPE_KEY_OFF &&
		       __builtin_offsetof(struct go_type_head, elem) == GO_MAPTYPE_ELEM_OFF,
	       "a map type's key and element types");

/*
 * metadata.NewIncomingContext's pair: key struct{}{} (size 0), value a
 * map[string][]string. Each descriptor's head is one read (four reads where
 * there were seven); a key type's head is read only as far as its kind,
 * within the common part every descriptor has.
 */
static __always_inline bool is_incoming_md(const struct go_value_ctx *vc)
{
	/* one buffer for both heads (two took grpc_server_start's stack to 560 bytes) */
	struct go_type_head h = { .size = 1 };

	if (!vc->key.tab || !vc->val.tab || !vc->val.data)
		return false;
	if (bpf_probe_read_user(&h, GO_TYPE_KIND_OFF + 1, (void *)vc->key.tab) || h.size ||
	    (h.kind & GO_KIND_MASK) != GO_KIND_STRUCT ||
	    bpf_probe_read_user(&h, sizeof(h), (void *)vc->val.tab) ||
	    (h.kind & GO_KIND_MASK) != GO_KIND_MAP)
		return false;
	return go_type_kind(h.key) == GO_KIND_STRING && go_type_kind(h.elem) == GO_KIND_SLICE;
}

/*
 * The incoming metadata map of a server stream's context. The transport
 * attaches it with context.WithValue right after the stream's cancel
 * context, and only an InTapHandle or stats tags can wrap it before the
 * stream is handed to the server, so it is found a few parents up. Matching
 * by type shape needs no type addresses (which PIE would move). A function
 * of its own: its frame is not on the stack of the header scan that follows,
 * which kernels before 6.x count together with the scan's callback (544
 * bytes on 6.1 when it was inlined).
 */
static __noinline __u64 find_incoming_md(__u64 ctx_data)
{
	for (int i = 0; i < MD_CTX_DEPTH; i++) {
		struct go_value_ctx vc = {};

		if (!ctx_data || bpf_probe_read_user(&vc, sizeof(vc), (void *)ctx_data))
			return 0;
		if (is_incoming_md(&vc))
			return vc.val.data; /* a map is pointer-shaped: the data word is the map */
		if (!vc.parent.tab)
			return 0;
		ctx_data = vc.parent.data;
	}
	return 0;
}

/* The single string value of a metadata key, whose []string the scan found, or false. */
static __always_inline bool md_single_value(const struct map_value *values, struct go_string *out)
{
	return values->len == 1 && values->ptr &&
	       !bpf_probe_read_user(out, sizeof(*out), (void *)values->ptr);
}

/*
 * Reads traceparent from the incoming metadata (lowercase keys, as gRPC
 * sends them). A valid traceparent continues the caller's trace; otherwise
 * the call starts a new one.
 */
static __always_inline void read_incoming_md(struct grpc_server_call *call, __u64 ctx_data)
{
	struct map_scan scan = {
		.key = { "traceparent" },
		.key_len = { sizeof("traceparent") - 1 },
		.nkeys = 1,
	};
	struct go_string tp = {};

	new_root(&call->ids);
	if (!go_header_lookup(find_incoming_md(ctx_data), &scan))
		return;
	/* W3C: several traceparent values make none of them valid */
	if (md_single_value(&scan.value[0], &tp) && continue_traceparent(tp, &call->ids))
		call->flags |= OT_GRPC_HAS_PARENT;
}

/*
 * The TCP address the call came in on, from its transport t: grpc-go's
 * HTTP/2 transport keeps its connection's local address (a net.Addr), a
 * *net.TCPAddr on a TCP listener. Each interface's dynamic type is told by
 * the first method of its itab (link-time, after bias); any other (the
 * ServeHTTP transport, a Unix socket) leaves the address unknown.
 */
static __always_inline void read_local_addr(struct grpc_server_call *call, struct go_iface t,
					    __u64 bias)
{
	const volatile struct ot_grpc_cfg *cfg = &grpc_cfg;
	struct go_iface addr = {};
	struct go_slice ip = {};

	if (!cfg->h2_close || !cfg->tcpaddr_network || cfg->h2_local_addr < 0 || !t.tab ||
	    !t.data || read_ptr(t.tab + GO_ITAB_FUN_OFF) - bias != cfg->h2_close)
		return;
	if (bpf_probe_read_user(&addr, sizeof(addr), (void *)(t.data + cfg->h2_local_addr)) ||
	    !addr.tab || !addr.data ||
	    read_ptr(addr.tab + GO_ITAB_FUN_OFF) - bias != cfg->tcpaddr_network)
		return;
	if (bpf_probe_read_user(&ip, sizeof(ip), (void *)(addr.data + cfg->tcpaddr_ip)) || !ip.ptr)
		return;
	if (ip.len == 4 && !bpf_probe_read_user(call->local_ip, 4, (void *)ip.ptr))
		call->local_ip_len = 4;
	else if (ip.len == 16 && !bpf_probe_read_user(call->local_ip, 16, (void *)ip.ptr))
		call->local_ip_len = 16;
	call->local_port = (__u32)read_s64(addr.data + cfg->tcpaddr_port);
}

/* (*Server).handleStream(s, t ServerTransport, stream): stream is the 4th word. */
OT_UPROBE(grpc_server_start)
{
	const volatile struct ot_grpc_cfg *cfg = &grpc_cfg;
	struct grpc_stream_key key = { .pid = pid_of_current(), .stream = GO_ARG4(ctx) };
	struct grpc_server_call call = {
		.start_ns = bpf_ktime_get_ns(),
		.g = GO_G(ctx),
	};
	struct goroutine_key gk = { .pid = key.pid, .g = call.g };
	struct goroutine_span *gs;
	struct go_iface sctx = {};

	if (!key.stream || entry_repeats(ctx))
		return 0;
	if (bpf_probe_read_user(&sctx, sizeof(sctx),
				(void *)field_path_addr(&cfg->stream_ctx, key.stream)))
		sctx.data = 0;
	read_incoming_md(&call, sctx.data);
	read_local_addr(&call, (struct go_iface){ .tab = GO_ARG2(ctx), .data = GO_ARG3(ctx) },
			REGS_IP(ctx) - cfg->server_start_vaddr);
	call.ctx = sctx.data;
	if (bpf_map_update_elem(&grpc_server_calls, &key, &call, BPF_ANY)) {
		count_drop(OT_DROP_INFLIGHT_FULL);
		return 0;
	}
	/* the stream's context names this goroutine's entry, which holds the span */
	if ((gs = goroutine_span_claim(&gk, OT_REC_GRPC_SERVER, false))) {
		gs->ids = call.ids;
		gs->live = 1;
		if (sctx.data)
			ctx_register(key.pid, sctx.data, call.g, &call.ids);
	}
	return 0;
}

/*
 * Reads the code of a status proto (spb.Status; nil: OK) and where its
 * message is (*msg), packed last (grpc_submit).
 */
static __always_inline void read_status_proto(struct ot_grpc_wire *rec, __u64 proto,
					      struct go_string *msg)
{
	const volatile struct ot_grpc_cfg *cfg = &grpc_cfg;
	__s32 code = GRPC_OK;

	if (!proto)
		return;
	bpf_probe_read_user(&code, sizeof(code), (void *)(proto + cfg->proto_code));
	rec->code = code;
	bpf_probe_read_user(msg, sizeof(*msg), (void *)(proto + cfg->proto_message));
}

/* A *status.Status (nil, or with a nil proto: OK). */
static __always_inline void read_status(struct ot_grpc_wire *rec, __u64 st, struct go_string *msg)
{
	if (st)
		read_status_proto(rec, read_ptr(st + grpc_cfg.status_proto), msg);
}

/*
 * A record slot (grpc_wire, held in *hold), its head cleared and started;
 * NULL when none is free (counted lost). grpc_submit releases it.
 */
static __always_inline struct ot_grpc_wire *grpc_rec_init(__u32 type, __u32 pid, __u64 g,
							  __u64 start_ns,
							  const struct ot_span_ids *ids,
							  struct slot_hold *hold)
{
	struct ot_grpc_wire *rec = record_get(&grpc_wire, hold);

	if (!rec)
		return NULL;
	__builtin_memset(rec, 0, sizeof(*rec));
	rec->hdr.type = type;
	rec->pid = pid;
	rec->goroutine = g;
	rec->start_ns = start_ns;
	rec->end_ns = bpf_ktime_get_ns();
	rec->ids = *ids;
	return rec;
}

/*
 * Packs a call's strings in their order (record.h): the method (a Go
 * string), the authority (a Go string field at authority; 0: none) and the
 * status message msg; then submits the record (submit_packed) and releases
 * its slot.
 */
static __always_inline void grpc_submit(struct ot_grpc_wire *rec, struct slot_hold *hold,
					struct go_string method, __u64 authority,
					struct go_string msg)
{
	__u32 *pos = record_pos(rec);

	rec->method_len = pack_go_string(rec->strings, pos, OT_GRPC_METHOD_CAP, method);
	if (authority)
		rec->authority_len = pack_go_string_at(rec->strings, pos, OT_HOST_CAP, authority);
	rec->message_len = pack_go_string(rec->strings, pos, OT_GRPC_MESSAGE_CAP, msg);
	submit_packed(rec, sizeof(*rec), *pos);
	slot_put(hold);
}

/* The transport's writeStatus(t, stream, st) / WriteStatus: the call's final status. */
OT_UPROBE(grpc_server_end)
{
	const volatile struct ot_grpc_cfg *cfg = &grpc_cfg;
	struct grpc_stream_key key = { .pid = pid_of_current(), .stream = GO_ARG2(ctx) };
	struct grpc_server_call *call;
	struct ot_grpc_wire *rec;
	struct slot_hold hold;

	if (entry_repeats(ctx))
		return 0;
	call = bpf_map_lookup_elem(&grpc_server_calls, &key);
	if (!call) {
		if (!grpc_ended_lately(key, GRPC_SERVER))
			count_drop(OT_DROP_NO_START);
		return 0;
	}
	if (__sync_val_compare_and_swap(&call->ended, 0, 1))
		return 0; /* ended by another goroutine at the same time */
	if (call->ctx)
		ctx_unregister(key.pid, call->ctx, span_id_of(&call->ids));
	{
		struct goroutine_key gk = { .pid = key.pid, .g = call->g };

		goroutine_span_end(&gk, OT_REC_GRPC_SERVER);
	}
	rec = grpc_rec_init(OT_REC_GRPC_SERVER, key.pid, call->g, call->start_ns, &call->ids,
			    &hold);
	if (rec) {
		struct go_string method = {}, msg = {};

		rec->flags = call->flags;
		read_status(rec, GO_ARG3(ctx), &msg);
		bpf_probe_read_user(&method, sizeof(method),
				    (void *)field_path_addr(&cfg->stream_method, key.stream));
		if (call->local_ip_len) {
			rec->flags |= OT_GRPC_LOCAL_ADDR;
			__builtin_memcpy(rec->local_ip, call->local_ip, sizeof(rec->local_ip));
			rec->local_ip_len = call->local_ip_len;
			rec->local_port = call->local_port;
		}
		grpc_submit(rec, &hold, method, 0, msg);
	}
	/* last: a deleted entry's memory may be the next call's at once */
	grpc_mark_ended(key, GRPC_SERVER);
	bpf_map_delete_elem(&grpc_server_calls, &key);
	return 0;
}

#endif
