/* SPDX-License-Identifier: MIT */
/* The database/sql wire record: one query or exec. */
#ifndef OTRACE_DATABASE_SQL_RECORD_H
#define OTRACE_DATABASE_SQL_RECORD_H

#include "records.h"

#define OT_REC_DB_CLIENT 3

#define OT_DB_QUERY_CAP 2048 /* statement text */
/*
 * A statement of at most this many bytes goes in a record cut short after
 * them (ot_db_rec_size): most are, and the ring buffer then holds five times
 * as many of them (the full record is 2.2 KB).
 */
#define OT_DB_QUERY_SHORT 256

enum ot_db_flag {
	OT_DB_ERROR = 1 << 0,	   /* the operation returned an error */
	OT_DB_HAS_PARENT = 1 << 1, /* ids.parent_span_id is set */
};

/*
 * One database/sql operation: a query or exec on a DB, Conn or Tx, or on a
 * prepared Stmt. The itab addresses are link-time addresses (the load bias
 * of a PIE is taken off in BPF), so user space can name them from .symtab.
 */
struct ot_db_rec {
	struct ot_rec_hdr hdr;
	__u32 pid;
	__u32 flags; /* enum ot_db_flag */
	__u64 goroutine;
	__u64 start_ns;
	__u64 end_ns;
	__u64 conn_itab;  /* itab of the driver.Conn: its type names the driver; 0 unknown */
	__u64 error_itab; /* itab of the returned error (its dynamic type); 0 none */
	__u32 query_len;  /* full length of the statement text */
	__u32 _pad;
	struct ot_span_ids ids;
	char query[OT_DB_QUERY_CAP]; /* last: a record may end after its first bytes */
};

/* Bytes of a record whose query buffer holds cap bytes (OT_DB_QUERY_SHORT or _CAP). */
#define OT_DB_REC_SIZE(cap) (__builtin_offsetof(struct ot_db_rec, query) + (cap))

#endif
