// SPDX-License-Identifier: MIT
/* gRPC records to SERVER and CLIENT spans (RPC semantic conventions). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "grpc.h"
#include "grpc/record.h"
#include "packed.h"
#include "semconv.h"
#include "validate.h"

static const char *const grpc_code_names[] = {
	"OK",		     "CANCELLED",	  "UNKNOWN",	    "INVALID_ARGUMENT",
	"DEADLINE_EXCEEDED", "NOT_FOUND",	  "ALREADY_EXISTS", "PERMISSION_DENIED",
	"RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED",	    "OUT_OF_RANGE",
	"UNIMPLEMENTED",     "INTERNAL",	  "UNAVAILABLE",    "DATA_LOSS",
	"UNAUTHENTICATED",
};

const char *grpc__code_name(int32_t code)
{
	if (code < 0 || (size_t)code >= sizeof(grpc_code_names) / sizeof(grpc_code_names[0]))
		return NULL;
	return grpc_code_names[code];
}

/* Semantic conventions: the codes a server reports as errors (any non-OK for a client). */
static bool grpc_server_error(int32_t code)
{
	switch (code) {
	case 2:	 /* UNKNOWN */
	case 4:	 /* DEADLINE_EXCEEDED */
	case 12: /* UNIMPLEMENTED */
	case 13: /* INTERNAL */
	case 14: /* UNAVAILABLE */
	case 15: /* DATA_LOSS */
		return true;
	default:
		return code < 0 || code > 16; /* not a gRPC code at all */
	}
}

/*
 * grpc-go's own answer to a method the server does not have: such a name is
 * not recognised, so semconv wants rpc.method "_OTHER" and the name in
 * rpc.method_original.
 */
static bool grpc_unknown_method(const struct ot_grpc_rec *r)
{
	static const char *const prefixes[] = { "unknown service ", "unknown method ",
						"malformed method name" };
	size_t n = span__captured(r->message_len, OT_GRPC_MESSAGE_CAP);

	if (r->code != 12) /* UNIMPLEMENTED */
		return false;
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (n >= strlen(prefixes[i]) && !memcmp(r->message, prefixes[i], strlen(prefixes[i])))
			return true;
	return false;
}

/* A client's server is the one it dialled (ClientConn.authority). */
static void add_grpc_authority(struct span *s, const struct ot_grpc_rec *r)
{
	/* gRPC's default port */
	semconv__add_host_port(s, "server.address", "server.port", r->authority, OT_HOST_CAP,
			       r->authority_len, 443);
}

/*
 * A server span's server is the address the call came in on (its
 * connection's local address), whatever :authority the client sent; an
 * IPv4 address in IPv6 form (net.IP's usual) is written as IPv4.
 */
static void add_grpc_local_address(struct span *s, const struct ot_grpc_rec *r)
{
	static const uint8_t v4_in_v6[12] = { [10] = 0xff, [11] = 0xff };
	char text[INET6_ADDRSTRLEN];
	const char *kept;

	if (!(r->flags & OT_GRPC_LOCAL_ADDR))
		return;
	if (!validate__port(r->local_port) || (r->local_ip_len != 4 && r->local_ip_len != 16)) {
		s->invalid++;
		return;
	}
	if (r->local_ip_len == 4 || !memcmp(r->local_ip, v4_in_v6, sizeof(v4_in_v6)))
		inet_ntop(AF_INET, r->local_ip + (r->local_ip_len == 4 ? 0 : 12), text, sizeof(text));
	else
		inet_ntop(AF_INET6, r->local_ip, text, sizeof(text));
	kept = span__keep(s, text, strlen(text));
	if (!kept)
		return;
	span__add_string(s, "server.address", kept, strlen(text));
	span__add_int(s, "server.port", r->local_port);
}

/* The strings of a record, in the order its wire form packs them. */
static const struct packed_string packed[] = {
	PACKED_STRING(struct ot_grpc_rec, method_len, method),
	PACKED_STRING(struct ot_grpc_rec, authority_len, authority),
	PACKED_STRING(struct ot_grpc_rec, message_len, message),
};
static const struct packed_record wire_form =
	PACKED_RECORD(struct ot_grpc_rec, struct ot_grpc_wire, packed);

int grpc__unpack(const void *wire, size_t size, struct ot_grpc_rec *r)
{
	return packed__unpack_record(&wire_form, wire, size, r);
}

size_t grpc__pack(const struct ot_grpc_rec *r, void *out)
{
	return packed__pack_record(&wire_form, r, out);
}

int grpc__decode(const struct span_decoding *d, const void *rec, size_t size, struct span *s)
{
	const struct ot_grpc_rec *r;
	struct ot_grpc_rec unpacked;
	bool server, recognised;
	size_t mlen, cap = OT_GRPC_METHOD_CAP, full;
	const char *method, *code_name;
	char code_buf[16];

	if (grpc__unpack(rec, size, &unpacked) ||
	    !(r = span__read_record(s, &unpacked, sizeof(unpacked))))
		return -EINVAL;
	server = r->hdr.type == OT_REC_GRPC_SERVER;
	mlen = span__captured(r->method_len, OT_GRPC_METHOD_CAP);
	full = r->method_len;
	method = r->method;
	span__set_identity(d, s, server ? SPAN_KIND_SERVER : SPAN_KIND_CLIENT, r->pid, r->start_ns,
		     r->end_ns, &r->ids, r->flags & OT_GRPC_HAS_PARENT);

	/* "/package.Service/Method" on the wire; semconv drops the leading slash */
	if (mlen && method[0] == '/') {
		method++;
		mlen--;
		cap--;
		full--;
	}
	recognised = mlen && full <= cap && validate__line(method, mlen) &&
		     !(server && grpc_unknown_method(r));
	span__add_string(s, "rpc.system.name", "grpc", 4);
	if (recognised) {
		span__add_string(s, "rpc.method", method, mlen);
	} else {
		span__add_string(s, "rpc.method", "_OTHER", 6);
		if (mlen)
			span__add_captured(s, "rpc.method_original", method, cap, (uint32_t)full);
	}
	code_name = grpc__code_name(r->code);
	if (!code_name) { /* not a gRPC code: the number itself */
		int n = snprintf(code_buf, sizeof(code_buf), "%d", r->code);

		code_name = span__keep(s, code_buf, (size_t)n + 1);
	}
	if (code_name)
		span__add_string(s, "rpc.response.status_code", code_name, strlen(code_name));
	if (server)
		add_grpc_local_address(s, r);
	else
		add_grpc_authority(s, r);
	if (server ? grpc_server_error(r->code) : r->code != 0) {
		s->status = STATUS_ERROR;
		if (code_name)
			span__add_string(s, "error.type", code_name, strlen(code_name));
		/* semantic conventions: an error's message is the status's description */
		span__set_status_message(s, r->message, OT_GRPC_MESSAGE_CAP, r->message_len);
	}
	/* semconv: the span is named by rpc.method, by the system when that is _OTHER */
	if (recognised)
		span__set_name(s, method, mlen, NULL, 0);
	else
		span__set_name(s, "grpc", 4, NULL, 0);
	return 0;
}
