// SPDX-License-Identifier: MIT
#include <errno.h>

#include "database_sql.h"
#include "database_sql/record.h"
#include "itabs.h"
#include "library.h"
#include "fake_records.h"
#include "spantest.h"
#include "unittest.h"

/* database/sql records, decoded. */

/* A query on a pgx connection (itab addresses as in test_span.c). */
static void db_record(struct ot_db_rec *r)
{
	memset(r, 0, sizeof(*r));
	fake_ids(&r->ids);
	r->hdr.type = OT_REC_DB_CLIENT;
	r->hdr.size = sizeof(*r);
	r->pid = 4242;
	r->start_ns = 1000000000ull;
	r->end_ns = 1000300000ull;
	r->conn_itab = 0x500100;
	SET_STR(r, query, "SELECT id, name FROM items WHERE name = $1");
}

/* The itabs db_record and the cases below point at. */
static const uint64_t itab_addrs[] = { 0x500100, 0x500200, 0x500300, 0x500400 };
static const char *const itab_syms[] = {
	"go:itab.*github.com/jackc/pgx/v5/stdlib.Conn,database/sql/driver.Conn",
	"go:itab.*github.com/jackc/pgx/v5/pgconn.PgError,error",
	"go.itab.main.fakeConn,database/sql/driver.Conn", /* Go <= 1.19 spelling */
	"runtime.main",					  /* not an itab */
};

/* A plan whose database/sql state names db_system (what the plan reads from the modules). */
static const struct plan *plan_with_db_system(struct plan *plan, const char *db_system)
{
	struct lib_state *state = &plan->libs[library__index(&lib_database_sql)];

	LIB_STATE_AS(struct sql_binary, state->data)->db_system = db_system;
	return plan;
}

static const struct span_binary *mysql_for_777(void *ctx, uint32_t pid)
{
	static struct plan plan;
	static struct span_binary mysql;

	(void)ctx;
	mysql.plan = plan_with_db_system(&plan, "mysql");
	return pid == 777 ? &mysql : NULL;
}

static void test_db(struct span_assembler *sa)
{
	static struct plan sqlite;
	struct span_config cfg = { 0 };
	struct itab_names *itabs;
	struct ot_db_rec r;
	struct span s;

	CHECK(itab_names__from_symbols(itab_addrs, itab_syms, 4, &itabs) == 0);
	CHECK(itab_names__count(itabs) == 3);
	cfg.binary.itabs = itabs;
	span_assembler__configure(sa, &cfg);

	/* a query on a pgx connection, made while serving a request */
	db_record(&r);
	r.ids.parent_span_id[0] = 9;
	r.flags = OT_DB_HAS_PARENT;
	CHECK(decode_from_ring(sa, &r, sizeof(r), &s) == 0);
	CHECK(s.kind == SPAN_KIND_CLIENT && s.status == STATUS_UNSET);
	CHECK(s.has_parent && s.parent_span_id[0] == 9);
	CHECK(s.end_unix_ns - s.start_unix_ns == 300000);
	CHECK(name_is(&s, "SELECT items"));
	CHECK(str_is(&s, "db.system.name", "postgresql"));
	CHECK(str_is(&s, "db.operation.name", "SELECT"));
	CHECK(str_is(&s, "db.collection.name", "items"));
	CHECK(!find(&s, "db.query.text")); /* only with --db-statement */
	CHECK(!find(&s, "error.type"));

	/* --db-statement: the text, as captured */
	cfg.db_statement = true;
	span_assembler__configure(sa, &cfg);
	CHECK(decode_from_ring(sa, &r, sizeof(r), &s) == 0);
	CHECK(str_is(&s, "db.query.text", "SELECT id, name FROM items WHERE name = $1"));
	CHECK(!find(&s, "db.query.text")->truncated);
	/* longer than the capture, on several lines */
	memset(r.query, 'x', sizeof(r.query));
	memcpy(r.query, "SELECT\n\tid\r\nFROM t WHERE v IN (", 31);
	r.query_len = OT_DB_QUERY_CAP + 100;
	CHECK(decode_from_ring(sa, &r, sizeof(r), &s) == 0);
	CHECK(find(&s, "db.query.text") && find(&s, "db.query.text")->len == OT_DB_QUERY_CAP &&
	      find(&s, "db.query.text")->truncated);
	/* bytes past a shorter statement (NUL) are no text: left out, counted */
	r.query[40] = 0;
	CHECK(decode_from_ring(sa, &r, sizeof(r), &s) == 0);
	CHECK(!find(&s, "db.query.text") && s.invalid == 1);
	SET_STR(&r, query, "SELECT id, name FROM items WHERE name = $1");
	cfg.db_statement = false;
	span_assembler__configure(sa, &cfg);

	/* an error whose type the binary names */
	db_record(&r);
	SET_STR(&r, query, "insert into items values (1)");
	r.flags = OT_DB_ERROR;
	r.error_itab = 0x500200;
	CHECK(decode_from_ring(sa, &r, sizeof(r), &s) == 0);
	CHECK(s.status == STATUS_ERROR && !s.has_parent);
	CHECK(str_is(&s, "error.type", "*github.com/jackc/pgx/v5/pgconn.PgError"));
	CHECK(str_is(&s, "db.operation.name", "INSERT") && name_is(&s, "INSERT items"));

	/* ... and one it does not: _OTHER */
	r.error_itab = 0x500208;
	CHECK(decode_from_ring(sa, &r, sizeof(r), &s) == 0);
	CHECK(s.status == STATUS_ERROR && str_is(&s, "error.type", "_OTHER"));

	/* text without a known operation: the span is named after the system */
	db_record(&r);
	SET_STR(&r, query, "SELEC 1");
	CHECK(decode_from_ring(sa, &r, sizeof(r), &s) == 0);
	CHECK(name_is(&s, "postgresql"));
	CHECK(!find(&s, "db.operation.name") && !find(&s, "db.collection.name"));

	/* an operation without a plain table: named by the operation */
	SET_STR(&r, query, "SELECT now()");
	CHECK(decode_from_ring(sa, &r, sizeof(r), &s) == 0);
	CHECK(name_is(&s, "SELECT") && !find(&s, "db.collection.name"));

	/* a table name too long for the span name: the attribute keeps it */
	{
		char q[300] = "DELETE FROM ";

		memset(q + strlen(q), 't', 200);
		memcpy(r.query, q, sizeof(q));
		r.query_len = (__u32)strlen(q);
		CHECK(decode_from_ring(sa, &r, sizeof(r), &s) == 0);
		CHECK(name_is(&s, "DELETE") && find(&s, "db.collection.name")->len == 200);
	}

	/* a driver otrace does not know: the linked driver modules decide, else other_sql */
	db_record(&r);
	r.conn_itab = 0x500300;
	CHECK(decode_from_ring(sa, &r, sizeof(r), &s) == 0);
	CHECK(str_is(&s, "db.system.name", "other_sql"));
	cfg.binary.plan = plan_with_db_system(&sqlite, "sqlite");
	span_assembler__configure(sa, &cfg);
	CHECK(decode_from_ring(sa, &r, sizeof(r), &s) == 0);
	CHECK(str_is(&s, "db.system.name", "sqlite"));
	r.conn_itab = 0; /* driverConn.ci unknown */
	SET_STR(&r, query, "");
	CHECK(decode_from_ring(sa, &r, sizeof(r), &s) == 0);
	CHECK(str_is(&s, "db.system.name", "sqlite") && name_is(&s, "sqlite"));

	/* several binaries: each process's own decides */
	cfg.binary_of = mysql_for_777;
	span_assembler__configure(sa, &cfg);
	db_record(&r);
	r.conn_itab = 0;
	CHECK(decode_from_ring(sa, &r, sizeof(r), &s) == 0);
	CHECK(str_is(&s, "db.system.name", "sqlite")); /* pid 4242: the default binary */
	r.pid = 777;
	CHECK(decode_from_ring(sa, &r, sizeof(r), &s) == 0);
	CHECK(str_is(&s, "db.system.name", "mysql"));

	/* no itab names at all (stripped binary) */
	cfg = (struct span_config){ 0 };
	span_assembler__configure(sa, &cfg);
	db_record(&r);
	r.flags = OT_DB_ERROR;
	r.error_itab = 0x500200;
	CHECK(decode_from_ring(sa, &r, sizeof(r), &s) == 0);
	CHECK(str_is(&s, "db.system.name", "other_sql") && str_is(&s, "error.type", "_OTHER"));

	/*
	 * a short statement's record, cut after OT_DB_QUERY_SHORT bytes of it:
	 * decoded from those bytes alone (decode_from_ring copies no more)
	 */
	db_record(&r);
	r.hdr.size = OT_DB_REC_SIZE(OT_DB_QUERY_SHORT);
	cfg.db_statement = true;
	span_assembler__configure(sa, &cfg);
	CHECK(decode_from_ring(sa, &r, OT_DB_REC_SIZE(OT_DB_QUERY_SHORT), &s) == 0);
	CHECK(str_is(&s, "db.query.text", "SELECT id, name FROM items WHERE name = $1"));
	CHECK(str_is(&s, "db.operation.name", "SELECT") && str_is(&s, "db.collection.name", "items"));
	/* one claiming a longer text than it holds: what it holds, marked cut */
	memset(r.query, 'y', OT_DB_QUERY_SHORT);
	memcpy(r.query, "SELECT a FROM b WHERE c = '", 27);
	r.query_len = OT_DB_QUERY_SHORT + 1;
	CHECK(decode_from_ring(sa, &r, OT_DB_REC_SIZE(OT_DB_QUERY_SHORT), &s) == 0);
	CHECK(find(&s, "db.query.text") && find(&s, "db.query.text")->len == OT_DB_QUERY_SHORT &&
	      find(&s, "db.query.text")->truncated);
	/* a size between the two is neither */
	r.hdr.size = OT_DB_REC_SIZE(OT_DB_QUERY_SHORT) + 8;
	CHECK(decode_from_ring(sa, &r, OT_DB_REC_SIZE(OT_DB_QUERY_SHORT) + 8, &s) == -EINVAL);
	cfg.db_statement = false;
	span_assembler__configure(sa, &cfg);
	db_record(&r);

	/* a record shorter than its type's */
	CHECK(decode_from_ring(sa, &r, sizeof(r) - 1, &s) == -EINVAL);
	r.hdr.size = sizeof(r) - 8; /* a header claiming less than the record */
	CHECK(decode_from_ring(sa, &r, sizeof(r), &s) == -EINVAL);
	itab_names__free(itabs);
}

int main(void)
{
	struct span_assembler *sa;

	CHECK(span_assembler__new(&sa) == 0);
	test_db(sa);
	span_assembler__free(sa);
	return ut_summary();
}
