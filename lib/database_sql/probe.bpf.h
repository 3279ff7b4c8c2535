// SPDX-License-Identifier: MIT
/*
 * database/sql client spans: one per query or exec that reached a driver
 * connection, on a DB, Conn, Tx or prepared Stmt. Every probe sits on a
 * stack-check branch (emulated); no return probes.
 *
 * Start, where the statement text and the connection are both in registers:
 *   (*DB).execDC(db, ctx, dc, release, query, args)     DB, Conn and Tx Exec*
 *   (*DB).queryDC(db, ctx, txctx, dc, release, query, args)     ... Query*
 *   resultFromStatement(ctx, ci, ds, args)     (*Stmt).Exec*, per attempt
 *   rowsiFromStatement(ctx, ci, ds, args)      (*Stmt).Query*, per attempt
 * The text of a prepared statement lives in the Stmt, which the last two do
 * not get: (*Stmt).ExecContext and QueryContext note it for the goroutine.
 * execDC and queryDC call the same two functions when the driver has no
 * ExecerContext/QueryerContext; a span in progress makes them no-ops then.
 *
 * End: every one of those operations hands its outcome to the release
 * function of its connection before it returns, and a query that succeeded
 * passes its Rows to (*Rows).initContextClose:
 *   (*DB).putConn(db, dc, err, reset)        pooled connection (releaseConn)
 *   (*Conn).closemuRUnlockCondReleaseConn-fm(err)    connection from DB.Conn
 *   (*Tx).closemuRUnlockRelease-fm(err)              connection of a Tx
 *   (*Rows).initContextClose(rs, ctx, txctx)         query succeeded
 * These run for other reasons too (Rows.Close releases its connection):
 * only the first one after a start on the same goroutine ends its span.
 */
#ifndef OTRACE_DATABASE_SQL_BPF_H
#define OTRACE_DATABASE_SQL_BPF_H

#include "common.bpf.h"
#include "database_sql/config.h"
#include "database_sql/record.h"

const volatile struct ot_sql_cfg sql_cfg = {};

struct sql_call {
	__u64 start_ns;
	struct go_string query;
	__u64 stmt;	 /* Stmt of the last (*Stmt).ExecContext/QueryContext entered */
	__u64 conn_itab; /* link-time address */
	__u64 bias;	 /* load bias of the process (PIE) */
	__u32 flags;
	__u32 active; /* a span started and has not ended */
	struct ot_span_ids ids;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct goroutine_key);
	__type(value, struct sql_call);
} sql_inflight SEC(".maps");

/* Link-time address of the itab of an interface value, 0 for nil. */
static __always_inline __u64 link_addr(__u64 runtime_addr, __u64 bias)
{
	return runtime_addr ? runtime_addr - bias : 0;
}

/* Starts a span in c for a call on goroutine g with context data ctx_data. */
static __always_inline void sql_begin(struct sql_call *c, __u32 pid, __u64 g, __u64 ctx_data)
{
	c->flags = child_ids(pid, g, ctx_data, &c->ids) ? OT_DB_HAS_PARENT : 0;
	c->start_ns = bpf_ktime_get_ns();
	c->active = 1;
}

/*
 * The goroutine's entry, created (zeroed) when it has none. An entry lives as
 * long as its goroutine is known to the LRU map and is rewritten in place at
 * every call: replacing it whole would take an element from the map's free
 * lists and return one, at every statement.
 */
static __always_inline struct sql_call *sql_entry(struct goroutine_key *key)
{
	struct sql_call *c = bpf_map_lookup_elem(&sql_inflight, key);
	struct sql_call fresh = {};

	if (c)
		return c;
	if (bpf_map_update_elem(&sql_inflight, key, &fresh, BPF_ANY)) {
		count_drop(OT_DROP_INFLIGHT_FULL);
		return NULL;
	}
	return bpf_map_lookup_elem(&sql_inflight, key);
}

/* execDC and queryDC: the statement and the driverConn are arguments. */
static __always_inline int sql_start_dc(struct pt_regs *ctx, __u64 probe_vaddr, __u64 ctx_data,
					__u64 dc, struct go_string query)
{
	struct goroutine_key key = goroutine_of(ctx);
	struct sql_call *c = bpf_map_lookup_elem(&sql_inflight, &key);

	if (c && c->active && c->query.ptr == query.ptr)
		return 0; /* stack growth re-entered the prologue */
	if (!c && !(c = sql_entry(&key)))
		return 0;
	c->query = query;
	c->bias = REGS_IP(ctx) - probe_vaddr;
	c->conn_itab = 0;
	if (sql_cfg.dc_ci >= 0 && dc)
		c->conn_itab = link_addr(read_ptr(dc + sql_cfg.dc_ci), c->bias);
	sql_begin(c, key.pid, key.g, ctx_data);
	return 0;
}

OT_UPROBE(sql_exec_start)
{
	struct go_string query = { .ptr = GO_ARG6(ctx), .len = (__s64)GO_ARG7(ctx) };

	return sql_start_dc(ctx, sql_cfg.exec_vaddr, GO_ARG3(ctx), GO_ARG4(ctx), query);
}

OT_UPROBE(sql_query_start)
{
	struct go_string query = { .ptr = GO_ARG8(ctx), .len = (__s64)GO_ARG9(ctx) };

	return sql_start_dc(ctx, sql_cfg.query_vaddr, GO_ARG3(ctx), GO_ARG6(ctx), query);
}

/* (*Stmt).ExecContext and QueryContext: remember the statement. */
OT_UPROBE(sql_stmt_enter)
{
	struct goroutine_key key = goroutine_of(ctx);
	struct sql_call *c = sql_entry(&key);

	if (c)
		c->stmt = GO_ARG1(ctx);
	return 0;
}

/* resultFromStatement and rowsiFromStatement(ctx, ci, ds, args). */
static __always_inline int sql_start_stmt(struct pt_regs *ctx, __u64 probe_vaddr)
{
	struct goroutine_key key = goroutine_of(ctx);
	struct sql_call *c = bpf_map_lookup_elem(&sql_inflight, &key);
	struct go_string query = {};

	/* in progress: execDC/queryDC's fallback for drivers without ExecerContext */
	if (!c || c->active || !c->stmt)
		return 0;
	if (bpf_probe_read_user(&query, sizeof(query), (void *)(c->stmt + sql_cfg.stmt_query)))
		return 0;
	c->query = query;
	c->bias = REGS_IP(ctx) - probe_vaddr;
	c->conn_itab = link_addr(GO_ARG3(ctx), c->bias);
	sql_begin(c, key.pid, key.g, GO_ARG2(ctx));
	return 0;
}

OT_UPROBE(sql_stmt_exec_start)
{
	return sql_start_stmt(ctx, sql_cfg.stmt_exec_vaddr);
}

OT_UPROBE(sql_stmt_query_start)
{
	return sql_start_stmt(ctx, sql_cfg.stmt_query_vaddr);
}

/*
 * The record of call c, ended now, in size bytes of which the statement text
 * may take cap (OT_DB_REC_SIZE(cap)); err_tab: the error's itab.
 */
static __always_inline void sql_emit(struct goroutine_key *key, struct sql_call *c, __u64 err_tab,
				     __u32 size, __u32 cap)
{
	struct ot_db_rec *rec = bpf_ringbuf_reserve(&events, size, 0);

	if (!rec) {
		count_drop(OT_DROP_RINGBUF_FULL);
		return;
	}
	/* the text is copied over the buffer; only its first query_len bytes are read */
	__builtin_memset(rec, 0, __builtin_offsetof(struct ot_db_rec, query));
	rec->hdr.type = OT_REC_DB_CLIENT;
	rec->hdr.size = size;
	rec->pid = key->pid;
	rec->goroutine = key->g;
	rec->start_ns = c->start_ns;
	rec->end_ns = bpf_ktime_get_ns();
	rec->flags = c->flags;
	rec->conn_itab = c->conn_itab;
	if (err_tab) {
		rec->flags |= OT_DB_ERROR;
		rec->error_itab = link_addr(err_tab, c->bias);
	}
	rec->ids = c->ids;
	rec->query_len = read_go_string_at(rec->query, cap, c->query);
	submit(rec);
}

/* Ends the span in progress on this goroutine, if any; err_tab: the error's itab. */
static __always_inline int sql_end(struct pt_regs *ctx, __u64 err_tab)
{
	struct goroutine_key key = goroutine_of(ctx);
	struct sql_call *c = bpf_map_lookup_elem(&sql_inflight, &key);

	if (!c || !c->active)
		return 0; /* a release outside an operation (Rows.Close, Ping, ...) */
	c->active = 0;
	/* sized to the statement: the ring holds more of the common short ones */
	if (c->query.len <= OT_DB_QUERY_SHORT)
		sql_emit(&key, c, err_tab, OT_DB_REC_SIZE(OT_DB_QUERY_SHORT), OT_DB_QUERY_SHORT);
	else
		sql_emit(&key, c, err_tab, OT_DB_REC_SIZE(OT_DB_QUERY_CAP), OT_DB_QUERY_CAP);
	return 0;
}

/* (*DB).putConn(db, dc, err, resetSession) */
OT_UPROBE(sql_put_conn)
{
	return sql_end(ctx, GO_ARG3(ctx));
}

/* The release method values of Conn and Tx: (err) */
OT_UPROBE(sql_release)
{
	return sql_end(ctx, GO_ARG1(ctx));
}

/* (*Rows).initContextClose: the query succeeded. */
OT_UPROBE(sql_rows_ready)
{
	return sql_end(ctx, 0);
}

#endif
