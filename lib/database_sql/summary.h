/* SPDX-License-Identifier: MIT */
/*
 * What a database span says about its statement and its database, derived in
 * user space: the operation and the table from the statement text, and
 * db.system.name from the Go package of the driver.
 */
#ifndef OTRACE_DATABASE_SQL_SUMMARY_H
#define OTRACE_DATABASE_SQL_SUMMARY_H

#include <stddef.h>

#include "gobin.h"

#define SQL_OPERATION_MAX 16

/*
 * The first keyword of a statement, upper-cased ("SELECT"; for a WITH query
 * the keyword of the statement after its common table expressions), and the
 * table when the statement names it plainly: SELECT ... FROM t, INSERT INTO t,
 * REPLACE INTO t, UPDATE t, DELETE FROM t, MERGE INTO t, CREATE/DROP/ALTER
 * TABLE t, TRUNCATE t. The table is kept as written (schema prefix, quotes).
 * This is no SQL parser: what it does not recognise yields no operation or no
 * table, never a wrong one.
 */
struct sql_summary {
	char operation[SQL_OPERATION_MAX]; /* "" when none */
	size_t operation_len;
	const char *collection; /* into the text; NULL when not plain */
	size_t collection_len;
};

void sql__summarize(const char *text, size_t len, struct sql_summary *out);

/*
 * db.system.name (semantic conventions) of a driver's Go package or module
 * path ("github.com/jackc/pgx/v5/stdlib" -> "postgresql"), NULL when unknown.
 * A vendored path ("app/vendor/github.com/lib/pq") counts as the original.
 */
const char *sql__system_of_package(const char *path, size_t len);
/* The same for a Go type name as in symbols: "*github.com/lib/pq.conn". */
const char *sql__system_of_type(const char *type, size_t len);

/*
 * The db.system.name of the driver modules gb links (its build info's module
 * list, else the packages of its functions), when they all speak to the same
 * kind of database; NULL when none or several kinds are linked.
 */
const char *sql__system_of_binary(const struct gobin *gb);

#endif
