// SPDX-License-Identifier: MIT
#include <ctype.h>
#include <stdbool.h>
#include <string.h>

#include "pclntab.h"
#include "summary.h"

/* A cursor over the statement text. */
struct lex {
	const char *p, *end;
};

static bool word_char(char c)
{
	return isalnum((unsigned char)c) || c == '_' || c == '$';
}

static bool word_start(char c)
{
	return isalpha((unsigned char)c) || c == '_';
}

/* Skips a block comment at l->p; PostgreSQL nests them. */
static void skip_block_comment(struct lex *l)
{
	int depth = 0;

	while (l->p < l->end) {
		if (l->p + 1 < l->end && l->p[0] == '/' && l->p[1] == '*') {
			depth++;
			l->p += 2;
		} else if (l->p + 1 < l->end && l->p[0] == '*' && l->p[1] == '/') {
			l->p += 2;
			if (--depth == 0)
				return;
		} else {
			l->p++;
		}
	}
}

static void skip_space(struct lex *l)
{
	while (l->p < l->end) {
		if (isspace((unsigned char)*l->p)) {
			l->p++;
		} else if (l->p + 1 < l->end && l->p[0] == '-' && l->p[1] == '-') {
			while (l->p < l->end && *l->p != '\n')
				l->p++;
		} else if (l->p + 1 < l->end && l->p[0] == '/' && l->p[1] == '*') {
			skip_block_comment(l);
		} else {
			return;
		}
	}
}

/*
 * Skips a quoted token starting at l->p; a doubled quote is an escaped one.
 * Returns false when the text ends before the closing quote.
 */
static bool skip_quoted(struct lex *l, char close)
{
	for (l->p++; l->p < l->end; l->p++) {
		if (*l->p != close)
			continue;
		if (l->p + 1 < l->end && l->p[1] == close && close != ']') {
			l->p++;
			continue;
		}
		l->p++;
		return true;
	}
	return false;
}

/* PostgreSQL dollar quoting: $tag$ ... $tag$ (not a $1 placeholder). */
static bool skip_dollar_quoted(struct lex *l)
{
	const char *q = l->p + 1, *tag = l->p;
	size_t tag_len;

	while (q < l->end && (word_start(*q) || (q > l->p + 1 && isdigit((unsigned char)*q))))
		q++;
	if (q >= l->end || *q != '$')
		return false;
	tag_len = (size_t)(q - tag) + 1;
	for (q++; q + tag_len <= l->end; q++) {
		if (!memcmp(q, tag, tag_len)) {
			l->p = q + tag_len;
			return true;
		}
	}
	l->p = l->end;
	return true;
}

/*
 * Steps over one token or balanced parenthesised group; returns the token's
 * first character ('(' for a group), 0 at the end.
 */
static char skip_token(struct lex *l)
{
	char c;
	int depth = 0;

	skip_space(l);
	if (l->p >= l->end)
		return 0;
	c = *l->p;
	do {
		skip_space(l);
		if (l->p >= l->end)
			break;
		switch (*l->p) {
		case '\'':
		case '"':
		case '`':
			skip_quoted(l, *l->p);
			break;
		case '[':
			skip_quoted(l, ']');
			break;
		case '$':
			if (!skip_dollar_quoted(l))
				l->p++;
			break;
		case '(':
			depth++;
			l->p++;
			break;
		case ')':
			if (depth)
				depth--;
			l->p++;
			break;
		default:
			if (word_start(*l->p) || isdigit((unsigned char)*l->p)) {
				while (l->p < l->end && word_char(*l->p))
					l->p++;
			} else {
				l->p++;
			}
		}
	} while (depth > 0);
	return c;
}

/* Reads a bare word at l->p (after spaces); false when the next token is not one. */
static bool next_word(struct lex *l, const char **w, size_t *n)
{
	skip_space(l);
	if (l->p >= l->end || !word_start(*l->p))
		return false;
	*w = l->p;
	while (l->p < l->end && word_char(*l->p))
		l->p++;
	*n = (size_t)(l->p - *w);
	return true;
}

static bool is_kw(const char *w, size_t n, const char *kw)
{
	return strlen(kw) == n && !strncasecmp(w, kw, n);
}

/* Consumes the keyword kw if it comes next. */
static bool accept(struct lex *l, const char *kw)
{
	struct lex save = *l;
	const char *w;
	size_t n;

	if (next_word(l, &w, &n) && is_kw(w, n, kw))
		return true;
	*l = save;
	return false;
}

/* Reads a name: dot-separated parts, each a bare word or a quoted identifier. */
static bool read_name(struct lex *l, const char **name, size_t *len)
{
	const char *start;

	skip_space(l);
	start = l->p;
	for (;;) {
		if (l->p >= l->end)
			return false;
		if (*l->p == '"' || *l->p == '`') {
			if (!skip_quoted(l, *l->p))
				return false;
		} else if (*l->p == '[') {
			if (!skip_quoted(l, ']'))
				return false;
		} else if (word_start(*l->p)) {
			while (l->p < l->end && word_char(*l->p))
				l->p++;
		} else {
			return false;
		}
		if (l->p < l->end && *l->p == '.')
			l->p++;
		else
			break;
	}
	*name = start;
	*len = (size_t)(l->p - start);
	skip_space(l);
	return true;
}

/* Words that may stand where a table name is expected but are not one. */
static bool reserved(const char *w, size_t n)
{
	static const char *const words[] = { "SELECT", "LATERAL", "VALUES", "WHERE", "SET" };

	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (is_kw(w, n, words[i]))
			return true;
	return false;
}

/*
 * Takes the table name that comes next. After FROM, a name followed by '('
 * is a function (FROM generate_series(1, 3)), not a table.
 */
static void take_name(struct lex *l, struct sql_summary *out, bool after_from)
{
	const char *name;
	size_t len;

	if (!read_name(l, &name, &len) || reserved(name, len))
		return;
	if (!after_from || l->p >= l->end || *l->p != '(') {
		out->collection = name;
		out->collection_len = len;
	}
}

/* SELECT ... FROM t: the first FROM outside parentheses. */
static void select_collection(struct lex *l, struct sql_summary *out)
{
	for (;;) {
		const char *at;
		char c;

		skip_space(l);
		at = l->p;
		c = skip_token(l);
		if (!c || c == ';')
			return;
		if (word_start(c) && is_kw(at, (size_t)(l->p - at), "FROM")) {
			accept(l, "ONLY");
			take_name(l, out, true);
			return;
		}
	}
}

/* Skips SQLite's "OR REPLACE" and MySQL's modifiers before INTO or the table. */
static void skip_modifiers(struct lex *l)
{
	static const char *const mods[] = { "LOW_PRIORITY", "HIGH_PRIORITY", "DELAYED", "IGNORE",
					    "ONLY", "QUICK" };

	for (bool again = true; again;) {
		again = false;
		if (accept(l, "OR")) {
			const char *w;
			size_t n;

			next_word(l, &w, &n);
			again = true;
		}
		for (size_t i = 0; i < sizeof(mods) / sizeof(mods[0]); i++)
			if (accept(l, mods[i]))
				again = true;
	}
}

/* CREATE [TEMP ...] TABLE [IF NOT EXISTS] t, DROP TABLE [IF EXISTS] t, ... */
static void table_statement(struct lex *l, struct sql_summary *out, bool create)
{
	static const char *const create_mods[] = { "GLOBAL", "LOCAL", "TEMP", "TEMPORARY",
						   "UNLOGGED" };

	if (create)
		for (size_t i = 0; i < sizeof(create_mods) / sizeof(create_mods[0]); i++)
			accept(l, create_mods[i]);
	if (!accept(l, "TABLE"))
		return;
	if (accept(l, "IF")) {
		accept(l, "NOT");
		if (!accept(l, "EXISTS"))
			return;
	}
	accept(l, "ONLY");
	take_name(l, out, false);
}

/* WITH [RECURSIVE] name [(cols)] AS [[NOT] MATERIALIZED] (...) [, ...]: the statement after. */
static bool skip_ctes(struct lex *l)
{
	const char *name;
	size_t len;

	accept(l, "RECURSIVE");
	for (;;) {
		if (!read_name(l, &name, &len))
			return false;
		if (l->p < l->end && *l->p == '(')
			skip_token(l); /* the column list */
		if (!accept(l, "AS"))
			return false;
		accept(l, "NOT");
		accept(l, "MATERIALIZED");
		skip_space(l);
		if (l->p >= l->end || *l->p != '(')
			return false;
		skip_token(l);
		skip_space(l);
		if (l->p >= l->end || *l->p != ',')
			return true;
		l->p++;
	}
}

static const char *const statements[] = {
	"ALTER",     "ANALYZE",	 "ATTACH",   "BEGIN",	   "CALL",     "CHECKPOINT", "CLOSE",
	"CLUSTER",   "COMMENT",	 "COMMIT",   "COPY",	   "CREATE",   "DEALLOCATE", "DECLARE",
	"DELETE",    "DESCRIBE", "DETACH",   "DISCARD",	   "DO",       "DROP",	     "EXEC",
	"EXECUTE",   "EXPLAIN",	 "FETCH",    "GRANT",	   "INSERT",   "LISTEN",     "LOAD",
	"LOCK",	     "MERGE",	 "MOVE",     "NOTIFY",	   "PRAGMA",   "PREPARE",    "REFRESH",
	"REINDEX",   "RELEASE",	 "RENAME",   "REPLACE",	   "RESET",    "REVOKE",     "ROLLBACK",
	"SAVEPOINT", "SELECT",	 "SET",	     "SHOW",	   "START",    "TABLE",	     "TRUNCATE",
	"UNLISTEN",  "UNLOCK",	 "UPDATE",   "UPSERT",	   "USE",      "VACUUM",     "VALUES",
};

static bool known_statement(const char *w, size_t n)
{
	for (size_t i = 0; i < sizeof(statements) / sizeof(statements[0]); i++)
		if (is_kw(w, n, statements[i]))
			return true;
	return false;
}

static void set_operation(struct sql_summary *out, const char *w, size_t n)
{
	for (size_t i = 0; i < n; i++)
		out->operation[i] = (char)toupper((unsigned char)w[i]);
	out->operation[n] = '\0';
	out->operation_len = n;
}

void sql__summarize(const char *text, size_t len, struct sql_summary *out)
{
	struct lex l = { .p = text, .end = text + len };
	const char *w;
	size_t n;

	memset(out, 0, sizeof(*out));
	for (skip_space(&l); l.p < l.end && *l.p == '('; skip_space(&l))
		l.p++; /* (SELECT ...) UNION ... */
	if (!next_word(&l, &w, &n))
		return;
	if (is_kw(w, n, "WITH") && (!skip_ctes(&l) || !next_word(&l, &w, &n)))
		return;
	if (!known_statement(w, n))
		return;
	set_operation(out, w, n);
	if (is_kw(w, n, "SELECT")) {
		select_collection(&l, out);
	} else if (is_kw(w, n, "INSERT") || is_kw(w, n, "REPLACE") || is_kw(w, n, "MERGE")) {
		skip_modifiers(&l);
		if (accept(&l, "INTO"))
			take_name(&l, out, false);
	} else if (is_kw(w, n, "UPDATE")) {
		skip_modifiers(&l);
		take_name(&l, out, false);
	} else if (is_kw(w, n, "DELETE")) {
		skip_modifiers(&l);
		if (accept(&l, "FROM")) {
			accept(&l, "ONLY");
			take_name(&l, out, true);
		}
	} else if (is_kw(w, n, "CREATE") || is_kw(w, n, "DROP") || is_kw(w, n, "ALTER")) {
		table_statement(&l, out, is_kw(w, n, "CREATE"));
	} else if (is_kw(w, n, "TRUNCATE")) {
		accept(&l, "TABLE");
		accept(&l, "ONLY");
		take_name(&l, out, false);
	}
}

/* Driver modules and the database each speaks to (semantic conventions values). */
static const struct {
	const char *module;
	const char *system;
} drivers[] = {
	{ "github.com/jackc/pgx", "postgresql" },
	{ "github.com/lib/pq", "postgresql" },
	{ "modernc.org/sqlite", "sqlite" },
	{ "github.com/glebarez/go-sqlite", "sqlite" },
	{ "github.com/mattn/go-sqlite3", "sqlite" },
	{ "github.com/ncruces/go-sqlite3", "sqlite" },
	{ "github.com/go-sql-driver/mysql", "mysql" },
	{ "github.com/microsoft/go-mssqldb", "microsoft.sql_server" },
	{ "github.com/denisenkom/go-mssqldb", "microsoft.sql_server" },
	{ "github.com/sijms/go-ora", "oracle.db" },
	{ "github.com/godror/godror", "oracle.db" },
	{ "github.com/ClickHouse/clickhouse-go", "clickhouse" },
	{ "github.com/trinodb/trino-go-client", "trino" },
	{ "github.com/googleapis/go-sql-spanner", "gcp.spanner" },
	{ "github.com/SAP/go-hdb", "sap.hana" },
	{ "github.com/nakagami/firebirdsql", "firebirdsql" },
	{ "github.com/ibmdb/go_ibm_db", "ibm.db2" },
};

/* "a/vendor/b/c" and "vendor/b/c" -> "b/c"; nested: after the last marker */
static void devendor(const char **path, size_t *len)
{
	const char *p = *path, *end = p + *len;

	for (const char *s = p; s + 7 <= end; s++) {
		if ((s == p || s[-1] == '/') && !memcmp(s, "vendor/", 7)) {
			*path = s + 7;
			*len = (size_t)(end - *path);
		}
	}
}

const char *sql__system_of_package(const char *path, size_t len)
{
	devendor(&path, &len);
	for (size_t i = 0; i < sizeof(drivers) / sizeof(drivers[0]); i++) {
		size_t m = strlen(drivers[i].module);

		/* the module itself or a package in it (pgx/v5/stdlib), not pgxpool-like names */
		if (len >= m && !memcmp(path, drivers[i].module, m) && (len == m || path[m] == '/'))
			return drivers[i].system;
	}
	return NULL;
}

const char *sql__system_of_type(const char *type, size_t len)
{
	const char *end, *slash, *dot;

	while (len && *type == '*') {
		type++;
		len--;
	}
	end = memchr(type, '[', len); /* type arguments follow the name */
	if (!end)
		end = type + len;
	slash = type;
	for (const char *s = type; s < end; s++)
		if (*s == '/')
			slash = s;
	dot = memchr(slash, '.', (size_t)(end - slash));
	return dot ? sql__system_of_package(type, (size_t)(dot - type)) : NULL;
}

/* The one database kind seen so far; conflict: two different ones. */
struct systems_seen {
	const char *found;
	bool conflict;
};

static int see_system(struct systems_seen *seen, const char *system)
{
	if (system && seen->found && strcmp(system, seen->found))
		seen->conflict = true;
	else if (system)
		seen->found = system;
	return seen->conflict;
}

/* A function's package: "github.com/lib/pq" of "github.com/lib/pq.(*conn).Query". */
static int see_function(void *ctx, const char *name)
{
	const char *slash = strrchr(name, '/');
	const char *dot = strchr(slash ? slash : name, '.');

	if (!slash || !dot)
		return 0; /* standard library packages have no driver */
	return see_system(ctx, sql__system_of_package(name, (size_t)(dot - name)));
}

const char *sql__system_of_binary(const struct gobin *gb)
{
	struct systems_seen seen = { NULL };
	const struct pclntab *p;

	/* a replaced module keeps its path: its packages are imported by it */
	for (size_t i = 0; i < gobin__module_count(gb) && !seen.conflict; i++) {
		const char *path = gobin__module(gb, i)->path;

		see_system(&seen, sql__system_of_package(path, strlen(path)));
	}
	/* built without module information (Debian, GOPATH mode): the driver's functions */
	if (!gobin__module_count(gb) && (p = gobin__pclntab(gb)))
		pclntab__for_each_func(p, see_function, &seen);
	return seen.conflict ? NULL : seen.found;
}
