// SPDX-License-Identifier: MIT
/* go-redis records to CLIENT spans (database and Redis semantic conventions). */
#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "go_redis.h"
#include "go_redis/record.h"
#include "itabs.h"
#include "packed.h"
#include "semconv.h"

#define QUERY_TEXT_MAX 512

/* A command name otrace vouches for: all of it captured, letters, digits, '_', '.', '-'. */
static bool command_name(const struct ot_redis_cmd *c)
{
	if (!c->name_len || c->name_len > OT_REDIS_NAME_CAP)
		return false;
	for (size_t i = 0; i < c->name_len; i++)
		if (!isalnum((unsigned char)c->name[i]) && !strchr("_.-", c->name[i]))
			return false;
	return true;
}

/* The commands of r the span is about: a transaction's without its MULTI and EXEC. */
static void inner_commands(const struct ot_redis_rec *r, const struct ot_redis_cmd **cmds,
			   uint32_t *n, uint32_t *total)
{
	*cmds = r->cmds;
	*total = r->kind == OT_REDIS_COMMAND ? 1 : r->ncmds;
	*n = *total < OT_REDIS_CMDS ? *total : OT_REDIS_CMDS;
	if (r->kind != OT_REDIS_TX || *total < 2)
		return;
	/* go-redis wraps a transaction's commands in MULTI and EXEC itself */
	(*cmds)++;
	*total -= 2;
	*n = *total < OT_REDIS_CMDS - 1 ? *total : OT_REDIS_CMDS - 1;
}

/* Appends the upper-cased name of c to buf (capacity cap at *len). */
static void append_name(char *buf, size_t cap, size_t *len, const struct ot_redis_cmd *c)
{
	for (size_t i = 0; i < c->name_len && *len < cap; i++)
		buf[(*len)++] = (char)toupper((unsigned char)c->name[i]);
}

/*
 * db.operation.name: the command's name, upper-cased; a pipeline or a
 * transaction is "PIPELINE" or "MULTI", followed by the command's name when
 * every command in it is known to be the same one (semantic conventions).
 * Returns its length in buf, 0 when the command's name is not known.
 */
static size_t operation_name(const struct ot_redis_rec *r, char *buf, size_t cap)
{
	const struct ot_redis_cmd *cmds;
	uint32_t n, total;
	size_t len = 0;
	bool same;

	inner_commands(r, &cmds, &n, &total);
	if (r->kind == OT_REDIS_COMMAND) {
		if (command_name(&cmds[0]))
			append_name(buf, cap, &len, &cmds[0]);
		return len;
	}
	len = (size_t)snprintf(buf, cap, "%s", r->kind == OT_REDIS_TX ? "MULTI" : "PIPELINE");
	same = total > 0 && n == total;
	for (uint32_t i = 0; same && i < n; i++)
		same = command_name(&cmds[i]) && cmds[i].name_len == cmds[0].name_len &&
		       !strncasecmp(cmds[i].name, cmds[0].name, cmds[0].name_len);
	if (same) {
		buf[len++] = ' ';
		append_name(buf, cap, &len, &cmds[0]);
	}
	return len;
}

/*
 * db.query.text: each command as the Redis CLI would show it, with every
 * argument replaced by '?' (arguments are values, and values can be
 * secrets), joined by "; ". Returns its length, 0 when a name is unknown;
 * *full: the length the whole text would have (more commands than kept).
 */
static size_t query_text(const struct ot_redis_rec *r, char *buf, size_t cap, size_t *full)
{
	const struct ot_redis_cmd *cmds;
	uint32_t n, total;
	size_t len = 0;

	inner_commands(r, &cmds, &n, &total);
	for (uint32_t i = 0; i < n; i++) {
		if (!command_name(&cmds[i]))
			return 0;
		if (i && len + 2 <= cap) {
			memcpy(buf + len, "; ", 2);
			len += 2;
		}
		append_name(buf, cap, &len, &cmds[i]);
		for (uint32_t a = 1; a < cmds[i].nargs && len + 2 <= cap; a++) {
			memcpy(buf + len, " ?", 2);
			len += 2;
		}
	}
	*full = len + (total > n ? 1 : 0); /* some commands are missing: truncated */
	return len;
}

/* The error's type is one of go-redis's protocol errors: a reply from the server. */
static bool proto_error_type(const char *type, size_t len)
{
	static const char *const modules[] = { "github.com/redis/go-redis/v9/internal/proto.",
					       "github.com/go-redis/redis/v8/internal/proto." };

	if (len && type[0] == '*') {
		type++;
		len--;
	}
	for (size_t i = 0; i < sizeof(modules) / sizeof(modules[0]); i++) {
		size_t m = strlen(modules[i]);

		if (len > m + 5 && !memcmp(type, modules[i], m) &&
		    !memcmp(type + len - 5, "Error", 5))
			return true;
	}
	return false;
}

/* The Redis simple error prefix ("WRONGTYPE Operation ...": "WRONGTYPE"), 0 when none. */
static size_t error_prefix(const char *msg, size_t len)
{
	size_t n = 0;

	while (n < len && msg[n] >= 'A' && msg[n] <= 'Z')
		n++;
	return n && (n == len || msg[n] == ' ') ? n : 0;
}

/*
 * Status and error.type. A reply error from the server (its type is
 * go-redis's internal/proto error, or, when the binary names no types, a
 * string type: proto.RedisError is go-redis's only one) gives its prefix as
 * db.response.status_code and error.type; redis.Nil, the reply to a missing
 * key, is no error. Any other error: its Go type, _OTHER when unnamed.
 */
static void set_error(const struct span_decoding *d, struct span *s, const struct ot_redis_rec *r)
{
	size_t tlen = 0, mlen = 0, plen;
	const char *type = itab_names__type(span__binary(d, r->pid)->itabs, r->error_itab, &tlen);
	bool reply;

	if (!(r->flags & OT_REDIS_ERROR))
		return;
	if (r->flags & (OT_REDIS_ERROR_STRING | OT_REDIS_ERROR_MSG))
		mlen = span__captured(r->error_len, OT_REDIS_ERROR_CAP);
	reply = type ? proto_error_type(type, tlen) : (r->flags & OT_REDIS_ERROR_STRING) != 0;
	if (reply && mlen && r->error_len == 10 && !memcmp(r->error, "redis: nil", 10))
		return;
	s->status = STATUS_ERROR;
	plen = reply ? error_prefix(r->error, mlen) : 0;
	if (plen) {
		span__add_string(s, "db.response.status_code", r->error, plen);
		span__add_string(s, "error.type", r->error, plen);
	} else {
		semconv__add_error_type(d, s, r->pid, r->error_itab);
	}
}

static void add_server(struct span *s, const struct ot_redis_rec *r)
{
	size_t n = span__captured(r->addr_len, OT_HOST_CAP), off, hlen;
	int64_t port;

	if (!n || n < r->addr_len)
		return; /* cut short: not an address otrace can vouch for */
	if (semconv__split_host_port(r->addr, n, &off, &hlen, &port) || !hlen) {
		span__add_string(s, "server.address", r->addr, n); /* a unix socket's path */
		return;
	}
	span__add_string(s, "server.address", r->addr + off, hlen);
	if (port >= 0)
		span__add_int(s, "server.port", port);
}

/* The strings of a record, in the order its wire form packs them. */
#define COMMAND_NAME(i) PACKED_STRING(struct ot_redis_rec, cmds[i].name_len, cmds[i].name)
static const struct packed_string packed[] = {
	COMMAND_NAME(0), COMMAND_NAME(1), COMMAND_NAME(2), COMMAND_NAME(3),
	COMMAND_NAME(4), COMMAND_NAME(5), COMMAND_NAME(6), COMMAND_NAME(7),
	PACKED_STRING(struct ot_redis_rec, addr_len, addr),
	PACKED_STRING(struct ot_redis_rec, error_len, error),
};
#define NPACKED (sizeof(packed) / sizeof(packed[0]))

_Static_assert(OT_REDIS_CMDS == 8, "a name for each command");
_Static_assert(offsetof(struct ot_redis_wire, cmds) == offsetof(struct ot_redis_rec, cmds),
	       "the heads are alike");

int go_redis__unpack(const void *wire, size_t size, struct ot_redis_rec *r)
{
	const struct ot_redis_wire *w = wire;

	if (size < sizeof(*w))
		return -EINVAL;
	memset(r, 0, sizeof(*r));
	memcpy(r, w, offsetof(struct ot_redis_wire, cmds));
	for (size_t i = 0; i < OT_REDIS_CMDS; i++) {
		r->cmds[i].name_len = w->cmds[i].name_len;
		r->cmds[i].nargs = w->cmds[i].nargs;
	}
	return packed__unpack(packed, NPACKED, w->strings, size - sizeof(*w), r);
}

size_t go_redis__pack(const struct ot_redis_rec *r, void *out)
{
	struct ot_redis_wire *w = out;

	memcpy(w, r, offsetof(struct ot_redis_wire, cmds));
	for (size_t i = 0; i < OT_REDIS_CMDS; i++) {
		w->cmds[i].name_len = r->cmds[i].name_len;
		w->cmds[i].nargs = r->cmds[i].nargs;
	}
	w->hdr.size = (uint32_t)(sizeof(*w) + packed__pack(packed, NPACKED, r, w->strings));
	return w->hdr.size;
}

int go_redis__decode(const struct span_decoding *d, const void *rec, size_t size, struct span *s)
{
	const struct ot_redis_rec *r;
	struct ot_redis_rec unpacked;
	char buf[QUERY_TEXT_MAX];
	const char *op = NULL, *text;
	const struct ot_redis_cmd *cmds;
	uint32_t n, total;
	size_t len, op_len, full;

	if (go_redis__unpack(rec, size, &unpacked) ||
	    !(r = span__read_record(s, &unpacked, sizeof(unpacked))))
		return -EINVAL;
	if (r->kind < OT_REDIS_COMMAND || r->kind > OT_REDIS_TX)
		return -EINVAL;
	span__set_identity(d, s, SPAN_KIND_CLIENT, r->pid, r->start_ns, r->end_ns, &r->ids,
			   r->flags & OT_REDIS_HAS_PARENT);
	span__add_string(s, "db.system.name", "redis", 5);
	op_len = operation_name(r, buf, SPAN_NAME_MAX);
	if (op_len && (op = span__keep(s, buf, op_len)))
		span__add_string(s, "db.operation.name", op, op_len);
	inner_commands(r, &cmds, &n, &total);
	if (r->kind != OT_REDIS_COMMAND && total != 1)
		span__add_int(s, "db.operation.batch.size", total);
	if (r->flags & OT_REDIS_HAS_DB && r->db >= 0) {
		int k = snprintf(buf, sizeof(buf), "%lld", (long long)r->db);

		if ((text = span__keep(s, buf, (size_t)k)))
			span__add_string(s, "db.namespace", text, (size_t)k);
	}
	add_server(s, r);
	if (span__config(d)->db_statement && (len = query_text(r, buf, sizeof(buf), &full)) &&
	    (text = span__keep(s, buf, len)))
		span__add_captured(s, "db.query.text", text, len, (uint32_t)full);
	set_error(d, s, r);
	/* semconv: the operation; Redis spans leave the numeric namespace out */
	if (op)
		span__set_name(s, op, op_len, NULL, 0);
	else
		span__set_name(s, "redis", 5, NULL, 0);
	return 0;
}
