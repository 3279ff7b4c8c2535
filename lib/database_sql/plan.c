// SPDX-License-Identifier: MIT
/*
 * database/sql's probe plan (see probe.bpf.h for what each probe does).
 * Every probe is on a function entry's stack-check branch. Only functions the
 * binary links are probed: the linker drops what the program never calls
 * (a program without transactions has no (*Tx) release function).
 */
#include <string.h>

#include "database_sql.h"
#include "database_sql/config.h"
#include "database_sql/record.h"
#include "library.h"
#include "log.h"
#include "plan_internal.h"
#include "summary.h"

enum sql_func {
	/* starts */
	S_EXEC_DC,
	S_QUERY_DC,
	S_STMT_EXEC_START, /* resultFromStatement */
	S_STMT_QUERY_START, /* rowsiFromStatement */
	/* prepared statements: note the Stmt */
	S_STMT_EXEC,
	S_STMT_QUERY,
	/* ends */
	S_PUT_CONN,
	S_CONN_RELEASE,
	S_TX_RELEASE,
	S_ROWS_READY,
	S_MAX,
};

static const struct {
	const char *symbol;
	const char *program;
} sql_probes[S_MAX] = {
	[S_EXEC_DC] = { "database/sql.(*DB).execDC", "sql_exec_start" },
	[S_QUERY_DC] = { "database/sql.(*DB).queryDC", "sql_query_start" },
	[S_STMT_EXEC_START] = { "database/sql.resultFromStatement", "sql_stmt_exec_start" },
	[S_STMT_QUERY_START] = { "database/sql.rowsiFromStatement", "sql_stmt_query_start" },
	[S_STMT_EXEC] = { "database/sql.(*Stmt).ExecContext", "sql_stmt_enter" },
	[S_STMT_QUERY] = { "database/sql.(*Stmt).QueryContext", "sql_stmt_enter" },
	[S_PUT_CONN] = { "database/sql.(*DB).putConn", "sql_put_conn" },
	[S_CONN_RELEASE] = { "database/sql.(*Conn).closemuRUnlockCondReleaseConn-fm",
			     "sql_release" },
	[S_TX_RELEASE] = { "database/sql.(*Tx).closemuRUnlockRelease-fm", "sql_release" },
	[S_ROWS_READY] = { "database/sql.(*Rows).initContextClose", "sql_rows_ready" },
};

enum sql_field { F_STMT_QUERY, F_DC_CI, F_SQL_MAX };

static const struct field_req sql_fields[F_SQL_MAX] = {
	[F_STMT_QUERY] = { "database/sql.Stmt", "query" },
	[F_DC_CI] = { "database/sql.driverConn", "ci" },
};

static bool any_planned(struct probe *const *p, int first, int last)
{
	for (int i = first; i <= last; i++)
		if (p[i] && p[i]->planned)
			return true;
	return false;
}

static uint64_t vaddr_of(const struct probe *p)
{
	return p && p->planned ? p->point.vaddr : 0;
}

static void plan_sql(const struct gobin *gb, struct plan *plan, struct lib_state *state)
{
	static const char lib[] = "database/sql";
	struct go_func fns[S_MAX];
	struct probe *p[S_MAX] = { NULL };
	struct field_req f[F_SQL_MAX];
	size_t first = plan->nprobes;

	for (int i = 0; i < S_MAX; i++)
		fns[i] = (struct go_func){ .name = sql_probes[i].symbol };
	gobin__find_funcs(gb, fns, S_MAX);
	if (!fns[S_EXEC_DC].vaddr && !fns[S_QUERY_DC].vaddr && !fns[S_STMT_EXEC_START].vaddr &&
	    !fns[S_STMT_QUERY_START].vaddr)
		return; /* the program does not use database/sql */
	for (int i = 0; i < S_MAX; i++) {
		if (!fns[i].vaddr)
			continue;
		p[i] = plan__add_probe(plan, lib, fns[i].name, sql_probes[i].program);
		if (!p[i])
			return;
		plan__place_entry(gb, plan, &fns[i], p[i]);
	}
	if (!any_planned(p, S_EXEC_DC, S_STMT_QUERY_START) ||
	    !any_planned(p, S_PUT_CONN, S_ROWS_READY)) {
		plan__skip_from(plan, first, "no database/sql %s function found to probe",
				any_planned(p, S_EXEC_DC, S_STMT_QUERY_START) ? "end" : "start");
		pr_warn("database/sql probes skipped: %s", plan->probes[first].reason);
		return;
	}

	memcpy(f, sql_fields, sizeof(f));
	plan__resolve_fields(gb, plan, f, F_SQL_MAX, 0);
	if (!f[F_STMT_QUERY].source) {
		plan__warn_field(gb, lib, &f[F_STMT_QUERY],
				 "prepared statements (Stmt.Exec, Stmt.Query) are not traced");
		for (int i = S_STMT_EXEC_START; i <= S_STMT_QUERY; i++)
			if (p[i])
				plan__skip(p[i], "field database/sql.Stmt.query unknown");
	}
	if (!f[F_DC_CI].source)
		plan__warn_field(gb, lib, &f[F_DC_CI],
				 "db.system.name of DB, Conn and Tx operations comes from the "
				 "linked driver packages only");
	*LIB_STATE_AS(struct ot_sql_cfg, state->config) = (struct ot_sql_cfg){
		.dc_ci = f[F_DC_CI].source ? f[F_DC_CI].offset : -1,
		.stmt_query = f[F_STMT_QUERY].offset,
		.exec_vaddr = vaddr_of(p[S_EXEC_DC]),
		.query_vaddr = vaddr_of(p[S_QUERY_DC]),
		.stmt_exec_vaddr = vaddr_of(p[S_STMT_EXEC_START]),
		.stmt_query_vaddr = vaddr_of(p[S_STMT_QUERY_START]),
	};
	LIB_STATE_AS(struct sql_binary, state->data)->db_system = sql__system_of_binary(gb);
	state->active = true;
}

static const char *const programs[] = {
	"sql_exec_start", "sql_query_start", "sql_stmt_exec_start", "sql_stmt_query_start",
	"sql_stmt_enter", "sql_put_conn",    "sql_release",	    "sql_rows_ready",
	NULL,
};

const struct library lib_database_sql = {
	.name = "database/sql",
	.plan = plan_sql,
	.programs = programs,
	.config_name = "sql_cfg",
	.names_types = true,
	.config_size = sizeof(struct ot_sql_cfg),
	.maps = { { "sql_inflight", true, { { "active", INFLIGHT_NONZERO } } } },
	.records = { OT_REC_DB_CLIENT },
	.decode = database_sql__decode,
};
