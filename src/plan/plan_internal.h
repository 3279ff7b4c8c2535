/* SPDX-License-Identifier: MIT */
/*
 * Shared by the libraries' planners (lib/<library>/plan.c): adding probes,
 * placing them, resolving a library's struct fields.
 */
#ifndef OTRACE_PLAN_INTERNAL_H
#define OTRACE_PLAN_INTERNAL_H

#include "field_path.h"
#include "plan.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Appends a probe (unplanned until placed); NULL when the plan is full. */
struct probe *plan__add_probe(struct plan *plan, const char *library, const char *symbol,
			      const char *program);
void plan__skip(struct probe *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Places p at the entry of fn (stack-check branch); leaves it skipped on failure. */
void plan__place_entry(const struct gobin *gb, const struct plan *plan, const struct go_func *fn,
		       struct probe *p);
/*
 * Adds one probe of program after each direct call from caller to any callee
 * (see insn__after_calls); returns the number planned.
 */
int plan__add_after_calls(const struct gobin *gb, struct plan *plan, const char *library,
			  const struct go_func *caller, const struct go_func *callees,
			  size_t ncallees, unsigned keep, const char *program);
/*
 * Adds one probe of program on each direct call from caller to any callee
 * (the call instruction, see insn__calls); returns the number planned.
 */
int plan__add_at_calls(const struct gobin *gb, struct plan *plan, const char *library,
		       const struct go_func *caller, const struct go_func *callees,
		       size_t ncallees, const char *program);
/* Marks every probe of library from index first on as skipped with reason. */
void plan__skip_from(struct plan *plan, size_t first, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/*
 * Resolves fields (DWARF, else the type data; the runtime table) and lists
 * them in the plan. Returns the first of the first nrequired fields that is
 * unknown, or NULL.
 */
const struct field_req *plan__resolve_fields(const struct gobin *gb, struct plan *plan,
					     struct field_req *fields, size_t n,
					     size_t nrequired);
/*
 * Resolves field paths (field_path.h) hop by hop, in one pass, and lists
 * every hop in the plan. Returns the first unknown hop of the first
 * nrequired paths, or NULL.
 */
const struct field_req *plan__resolve_paths(const struct gobin *gb, struct plan *plan,
					    struct field_path *paths, size_t n, size_t nrequired);
/*
 * Warns that lib cannot use field f, which plan__resolve_* left unknown:
 * "<lib>: field T.F unknown (<where otrace looked>): <consequence>".
 */
void plan__warn_field(const struct gobin *gb, const char *lib, const struct field_req *f,
		      const char *consequence);
/*
 * The library cannot be traced though the binary links it: says so (the
 * warning names lib, the field and where otrace looked), skips its probes from
 * first on and keeps the reason in state->not_traced for the messages that
 * follow planning (nothing to trace, --all).
 */
void plan__field_blocks(const struct gobin *gb, struct plan *plan, struct lib_state *state,
			size_t first, const char *lib, const struct field_req *f);
/*
 * Resolves the runtime map layout into plan->map_cfg once, for every library
 * that reads a Go map; warns naming the missing field. Returns whether maps
 * can be read.
 */
bool plan__map_layout(const struct gobin *gb, struct plan *plan);
/* A resolved field's offset, -1 for one the binary lacks (the BPF side's "absent"). */
int64_t plan__offset_or_none(const struct field_req *f);
/* A field a probe reads: its offset (< 0: not read) and size. */
struct plan_window_field {
	int64_t off;
	uint32_t size;
};
/*
 * The window of a struct that holds the n fields (struct ot_window,
 * bpf/core/core_config.h); len 0 when none is read or it would pass cap, the
 * most the probe copies.
 */
struct ot_window plan__window(const struct plan_window_field *f, size_t n, uint32_t cap);
/* True for a Go release at or after 1.minor ("devel" and unparsable: false). */
bool plan__go_at_least(const char *version, int minor);

/*
 * For a router, which annotates the server span in progress with its route
 * (route_slot, bpf/core/common.bpf.h) and makes no span: finds its functions
 * (fns[0]: the one whose absence means the program does not link it) when
 * another library traces the binary. Returns whether to plan its probes.
 */
bool plan__router_linked(const struct gobin *gb, const struct plan *plan, struct go_func *fns,
			 size_t n);
/*
 * Resolves a router's fields once its probes are added (from index first):
 * a missing one skips them with a warning naming it. Returns whether all
 * are known.
 */
bool plan__router_fields(const struct gobin *gb, struct plan *plan, const char *lib,
			 size_t first, struct field_req *fields, size_t n);

/*
 * --propagate on HTTP/2 (net/http's bundle and grpc-go): the three probes that
 * extend a HEADERS frame (extend_headers_frame, bpf/core/propagation.bpf.h):
 * on arm's entry, which marks the goroutine, on writer's entry, and right
 * after writer's one call of frame_write (keep: the registers read there).
 * All or none: returns 3, or 0 with a warning naming what (the protocol) and
 * the probes listed as skipped.
 */
int plan__frame_extension(const struct gobin *gb, struct plan *plan, const char *lib,
			  const char *what, const struct go_func *arm, const char *arm_prog,
			  const struct go_func *writer, const char *writer_prog,
			  const struct go_func *frame_write, unsigned keep, const char *after_prog);

#endif
