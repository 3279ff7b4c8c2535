/* SPDX-License-Identifier: MIT */
/* The database/sql probes' read-only configuration (.rodata sql_cfg). */
#ifndef OTRACE_DATABASE_SQL_CONFIG_H
#define OTRACE_DATABASE_SQL_CONFIG_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/*
 * What the database/sql probes need: two field offsets, and the link-time
 * address of each start probe, from which BPF computes the load bias of a PIE
 * (the instruction pointer at a uprobe is the probed address).
 */
struct ot_sql_cfg {
	__s64 dc_ci;	  /* driverConn.ci (driver.Conn), -1: driver unknown */
	__s64 stmt_query; /* Stmt.query (string) */
	__u64 exec_vaddr;	/* probe address in (*DB).execDC */
	__u64 query_vaddr;	/* in (*DB).queryDC */
	__u64 stmt_exec_vaddr;	/* in resultFromStatement */
	__u64 stmt_query_vaddr; /* in rowsiFromStatement */
};

#endif
