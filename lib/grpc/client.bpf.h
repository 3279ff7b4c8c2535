// SPDX-License-Identifier: MIT
/*
 * gRPC client spans (google.golang.org/grpc), unary and streaming: one per
 * clientStream, which Invoke and NewStream both create through
 * newClientStream. Every probe is on an emulated instruction; an entry
 * probe's hit that morestack will repeat is ignored (entry_repeats).
 *
 *   newClientStream(ctx, desc, cc, method, opts...)   start, keyed by goroutine;
 *                                                     the parent comes from ctx
 *   (*clientStream).newAttemptLocked(cs, ...)         first attempt: the call is
 *                                                     keyed by cs from here on
 *   (*clientStream).finish(cs, err)                   end, on whichever goroutine
 *                                                     (a stream's may end on the
 *                                                     context watcher's)
 *   after newClientStream returns to invoke           end when the stream could
 *   (RCX:RDI = its error)                             not be created: finish is
 *                                                     not called then
 *
 * NewStream returns newClientStream's results at once, so nothing emulated
 * follows that call: a stream that fails before it exists gets no span (its
 * goroutine's entry is replaced by the next call's, counted unfinished).
 *
 * A call's entry goes when it ends: a long stream is never pushed out by the
 * calls that ended since (they are keyed by their stream's address, which a
 * program with a large heap may never reuse). The calls with a stream are in
 * a plain hash map, which evicts nothing: a call that does not fit is counted
 * (inflight_full). grpc-go finishes a stream twice, from the goroutine that
 * saw its end and from its context watcher, at times at once: the first to
 * set ended (atomically) ends it, and the stream is remembered a while as
 * ended, so the other is no call begun before otrace attached.
 */
#ifndef OTRACE_GRPC_CLIENT_BPF_H
#define OTRACE_GRPC_CLIENT_BPF_H

#include "server.bpf.h"

/* A call from its start; after the first attempt, also kept under its clientStream. */
struct grpc_client_call {
	__u64 start_ns;
	__u64 g;
	__u64 cc;
	__u64 cs; /* 0 until the first attempt */
	__u64 bias; /* load bias (PIE): runtime minus link-time addresses */
	struct go_string method;
	__u32 flags;
	__u32 _pad;
	__u64 ended; /* set once, atomically: 64 bits, what BPF's compare-and-swap takes */
	struct ot_span_ids ids;
};

/*
 * calls being created, by goroutine, until newClientStream returned or the
 * call ended: LRU, as a goroutine may end while one of its streams runs on
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct goroutine_key);
	__type(value, struct grpc_client_call);
} grpc_client_new SEC(".maps");

/* calls with a clientStream, by its address, until they end */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct grpc_stream_key);
	__type(value, struct grpc_client_call);
} grpc_client_calls SEC(".maps");


OT_UPROBE(grpc_client_start)
{
	struct goroutine_key key = goroutine_of(ctx);
	struct grpc_client_call call = {
		.start_ns = bpf_ktime_get_ns(),
		.g = key.g,
		.cc = GO_ARG4(ctx),
		.bias = REGS_IP(ctx) - grpc_cfg.client_start_vaddr,
		.method = { .ptr = GO_ARG5(ctx), .len = (__s64)GO_ARG6(ctx) },
	};
	struct grpc_client_call *prev;

	if (entry_repeats(ctx))
		return 0;
	prev = bpf_map_lookup_elem(&grpc_client_new, &key);
	if (prev && !prev->cs && !prev->ended)
		count_drop(OT_DROP_UNFINISHED); /* a stream that failed before it existed */
	if (child_ids(key.pid, key.g, GO_ARG2(ctx), &call.ids))
		call.flags |= OT_GRPC_HAS_PARENT;
	map_store(&grpc_client_new, &key, prev, &call);
	return 0;
}

/*
 * (*clientStream).newAttemptLocked(cs, isTransparent): the first attempt of a
 * call being created on this goroutine gives it its clientStream. Later
 * attempts (retries) find nothing to link.
 */
OT_UPROBE(grpc_client_attempt)
{
	struct goroutine_key gk = goroutine_of(ctx);
	struct grpc_stream_key sk = { .pid = gk.pid, .stream = GO_ARG1(ctx) };
	struct grpc_client_call *call, *linked;

	if (entry_repeats(ctx))
		return 0;
	call = bpf_map_lookup_elem(&grpc_client_new, &gk);
	if (!call || call->cs || call->ended || !sk.stream)
		return 0;
	linked = bpf_map_lookup_elem(&grpc_client_calls, &sk);
	if (linked && !linked->ended)
		return 0; /* a retry of a live call: this goroutine's entry is stale */
	call->cs = sk.stream;
	if (!bpf_map_update_elem(&grpc_client_calls, &sk, call, BPF_ANY))
		return 0;
	/* no room: the call is lost, and its finish, when it comes, is no news */
	count_drop(OT_DROP_INFLIGHT_FULL);
	call->ended = 1;
	grpc_mark_ended(sk, GRPC_CLIENT);
	return 0;
}

/* The Error method (link-time) an error's itab holds first: its dynamic type's. */
static __always_inline __u64 error_type(struct go_iface err, __u64 bias)
{
	return read_ptr(err.tab + GO_ITAB_FUN_OFF) - bias;
}

/*
 * The status code of the error a call ended with: nil and io.EOF (how a
 * stream reports a clean end) are OK; grpc-go turns every other error into
 * a status error first (toRPCErr), whose code is read from its status proto.
 * Each is read only when the error's dynamic type is that one; any other is
 * Unknown (what status.Code says), one whose type cannot be told is counted.
 */
static __always_inline void read_call_error(struct ot_grpc_wire *rec, struct go_iface err,
					    __u64 bias, struct go_string *msg)
{
	const volatile struct ot_grpc_cfg *cfg = &grpc_cfg;
	struct go_string s = {};
	char text[4] = {};
	__u64 proto, type;

	if (!err.tab || !err.data)
		return;
	type = error_type(err, bias);
	if (cfg->error_string_method && type == cfg->error_string_method) {
		if (!bpf_probe_read_user(&s, sizeof(s), (void *)(err.data + cfg->error_string)) &&
		    s.len == 3 && !bpf_probe_read_user(text, 3, (void *)s.ptr) && text[0] == 'E' &&
		    text[1] == 'O' && text[2] == 'F')
			return; /* an errors.errorString "EOF": io.EOF */
	}
	if (!cfg->status_error_method || type != cfg->status_error_method) {
		if (!cfg->status_error_method)
			count_drop(OT_DROP_WRONG_TYPE);
		rec->code = GRPC_UNKNOWN;
		rec->flags |= OT_GRPC_NO_STATUS;
		return;
	}
	if (cfg->error_kind == OT_GRPC_ERROR_IS_PROTO) {
		proto = err.data;
	} else {
		proto = read_ptr(err.data + cfg->error_field);
		if (proto && cfg->error_kind == OT_GRPC_ERROR_STATUS)
			proto = read_ptr(proto + cfg->status_proto);
	}
	read_status_proto(rec, proto, msg);
	/* not a status error after all: status.Code would say Unknown */
	if (!proto || rec->code < GRPC_OK || rec->code > GRPC_MAX_CODE) {
		rec->code = GRPC_UNKNOWN;
		*msg = (struct go_string){};
		rec->flags |= OT_GRPC_NO_STATUS;
	} else if (rec->code == GRPC_OK) {
		rec->code = GRPC_UNKNOWN; /* a non-nil error never means OK */
		rec->flags |= OT_GRPC_NO_STATUS;
	}
}

/*
 * Ends call with err, unless another goroutine ends it at the same time:
 * returns whether this one did.
 */
static __always_inline bool end_call(struct grpc_client_call *call, __u32 pid, struct go_iface err)
{
	const volatile struct ot_grpc_cfg *cfg = &grpc_cfg;
	struct go_string msg = {};
	struct ot_grpc_wire *rec;
	struct slot_hold hold;

	if (__sync_val_compare_and_swap(&call->ended, 0, 1))
		return false;
	rec = grpc_rec_init(OT_REC_GRPC_CLIENT, pid, call->g, call->start_ns, &call->ids, &hold);
	if (!rec)
		return true;
	rec->flags = call->flags;
	read_call_error(rec, err, call->bias, &msg);
	grpc_submit(rec, &hold, call->method,
		    cfg->cc_authority >= 0 && call->cc ? call->cc + cfg->cc_authority : 0, msg);
	return true;
}

/*
 * The goroutine's grpc_client_new entry is done with: marked ended, so that
 * nothing takes it for a call being created, and kept, to be rewritten in
 * place by the goroutine's next call (a delete and an insert took an element
 * from the LRU map's free lists and returned one at every call).
 */
static __always_inline void done_creating(struct grpc_client_call *created)
{
	created->ended = 1;
}

/*
 * The call of stream key has ended: it is remembered as ended (before its
 * entry goes, so that a finish at the same time sees one or the other),
 * then its entry goes. Its goroutine's entry goes too, but only when this
 * is that goroutine (g): no other may remove it. The goroutine that made
 * the call may be starting its next one meanwhile, and a check that the
 * entry is still this call's, then a delete by key, would remove the new
 * call before it is linked to its stream (its span lost, counted nowhere).
 * An entry left behind is marked by its stream (cs): the goroutine's next
 * call replaces it, and nothing takes it for a call being created.
 */
static __always_inline void retire_call(struct grpc_client_call *call, struct grpc_stream_key *key,
					__u64 g)
{
	struct goroutine_key gk = { .pid = key->pid, .g = g };
	struct grpc_client_call *created;

	grpc_mark_ended(*key, GRPC_CLIENT);
	if (g == call->g) {
		created = bpf_map_lookup_elem(&grpc_client_new, &gk);
		if (created && created->cs == key->stream)
			done_creating(created);
	}
	bpf_map_delete_elem(&grpc_client_calls, key);
}

/*
 * Ends the call of stream key with err, from whichever goroutine (g) gets
 * there first.
 */
static __always_inline void end_stream(struct grpc_stream_key *key, struct go_iface err, __u64 g)
{
	struct grpc_client_call *call = bpf_map_lookup_elem(&grpc_client_calls, key);

	if (!call) {
		if (!grpc_ended_lately(*key, GRPC_CLIENT))
			count_drop(OT_DROP_NO_START);
		return;
	}
	/* the entry taken over by another stream since it was looked up: leave it */
	if (call->cs != key->stream)
		return;
	if (end_call(call, key->pid, err))
		retire_call(call, key, g);
}

/* (*clientStream).finish(cs, err): called once a call is over (then no-ops). */
OT_UPROBE(grpc_client_finish)
{
	struct goroutine_key gk = goroutine_of(ctx);
	struct grpc_stream_key key = { .pid = gk.pid, .stream = GO_ARG1(ctx) };
	struct go_iface err = { .tab = GO_ARG2(ctx), .data = GO_ARG3(ctx) };

	if (entry_repeats(ctx))
		return 0;
	end_stream(&key, err, gk.g);
	return 0;
}

/*
 * Right after newClientStream returned (ClientStream, error) to its caller.
 * A failed creation ends the call here (finish is not called on that path);
 * either way this goroutine's entry is done.
 */
OT_UPROBE(grpc_client_created)
{
	struct goroutine_key gk = goroutine_of(ctx);
	struct go_iface err = { .tab = GO_ARG3(ctx), .data = GO_ARG4(ctx) };
	struct grpc_client_call *call;

	call = bpf_map_lookup_elem(&grpc_client_new, &gk);
	if (!call || call->ended)
		return 0; /* none started here, or the last one's entry, done with */
	if (err.tab && call->cs) {
		struct grpc_stream_key sk = { .pid = gk.pid, .stream = call->cs };

		end_stream(&sk, err, gk.g);
	} else if (err.tab) {
		end_call(call, gk.pid, err);
	}
	done_creating(call);
	return 0;
}

#endif
