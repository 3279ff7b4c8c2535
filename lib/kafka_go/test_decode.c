// SPDX-License-Identifier: MIT
#include <errno.h>

#include "fake_records.h"
#include "itabs.h"
#include "kafka_go.h"
#include "kafka_go/record.h"
#include "spantest.h"
#include "unittest.h"

/* kafka-go records, decoded. */

static const char tp[] = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

/* Message 42 of partition 3 of "orders", sent while serving a request. */
static void kafka_record(struct ot_kafka_rec *r, __u32 type)
{
	memset(r, 0, sizeof(*r));
	fake_ids(&r->ids);
	r->hdr.type = type;
	r->hdr.size = sizeof(*r);
	r->pid = 4242;
	r->start_ns = 1000000000ull;
	r->end_ns = 1005000000ull;
	r->flags = OT_KAFKA_HAS_PARENT | OT_KAFKA_HAS_OFFSET;
	r->ids.parent_span_id[0] = 9;
	r->partition = 3;
	r->offset = 42;
	SET_STR(r, topic, "orders");
}

/* Decodes message r from its wire form, in the ring buffer's place (decode_from_ring). */
static int decode_kafka(struct span_assembler *sa, const struct ot_kafka_rec *r, struct span *s)
{
	_Alignas(8) unsigned char wire[sizeof(struct ot_kafka_wire) + OT_KAFKA_STRINGS_MAX];

	return decode_from_ring(sa, wire, kafka_go__pack(r, wire), s);
}

static void test_send(struct span_assembler *sa)
{
	struct ot_kafka_rec r;
	struct span s;

	kafka_record(&r, OT_REC_KAFKA_SEND);
	CHECK(decode_kafka(sa, &r, &s) == 0);
	CHECK(s.kind == SPAN_KIND_PRODUCER && s.status == STATUS_UNSET);
	CHECK(s.has_parent && s.parent_span_id[0] == 9 && !s.has_link);
	CHECK(s.end_unix_ns - s.start_unix_ns == 5000000);
	CHECK(name_is(&s, "send orders"));
	CHECK(str_is(&s, "messaging.system", "kafka"));
	CHECK(str_is(&s, "messaging.operation.type", "send"));
	CHECK(str_is(&s, "messaging.operation.name", "send"));
	CHECK(str_is(&s, "messaging.destination.name", "orders"));
	CHECK(str_is(&s, "messaging.destination.partition.id", "3"));
	CHECK(int_is(&s, "messaging.kafka.offset", 42));
	CHECK(!find(&s, "messaging.consumer.group.name") && !find(&s, "error.type"));

	/* no answer from the broker (RequireNone), or a failed batch: no position */
	r.flags &= ~OT_KAFKA_HAS_OFFSET;
	CHECK(decode_kafka(sa, &r, &s) == 0);
	CHECK(!find(&s, "messaging.destination.partition.id"));
	CHECK(!find(&s, "messaging.kafka.offset"));

	/* a name that is not a Kafka topic's, or one cut short: not named */
	kafka_record(&r, OT_REC_KAFKA_SEND);
	SET_STR(&r, topic, "orders\n");
	CHECK(decode_kafka(sa, &r, &s) == 0);
	CHECK(name_is(&s, "send") && !find(&s, "messaging.destination.name"));
	SET_STR(&r, topic, "orders");
	r.topic_len = 300;
	CHECK(decode_kafka(sa, &r, &s) == 0);
	CHECK(name_is(&s, "send"));
	r.topic_len = 0;
	CHECK(decode_kafka(sa, &r, &s) == 0);
	CHECK(name_is(&s, "send"));

	/* a position out of range */
	kafka_record(&r, OT_REC_KAFKA_SEND);
	r.offset = -1;
	CHECK(decode_kafka(sa, &r, &s) == 0);
	CHECK(!find(&s, "messaging.kafka.offset"));
	r.offset = 1;
	r.partition = 1ll << 40;
	CHECK(decode_kafka(sa, &r, &s) == 0);
	CHECK(!find(&s, "messaging.destination.partition.id"));
}

static void test_receive(struct span_assembler *sa)
{
	static const uint64_t itab_addrs[] = { 0x700100 };
	static const char *const itab_syms[] = {
		"go:itab.github.com/segmentio/kafka-go.Error,error",
	};
	struct span_config cfg = { 0 };
	struct itab_names *itabs;
	struct ot_kafka_rec r;
	struct span s;

	kafka_record(&r, OT_REC_KAFKA_RECEIVE);
	SET_STR(&r, group, "billing");
	SET_STR(&r, traceparent, tp);
	CHECK(decode_kafka(sa, &r, &s) == 0);
	CHECK(s.kind == SPAN_KIND_CLIENT && name_is(&s, "receive orders"));
	CHECK(str_is(&s, "messaging.operation.type", "receive"));
	CHECK(str_is(&s, "messaging.consumer.group.name", "billing"));
	CHECK(int_is(&s, "messaging.kafka.offset", 42));
	/* linked to the message's creation context, the parent stays the request */
	CHECK(s.has_link && s.link.trace_id[0] == 0x0a && s.link.span_id[7] == 0x31);
	CHECK(s.link.flags == (W3C_SAMPLED | SPAN_FLAGS_HAS_IS_REMOTE | SPAN_FLAGS_IS_REMOTE));
	CHECK(s.has_parent && s.parent_span_id[0] == 9);

	/* a traceparent that is not one: no link */
	SET_STR(&r, traceparent, "00-nope");
	CHECK(decode_kafka(sa, &r, &s) == 0);
	CHECK(!s.has_link);

	/* an error from the reader, named when the binary names its type */
	CHECK(itab_names__from_symbols(itab_addrs, itab_syms, 1, &itabs) == 0);
	cfg.binary.itabs = itabs;
	span_assembler__configure(sa, &cfg);
	kafka_record(&r, OT_REC_KAFKA_RECEIVE);
	r.flags = OT_KAFKA_ERROR;
	r.topic_len = 0;
	r.error_itab = 0x700100;
	CHECK(decode_kafka(sa, &r, &s) == 0);
	CHECK(s.status == STATUS_ERROR && !s.has_parent);
	CHECK(str_is(&s, "error.type", "github.com/segmentio/kafka-go.Error"));
	CHECK(name_is(&s, "receive") && !find(&s, "messaging.kafka.offset"));
	r.error_itab = 0x700200;
	CHECK(decode_kafka(sa, &r, &s) == 0);
	CHECK(str_is(&s, "error.type", "_OTHER"));
	cfg.binary.itabs = NULL;
	span_assembler__configure(sa, &cfg);
	itab_names__free(itabs);

	/* a record cut short, or whose packed strings end before or past it, is refused */
	SET_STR(&r, topic, "orders");
	SET_STR(&r, group, "billing");
	SET_STR(&r, traceparent, tp);
	{
		_Alignas(8) unsigned char wire[sizeof(struct ot_kafka_wire) + OT_KAFKA_STRINGS_MAX];
		struct ot_kafka_wire *w = (struct ot_kafka_wire *)wire;
		size_t n = kafka_go__pack(&r, wire);

		CHECK(n == sizeof(*w) + strlen("orders") + strlen("billing") + strlen(tp));
		CHECK(decode_from_ring(sa, wire, n - 1, &s) == -EINVAL);
		CHECK(decode_from_ring(sa, wire, sizeof(*w) - 1, &s) == -EINVAL);
		w->group_len++;
		CHECK(decode_from_ring(sa, wire, n, &s) == -EINVAL);
		w->group_len -= 2;
		CHECK(decode_from_ring(sa, wire, n, &s) == -EINVAL);
		w->group_len++;
		CHECK(decode_from_ring(sa, wire, n, &s) == 0);
		CHECK(str_is(&s, "messaging.consumer.group.name", "billing") && s.has_link);
	}
}

int main(void)
{
	struct span_assembler *sa;

	CHECK(span_assembler__new(&sa) == 0);
	test_send(sa);
	test_receive(sa);
	span_assembler__free(sa);
	return ut_summary();
}
