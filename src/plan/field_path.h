/* SPDX-License-Identifier: MIT */
/*
 * A field path: how a probe reaches a field from the pointer it has, hop by
 * hop through the structs in between. grpc-go's server stream to its method:
 *
 *	{ { { TRANSPORT ".ServerStream", "Stream" }, { TRANSPORT ".Stream", "method" } } }
 *
 * Each hop but the last names a field holding the next hop's struct type,
 * by value (embedded or not: the offsets add up) or through a pointer (the
 * BPF side reads it): grpc-go v1.69-v1.76 embed *Stream, v1.77 on Stream.
 * The resolver (plan__resolve_paths) decides which from DWARF or the
 * binary's type data, and checks that the type held is the one the next hop
 * names; nothing is keyed by a version. The BPF side gets a struct
 * ot_field_path (core_config.h) and reads through it with field_path_addr
 * (common.bpf.h).
 */
#ifndef OTRACE_FIELD_PATH_H
#define OTRACE_FIELD_PATH_H

#include <stddef.h>
#include <stdint.h>

#include "core_config.h"
#include "offsets.h"

#define FIELD_PATH_HOPS (OT_FIELD_PATH_DEREFS + 1)

struct field_path {
	/* the hops, up to the first without a type; holds and outputs are the resolver's */
	struct field_req hop[FIELD_PATH_HOPS];
};

/* Number of hops. */
size_t field_path__len(const struct field_path *p);
/* Sets each hop's holds to the next hop's type, as the resolver asks for them. */
void field_path__link(struct field_path *p);
/* The first hop no source knows, or NULL when the whole path is resolved. */
const struct field_req *field_path__missing(const struct field_path *p);
/* The path as the BPF side reads it; absent (derefs -1) unless resolved. */
void field_path__config(const struct field_path *p, struct ot_field_path *out);
/* The field's offset from the base when no hop is a pointer; -1 otherwise or unresolved. */
int64_t field_path__offset(const struct field_path *p);

#endif
