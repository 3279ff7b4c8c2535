/* SPDX-License-Identifier: MIT */
/*
 * The probe plan: for each instrumented library, which functions to probe,
 * at which instruction, and the struct offsets its BPF programs need. Built
 * from the binary alone, so `otrace --list-probes` shows the cost of a plan
 * before anything is attached.
 */
#ifndef OTRACE_PLAN_H
#define OTRACE_PLAN_H

#include <stdbool.h>
#include <stdio.h>

#include "../bpf/otrace.h"
#include "gobin.h"
#include "insn.h"
#include "offsets.h"

#define PLAN_MAX_PROBES 64

enum probe_placement {
	PLACEMENT_EMULATED,  /* stack-check branch: the kernel emulates it */
	PLACEMENT_ENTRY_RET, /* diagnostic: entry + every ret, as peers place them */
};

struct probe {
	const char *library; /* "net/http server" */
	const char *symbol;
	const char *program; /* BPF program attached there */
	uint64_t file_offset;
	struct probe_point point;
	bool planned;	  /* false: skipped, see reason */
	char reason[160]; /* why it was skipped */
};

#define PLAN_MAX_FIELDS 96

struct plan {
	struct probe probes[PLAN_MAX_PROBES];
	size_t nprobes;
	enum probe_placement placement;
	struct field_req fields[PLAN_MAX_FIELDS]; /* every library's, for --list-probes */
	size_t nfields;
	struct ot_http_server_cfg http_cfg;
	struct ot_http_client_cfg http_client_cfg;
	struct ot_propagate_cfg propagate_cfg;
	bool propagate; /* --propagate: traceparent is written into outgoing requests */
	struct ot_sql_cfg sql_cfg;
	bool http_server; /* the net/http server library is instrumented */
	bool http_client; /* net/http client round trips are instrumented */
	bool sql;	  /* database/sql operations are instrumented */
	struct ot_grpc_cfg grpc_cfg;
	struct ot_map_cfg map_cfg;
	bool map_layout_done; /* map_cfg was resolved (kind NONE: it failed) */
	bool grpc_server; /* google.golang.org/grpc calls served */
	bool grpc_client; /* google.golang.org/grpc calls made */
	struct go_func serve_func; /* ServeHTTP, for the diagnostic exit probes */
	int single_stepped; /* planned probes on single-stepped instructions */
};

/* The instrumented libraries, for messages: "net/http server, net/http client, ..." */
extern const char plan__libraries[];

/* Builds the plan for gb; returns the number of planned probes (0: nothing). */
int plan__build(const struct gobin *gb, enum probe_placement placement, struct plan *plan);
/*
 * --propagate: adds the probes that write traceparent into outgoing requests
 * (after plan__build); returns how many were planned.
 */
int plan__add_propagation(const struct gobin *gb, struct plan *plan);
/* Parses "emulated" or "entry-ret"; -EINVAL otherwise. */
int plan__parse_placement(const char *s, enum probe_placement *out);
/* The plan, the Go version and the modules as one JSON object (jansson); NULL: no memory. */
struct json_t *plan__to_json(const struct plan *plan, const struct gobin *gb, const char *binary);

#endif
