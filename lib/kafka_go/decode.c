// SPDX-License-Identifier: MIT
/* kafka-go records to PRODUCER and CLIENT spans (messaging semantic conventions). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "kafka_go.h"
#include "kafka_go/record.h"
#include "packed.h"
#include "semconv.h"

/* A Kafka topic name: 1 to 249 of [a-zA-Z0-9._-], all of it captured. */
static bool topic_name(const struct ot_kafka_rec *r)
{
	if (!r->topic_len || r->topic_len > 249)
		return false;
	for (size_t i = 0; i < r->topic_len; i++) {
		char c = r->topic[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

static void add_position(struct span *s, const struct ot_kafka_rec *r)
{
	char buf[24];
	const char *id;
	int n;

	if (!(r->flags & OT_KAFKA_HAS_OFFSET) || r->partition < 0 || r->partition > INT32_MAX ||
	    r->offset < 0)
		return;
	n = snprintf(buf, sizeof(buf), "%lld", (long long)r->partition);
	if ((id = span__keep(s, buf, (size_t)n)))
		span__add_string(s, "messaging.destination.partition.id", id, (size_t)n);
	span__add_int(s, "messaging.kafka.offset", r->offset);
}

/* The strings of a record, in the order its wire form packs them. */
static const struct packed_string packed[] = {
	PACKED_STRING(struct ot_kafka_rec, topic_len, topic),
	PACKED_STRING(struct ot_kafka_rec, group_len, group),
	PACKED_STRING(struct ot_kafka_rec, traceparent_len, traceparent),
};
static const struct packed_record wire_form =
	PACKED_RECORD(struct ot_kafka_rec, struct ot_kafka_wire, packed);

int kafka_go__unpack(const void *wire, size_t size, struct ot_kafka_rec *r)
{
	return packed__unpack_record(&wire_form, wire, size, r);
}

size_t kafka_go__pack(const struct ot_kafka_rec *r, void *out)
{
	return packed__pack_record(&wire_form, r, out);
}

int kafka_go__decode(const struct span_decoding *d, const void *rec, size_t size, struct span *s)
{
	const struct ot_kafka_rec *r;
	struct ot_kafka_rec unpacked;
	const char *op;
	bool send, topic;

	if (kafka_go__unpack(rec, size, &unpacked) ||
	    !(r = span__read_record(s, &unpacked, sizeof(unpacked))))
		return -EINVAL;
	send = r->hdr.type == OT_REC_KAFKA_SEND;
	op = send ? "send" : "receive";
	/* semconv: a send whose context is the message's creation context is a PRODUCER */
	span__set_identity(d, s, send ? SPAN_KIND_PRODUCER : SPAN_KIND_CLIENT, r->pid, r->start_ns,
			   r->end_ns, &r->ids, r->flags & OT_KAFKA_HAS_PARENT);
	span__add_string(s, "messaging.system", "kafka", 5);
	span__add_string(s, "messaging.operation.type", op, strlen(op));
	span__add_string(s, "messaging.operation.name", op, strlen(op));
	topic = topic_name(r);
	if (topic)
		span__add_string(s, "messaging.destination.name", r->topic, r->topic_len);
	add_position(s, r);
	if (!send && r->group_len && r->group_len <= OT_KAFKA_GROUP_CAP)
		span__add_string(s, "messaging.consumer.group.name", r->group, r->group_len);
	/* semconv: a receive links to the message's creation context */
	if (!send && r->traceparent_len)
		span__link_traceparent(s, r->traceparent,
				       span__captured(r->traceparent_len, OT_TRACEPARENT_CAP));
	if (r->flags & OT_KAFKA_ERROR) {
		s->status = STATUS_ERROR;
		semconv__add_error_type(d, s, r->pid, r->error_itab);
	}
	/* semconv: "{messaging.operation.name} {messaging.destination.name}" */
	span__set_name(s, op, strlen(op), topic ? r->topic : NULL, topic ? r->topic_len : 0);
	return 0;
}
