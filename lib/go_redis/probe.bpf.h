// SPDX-License-Identifier: MIT
/*
 * go-redis client spans (github.com/redis/go-redis/v9, github.com/go-redis/
 * redis/v8): one per command attempt and one per pipeline or transaction that
 * reached a connection. Every probe sits on a stack-check branch (emulated);
 * no return probes.
 *
 * Start, with the caller's context in registers:
 *   (*baseClient)._process(c, ctx, cmd, attempt, ...)   each attempt of a command
 *   (*baseClient).pipelineProcessCmds(c, ctx, cn, cmds)     a pipeline
 *   (*baseClient).txPipelineProcessCmds(c, ctx, cn, cmds)   MULTI ... EXEC
 * End: withConn, which every one of them runs in, hands the outcome to the
 * client's release function in a deferred call:
 *   (*baseClient).releaseConn(c, ctx, cn, err)
 *   (*baseClient).releaseConnToPool(c, ctx, p, cn, err)   (v9.2x: every release)
 *
 * A pipeline runs inside withConn's callback, which v8 starts on a goroutine
 * of its own when the context can be cancelled, so a pipeline is keyed by its
 * connection, cn, which its start and its release both see. A command starts
 * before it has a connection, on the goroutine withConn then runs on and
 * releases from. An attempt that fails before it has a connection (dial
 * error, pool timeout) releases nothing; its _process then asks
 * shouldRetry(err, ...) about the error, which ends it. shouldRetry also
 * follows a release with an error, and other callers use it too: only a
 * command still open on the goroutine ends there.
 *
 * Commands nest on one goroutine: getting a new connection runs HELLO on it
 * (another client, the connection's own) before the command that asked for
 * it continues. So each goroutine keeps a small stack of commands; a release
 * ends the newest command of its client.
 */
#ifndef OTRACE_GO_REDIS_BPF_H
#define OTRACE_GO_REDIS_BPF_H

#include "common.bpf.h"
#include "go_redis/config.h"
#include "go_redis/record.h"

const volatile struct ot_redis_cfg redis_cfg = {};

#define REDIS_DEPTH 4 /* a power of two: indexes are masked for the verifier */

struct redis_op {
	__u64 start_ns;
	__u64 client;  /* the *baseClient; a command's release must come from it */
	__u64 cmds;    /* a command: the Cmder's data pointer; else the []Cmder's array */
	__u32 ncmds;   /* pipeline length */
	__u8 kind;     /* enum ot_redis_kind */
	__u8 released; /* released with an error: waits for its shouldRetry */
	__u16 flags;   /* OT_REDIS_HAS_PARENT */
	struct ot_span_ids ids;
};

struct redis_stack {
	__u32 depth;
	__u32 _pad;
	struct redis_op op[REDIS_DEPTH];
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, struct goroutine_key);
	__type(value, struct redis_stack);
} redis_stacks SEC(".maps");

struct redis_conn_key {
	__u32 pid;
	__u32 _pad;
	__u64 cn; /* the *pool.Conn */
};

/* pipelines and transactions in progress, by connection */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, struct redis_conn_key);
	__type(value, struct redis_op);
} redis_pipelines SEC(".maps");

/* A zeroed stack to insert from: too big for the BPF stack. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct redis_stack);
} redis_blank SEC(".maps");

static __always_inline struct redis_op *redis_op_at(struct redis_stack *s, __u32 i)
{
	/* keep the mask: clang drops it where it can prove the bound, the verifier cannot */
	asm volatile("" : "+r"(i));
	return &s->op[i & (REDIS_DEPTH - 1)];
}

static __always_inline struct redis_stack *redis_stack_of(struct goroutine_key *key)
{
	struct redis_stack *s = bpf_map_lookup_elem(&redis_stacks, key);
	__u32 zero = 0;
	const struct redis_stack *blank;

	if (s)
		return s;
	blank = bpf_map_lookup_elem(&redis_blank, &zero);
	if (!blank || bpf_map_update_elem(&redis_stacks, key, blank, BPF_NOEXIST))
		return NULL;
	return bpf_map_lookup_elem(&redis_stacks, key);
}

/* Fills op for an operation starting now with context data ctx_data. */
static __always_inline void redis_op_init(struct redis_op *op, const struct goroutine_key *key,
					  __u8 kind, __u64 client, __u64 ctx_data, __u64 cmds,
					  __u64 ncmds)
{
	op->start_ns = bpf_ktime_get_ns();
	op->client = client;
	op->cmds = cmds;
	op->ncmds = ncmds > 0xffffffffULL ? 0xffffffffU : (__u32)ncmds;
	op->kind = kind;
	op->released = 0;
	op->flags = 0;
	if (child_ids(key->pid, key->g, ctx_data, &op->ids))
		op->flags = OT_REDIS_HAS_PARENT;
}

/* (*baseClient)._process(c, ctx, cmd Cmder, attempt, ...) */
OT_UPROBE(redis_cmd_start)
{
	struct goroutine_key key = goroutine_of(ctx);
	__u64 client = GO_ARG1(ctx);
	struct redis_stack *s;
	struct redis_op *op;
	__u32 depth;

	if (entry_repeats(ctx))
		return 0;
	s = redis_stack_of(&key);
	if (!s) {
		count_drop(OT_DROP_INFLIGHT_FULL);
		return 0;
	}
	depth = s->depth <= REDIS_DEPTH ? s->depth : 0;
	/*
	 * What a new command closes: errors whose shouldRetry never came (not
	 * every caller asks), and a command of the same client that never
	 * ended (it returned before any end point: counted).
	 */
	for (int i = 0; i < REDIS_DEPTH; i++) {
		op = redis_op_at(s, depth - 1);
		if (!depth || (!op->released && op->client != client))
			break;
		if (!op->released)
			count_drop(OT_DROP_UNFINISHED);
		depth--;
	}
	if (depth >= REDIS_DEPTH) {
		s->depth = depth;
		count_drop(OT_DROP_INFLIGHT_FULL);
		return 0;
	}
	redis_op_init(redis_op_at(s, depth), &key, OT_REDIS_COMMAND, client, GO_ARG3(ctx),
		      GO_ARG5(ctx), 0);
	s->depth = depth + 1;
	return 0;
}

/* (*baseClient).pipelineProcessCmds and txPipelineProcessCmds(c, ctx, cn, cmds []Cmder) */
static __always_inline int redis_pipeline_begin(struct pt_regs *ctx, __u8 kind)
{
	struct goroutine_key key = goroutine_of(ctx);
	struct redis_conn_key ck = { .pid = key.pid, .cn = GO_ARG4(ctx) };
	struct redis_op op;

	if (entry_repeats(ctx))
		return 0;
	redis_op_init(&op, &key, kind, GO_ARG1(ctx), GO_ARG3(ctx), GO_ARG5(ctx), GO_ARG6(ctx));
	if (bpf_map_update_elem(&redis_pipelines, &ck, &op, BPF_ANY))
		count_drop(OT_DROP_INFLIGHT_FULL);
	return 0;
}

OT_UPROBE(redis_pipeline_start)
{
	return redis_pipeline_begin(ctx, OT_REDIS_PIPELINE);
}

OT_UPROBE(redis_tx_start)
{
	return redis_pipeline_begin(ctx, OT_REDIS_TX);
}

/*
 * The record being built on this CPU (struct ot_redis_wire): its head and
 * room for its packed strings past the mask's reach (pack_go_string),
 * copied into the ring buffer at the size they took.
 */
_Static_assert(OT_REDIS_STRINGS_MAX <= OT_PACK_MASK, "strings beyond the mask");
_Static_assert(OT_REDIS_NAME_CAP <= OT_HOST_CAP && OT_REDIS_ERROR_CAP <= OT_HOST_CAP,
	       "room for the largest string");

DEFINE_RECORD_SLOTS(redis_wire, struct ot_redis_wire, OT_HOST_CAP);

/*
 * A command's argument count from its Cmder's data, and its name packed
 * (rec's strings at *pos): the command types all embed baseCmd first, whose
 * args[0] is the name when it is a string (its dynamic type says so).
 */
static __always_inline void redis_pack_cmd(__u64 cmd, struct ot_redis_cmd_head *out,
					   struct ot_redis_wire *rec, __u32 *pos)
{
	struct go_slice args = {};
	struct go_iface name = {};

	if (redis_cfg.cmd_args < 0 || !cmd ||
	    bpf_probe_read_user(&args, sizeof(args), (void *)(cmd + redis_cfg.cmd_args)) ||
	    args.len < 1 || !args.ptr)
		return;
	out->nargs = args.len > 0xffffffffLL ? 0xffffffffU : (__u32)args.len;
	if (bpf_probe_read_user(&name, sizeof(name), (void *)args.ptr) ||
	    go_rtype_kind(name.tab) != GO_RKIND_STRING)
		return;
	out->name_len = pack_go_string_at(rec->strings, pos, OT_REDIS_NAME_CAP, name.data);
}

/*
 * A pipeline's or transaction's commands, packed by bpf_loop: unrolled, the
 * eight commands' paths multiply past the verifier's limit; a callback is
 * walked once. cmds: the []Cmder's data.
 */
struct redis_pack_ctx {
	struct ot_redis_wire *rec; /* the record being built, in its slot */
	__u64 cmds;
};

static long redis_pack_cmd_cb(__u64 i, void *data)
{
	struct redis_pack_ctx *c = data;
	struct ot_redis_wire *rec = c->rec;
	struct go_iface cmd = {};

	if (i >= OT_REDIS_CMDS)
		return 1;
	bpf_probe_read_user(&cmd, sizeof(cmd), (void *)(c->cmds + i * 16));
	redis_pack_cmd(cmd.data, &rec->cmds[i], rec, record_pos(rec));
	return 0;
}

/* The client's Options: its DB, and its Addr packed (rec's strings at *pos). */
static __always_inline void redis_pack_client(struct ot_redis_wire *rec, __u32 *pos, __u64 client)
{
	const volatile struct ot_redis_cfg *cfg = &redis_cfg;
	__u64 opt;

	if (cfg->client_opt < 0 || !(opt = read_ptr(client + cfg->client_opt)))
		return;
	if (cfg->opt_addr >= 0)
		rec->addr_len =
			pack_go_string_at(rec->strings, pos, OT_HOST_CAP, opt + cfg->opt_addr);
	if (cfg->opt_db >= 0) {
		rec->db = read_s64(opt + cfg->opt_db);
		rec->flags |= OT_REDIS_HAS_DB;
	}
}

/* Writes op's record, ended now with err (itab 0: none); bias: the process's load bias. */
static __always_inline void redis_emit(const struct goroutine_key *key, const struct redis_op *op,
				       struct go_iface err, __u64 bias, __u32 flags)
{
	struct ot_redis_wire *rec;
	struct go_string msg = {};
	struct slot_hold hold;
	__u32 *pos;
	int shape = 0;

	rec = record_get(&redis_wire, &hold);
	if (!rec)
		return;
	pos = record_pos(rec);
	__builtin_memset(rec, 0, sizeof(*rec));
	rec->hdr.type = OT_REC_REDIS;
	rec->pid = key->pid;
	rec->goroutine = key->g;
	rec->start_ns = op->start_ns;
	rec->end_ns = bpf_ktime_get_ns();
	rec->flags = op->flags | flags;
	rec->kind = op->kind;
	rec->ncmds = op->ncmds;
	rec->ids = op->ids;
	if (err.tab) {
		rec->flags |= OT_REDIS_ERROR;
		rec->error_itab = err.tab - bias;
		shape = go_error_message(err, &msg);
		if (shape)
			rec->flags |= shape == 1 ? OT_REDIS_ERROR_STRING : OT_REDIS_ERROR_MSG;
	}
	/* the strings in their order (record.h): the commands' names, addr, error */
	if (op->kind == OT_REDIS_COMMAND) {
		redis_pack_cmd(op->cmds, &rec->cmds[0], rec, pos);
	} else {
		struct redis_pack_ctx c = { .rec = rec, .cmds = op->cmds };

		bpf_loop(op->ncmds < OT_REDIS_CMDS ? op->ncmds : OT_REDIS_CMDS, redis_pack_cmd_cb,
			 &c, 0);
	}
	redis_pack_client(rec, pos, op->client);
	if (shape)
		rec->error_len = pack_go_string(rec->strings, pos, OT_REDIS_ERROR_CAP, msg);
	submit_packed(rec, sizeof(*rec), *pos);
	slot_put(&hold);
}

/* The release of cn by client, with the error of the operation that used it. */
static __always_inline int redis_release(struct pt_regs *ctx, __u64 client, __u64 cn,
					 struct go_iface err)
{
	struct goroutine_key key = goroutine_of(ctx);
	struct redis_conn_key ck = { .pid = key.pid, .cn = cn };
	__u64 bias = REGS_IP(ctx) - redis_cfg.release_vaddr;
	struct redis_stack *s;
	struct redis_op *op;
	__u32 depth, at = 0;

	if (entry_repeats(ctx))
		return 0;
	op = bpf_map_lookup_elem(&redis_pipelines, &ck);
	if (op) {
		/* gone before it is written: an eviction from now on is no loss */
		struct redis_op ended = *op;

		bpf_map_delete_elem(&redis_pipelines, &ck);
		redis_emit(&key, &ended, err, bias, 0);
		return 0;
	}
	s = bpf_map_lookup_elem(&redis_stacks, &key);
	if (!s)
		return 0;
	depth = s->depth <= REDIS_DEPTH ? s->depth : 0;
	/* the newest open operation of this client; none: not one otrace saw start */
	for (int i = 0; i < REDIS_DEPTH; i++) {
		op = redis_op_at(s, depth - 1 - i);
		if ((__u32)i >= depth)
			return 0;
		if (!op->released && op->client == client) {
			at = depth - i;
			break;
		}
		if (!op->released)
			count_drop(OT_DROP_UNFINISHED); /* newer, never ended */
	}
	if (!at)
		return 0;
	op = redis_op_at(s, at - 1);
	/* off the count before it is written: evicted from now on, it is no loss */
	s->depth = err.tab ? at : at - 1;
	redis_emit(&key, op, err, bias, 0);
	if (err.tab)
		op->released = 1;
	return 0;
}

/* (*baseClient).releaseConn(c, ctx, cn, err) */
OT_UPROBE(redis_release_conn)
{
	struct go_iface err = { .tab = GO_ARG5(ctx), .data = GO_ARG6(ctx) };

	return redis_release(ctx, GO_ARG1(ctx), GO_ARG4(ctx), err);
}

/* (*baseClient).releaseConnToPool(c, ctx, p pool.Pooler, cn, err) */
OT_UPROBE(redis_release_to_pool)
{
	struct go_iface err = { .tab = GO_ARG7(ctx), .data = GO_ARG8(ctx) };

	return redis_release(ctx, GO_ARG1(ctx), GO_ARG6(ctx), err);
}

/*
 * shouldRetry(err, retryTimeout): an operation released with an error is
 * done; one still open failed before it had a connection, with err.
 */
OT_UPROBE(redis_should_retry)
{
	struct goroutine_key key = goroutine_of(ctx);
	struct go_iface err = { .tab = GO_ARG1(ctx), .data = GO_ARG2(ctx) };
	struct redis_stack *s;
	struct redis_op *op;
	__u32 depth;

	if (entry_repeats(ctx))
		return 0;
	s = bpf_map_lookup_elem(&redis_stacks, &key);
	if (!err.tab || !s || !s->depth || s->depth > REDIS_DEPTH)
		return 0;
	depth = s->depth;
	op = redis_op_at(s, depth - 1);
	s->depth = depth - 1; /* before it is written, as above */
	if (!op->released)
		redis_emit(&key, op, err, REGS_IP(ctx) - redis_cfg.retry_vaddr,
			   OT_REDIS_NO_CONN);
	return 0;
}

#endif
