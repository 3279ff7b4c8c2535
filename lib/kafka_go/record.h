/* SPDX-License-Identifier: MIT */
/* kafka-go's wire record: one message sent, or received (github.com/segmentio/kafka-go). */
#ifndef OTRACE_KAFKA_GO_RECORD_H
#define OTRACE_KAFKA_GO_RECORD_H

#include "records.h"

#define OT_REC_KAFKA_SEND    9
#define OT_REC_KAFKA_RECEIVE 10

#define OT_KAFKA_TOPIC_CAP 256 /* Kafka's topic names have at most 249 bytes */
#define OT_KAFKA_GROUP_CAP 128

enum ot_kafka_flag {
	OT_KAFKA_HAS_PARENT = 1 << 0, /* ids.parent_span_id is set */
	OT_KAFKA_ERROR = 1 << 1,      /* the batch or the fetch ended with an error */
	OT_KAFKA_HAS_OFFSET = 1 << 2, /* partition and offset are the broker's */
};

/* What a message's record holds besides its strings, first in both its forms. */
#define OT_KAFKA_HEAD                                                                    \
	struct ot_rec_hdr hdr;                                                           \
	__u32 pid;                                                                       \
	__u32 flags; /* enum ot_kafka_flag */                                            \
	__u64 goroutine;                                                                 \
	__u64 start_ns;                                                                  \
	__u64 end_ns;                                                                    \
	__u64 error_itab; /* itab of the error (its dynamic type); 0 none */             \
	__s64 partition;                                                                 \
	__s64 offset;                                                                    \
	/* each string's full length; its first bytes, up to its cap, travel with it */ \
	__u32 topic_len;                                                                 \
	__u32 group_len; /* receive: the Reader's consumer group */                      \
	__u32 traceparent_len;                                                           \
	__u32 _pad;                                                                      \
	struct ot_span_ids ids;

/*
 * One message, decoded. OT_REC_KAFKA_SEND: written by a Writer, from the
 * WriteMessages call that queued it to the end of the produce request that
 * carried its batch. OT_REC_KAFKA_RECEIVE: handed to the program by a
 * Reader's FetchMessage (ReadMessage calls it), from that call to the
 * message; traceparent is the message's header of that name, if any. The
 * itab is a link-time address (the load bias of a PIE is taken off in BPF).
 */
struct ot_kafka_rec {
	OT_KAFKA_HEAD
	char topic[OT_KAFKA_TOPIC_CAP];
	char group[OT_KAFKA_GROUP_CAP];
	char traceparent[OT_TRACEPARENT_CAP];
};

/*
 * One message as the ring buffer carries it: the head, then the captured
 * bytes of topic, group and traceparent, one after the other; hdr.size
 * ends after the last.
 */
struct ot_kafka_wire {
	OT_KAFKA_HEAD
	char strings[];
};

/* The most the strings of a wire record take: the sum of their caps. */
#define OT_KAFKA_STRINGS_MAX (OT_KAFKA_TOPIC_CAP + OT_KAFKA_GROUP_CAP + OT_TRACEPARENT_CAP)

#endif
