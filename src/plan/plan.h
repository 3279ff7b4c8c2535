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

#include "core_config.h"
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
#define PLAN_MAX_LIBRARIES 16
#define LIB_CONFIG_MAX 512

/*
 * What planning decided for one library (lib/library.h), indexed like
 * libraries[]. The library's own structs live in the blobs: its BPF
 * configuration in config (copied to its .rodata variable when attached),
 * and in data what its later steps and its decoder need from the binary.
 */
struct lib_state {
	bool active;	  /* its probes are planned and its spans traced */
	bool propagating; /* --propagate: its traceparent writers are planned */
	uint64_t config[LIB_CONFIG_MAX / 8];
	uint64_t data[8];
	/* the binary links the library but cannot be traced: why (plan__field_blocks) */
	char not_traced[240];
};

/* A library's struct in a blob of lib_state, checked to fit. */
#define LIB_STATE_AS(type, blob)                                                            \
	({                                                                                  \
		_Static_assert(sizeof(type) <= sizeof(blob), #type " too big for " #blob);  \
		(type *)(blob);                                                             \
	})

struct plan {
	struct probe probes[PLAN_MAX_PROBES];
	size_t nprobes;
	enum probe_placement placement;
	struct field_req fields[PLAN_MAX_FIELDS]; /* every library's, for --list-probes */
	size_t nfields;
	struct lib_state libs[PLAN_MAX_LIBRARIES];
	struct ot_map_cfg map_cfg;
	bool map_layout_done; /* map_cfg was resolved (kind NONE: it failed) */
	int single_stepped;   /* planned probes on single-stepped instructions */
};

/* The instrumented libraries, for messages: "net/http server, net/http client, ..." */
const char *plan__libraries(void);
/* Whether any library of plan will trace (plan__build planned it). */
bool plan__active(const struct plan *plan);
/*
 * Writes into buf, "; "-separated, why each library the binary links could
 * not be traced ("gRPC server: field T.F unknown (where otrace looked)");
 * returns how many libraries.
 */
size_t plan__not_traced(const struct plan *plan, char *buf, size_t len);
/*
 * Whether the BPF programs of a and b are the same: the same programs
 * planned and the same configuration (byte for byte), so one loaded BPF
 * object serves both, each attached at its own probes' offsets. Copies of
 * one executable always are; other binaries are when their layouts and
 * the addresses the programs are told agree.
 */
bool plan__same_programs(const struct plan *a, const struct plan *b);
/* Whether any library of plan writes traceparent (plan__add_propagation). */
bool plan__propagating(const struct plan *plan);

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
