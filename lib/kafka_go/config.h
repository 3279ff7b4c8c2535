/* SPDX-License-Identifier: MIT */
/* The kafka-go probes' read-only configuration (.rodata kafka_cfg). */
#ifndef OTRACE_KAFKA_GO_CONFIG_H
#define OTRACE_KAFKA_GO_CONFIG_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#include "core_config.h"

/*
 * Field offsets (negative: unknown), where FetchMessage keeps the message it
 * received, and the link-time addresses of the probes that see an error,
 * from which BPF computes the load bias of a PIE.
 */
struct ot_kafka_cfg {
	/* kafka-go.Message */
	__s64 msg_topic;
	__s64 msg_partition;
	__s64 msg_offset;
	__s64 msg_headers;
	__s64 msg_size; /* its size: the stride of []Message */
	struct ot_window msg_window; /* its fields above, read in one piece */
	/* protocol.Header: Key string then Value []byte, traceparent read when known */
	__s64 header_key;
	__s64 header_value;
	/* the writer */
	__s64 batch_msgs;   /* writeBatch.msgs */
	__s64 batch_size;   /* writeBatch.size: the index add gives the next message */
	__s64 batch_done;   /* writeBatch.done, the channel complete closes */
	__s64 batch_err;    /* writeBatch.err */
	__s64 writer_topic; /* Writer.Topic */
	__s64 writer_acks;  /* Writer.RequiredAcks */
	/* the reader */
	__s64 reader_group;	/* Reader.config.GroupID */
	__s64 fetch_msg_sp;	/* at FetchMessage's call of errors.Is: RSP + this, its message */
	__s64 fetch_err_sp;	/* ... and its error, which errors.Is gets in RAX:RBX */
	__u64 done_vaddr;	/* the batch's end probe */
	__u64 fetch_vaddr;	/* the message's probe in FetchMessage */
};

/* The most of a Message read in one piece (v0.4: its first 112 bytes). */
#define OT_KAFKA_MSG_WINDOW_MAX 128

#endif
