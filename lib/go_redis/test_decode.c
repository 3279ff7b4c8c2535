// SPDX-License-Identifier: MIT
#include <errno.h>

#include "fake_records.h"
#include "go_redis.h"
#include "go_redis/record.h"
#include "itabs.h"
#include "spantest.h"
#include "unittest.h"

/* go-redis records, decoded. */

static void set_cmd(struct ot_redis_cmd *c, const char *name, uint32_t nargs)
{
	memset(c, 0, sizeof(*c));
	c->name_len = (uint32_t)strlen(name);
	memcpy(c->name, name, c->name_len < OT_REDIS_NAME_CAP ? c->name_len : OT_REDIS_NAME_CAP);
	c->nargs = nargs;
}

/* A GET on DB 3 of 127.0.0.1:6380, made while serving a request. */
static void redis_record(struct ot_redis_rec *r)
{
	memset(r, 0, sizeof(*r));
	fake_ids(&r->ids);
	r->hdr.type = OT_REC_REDIS;
	r->hdr.size = sizeof(*r);
	r->pid = 4242;
	r->start_ns = 1000000000ull;
	r->end_ns = 1000200000ull;
	r->kind = OT_REDIS_COMMAND;
	r->flags = OT_REDIS_HAS_PARENT | OT_REDIS_HAS_DB;
	r->ids.parent_span_id[0] = 9;
	r->db = 3;
	set_cmd(&r->cmds[0], "get", 2);
	SET_STR(r, addr, "127.0.0.1:6380");
}

/* Decodes operation r from its wire form, in the ring buffer's place (decode_from_ring). */
static int decode_redis(struct span_assembler *sa, const struct ot_redis_rec *r, struct span *s)
{
	_Alignas(8) unsigned char wire[sizeof(struct ot_redis_wire) + OT_REDIS_STRINGS_MAX];

	return decode_from_ring(sa, wire, go_redis__pack(r, wire), s);
}

static void set_error(struct ot_redis_rec *r, uint32_t shape, uint64_t itab, const char *msg)
{
	r->flags |= OT_REDIS_ERROR | shape;
	r->error_itab = itab;
	r->error_len = (uint32_t)strlen(msg);
	memcpy(r->error, msg,
	       r->error_len < OT_REDIS_ERROR_CAP ? r->error_len : OT_REDIS_ERROR_CAP);
}

static void configure(struct span_assembler *sa, const struct itab_names *itabs, bool statement)
{
	struct span_config cfg = { .db_statement = statement };

	cfg.binary.itabs = itabs;
	span_assembler__configure(sa, &cfg);
}

static void test_command(struct span_assembler *sa)
{
	struct ot_redis_rec r;
	struct span s;

	configure(sa, NULL, false);
	redis_record(&r);
	CHECK(decode_redis(sa, &r, &s) == 0);
	CHECK(s.kind == SPAN_KIND_CLIENT && s.status == STATUS_UNSET);
	CHECK(s.has_parent && s.parent_span_id[0] == 9);
	CHECK(s.end_unix_ns - s.start_unix_ns == 200000);
	CHECK(name_is(&s, "GET"));
	CHECK(str_is(&s, "db.system.name", "redis"));
	CHECK(str_is(&s, "db.operation.name", "GET"));
	CHECK(str_is(&s, "db.namespace", "3"));
	CHECK(str_is(&s, "server.address", "127.0.0.1") && int_is(&s, "server.port", 6380));
	CHECK(!find(&s, "db.query.text") && !find(&s, "db.operation.batch.size"));
	CHECK(!find(&s, "error.type") && !find(&s, "db.response.status_code"));

	/* --db-statement: every argument is a '?' */
	configure(sa, NULL, true);
	set_cmd(&r.cmds[0], "set", 5);
	CHECK(decode_redis(sa, &r, &s) == 0);
	CHECK(str_is(&s, "db.query.text", "SET ? ? ? ?") && name_is(&s, "SET"));
	CHECK(!find(&s, "db.query.text")->truncated);

	/* module commands keep their dot */
	set_cmd(&r.cmds[0], "json.get", 2);
	CHECK(decode_redis(sa, &r, &s) == 0);
	CHECK(str_is(&s, "db.operation.name", "JSON.GET"));

	/* a name otrace cannot vouch for: no operation, no text, named after the system */
	for (int i = 0; i < 3; i++) {
		redis_record(&r);
		if (i == 0)
			r.cmds[0].name_len = 0; /* args[0] was not a string */
		else if (i == 1)
			set_cmd(&r.cmds[0], "ge t\n", 2);
		else
			r.cmds[0].name_len = OT_REDIS_NAME_CAP + 1; /* cut short */
		CHECK(decode_redis(sa, &r, &s) == 0);
		CHECK(name_is(&s, "redis") && !find(&s, "db.operation.name"));
		CHECK(!find(&s, "db.query.text"));
	}

	/* a unix socket; an address cut short; no Options fields known */
	redis_record(&r);
	SET_STR(&r, addr, "/run/redis/redis.sock");
	CHECK(decode_redis(sa, &r, &s) == 0);
	CHECK(str_is(&s, "server.address", "/run/redis/redis.sock") && !find(&s, "server.port"));
	r.addr_len = OT_HOST_CAP + 10;
	CHECK(decode_redis(sa, &r, &s) == 0);
	CHECK(!find(&s, "server.address"));
	r.addr_len = 0;
	r.flags &= ~OT_REDIS_HAS_DB;
	CHECK(decode_redis(sa, &r, &s) == 0);
	CHECK(!find(&s, "server.address") && !find(&s, "db.namespace"));
}

static void test_batches(struct span_assembler *sa)
{
	struct ot_redis_rec r;
	struct span s;

	configure(sa, NULL, true);
	/* different commands: PIPELINE, each command's text */
	redis_record(&r);
	r.kind = OT_REDIS_PIPELINE;
	r.ncmds = 3;
	set_cmd(&r.cmds[0], "set", 3);
	set_cmd(&r.cmds[1], "incr", 2);
	set_cmd(&r.cmds[2], "get", 2);
	CHECK(decode_redis(sa, &r, &s) == 0);
	CHECK(name_is(&s, "PIPELINE") && str_is(&s, "db.operation.name", "PIPELINE"));
	CHECK(int_is(&s, "db.operation.batch.size", 3));
	CHECK(str_is(&s, "db.query.text", "SET ? ?; INCR ?; GET ?"));

	/* the same command: PIPELINE GET */
	set_cmd(&r.cmds[0], "get", 2);
	set_cmd(&r.cmds[1], "GET", 2);
	CHECK(decode_redis(sa, &r, &s) == 0);
	CHECK(name_is(&s, "PIPELINE GET") && int_is(&s, "db.operation.batch.size", 3));

	/* more commands than the record keeps: not known to be the same; text cut */
	r.ncmds = 20;
	for (int i = 0; i < OT_REDIS_CMDS; i++)
		set_cmd(&r.cmds[i], "get", 2);
	CHECK(decode_redis(sa, &r, &s) == 0);
	CHECK(name_is(&s, "PIPELINE") && int_is(&s, "db.operation.batch.size", 20));
	CHECK(find(&s, "db.query.text")->truncated);

	/* a single command in a pipeline: not a batch, but still pipelined */
	r.ncmds = 1;
	CHECK(decode_redis(sa, &r, &s) == 0);
	CHECK(name_is(&s, "PIPELINE GET") && !find(&s, "db.operation.batch.size"));

	/* a transaction: MULTI and EXEC are go-redis's, not the application's */
	redis_record(&r);
	r.kind = OT_REDIS_TX;
	r.ncmds = 4;
	set_cmd(&r.cmds[0], "multi", 1);
	set_cmd(&r.cmds[1], "incr", 2);
	set_cmd(&r.cmds[2], "incr", 2);
	set_cmd(&r.cmds[3], "exec", 1);
	CHECK(decode_redis(sa, &r, &s) == 0);
	CHECK(name_is(&s, "MULTI INCR") && int_is(&s, "db.operation.batch.size", 2));
	CHECK(str_is(&s, "db.query.text", "INCR ?; INCR ?"));
	r.ncmds = 3;
	set_cmd(&r.cmds[2], "exec", 1);
	CHECK(decode_redis(sa, &r, &s) == 0);
	CHECK(name_is(&s, "MULTI INCR") && !find(&s, "db.operation.batch.size"));
	r.ncmds = 2; /* an empty transaction: a batch of none */
	set_cmd(&r.cmds[1], "exec", 1);
	CHECK(decode_redis(sa, &r, &s) == 0);
	CHECK(name_is(&s, "MULTI") && int_is(&s, "db.operation.batch.size", 0));
}

/* The itabs the error cases point at. */
static const uint64_t itab_addrs[] = { 0x600100, 0x600200, 0x600300, 0x600400 };
static const char *const itab_syms[] = {
	"go:itab.github.com/redis/go-redis/v9/internal/proto.RedisError,error",
	"go:itab.*github.com/redis/go-redis/v9/internal/proto.LoadingError,error",
	"go:itab.*net.OpError,error",
	"go:itab.*errors.errorString,error",
};

static void test_errors(struct span_assembler *sa)
{
	struct itab_names *itabs;
	struct ot_redis_rec r;
	struct span s;

	CHECK(itab_names__from_symbols(itab_addrs, itab_syms, 4, &itabs) == 0);

	/* a reply error, with or without the type's name: its prefix */
	for (int named = 0; named < 2; named++) {
		configure(sa, named ? itabs : NULL, false);
		redis_record(&r);
		set_cmd(&r.cmds[0], "lpush", 3);
		set_error(&r, OT_REDIS_ERROR_STRING, 0x600100,
			  "WRONGTYPE Operation against a key holding the wrong kind of value");
		CHECK(decode_redis(sa, &r, &s) == 0);
		CHECK(s.status == STATUS_ERROR && name_is(&s, "LPUSH"));
		CHECK(str_is(&s, "db.response.status_code", "WRONGTYPE"));
		CHECK(str_is(&s, "error.type", "WRONGTYPE"));

		/* redis.Nil: a missing key is an answer, not an error */
		redis_record(&r);
		set_error(&r, OT_REDIS_ERROR_STRING, 0x600100, "redis: nil");
		CHECK(decode_redis(sa, &r, &s) == 0);
		CHECK(s.status == STATUS_UNSET && !find(&s, "error.type"));
	}

	/* typed reply errors (v9.1x): a pointer to a struct with the message first */
	configure(sa, itabs, false);
	redis_record(&r);
	set_error(&r, OT_REDIS_ERROR_MSG, 0x600200, "LOADING Redis is loading the dataset");
	CHECK(decode_redis(sa, &r, &s) == 0);
	CHECK(str_is(&s, "db.response.status_code", "LOADING"));

	/* not a reply: the Go type, whatever the message says */
	redis_record(&r);
	set_error(&r, OT_REDIS_ERROR_MSG, 0x600400, "EOF");
	CHECK(decode_redis(sa, &r, &s) == 0);
	CHECK(s.status == STATUS_ERROR && str_is(&s, "error.type", "*errors.errorString"));
	CHECK(!find(&s, "db.response.status_code"));
	redis_record(&r);
	set_error(&r, OT_REDIS_NO_CONN, 0x600300, "");
	CHECK(decode_redis(sa, &r, &s) == 0);
	CHECK(s.status == STATUS_ERROR && str_is(&s, "error.type", "*net.OpError"));

	/* a reply of a string type without a prefix; a string-typed error that is not go-redis's */
	redis_record(&r);
	set_error(&r, OT_REDIS_ERROR_STRING, 0x600100, "weird reply");
	CHECK(decode_redis(sa, &r, &s) == 0);
	CHECK(s.status == STATUS_ERROR && !find(&s, "db.response.status_code"));
	CHECK(str_is(&s, "error.type", "github.com/redis/go-redis/v9/internal/proto.RedisError"));
	redis_record(&r);
	set_error(&r, OT_REDIS_ERROR_STRING, 0x600300, "ERR looks like a reply");
	CHECK(decode_redis(sa, &r, &s) == 0);
	CHECK(str_is(&s, "error.type", "*net.OpError") && !find(&s, "db.response.status_code"));

	/* unnamed (stripped): only a string type is taken for a reply */
	configure(sa, NULL, false);
	redis_record(&r);
	set_error(&r, OT_REDIS_ERROR_MSG, 0x600400, "EOF");
	CHECK(decode_redis(sa, &r, &s) == 0);
	CHECK(str_is(&s, "error.type", "_OTHER") && !find(&s, "db.response.status_code"));
	redis_record(&r);
	set_error(&r, OT_REDIS_ERROR_MSG, 0x600200, "LOADING Redis is loading the dataset");
	CHECK(decode_redis(sa, &r, &s) == 0);
	CHECK(str_is(&s, "error.type", "_OTHER"));
	redis_record(&r);
	set_error(&r, 0, 0x600300, "");
	CHECK(decode_redis(sa, &r, &s) == 0);
	CHECK(s.status == STATUS_ERROR && str_is(&s, "error.type", "_OTHER"));

	/* records that are not go-redis's: cut short, strings ending before or past them */
	configure(sa, NULL, true);
	redis_record(&r);
	set_cmd(&r.cmds[1], "set", 3);
	r.kind = OT_REDIS_PIPELINE;
	r.ncmds = 2;
	{
		_Alignas(8) unsigned char wire[sizeof(struct ot_redis_wire) + OT_REDIS_STRINGS_MAX];
		struct ot_redis_wire *w = (struct ot_redis_wire *)wire;
		size_t n = go_redis__pack(&r, wire);

		CHECK(n == sizeof(*w) + strlen("get") + strlen("set") + strlen("127.0.0.1:6380"));
		CHECK(decode_from_ring(sa, wire, n - 1, &s) == -EINVAL);
		CHECK(decode_from_ring(sa, wire, sizeof(*w) - 1, &s) == -EINVAL);
		w->cmds[1].name_len++;
		CHECK(decode_from_ring(sa, wire, n, &s) == -EINVAL);
		w->cmds[1].name_len -= 2;
		CHECK(decode_from_ring(sa, wire, n, &s) == -EINVAL);
		w->cmds[1].name_len++;
		CHECK(decode_from_ring(sa, wire, n, &s) == 0);
		CHECK(str_is(&s, "db.query.text", "GET ?; SET ? ?"));
		CHECK(str_is(&s, "server.address", "127.0.0.1"));
	}
	redis_record(&r);
	r.kind = 7;
	CHECK(decode_redis(sa, &r, &s) == -EINVAL);
	itab_names__free(itabs);
}

int main(void)
{
	struct span_assembler *sa;

	CHECK(span_assembler__new(&sa) == 0);
	test_command(sa);
	test_batches(sa);
	test_errors(sa);
	span_assembler__free(sa);
	return ut_summary();
}
