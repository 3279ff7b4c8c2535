// SPDX-License-Identifier: MIT
/*
 * kafka-go's probe plan (see probe.bpf.h for what each probe does): the
 * Writer's and the Reader's, each planned when the program links it. The
 * functions and fields are the same from v0.4.42 to v0.4.51; where a
 * compiler may differ the plan goes by what the binary holds: complete's
 * entry when it is out of line, else its inlined runtime.closechan call in
 * writeBatch; and FetchMessage's frame slot of the message, read from the
 * instructions that load the error it passes to errors.Is (frame.c).
 */
#include <string.h>

#include "insn.h"
#include "kafka_go.h"
#include "kafka_go/config.h"
#include "kafka_go/record.h"
#include "library.h"
#include "log.h"
#include "plan_internal.h"

#define KAFKA "github.com/segmentio/kafka-go"

enum kafka_func {
	FN_WRITE_MESSAGES, /* (*Writer).WriteMessages: the parent */
	FN_BATCH_ADD,	   /* (*writeBatch).add: a message's span starts */
	FN_BATCH_COMPLETE, /* (*writeBatch).complete: its end, when out of line */
	FN_WRITE_BATCH,	   /* (*partitionWriter).writeBatch: calls complete */
	FN_CLOSECHAN,	   /* runtime.closechan: complete's close(b.done), inlined */
	FN_FETCH,	   /* (*Reader).FetchMessage */
	FN_ERRORS_IS,	   /* errors.Is: FetchMessage calls it with the message's error */
	FN_KAFKA_MAX,
};

enum kafka_field {
	F_MSG_TOPIC,
	F_MSG_PARTITION,
	F_MSG_OFFSET,
	F_RMSG_MESSAGE, /* readerMessage.message and .watermark: Message's size */
	F_RMSG_WATERMARK,
	F_RMSG_ERROR,
	F_COMMON, /* what both sides need comes first */
	F_BATCH_MSGS = F_COMMON,
	F_BATCH_SIZE,
	F_BATCH_DONE,
	F_BATCH_ERR,
	F_WRITER_TOPIC,
	F_WRITER_ACKS,
	F_MSG_HEADERS,
	F_HEADER_KEY,
	F_HEADER_VALUE,
	F_READER_CONFIG,
	F_CONFIG_GROUP,
	F_KAFKA_MAX,
};

static const struct field_req kafka_fields[F_KAFKA_MAX] = {
	[F_MSG_TOPIC] = { KAFKA ".Message", "Topic" },
	[F_MSG_PARTITION] = { KAFKA ".Message", "Partition" },
	[F_MSG_OFFSET] = { KAFKA ".Message", "Offset" },
	[F_RMSG_MESSAGE] = { KAFKA ".readerMessage", "message" },
	[F_RMSG_WATERMARK] = { KAFKA ".readerMessage", "watermark" },
	[F_RMSG_ERROR] = { KAFKA ".readerMessage", "error" },
	[F_BATCH_MSGS] = { KAFKA ".writeBatch", "msgs" },
	[F_BATCH_SIZE] = { KAFKA ".writeBatch", "size" },
	[F_BATCH_DONE] = { KAFKA ".writeBatch", "done" },
	[F_BATCH_ERR] = { KAFKA ".writeBatch", "err" },
	[F_WRITER_TOPIC] = { KAFKA ".Writer", "Topic" },
	[F_WRITER_ACKS] = { KAFKA ".Writer", "RequiredAcks" },
	[F_MSG_HEADERS] = { KAFKA ".Message", "Headers" },
	[F_HEADER_KEY] = { KAFKA "/protocol.Header", "Key" },
	[F_HEADER_VALUE] = { KAFKA "/protocol.Header", "Value" },
	[F_READER_CONFIG] = { KAFKA ".Reader", "config" },
	[F_CONFIG_GROUP] = { KAFKA ".ReaderConfig", "GroupID" },
};

/* Adds an entry probe of program on fn; NULL when it could not be placed. */
static struct probe *add_entry(const struct gobin *gb, struct plan *plan, const char *lib,
			       const struct go_func *fn, const char *program)
{
	struct probe *p = plan__add_probe(plan, lib, fn->name, program);

	if (!p)
		return NULL;
	plan__place_entry(gb, plan, fn, p);
	return p->planned ? p : NULL;
}

/* Skips the probes of lib from first on; returns false. */
static bool skip_side(struct plan *plan, size_t first, const char *lib, const char *reason)
{
	plan__skip_from(plan, first, "%s", reason);
	pr_warn("%s probes skipped: %s", lib, reason);
	return false;
}

/* Skips lib's probes from first on when one of fields [from, to) is unknown; false then. */
static bool have_fields(struct plan *plan, size_t first, const char *lib,
			const struct field_req *f, int from, int to)
{
	char why[160];

	for (int i = from; i < to; i++) {
		if (f[i].source)
			continue;
		snprintf(why, sizeof(why),
			 "field %s.%s unknown (no DWARF, not in the binary's type data)", f[i].type,
			 f[i].field);
		return skip_side(plan, first, lib, why);
	}
	return true;
}

/* The Writer's probes; false (skipped, warned) when they cannot all be planned. */
static bool plan_writer(const struct gobin *gb, struct plan *plan, const struct go_func *fns,
			const struct field_req *f, struct ot_kafka_cfg *c)
{
	static const char lib[] = "kafka-go writer";
	size_t first = plan->nprobes;
	struct probe *end = NULL;

	if (!add_entry(gb, plan, lib, &fns[FN_WRITE_MESSAGES], "kafka_write_start") ||
	    !add_entry(gb, plan, lib, &fns[FN_BATCH_ADD], "kafka_batch_add"))
		return skip_side(plan, first, lib,
				 plan->nprobes > first ? plan->probes[plan->nprobes - 1].reason :
							 "the probe plan is full");
	if (fns[FN_BATCH_COMPLETE].vaddr)
		end = add_entry(gb, plan, lib, &fns[FN_BATCH_COMPLETE], "kafka_batch_complete");
	else if (plan__add_at_calls(gb, plan, lib, &fns[FN_WRITE_BATCH], &fns[FN_CLOSECHAN], 1,
				      "kafka_batch_done") == 1)
		end = &plan->probes[plan->nprobes - 1];
	if (!end)
		return skip_side(plan, first, lib,
				 "no end of a batch: neither (*writeBatch).complete nor one call "
				 "of runtime.closechan in (*partitionWriter).writeBatch");
	if (!have_fields(plan, first, lib, f, F_MSG_TOPIC, F_WRITER_TOPIC))
		return false;
	c->done_vaddr = end->point.vaddr;
	return true;
}

/* The Reader's probes; false (skipped, warned) when they cannot all be planned. */
static bool plan_reader(const struct gobin *gb, struct plan *plan, const struct go_func *fns,
			const struct field_req *f, struct ot_kafka_cfg *c)
{
	static const char lib[] = "kafka-go reader";
	const struct go_func *fetch = &fns[FN_FETCH];
	size_t first = plan->nprobes;
	const uint8_t *code;
	int64_t err_sp;

	if (!add_entry(gb, plan, lib, fetch, "kafka_fetch_start"))
		return skip_side(plan, first, lib,
				 plan->nprobes > first ? plan->probes[first].reason :
							 "the probe plan is full");
	if (plan__add_at_calls(gb, plan, lib, fetch, &fns[FN_ERRORS_IS], 1, "kafka_fetch_msg") != 1)
		return skip_side(plan, first, lib,
				 "not one call of errors.Is in (*Reader).FetchMessage");
	if (!have_fields(plan, first, lib, f, F_MSG_TOPIC, F_COMMON))
		return false;
	code = gobin__bytes_at(gb, fetch->vaddr, fetch->size);
	if (!code || kafka__frame_arg_slot(code, fetch->size, fetch->vaddr,
					   plan->probes[plan->nprobes - 1].point.vaddr, &err_sp))
		return skip_side(
		    plan, first, lib,
		    "the message's error is not loaded from FetchMessage's frame right "
		    "before its call of errors.Is: where the message is is unknown");
	c->fetch_err_sp = err_sp;
	c->fetch_msg_sp = err_sp - f[F_RMSG_ERROR].offset + f[F_RMSG_MESSAGE].offset;
	c->fetch_vaddr = plan->probes[plan->nprobes - 1].point.vaddr;
	return true;
}

/* The configuration both sides read; optional fields are -1 when unknown. */
static void fill_cfg(struct ot_kafka_cfg *c, const struct field_req *f)
{
	bool headers = f[F_HEADER_KEY].source && f[F_HEADER_VALUE].source &&
		       f[F_HEADER_KEY].offset == 0 && f[F_HEADER_VALUE].offset == 16;

	c->msg_topic = f[F_MSG_TOPIC].offset;
	c->msg_partition = f[F_MSG_PARTITION].offset;
	c->msg_offset = f[F_MSG_OFFSET].offset;
	c->msg_size = f[F_RMSG_WATERMARK].offset - f[F_RMSG_MESSAGE].offset;
	c->msg_headers = headers ? plan__offset_or_none(&f[F_MSG_HEADERS]) : -1;
	const struct plan_window_field msg[] = {
		{ c->msg_topic, 16 },
		{ c->msg_partition, 8 },
		{ c->msg_offset, 8 },
		{ c->msg_headers, 24 },
	};
	c->msg_window = plan__window(msg, ARRAY_SIZE(msg), OT_KAFKA_MSG_WINDOW_MAX);
	c->header_key = headers ? f[F_HEADER_KEY].offset : -1;
	c->header_value = headers ? f[F_HEADER_VALUE].offset : -1;
	c->batch_msgs = f[F_BATCH_MSGS].offset;
	c->batch_size = f[F_BATCH_SIZE].offset;
	c->batch_done = f[F_BATCH_DONE].offset;
	c->batch_err = f[F_BATCH_ERR].offset;
	c->writer_topic = plan__offset_or_none(&f[F_WRITER_TOPIC]);
	c->writer_acks = plan__offset_or_none(&f[F_WRITER_ACKS]);
	c->reader_group = f[F_READER_CONFIG].source && f[F_CONFIG_GROUP].source
			      ? f[F_READER_CONFIG].offset + f[F_CONFIG_GROUP].offset
			      : -1;
}

static void plan_kafka(const struct gobin *gb, struct plan *plan, struct lib_state *state)
{
	struct ot_kafka_cfg *c = LIB_STATE_AS(struct ot_kafka_cfg, state->config);
	struct go_func fns[FN_KAFKA_MAX] = {
		[FN_WRITE_MESSAGES] = { .name = KAFKA ".(*Writer).WriteMessages" },
		[FN_BATCH_ADD] = { .name = KAFKA ".(*writeBatch).add" },
		[FN_BATCH_COMPLETE] = { .name = KAFKA ".(*writeBatch).complete" },
		[FN_WRITE_BATCH] = { .name = KAFKA ".(*partitionWriter).writeBatch" },
		[FN_CLOSECHAN] = { .name = "runtime.closechan" },
		[FN_FETCH] = { .name = KAFKA ".(*Reader).FetchMessage" },
		[FN_ERRORS_IS] = { .name = "errors.Is" },
	};
	struct field_req f[F_KAFKA_MAX];
	bool writer = false, reader = false;

	gobin__find_funcs(gb, fns, ARRAY_SIZE(fns));
	if (!fns[FN_WRITE_MESSAGES].vaddr && !fns[FN_FETCH].vaddr)
		return; /* the program neither writes nor reads with kafka-go */
	memcpy(f, kafka_fields, sizeof(f));
	plan__resolve_fields(gb, plan, f, F_KAFKA_MAX, 0);
	*c = (struct ot_kafka_cfg){ 0 };
	if (fns[FN_WRITE_MESSAGES].vaddr)
		writer = plan_writer(gb, plan, fns, f, c);
	if (fns[FN_FETCH].vaddr)
		reader = plan_reader(gb, plan, fns, f, c);
	if (!writer && !reader)
		return;
	fill_cfg(c, f);
	if (reader && c->msg_headers < 0)
		pr_warn("kafka-go reader: the layout of %s.Header is unknown or not {Key, Value}: "
			"the traceparent of received messages is not read",
			KAFKA "/protocol");
	state->active = true;
}

static const char *const programs[] = {
	"kafka_write_start",
	"kafka_batch_add",
	"kafka_batch_complete",
	"kafka_batch_done",
	"kafka_fetch_start",
	"kafka_fetch_msg",
	NULL,
};

const struct library lib_kafka_go = {
	.name = "kafka-go",
	.plan = plan_kafka,
	.programs = programs,
	.config_name = "kafka_cfg",
	.config_size = sizeof(struct ot_kafka_cfg),
	.names_types = true,
	/* messages queued and fetches in progress go when their span ends */
	.maps = { { "kafka_msgs", true },
		  { "kafka_fetches", true, { { "live", INFLIGHT_NONZERO } } },
		  { "kafka_writes" },
		  { "kafka_batches" } },
	.records = { OT_REC_KAFKA_SEND, OT_REC_KAFKA_RECEIVE },
	.decode = kafka_go__decode,
};
