// SPDX-License-Identifier: MIT
#include <errno.h>

#include "grpc.h"
#include "grpc/record.h"
#include "fake_records.h"
#include "spantest.h"
#include "unittest.h"

/* gRPC records, decoded. */

/* A client call of grpc.health.v1.Health/Check that ended OK. */
static void grpc_record(struct ot_grpc_rec *r, __u32 type)
{
	memset(r, 0, sizeof(*r));
	fake_ids(&r->ids);
	r->hdr.type = type;
	r->hdr.size = sizeof(*r);
	r->pid = 4242;
	r->start_ns = 1000000000ull;
	r->end_ns = 1000400000ull;
	SET_STR(r, method, "/grpc.health.v1.Health/Check");
	SET_STR(r, authority, "127.0.0.1:50051");
}

/* Decodes call r from its wire form, in the ring buffer's place (decode_from_ring). */
static int decode_grpc(struct span_assembler *sa, const struct ot_grpc_rec *r, struct span *s)
{
	_Alignas(8) unsigned char wire[sizeof(struct ot_grpc_wire) + OT_GRPC_STRINGS_MAX];

	return decode_from_ring(sa, wire, grpc__pack(r, wire), s);
}

static void test_grpc_client(struct span_assembler *sa)
{
	struct ot_grpc_rec r;
	struct span s;

	grpc_record(&r, OT_REC_GRPC_CLIENT);
	CHECK(decode_grpc(sa, &r, &s) == 0);
	CHECK(s.kind == SPAN_KIND_CLIENT && s.status == STATUS_UNSET);
	CHECK(name_is(&s, "grpc.health.v1.Health/Check"));
	CHECK(str_is(&s, "rpc.system.name", "grpc"));
	CHECK(str_is(&s, "rpc.method", "grpc.health.v1.Health/Check"));
	CHECK(str_is(&s, "rpc.response.status_code", "OK"));
	CHECK(str_is(&s, "server.address", "127.0.0.1"));
	CHECK(int_is(&s, "server.port", 50051));
	CHECK(!find(&s, "error.type") && !find(&s, "rpc.method_original"));
	CHECK(s.end_unix_ns - s.start_unix_ns == 400000);
	CHECK(!s.has_parent);

	/* any non-OK code is an error for a client, NOT_FOUND too */
	grpc_record(&r, OT_REC_GRPC_CLIENT);
	r.code = 5;
	r.ids.parent_span_id[0] = 9;
	r.flags |= OT_GRPC_HAS_PARENT;
	CHECK(decode_grpc(sa, &r, &s) == 0);
	CHECK(s.status == STATUS_ERROR);
	CHECK(str_is(&s, "rpc.response.status_code", "NOT_FOUND"));
	CHECK(str_is(&s, "error.type", "NOT_FOUND"));
	CHECK(s.has_parent && s.parent_span_id[0] == 9);
	CHECK(s.flags == (W3C_SAMPLED | SPAN_FLAGS_HAS_IS_REMOTE)); /* a local parent */

	/* the authority without a port: gRPC's default */
	grpc_record(&r, OT_REC_GRPC_CLIENT);
	SET_STR(&r, authority, "api.example.com");
	CHECK(decode_grpc(sa, &r, &s) == 0);
	CHECK(str_is(&s, "server.address", "api.example.com") && int_is(&s, "server.port", 443));

	/* no authority, no method: no server.address, rpc.method _OTHER, named by the system */
	grpc_record(&r, OT_REC_GRPC_CLIENT);
	r.authority_len = 0;
	r.method_len = 0;
	CHECK(decode_grpc(sa, &r, &s) == 0);
	CHECK(!find(&s, "server.address") && !find(&s, "server.port"));
	CHECK(str_is(&s, "rpc.method", "_OTHER") && !find(&s, "rpc.method_original"));
	CHECK(name_is(&s, "grpc"));

	/* a code outside gRPC's set is kept as a number, and is an error */
	grpc_record(&r, OT_REC_GRPC_CLIENT);
	r.code = 99;
	CHECK(decode_grpc(sa, &r, &s) == 0);
	CHECK(str_is(&s, "rpc.response.status_code", "99") && str_is(&s, "error.type", "99"));
	CHECK(s.status == STATUS_ERROR);
}

static void test_grpc_server(struct span_assembler *sa)
{
	/* semconv: only these codes make a server span an error */
	static const int32_t errors[] = { 2, 4, 12, 13, 14, 15 };
	struct ot_grpc_rec r;
	struct span s;

	for (int32_t code = 0; code <= 16; code++) {
		bool error = false;

		for (size_t i = 0; i < sizeof(errors) / sizeof(errors[0]); i++)
			error |= errors[i] == code;
		grpc_record(&r, OT_REC_GRPC_SERVER);
		r.code = code;
		CHECK(decode_grpc(sa, &r, &s) == 0);
		CHECK(s.kind == SPAN_KIND_SERVER);
		CHECK(str_is(&s, "rpc.response.status_code", grpc__code_name(code)));
		CHECK(s.status == (error ? STATUS_ERROR : STATUS_UNSET));
		CHECK(error ? str_is(&s, "error.type", grpc__code_name(code)) :
			      !find(&s, "error.type"));
	}
	CHECK(!strcmp(grpc__code_name(16), "UNAUTHENTICATED"));
	CHECK(!strcmp(grpc__code_name(4), "DEADLINE_EXCEEDED"));
	CHECK(!grpc__code_name(17) && !grpc__code_name(-1));

	/* a method the server does not have: _OTHER, the name kept as the original */
	grpc_record(&r, OT_REC_GRPC_SERVER);
	r.code = 12;
	SET_STR(&r, method, "/otrace.Nope/Missing");
	SET_STR(&r, message, "unknown service otrace.Nope");
	CHECK(decode_grpc(sa, &r, &s) == 0);
	CHECK(str_is(&s, "rpc.method", "_OTHER"));
	CHECK(str_is(&s, "rpc.method_original", "otrace.Nope/Missing"));
	CHECK(name_is(&s, "grpc") && s.status == STATUS_ERROR);

	/* UNIMPLEMENTED from the handler itself: the method is known */
	SET_STR(&r, message, "not yet");
	CHECK(decode_grpc(sa, &r, &s) == 0);
	CHECK(str_is(&s, "rpc.method", "otrace.Nope/Missing") && !find(&s, "rpc.method_original"));

	/* a method longer than the capture is not a name otrace can vouch for */
	grpc_record(&r, OT_REC_GRPC_SERVER);
	memset(r.method, 'm', sizeof(r.method));
	r.method[0] = '/';
	r.method_len = 300;
	CHECK(decode_grpc(sa, &r, &s) == 0);
	CHECK(str_is(&s, "rpc.method", "_OTHER"));
	CHECK(find(&s, "rpc.method_original")->len == OT_GRPC_METHOD_CAP - 1);
	CHECK(find(&s, "rpc.method_original")->truncated);

	/*
	 * pointer bytes where the method should be (a stream read with another
	 * release's layout): _OTHER, no original, counted; named by the system
	 */
	grpc_record(&r, OT_REC_GRPC_SERVER);
	memcpy(r.method, "/\x60\x34\x12\x00\xc0\x00\x00\x00", 9);
	r.method_len = 9;
	CHECK(decode_grpc(sa, &r, &s) == 0);
	CHECK(str_is(&s, "rpc.method", "_OTHER") && !find(&s, "rpc.method_original"));
	CHECK(s.invalid == 1 && name_is(&s, "grpc"));

	/* an incoming traceparent: remote parent */
	grpc_record(&r, OT_REC_GRPC_SERVER);
	r.ids.parent_span_id[0] = 0xb7;
	r.ids.parent_remote = 1;
	r.flags |= OT_GRPC_HAS_PARENT;
	CHECK(decode_grpc(sa, &r, &s) == 0);
	CHECK(s.has_parent && s.parent_span_id[0] == 0xb7);
	CHECK(s.flags == (W3C_SAMPLED | SPAN_FLAGS_HAS_IS_REMOTE | SPAN_FLAGS_IS_REMOTE));

	/* a record cut short, or whose packed strings end before or past it, is refused */
	grpc_record(&r, OT_REC_GRPC_SERVER);
	SET_STR(&r, message, "unknown service x");
	{
		_Alignas(8) unsigned char wire[sizeof(struct ot_grpc_wire) + OT_GRPC_STRINGS_MAX];
		struct ot_grpc_wire *w = (struct ot_grpc_wire *)wire;
		size_t n = grpc__pack(&r, wire);

		CHECK(n == sizeof(*w) + strlen("/grpc.health.v1.Health/Check") +
				   strlen("127.0.0.1:50051") + strlen("unknown service x"));
		CHECK(decode_from_ring(sa, wire, n - 1, &s) == -EINVAL);
		w->hdr.size = sizeof(*w) - 1;
		CHECK(decode_from_ring(sa, wire, n, &s) == -EINVAL);
		w->hdr.size = (uint32_t)n;
		w->message_len++;
		CHECK(decode_from_ring(sa, wire, n, &s) == -EINVAL);
		w->message_len -= 2;
		CHECK(decode_from_ring(sa, wire, n, &s) == -EINVAL);
		w->message_len++;
		CHECK(decode_from_ring(sa, wire, n, &s) == 0);
		CHECK(str_is(&s, "rpc.method", "grpc.health.v1.Health/Check"));
	}
	/* a string longer than its cap travels cut at the cap, its full length kept */
	grpc_record(&r, OT_REC_GRPC_CLIENT);
	r.code = 13;
	memset(r.message, 'm', sizeof(r.message));
	r.message_len = 5000;
	CHECK(decode_grpc(sa, &r, &s) == 0);
	CHECK(s.status == STATUS_ERROR && s.status_message_len == OT_GRPC_MESSAGE_CAP &&
	      s.status_message_truncated && s.status_message[OT_GRPC_MESSAGE_CAP - 1] == 'm');
}

int main(void)
{
	struct span_assembler *sa;

	CHECK(span_assembler__new(&sa) == 0);
	test_grpc_client(sa);
	test_grpc_server(sa);
	span_assembler__free(sa);
	return ut_summary();
}
