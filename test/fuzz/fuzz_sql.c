// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: a database record whose statement text is arbitrary
 * bytes read from the target's memory, decoded into a span (statement
 * summary, span name, attributes, with --db-statement), and the same bytes
 * as a driver's type name.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "database_sql/record.h"
#include "span.h"
#include "database_sql/summary.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ot_db_rec rec;
	static struct span span;
	static struct span_assembler *sa;
	struct span_config cfg = { .db_statement = true };

	if (!sa && span_assembler__new(&sa))
		return 0;
	span_assembler__configure(sa, &cfg);
	memset(&rec, 0, sizeof(rec));
	rec.hdr.type = OT_REC_DB_CLIENT;
	rec.hdr.size = sizeof(rec);
	rec.flags = size & 1 ? OT_DB_ERROR : 0;
	/* the full length may exceed what was captured */
	rec.query_len = (uint32_t)size;
	memcpy(rec.query, data, size < OT_DB_QUERY_CAP ? size : OT_DB_QUERY_CAP);
	span_assembler__decode(sa, &rec, sizeof(rec), &span);
	sql__system_of_type((const char *)data, size);
	return 0;
}
