/* SPDX-License-Identifier: MIT */
/* What the database/sql library's files share. */
#ifndef OTRACE_DATABASE_SQL_H
#define OTRACE_DATABASE_SQL_H

#include "span.h"

struct library;
extern const struct library lib_database_sql;

/* What the plan leaves for the decoder (lib_state.data). */
struct sql_binary {
	/* db.system.name when the driver's type is not a known driver; NULL: other_sql */
	const char *db_system;
};

/* OT_REC_DB_CLIENT -> a CLIENT span. */
int database_sql__decode(const struct span_decoding *d, const void *rec, size_t size,
			 struct span *s);

#endif
