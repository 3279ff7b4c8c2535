// SPDX-License-Identifier: MIT
/* database/sql records to CLIENT spans (database semantic conventions). */
#include <errno.h>
#include <string.h>

#include "database_sql.h"
#include "database_sql/record.h"
#include "itabs.h"
#include "semconv.h"
#include "summary.h"

/* db.system.name from the type of the connection's driver.Conn. */
static const char *db_system(const struct span_decoding *d, uint32_t pid, uint64_t conn_itab)
{
	const struct sql_binary *b = span__library_data(d, pid);
	size_t len;
	const char *type = itab_names__type(span__binary(d, pid)->itabs, conn_itab, &len);
	const char *system = type ? sql__system_of_type(type, len) : NULL;

	if (system)
		return system;
	return b && b->db_system ? b->db_system : "other_sql";
}

/* semconv: "{db.operation.name} {db.collection.name}", else the operation, else the system. */
static void set_db_name(struct span *s, const struct sql_summary *sum, const char *system)
{
	size_t cap = sizeof(s->name);

	if (!sum->operation_len) {
		span__set_name(s, system, strlen(system), NULL, 0);
		return;
	}
	if (sum->collection && sum->operation_len + 1 + sum->collection_len <= cap)
		span__set_name(s, sum->operation, sum->operation_len, sum->collection,
			 sum->collection_len);
	else
		span__set_name(s, sum->operation, sum->operation_len, NULL, 0);
}

int database_sql__decode(const struct span_decoding *d, const void *rec, size_t size,
			 struct span *s)
{
	const struct ot_db_rec *r;
	const char *system;
	struct sql_summary sum;
	size_t qlen, cap;

	/* a short statement's record ends after OT_DB_QUERY_SHORT bytes of it */
	if (size != OT_DB_REC_SIZE(OT_DB_QUERY_SHORT) && size != OT_DB_REC_SIZE(OT_DB_QUERY_CAP))
		return -EINVAL;
	if (!(r = span__read_record(s, rec, size)))
		return -EINVAL;
	cap = size - offsetof(struct ot_db_rec, query);
	qlen = span__captured(r->query_len, cap);
	system = db_system(d, r->pid, r->conn_itab);
	span__set_identity(d, s, SPAN_KIND_CLIENT, r->pid, r->start_ns, r->end_ns, &r->ids,
		     r->flags & OT_DB_HAS_PARENT);

	sql__summarize(r->query, qlen, &sum);
	span__add_string(s, "db.system.name", system, strlen(system));
	if (sum.operation_len) {
		const char *op = span__keep(s, sum.operation, sum.operation_len);

		if (op)
			span__add_string(s, "db.operation.name", op, sum.operation_len);
	}
	if (sum.collection)
		span__add_string(s, "db.collection.name", sum.collection, sum.collection_len);
	if (span__config(d)->db_statement)
		span__add_captured_text(s, "db.query.text", r->query, cap, r->query_len);
	if (r->flags & OT_DB_ERROR) {
		s->status = STATUS_ERROR;
		semconv__add_error_type(d, s, r->pid, r->error_itab);
	}
	set_db_name(s, &sum, system);
	return 0;
}
