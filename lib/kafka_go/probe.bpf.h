// SPDX-License-Identifier: MIT
/*
 * kafka-go spans (github.com/segmentio/kafka-go): a PRODUCER span per message
 * a Writer sends, a CLIENT span (receive) per message a Reader hands to the
 * program. Every probe is on an emulated instruction; no return probes.
 *
 * Sending. WriteMessages queues each message into a batch of its partition
 * on the calling goroutine; a goroutine of the partition writes the batch and
 * completes it, with the produce request's outcome:
 *   (*Writer).WriteMessages(w, ctx, msgs...)   entry: the parent, from ctx
 *   (*writeBatch).add(b, msg, ...)             entry: a message joins batch b
 *                                              at index b.size: its span starts
 *   (*writeBatch).complete(b, err)             entry, or the call of
 *   close(b.done) in writeBatch                runtime.closechan it inlines to:
 *                                              every message of b ends, with
 *                                              b.err, and the partition and
 *                                              offset writeBatch set on it
 * A batch is found from its done channel, which add notes for its first
 * message.
 *
 * Receiving. FetchMessage (ReadMessage calls it) takes the next message from
 * the Reader's channel into a local readerMessage, and on that path alone
 * calls errors.Is(m.error, io.EOF) before returning it:
 *   (*Reader).FetchMessage(r, ctx)            entry: the start and the parent
 *   its call of errors.Is                     the message, at RSP + the
 *                                             displacement the plan read from
 *                                             the instructions loading m.error
 */
#ifndef OTRACE_KAFKA_GO_BPF_H
#define OTRACE_KAFKA_GO_BPF_H

#include "common.bpf.h"
#include "kafka_go/config.h"
#include "kafka_go/record.h"

const volatile struct ot_kafka_cfg kafka_cfg = {};

/* messages of one batch this many at most are traced */
#define KAFKA_BATCH_MAX 4096
/* headers of a message looked at for traceparent */
#define KAFKA_HEADERS_MAX 8

/* A WriteMessages call in progress on a goroutine. */
struct kafka_write {
	struct ot_span_ids parent;
	__u64 writer;
	__u32 flags;	 /* OT_KAFKA_HAS_PARENT */
	__u32 acks_none; /* RequireNone: the broker answers nothing, no offsets */
};

struct kafka_msg_key {
	__u32 pid;
	__u32 index; /* in the batch */
	__u64 batch;
};

/* A message queued into a batch. */
struct kafka_msg {
	struct ot_span_ids ids;
	__u64 start_ns;
	__u64 writer;
	__u64 goroutine;
	__u32 flags;
	__u32 acks_none;
};

struct kafka_ptr_key {
	__u32 pid;
	__u32 _pad;
	__u64 ptr;
};

/* A FetchMessage call in progress on a goroutine. */
struct kafka_fetch {
	struct ot_span_ids ids;
	__u64 start_ns;
	__u64 reader;
	__u32 flags;
	__u32 live; /* a fetch started and has not ended: the entry is kept, rewritten in place */
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct goroutine_key);
	__type(value, struct kafka_write);
} kafka_writes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct kafka_msg_key);
	__type(value, struct kafka_msg);
} kafka_msgs SEC(".maps");

/* batches by their done channel */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct kafka_ptr_key);
	__type(value, __u64);
} kafka_batches SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct goroutine_key);
	__type(value, struct kafka_fetch);
} kafka_fetches SEC(".maps");

/* The parent of a call with context data ctx_data on key's goroutine; ids: its child. */
static __always_inline __u32 kafka_child(const struct goroutine_key *key, __u64 ctx_data,
					 struct ot_span_ids *ids)
{
	return child_ids(key->pid, key->g, ctx_data, ids) ? OT_KAFKA_HAS_PARENT : 0;
}

/* (*Writer).WriteMessages(w, ctx, msgs ...Message) */
OT_UPROBE(kafka_write_start)
{
	struct goroutine_key key = goroutine_of(ctx);
	struct kafka_write wr = { .writer = GO_ARG1(ctx) };
	struct kafka_write *prev;

	if (entry_repeats(ctx))
		return 0;
	if (ot_span_parent(key.pid, key.g, GO_ARG3(ctx), &wr.parent))
		wr.flags = OT_KAFKA_HAS_PARENT;
	/* unknown acks: no offsets either, they may not be the broker's */
	wr.acks_none =
	    kafka_cfg.writer_acks < 0 || read_s64(wr.writer + kafka_cfg.writer_acks) == 0;
	prev = bpf_map_lookup_elem(&kafka_writes, &key);
	map_store(&kafka_writes, &key, prev, &wr);
	return 0;
}

/* (*writeBatch).add(b, msg Message, maxSize, maxBytes): msg joins b at b.size */
OT_UPROBE(kafka_batch_add)
{
	struct goroutine_key key = goroutine_of(ctx);
	struct kafka_msg_key mk = { .pid = key.pid, .batch = GO_ARG1(ctx) };
	struct kafka_msg m = { .start_ns = bpf_ktime_get_ns(), .goroutine = key.g };
	const struct kafka_write *wr;
	__s64 index;

	if (entry_repeats(ctx) || !mk.batch)
		return 0;
	index = read_s64(mk.batch + kafka_cfg.batch_size);
	if (index < 0 || index >= KAFKA_BATCH_MAX)
		return 0; /* counted when the batch ends */
	mk.index = (__u32)index;
	wr = bpf_map_lookup_elem(&kafka_writes, &key);
	if (wr && wr->flags & OT_KAFKA_HAS_PARENT) {
		new_child(&m.ids, &wr->parent);
		m.flags = OT_KAFKA_HAS_PARENT;
	} else {
		new_root(&m.ids);
	}
	if (wr) {
		m.writer = wr->writer;
		m.acks_none = wr->acks_none;
	}
	if (bpf_map_update_elem(&kafka_msgs, &mk, &m, BPF_ANY)) {
		count_drop(OT_DROP_INFLIGHT_FULL);
		return 0;
	}
	if (!index) {
		struct kafka_ptr_key bk = { .pid = key.pid,
					   .ptr = read_ptr(mk.batch + kafka_cfg.batch_done) };

		if (bk.ptr && bpf_map_update_elem(&kafka_batches, &bk, &mk.batch, BPF_ANY))
			count_drop(OT_DROP_INFLIGHT_FULL);
	}
	return 0;
}

/*
 * The record being built on this CPU (struct ot_kafka_wire): its head and
 * room for its packed strings past the mask's reach (pack_go_string),
 * copied into the ring buffer at the size they took.
 */
_Static_assert(OT_KAFKA_STRINGS_MAX <= OT_PACK_MASK, "strings beyond the mask");
_Static_assert(OT_KAFKA_GROUP_CAP <= OT_KAFKA_TOPIC_CAP &&
		       OT_TRACEPARENT_CAP <= OT_KAFKA_TOPIC_CAP,
	       "room for the largest string");

/*
 * Record slots (DEFINE_RECORD_SLOTS) with room past the strings' reach for a
 * copy of the message's fields (kafka_msg_copy): the stack has no room for
 * it in kafka_batch_done's loop.
 */
#define KAFKA_COPY_AT (sizeof(struct ot_kafka_wire) + OT_PACK_MASK + 1 + OT_KAFKA_TOPIC_CAP)
DEFINE_SLOTS(kafka_wire, KAFKA_COPY_AT + OT_KAFKA_MSG_WINDOW_MAX);

static __always_inline __u8 *kafka_msg_copy(struct ot_kafka_wire *rec)
{
	return (__u8 *)rec + KAFKA_COPY_AT;
}

/*
 * A record slot (kafka_wire, held in *hold), its head cleared and started;
 * NULL when none is free (counted lost).
 */
static __always_inline struct ot_kafka_wire *kafka_rec_init(__u32 type, __u32 pid, __u64 g,
							    __u64 start_ns,
							    const struct ot_span_ids *ids,
							    __u32 flags, struct slot_hold *hold)
{
	struct ot_kafka_wire *rec = record_get(&kafka_wire, hold);

	if (!rec)
		return NULL;
	__builtin_memset(rec, 0, sizeof(*rec));
	rec->hdr.type = type;
	rec->pid = pid;
	rec->goroutine = g;
	rec->start_ns = start_ns;
	rec->end_ns = bpf_ktime_get_ns();
	rec->ids = *ids;
	rec->flags = flags;
	return rec;
}

/* What each message of a completed batch needs. */
struct kafka_done {
	__u32 pid;
	__u32 _pad;
	__u64 batch;
	struct go_slice msgs;
	struct go_iface err;
	__u64 bias;
};

static long kafka_send_one(__u64 i, void *data)
{
	const volatile struct ot_kafka_cfg *cfg = &kafka_cfg;
	struct kafka_done *d = data;
	struct kafka_msg_key mk = { .pid = d->pid, .index = (__u32)i, .batch = d->batch };
	struct kafka_msg *m = bpf_map_lookup_elem(&kafka_msgs, &mk);
	struct go_string topic = {};
	struct ot_kafka_wire *rec;
	struct window_copy mw = {};
	struct slot_hold hold;
	__u32 *pos;
	__u64 msg;

	if (!m)
		return 0; /* queued before otrace attached */
	rec = kafka_rec_init(OT_REC_KAFKA_SEND, d->pid, m->goroutine, m->start_ns, &m->ids,
			     m->flags, &hold);
	if (!rec) {
		bpf_map_delete_elem(&kafka_msgs, &mk);
		return 0;
	}
	pos = record_pos(rec);
	msg = d->msgs.ptr + i * cfg->msg_size;
	window_read(&mw, msg, &cfg->msg_window, kafka_msg_copy(rec), OT_KAFKA_MSG_WINDOW_MAX);
	window_field(&mw, cfg->msg_topic, &topic, 16, OT_KAFKA_MSG_WINDOW_MAX);
	/* the strings in their order (record.h): a send has only its topic */
	rec->topic_len = pack_go_string(rec->strings, pos, OT_KAFKA_TOPIC_CAP, topic);
	if (!rec->topic_len && m->writer && cfg->writer_topic >= 0)
		rec->topic_len = pack_go_string_at(rec->strings, pos, OT_KAFKA_TOPIC_CAP,
						   m->writer + cfg->writer_topic);
	if (d->err.tab) {
		rec->flags |= OT_KAFKA_ERROR;
		rec->error_itab = d->err.tab - d->bias;
	} else if (!m->acks_none) {
		/* writeBatch set them from the broker's answer */
		rec->flags |= OT_KAFKA_HAS_OFFSET;
		rec->partition = window_u64(&mw, cfg->msg_partition, OT_KAFKA_MSG_WINDOW_MAX);
		rec->offset = window_u64(&mw, cfg->msg_offset, OT_KAFKA_MSG_WINDOW_MAX);
	}
	/* gone before it is written: evicted from now on, it is no loss (evictwatch) */
	bpf_map_delete_elem(&kafka_msgs, &mk);
	submit_packed(rec, sizeof(*rec), *pos);
	slot_put(&hold);
	return 0;
}

/* Ends the span of every message of batch b, which ended now with err. */
static __always_inline int kafka_batch_end(struct pt_regs *ctx, __u64 batch, struct go_iface err)
{
	const volatile struct ot_kafka_cfg *cfg = &kafka_cfg;
	struct kafka_done d = {
		.pid = pid_of_current(),
		.batch = batch,
		.err = err,
		.bias = REGS_IP(ctx) - cfg->done_vaddr,
	};
	__u64 n;

	if (!batch ||
	    bpf_probe_read_user(&d.msgs, sizeof(d.msgs), (void *)(batch + cfg->batch_msgs)))
		return 0;
	n = d.msgs.len > 0 ? (__u64)d.msgs.len : 0;
	if (n > KAFKA_BATCH_MAX) {
		/* add did not start them either */
		__sync_fetch_and_add(&drops[OT_DROP_INFLIGHT_FULL], n - KAFKA_BATCH_MAX);
		n = KAFKA_BATCH_MAX;
	}
	bpf_loop(n, kafka_send_one, &d, 0);
	return 0;
}

/* (*writeBatch).complete(b, err), when it is not inlined: b.err is not set yet */
OT_UPROBE(kafka_batch_complete)
{
	struct go_iface err = { .tab = GO_ARG2(ctx), .data = GO_ARG3(ctx) };

	if (entry_repeats(ctx))
		return 0;
	return kafka_batch_end(ctx, GO_ARG1(ctx), err);
}

/* The call of runtime.closechan(b.done) in writeBatch, complete inlined: b.err is set. */
OT_UPROBE(kafka_batch_done)
{
	struct kafka_ptr_key bk = { .pid = pid_of_current(), .ptr = GO_ARG1(ctx) };
	__u64 *batch = bpf_map_lookup_elem(&kafka_batches, &bk);
	struct go_iface err = {};
	__u64 b;

	if (!batch)
		return 0;
	b = *batch;
	bpf_map_delete_elem(&kafka_batches, &bk);
	if (bpf_probe_read_user(&err, sizeof(err), (void *)(b + kafka_cfg.batch_err)))
		return 0;
	return kafka_batch_end(ctx, b, err);
}

/* (*Reader).FetchMessage(r, ctx) */
OT_UPROBE(kafka_fetch_start)
{
	struct goroutine_key key = goroutine_of(ctx);
	struct kafka_fetch f = { .start_ns = bpf_ktime_get_ns(), .reader = GO_ARG1(ctx), .live = 1 };
	struct kafka_fetch *prev;

	if (entry_repeats(ctx))
		return 0;
	f.flags = kafka_child(&key, GO_ARG3(ctx), &f.ids);
	/* the goroutine's entry outlives its fetch (live cleared), rewritten at the next */
	prev = bpf_map_lookup_elem(&kafka_fetches, &key);
	map_store(&kafka_fetches, &key, prev, &f);
	return 0;
}

static __always_inline bool is_traceparent(const char name[11])
{
	static const char want[11] = "traceparent";

	for (int i = 0; i < 11; i++)
		if (name[i] != want[i])
			return false;
	return true;
}

/* The value of the message's traceparent header, if it has one, packed last into rec (at *pos). */
static __always_inline void kafka_pack_traceparent(struct ot_kafka_wire *rec, __u32 *pos,
						   const struct window_copy *mw)
{
	const volatile struct ot_kafka_cfg *cfg = &kafka_cfg;
	struct go_slice headers = {};

	if (cfg->msg_headers < 0 || cfg->header_key < 0)
		return;
	window_field(mw, cfg->msg_headers, &headers, sizeof(headers), OT_KAFKA_MSG_WINDOW_MAX);
	for (int i = 0; i < KAFKA_HEADERS_MAX; i++) {
		struct go_string k = {};
		struct go_slice v = {};
		char name[11] = {};
		__u64 h = headers.ptr + i * (cfg->header_value + sizeof(struct go_slice));

		if (i >= headers.len)
			break;
		if (bpf_probe_read_user(&k, sizeof(k), (void *)(h + cfg->header_key)) ||
		    k.len != sizeof(name) ||
		    bpf_probe_read_user(name, sizeof(name), (void *)k.ptr) || !is_traceparent(name))
			continue;
		if (bpf_probe_read_user(&v, sizeof(v), (void *)(h + cfg->header_value)))
			return;
		rec->traceparent_len =
		    pack_go_string(rec->strings, pos, OT_TRACEPARENT_CAP,
				   (struct go_string){ .ptr = v.ptr, .len = v.len });
		return;
	}
}

/*
 * FetchMessage's call of errors.Is(m.error, io.EOF): m, the message it is
 * about to return, is in its frame. That RSP + fetch_err_sp holds the error
 * in RAX:RBX confirms where.
 */
OT_UPROBE(kafka_fetch_msg)
{
	const volatile struct ot_kafka_cfg *cfg = &kafka_cfg;
	struct goroutine_key key = goroutine_of(ctx);
	struct kafka_fetch *f = bpf_map_lookup_elem(&kafka_fetches, &key);
	struct go_string topic = {};
	struct go_iface err = {};
	struct ot_kafka_wire *rec;
	struct window_copy mw = {};
	struct slot_hold hold;
	__u32 *pos;
	__u64 sp = REGS_SP(ctx), msg = sp + cfg->fetch_msg_sp;

	if (!f || !f->live) {
		count_drop(OT_DROP_NO_START);
		return 0;
	}
	if (bpf_probe_read_user(&err, sizeof(err), (void *)(sp + cfg->fetch_err_sp)) ||
	    err.tab != GO_ARG1(ctx) || err.data != GO_ARG2(ctx)) {
		count_drop(OT_DROP_READ_FAULT);
		f->live = 0;
		return 0;
	}
	rec = kafka_rec_init(OT_REC_KAFKA_RECEIVE, key.pid, key.g, f->start_ns, &f->ids, f->flags,
			     &hold);
	if (!rec) {
		f->live = 0;
		return 0;
	}
	pos = record_pos(rec);
	/* the strings in their order (record.h): topic, group, traceparent */
	if (err.tab) {
		rec->flags |= OT_KAFKA_ERROR;
		rec->error_itab = err.tab - (REGS_IP(ctx) - cfg->fetch_vaddr);
	} else {
		rec->flags |= OT_KAFKA_HAS_OFFSET;
		window_read(&mw, msg, &cfg->msg_window, kafka_msg_copy(rec), OT_KAFKA_MSG_WINDOW_MAX);
		window_field(&mw, cfg->msg_topic, &topic, 16, OT_KAFKA_MSG_WINDOW_MAX);
		rec->partition = window_u64(&mw, cfg->msg_partition, OT_KAFKA_MSG_WINDOW_MAX);
		rec->offset = window_u64(&mw, cfg->msg_offset, OT_KAFKA_MSG_WINDOW_MAX);
		rec->topic_len = pack_go_string(rec->strings, pos, OT_KAFKA_TOPIC_CAP, topic);
	}
	if (cfg->reader_group >= 0)
		rec->group_len = pack_go_string_at(rec->strings, pos, OT_KAFKA_GROUP_CAP,
						   f->reader + cfg->reader_group);
	if (!err.tab)
		kafka_pack_traceparent(rec, pos, &mw);
	f->live = 0; /* ended before it is written: evicted from now on, it is no loss */
	submit_packed(rec, sizeof(*rec), *pos);
	slot_put(&hold);
	return 0;
}

#endif
