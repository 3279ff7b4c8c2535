/* SPDX-License-Identifier: MIT */
/*
 * OTLP protobuf encoding of an ExportTraceServiceRequest, the body of
 * OTLP/HTTP's default protocol (http/protobuf), and decoding of the
 * ExportTraceServiceResponse that comes back.
 *
 * A streaming writer into one reused buffer, like the JSON one (otlp.c):
 * strings are checked for UTF-8 and repaired as the JSON encoder does, so
 * both encodings carry the same values. A nested message's length is written
 * after its content (room reserved, content moved back when the length took
 * fewer bytes), so nothing is encoded twice. Serialized requests concatenate
 * into one valid request (repeated fields append), which the exporter uses to
 * batch. bench/wrk2-hdr/pipeline measures it against protobuf-c.
 */
#ifndef OTRACE_OTLP_PROTO_H
#define OTRACE_OTLP_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "otlp.h"

/* Encodes the groups into buf (its previous content is discarded). 0 or -ENOMEM. */
int otlp_proto__encode(struct otlp_buf *buf, const struct otlp_group *groups, size_t ngroups);

/*
 * Reads an ExportTraceServiceResponse: *rejected is partial_success's
 * rejected_spans (0 when absent), msg its error_message (empty when absent,
 * cut to msgcap). Returns 0, or -EINVAL for a malformed message.
 */
int otlp_proto__parse_response(const void *data, size_t len, int64_t *rejected, char *msg,
			       size_t msgcap);

/* Reads the message of a google.rpc.Status (a failure's body). 0 or -EINVAL. */
int otlp_proto__parse_status(const void *data, size_t len, char *msg, size_t msgcap);

#endif
