// SPDX-License-Identifier: MIT
#include "summary.h"
#include "unittest.h"

/* Checks the summary of text: operation want_op ("" none), table want_coll (NULL none). */
static void expect(const char *text, const char *want_op, const char *want_coll, int line)
{
	struct sql_summary s;
	char coll[256] = "(none)";

	sql__summarize(text, strlen(text), &s);
	if (s.collection)
		snprintf(coll, sizeof(coll), "%.*s", (int)s.collection_len, s.collection);
	if (strcmp(s.operation, want_op) || s.operation_len != strlen(want_op) ||
	    strcmp(coll, want_coll ? want_coll : "(none)")) {
		ut_failed++;
		fprintf(stderr, "%s:%d: \"%s\": got op \"%s\" table %s, want \"%s\" %s\n", __FILE__,
			line, text, s.operation, coll, want_op, want_coll ? want_coll : "(none)");
		return;
	}
	ut_passed++;
}

#define EXPECT(text, op, coll) expect(text, op, coll, __LINE__)

static void test_simple(void)
{
	EXPECT("SELECT id, name FROM items WHERE id = $1", "SELECT", "items");
	EXPECT("INSERT INTO items (name, qty) VALUES ($1, $2)", "INSERT", "items");
	EXPECT("UPDATE items SET qty = qty + 1 WHERE name = ?", "UPDATE", "items");
	EXPECT("DELETE FROM items WHERE name = ?", "DELETE", "items");
	EXPECT("SELECT 1", "SELECT", NULL);
	EXPECT("SELECT count(*) FROM items", "SELECT", "items");
	EXPECT("REPLACE INTO kv VALUES (1, 2)", "REPLACE", "kv");
	EXPECT("INSERT OR REPLACE INTO kv(k, v) VALUES (1, 2)", "INSERT", "kv");
	EXPECT("INSERT IGNORE INTO kv VALUES (1)", "INSERT", "kv");
	EXPECT("MERGE INTO target t USING src s ON t.id = s.id WHEN MATCHED THEN DELETE", "MERGE",
	       "target");
	EXPECT("UPDATE ONLY items SET qty = 0", "UPDATE", "items");
	EXPECT("DELETE FROM ONLY items", "DELETE", "items");
	EXPECT("SELECT * FROM ONLY items", "SELECT", "items");
	EXPECT("TRUNCATE TABLE items", "TRUNCATE", "items");
	EXPECT("TRUNCATE items", "TRUNCATE", "items");
	EXPECT("CREATE TABLE IF NOT EXISTS items (id INTEGER PRIMARY KEY)", "CREATE", "items");
	EXPECT("CREATE TEMPORARY TABLE scratch (x int)", "CREATE", "scratch");
	EXPECT("DROP TABLE IF EXISTS items", "DROP", "items");
	EXPECT("ALTER TABLE items ADD COLUMN note text", "ALTER", "items");
	EXPECT("CREATE INDEX items_name ON items (name)", "CREATE", NULL);
	EXPECT("BEGIN", "BEGIN", NULL);
	EXPECT("COMMIT", "COMMIT", NULL);
	EXPECT("PRAGMA journal_mode = WAL", "PRAGMA", NULL);
	EXPECT("SET search_path TO app", "SET", NULL);
}

static void test_case_and_space(void)
{
	EXPECT("select * from Items", "SELECT", "Items");
	EXPECT("  \n\tInsert   Into   items values (1)", "INSERT", "items");
	EXPECT("delete from items", "DELETE", "items");
	EXPECT("SELECT a\nFROM\n  items\nWHERE b", "SELECT", "items");
	EXPECT("SELECT * FROM items;", "SELECT", "items");
}

static void test_comments(void)
{
	EXPECT("-- list\nSELECT * FROM items", "SELECT", "items");
	EXPECT("/* app=svc */ SELECT * FROM items", "SELECT", "items");
	EXPECT("/* outer /* nested */ still comment */ UPDATE items SET a = 1", "UPDATE", "items");
	EXPECT("SELECT * /* FROM nope */ FROM items -- FROM neither", "SELECT", "items");
	EXPECT("SELECT 'FROM x' AS s, \"from\" FROM items", "SELECT", "items");
	EXPECT("INSERT INTO items VALUES (1) /* tag */", "INSERT", "items");
	EXPECT("/* unterminated SELECT * FROM items", "", NULL);
	EXPECT("-- only a comment", "", NULL);
}

static void test_quoted_and_qualified(void)
{
	EXPECT("SELECT * FROM public.items", "SELECT", "public.items");
	EXPECT("SELECT * FROM \"My Items\" WHERE 1", "SELECT", "\"My Items\"");
	EXPECT("SELECT * FROM \"public\".\"Items\"", "SELECT", "\"public\".\"Items\"");
	EXPECT("SELECT * FROM \"we\"\"ird\"", "SELECT", "\"we\"\"ird\"");
	EXPECT("SELECT * FROM `db`.`items`", "SELECT", "`db`.`items`");
	EXPECT("SELECT * FROM [dbo].[Items]", "SELECT", "[dbo].[Items]");
	EXPECT("INSERT INTO \"Items\" (a) VALUES (1)", "INSERT", "\"Items\"");
}

static void test_subqueries_and_ctes(void)
{
	/* the statement's own FROM, not one inside parentheses */
	EXPECT("SELECT (SELECT max(id) FROM other) AS m FROM items", "SELECT", "items");
	EXPECT("SELECT extract(year FROM created) FROM items", "SELECT", "items");
	EXPECT("SELECT * FROM (SELECT * FROM items) sub", "SELECT", NULL);
	EXPECT("SELECT * FROM generate_series(1, 3)", "SELECT", NULL);
	EXPECT("SELECT * FROM LATERAL f(x)", "SELECT", NULL);
	EXPECT("SELECT a FROM items JOIN other ON items.id = other.id", "SELECT", "items");
	EXPECT("(SELECT a FROM x) UNION (SELECT a FROM y)", "SELECT", "x");
	EXPECT("WITH recent AS (SELECT * FROM items WHERE id > 10) SELECT * FROM recent", "SELECT",
	       "recent");
	EXPECT("WITH RECURSIVE t(n) AS (VALUES (1) UNION ALL SELECT n + 1 FROM t WHERE n < 5), "
	       "u AS MATERIALIZED (SELECT 1) SELECT sum(n) FROM t",
	       "SELECT", "t");
	EXPECT("with moved as (delete from items returning *) insert into archive select * from moved",
	       "INSERT", "archive");
	EXPECT("WITH x AS (SELECT ')' AS p) UPDATE items SET a = 1", "UPDATE", "items");
	EXPECT("WITH broken AS SELECT 1", "", NULL);
	EXPECT("WITH", "", NULL);
	/* a statement ends at ';' */
	EXPECT("SELECT 1; SELECT * FROM items", "SELECT", NULL);
	/* dollar quoting and placeholders */
	EXPECT("SELECT $$ FROM x $$ FROM items", "SELECT", "items");
	EXPECT("SELECT $tag$ ) FROM x $tag$ FROM items WHERE a = $1", "SELECT", "items");
}

static void test_garbage(void)
{
	EXPECT("", "", NULL);
	EXPECT("   ", "", NULL);
	EXPECT("hello world", "", NULL);
	EXPECT("SELEC 1", "", NULL);
	EXPECT("42", "", NULL);
	EXPECT("'SELECT'", "", NULL);
	EXPECT("SELECT * FROM", "SELECT", NULL);
	EXPECT("SELECT * FROM 'items'", "SELECT", NULL);
	EXPECT("INSERT INTO", "INSERT", NULL);
	EXPECT("INSERT items VALUES (1)", "INSERT", NULL);
	EXPECT("UPDATE SET a = 1", "UPDATE", NULL);
	EXPECT("SELECT * FROM \"unterminated", "SELECT", NULL);
	EXPECT("((((", "", NULL);
	EXPECT("SELECT ((((( FROM items", "SELECT", NULL);
	EXPECT("SELECT * FROM items.", "SELECT", NULL);
	EXPECT("SELECTED * FROM items", "", NULL);

	/* the text is not NUL-terminated: never read past len */
	{
		static const char buf[] = "SELECT * FROM itemsXYZ";
		struct sql_summary s;

		sql__summarize(buf, sizeof(buf) - 1 - 3, &s);
		CHECK(s.collection && s.collection_len == 5 && !memcmp(s.collection, "items", 5));
		sql__summarize(buf, 3, &s);
		CHECK(s.operation_len == 0);
	}
	/* a keyword longer than the operation buffer is not one we know */
	EXPECT("SELECTSELECTSELECTSELECT 1", "", NULL);
}

static void test_systems(void)
{
	CHECK_STR(sql__system_of_type("*github.com/jackc/pgx/v5/stdlib.Conn", 36), "postgresql");
	CHECK_STR(sql__system_of_type("*github.com/lib/pq.conn", 23), "postgresql");
	CHECK_STR(sql__system_of_type("*modernc.org/sqlite.conn", 24), "sqlite");
	CHECK_STR(sql__system_of_type("*github.com/mattn/go-sqlite3.SQLiteConn", 39), "sqlite");
	CHECK_STR(sql__system_of_type("*github.com/go-sql-driver/mysql.mysqlConn", 41), "mysql");
	CHECK_STR(sql__system_of_type("*app/vendor/github.com/lib/pq.conn", 34), "postgresql");
	CHECK(sql__system_of_type("*github.com/x/y.G[github.com/lib/pq.conn]", 41) == NULL);
	CHECK(sql__system_of_type("*github.com/jackc/pgxpool.Conn", 30) == NULL);
	CHECK(sql__system_of_type("main.fakeConn", 13) == NULL);
	CHECK(sql__system_of_type("", 0) == NULL);
	CHECK(sql__system_of_type("*", 1) == NULL);
	CHECK_STR(sql__system_of_package("github.com/jackc/pgx/v5", 23), "postgresql");
	CHECK(sql__system_of_package("github.com/jackc/pgx-zap", 24) == NULL);
}

int main(void)
{
	test_simple();
	test_case_and_space();
	test_comments();
	test_quoted_and_qualified();
	test_subqueries_and_ctes();
	test_garbage();
	test_systems();
	return ut_summary();
}
