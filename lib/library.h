/* SPDX-License-Identifier: MIT */
/*
 * An instrumented library as every stage of otrace sees it. Each library is
 * one folder, lib/<library>/: its probes (probe.bpf.h), its wire record and
 * BPF configuration (record.h, config.h), its plan, its decoder and its unit
 * tests; it registers with one row of the table in lib/libraries.c. Nothing
 * else names a library (docs/adding-a-library.md).
 */
#ifndef OTRACE_LIBRARY_H
#define OTRACE_LIBRARY_H

#include <stddef.h>
#include <stdint.h>

#include "gobin.h"
#include "plan.h"
#include "span.h"

/* How a member of a map's value tells that an entry's span is live. */
enum inflight_op {
	INFLIGHT_NONZERO = 1, /* a flag set while the span runs ("live", "active") */
	INFLIGHT_ZERO,	      /* a flag set when it ended ("ended"), or a state, 0 while live */
	INFLIGHT_EQUALS,      /* a member naming the entry's owner in a shared map */
	INFLIGHT_COUNT,	      /* a count of the entry's spans in progress (a stack's depth) */
};

struct inflight_test {
	const char *member; /* an integer member of the map's value, as its BTF names it */
	enum inflight_op op;
	uint32_t value; /* INFLIGHT_EQUALS */
};

/*
 * A BPF map of the library's requests in progress (or one of the core's that
 * it keeps its spans in), keyed by process first (a __u32 pid). --max-inflight
 * sizes it, and an ended process's entries are removed. When a process ends
 * or execs, or tracing stops, the live entries of a map of spans are spans
 * that will never end: counted lost (in_flight). An entry is live when every
 * test holds (each entry, without a test: maps whose entries go at the end).
 */
struct library_map {
	const char *name;
	bool spans; /* its entries are spans in progress; else only sized and emptied */
	struct inflight_test live[2];
};

#define LIBRARY_MAX_MAPS 6

struct library {
	/* what messages and --list-probes call it: "net/http server" */
	const char *name;
	/*
	 * Plans the library's probes into plan (plan__add_probe, placed by the
	 * plan__place_* helpers) when gb links it, and fills state: its BPF
	 * configuration, what its decoder needs, and active when its spans
	 * will be traced. A missing function or field skips its probes with a
	 * warning naming it.
	 */
	void (*plan)(const struct gobin *gb, struct plan *plan, struct lib_state *state);
	/*
	 * --propagate, after every library is planned: adds the probes that
	 * write traceparent into outgoing requests (NULL: the library makes
	 * none). Called only for an active library; returns how many.
	 */
	int (*plan_propagation)(const struct gobin *gb, struct plan *plan,
				struct lib_state *state);
	/*
	 * it makes no spans of its own but serves those of others (goroutine
	 * ancestry; a router's route for the server span in progress): it does
	 * not make a binary traceable on its own, and it is not listed among the
	 * libraries otrace instruments
	 */
	bool auxiliary;
	/* its BPF programs (SEC("uprobe") names), NULL-terminated */
	const char *const *programs;
	/* the .rodata variable of its BPF configuration (state->config), NULL: none */
	const char *config_name;
	size_t config_size;
	/*
	 * its spans name Go types by their itabs (error.type, the database
	 * driver): the binary's itab names are read when it is traced
	 */
	bool names_types;
	/* its maps of spans in progress, up to the first without a name */
	struct library_map maps[LIBRARY_MAX_MAPS];
	/* the record types it emits (OT_REC_*), 0-terminated; none for an auxiliary one */
	uint32_t records[4];
	/* Turns one of its records into span (see span.h); 0 or -EINVAL. NULL: no records. */
	int (*decode)(const struct span_decoding *d, const void *rec, size_t size,
		      struct span *span);
};

/* Every instrumented library, in planning order (lib/libraries.c). */
extern const struct library *const libraries[];
extern const size_t nlibraries;

/* The library emitting records of type, or NULL. */
const struct library *library__of_record(uint32_t type);
/* lib's position in libraries[], which indexes plan->libs. */
size_t library__index(const struct library *lib);

#endif
