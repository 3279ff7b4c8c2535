/* SPDX-License-Identifier: MIT */
/*
 * Span assembly: ring-buffer records in, spans with OpenTelemetry semantic
 * convention attributes out. The assembler owns the clock translation from
 * the kernel's monotonic clock to Unix time and hands each record to the
 * decoder of the library that emitted it (lib/library.h), which builds the
 * span with the helpers below and those of semconv.h.
 */
#ifndef OTRACE_SPAN_H
#define OTRACE_SPAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "records.h"

#define SPAN_MAX_ATTRS 20
#define SPAN_NAME_MAX 160
#define SPAN_SCRATCH_MAX 1552 /* twice the longest url.full: scheme, user info, host, path, query, fragment */
#define SPAN_REC_MAX 2304 /* the largest record any library emits */

enum attr_type { ATTR_STRING, ATTR_INT };

struct attr {
	const char *key;
	enum attr_type type;
	const char *str; /* ATTR_STRING: not NUL-terminated, may be invalid UTF-8 */
	size_t len;
	bool truncated; /* str was cut at otrace's capture limit */
	int64_t num;	/* ATTR_INT */
};

/* OTLP Span.flags: W3C trace flags in the low byte, remote-parent bits above */
#define SPAN_FLAGS_TRACE_FLAGS_MASK 0xffu
#define SPAN_FLAGS_HAS_IS_REMOTE 0x100u
#define SPAN_FLAGS_IS_REMOTE 0x200u
#define W3C_SAMPLED 0x01u

/* OTLP enum values */
enum span_kind {
	SPAN_KIND_SERVER = 2,
	SPAN_KIND_CLIENT = 3,
	SPAN_KIND_PRODUCER = 4,
};
enum span_status { STATUS_UNSET = 0, STATUS_OK = 1, STATUS_ERROR = 2 };

/* A link to a span of another trace (messaging: a message's creation context). */
struct span_link {
	uint8_t trace_id[16];
	uint8_t span_id[8];
	uint32_t flags; /* OTLP Link.flags: W3C trace flags and the remote bits */
};

struct span {
	uint8_t trace_id[16];
	uint8_t span_id[8];
	uint8_t parent_span_id[8];
	bool has_parent;
	uint32_t flags; /* OTLP Span.flags */
	enum span_kind kind;
	enum span_status status;
	/*
	 * The status's description (an error's message, semantic conventions'
	 * "Recording errors"): not NUL-terminated, may be invalid UTF-8; cut
	 * short at otrace's capture limit when message_truncated.
	 */
	const char *status_message;
	size_t status_message_len;
	bool status_message_truncated;
	bool has_link;
	struct span_link link;
	uint32_t pid;
	uint64_t start_unix_ns;
	uint64_t end_unix_ns;
	size_t name_len;
	size_t nattrs;
	uint32_t invalid; /* values left out: they failed validation (validate.h) */
	size_t scratch_used;
	/* the record being decoded (span__read_record), only while it is */
	const unsigned char *rec_src;
	size_t rec_src_len;
	/*
	 * The buffers below are not cleared for a new span (decoding clears the
	 * fields above): only their first name_len, nattrs, scratch_used bytes or
	 * entries, and the ranges of rec attributes point at, hold anything.
	 */
	char name[SPAN_NAME_MAX];
	struct attr attrs[SPAN_MAX_ATTRS];
	/* derived strings that attrs point into: url.full, ports, status codes */
	char scratch[SPAN_SCRATCH_MAX];
	/*
	 * The strings attributes took from the record, each copied at its offset
	 * there: a record's unused bytes are neither read nor copied.
	 */
	_Alignas(8) unsigned char rec[SPAN_REC_MAX];
};

struct span_assembler;
struct itab_names;
struct plan;

/* What decoding needs from the binary a span's process runs. */
struct span_binary {
	/* names the types of errors and drivers; NULL: unnamed (error.type _OTHER) */
	const struct itab_names *itabs;
	/* its plan: what each library's planning left for its decoder (lib_state.data) */
	const struct plan *plan;
};

/* What decoding needs beyond the records: options and the traced binaries. */
struct span_config {
	bool db_statement;	   /* --db-statement: record db.query.text */
	struct span_binary binary; /* the traced binary, when there is one */
	/* several binaries: the one process pid runs; NULL or returning NULL: binary */
	const struct span_binary *(*binary_of)(void *ctx, uint32_t pid);
	void *binary_ctx;
};

/* What a library's decoder is handed with its record. */
struct span_decoding {
	const struct span_assembler *sa;
	size_t library; /* the decoder's index in libraries[] */
};

int span_assembler__new(struct span_assembler **out);
void span_assembler__free(struct span_assembler *sa);
/* Sets the configuration (copied; what it points to must outlive sa). */
void span_assembler__configure(struct span_assembler *sa, const struct span_config *cfg);
/*
 * Decodes one ring-buffer record into span. Returns 0, or -EINVAL for a
 * record that is truncated, of unknown type, or whose span has no valid ids.
 */
int span_assembler__decode(struct span_assembler *sa, const void *data, size_t size,
			   struct span *span);
/* Converts a CLOCK_MONOTONIC timestamp to Unix nanoseconds. */
uint64_t span_assembler__unix_ns(const struct span_assembler *sa, uint64_t mono_ns);
/*
 * Reads the wall clock again when a second has passed since it was last
 * read, so that a clock step while tracing shifts only the spans decoded
 * until then. Cheap otherwise: call it on every flush.
 */
void span_assembler__resync_clock(struct span_assembler *sa);
/* Replaces clock_gettime (tests; NULL: the real one) and reads the clocks. */
void span_assembler__set_clock(struct span_assembler *sa,
			       int (*gettime)(clockid_t clock, struct timespec *ts));

/* For decoders. */

/* The options decoding runs with. */
const struct span_config *span__config(const struct span_decoding *d);
/* The binary process pid runs (the traced binary when it is not known). */
const struct span_binary *span__binary(const struct span_decoding *d, uint32_t pid);
/*
 * The decoding library's lib_state.data in the plan of the binary process
 * pid runs, NULL when no plan is known.
 */
const void *span__library_data(const struct span_decoding *d, uint32_t pid);
/*
 * The record of size bytes a decoder builds span s from: rec itself, read in
 * place (in the ring buffer), NULL when it is larger than any record. The
 * strings span__add_* and span__set_status_message take from it are copied
 * into the span (only they: most of a record's string buffers are unused).
 */
const void *span__read_record(struct span *s, const void *rec, size_t size);
/* What every span has: kind, process, times (kernel clock) and the ids made in BPF. */
void span__set_identity(const struct span_decoding *d, struct span *s, enum span_kind kind,
			uint32_t pid, uint64_t start_ns, uint64_t end_ns,
			const struct ot_span_ids *ids, bool has_parent);
/* The span's name: "first" or "first second" (second only if it is a line of text). */
void span__set_name(struct span *s, const char *first, size_t first_len, const char *second,
		    size_t second_len);
/*
 * Links the span to a W3C traceparent value (remote: it came from outside the
 * process); false, no link, when it is not a valid one.
 */
bool span__link_traceparent(struct span *s, const char *tp, size_t len);
/*
 * Adds a string attribute if it is a line of text (validate__line); returns
 * whether it was added, else counts it in s->invalid.
 */
bool span__add_string(struct span *s, const char *key, const char *str, size_t len);
/*
 * Sets the status's description to a message captured in BPF into a buffer
 * of cap bytes (full_len: its length in the target), when it is text on
 * one line (else it is left out and counted). Only for a span whose status
 * is ERROR: OTLP gives UNSET and OK none.
 */
void span__set_status_message(struct span *s, const char *buf, size_t cap, uint32_t full_len);
/* Adds an integer attribute; the caller validated it (semconv.h's helpers do). */
void span__add_int(struct span *s, const char *key, int64_t v);
/*
 * Adds a string captured in BPF into a buffer of cap bytes; full_len: its
 * length in the target. Validated as span__add_string.
 */
bool span__add_captured(struct span *s, const char *key, const char *buf, size_t cap,
			uint32_t full_len);
/* The same for text of several lines (a SQL statement: validate__text). */
bool span__add_captured_text(struct span *s, const char *key, const char *buf, size_t cap,
			     uint32_t full_len);
/* Copies a derived string into the span's scratch space; NULL when full. */
const char *span__keep(struct span *s, const char *str, size_t len);
/* The bytes of a captured string that were copied: min(full_len, cap). */
size_t span__captured(uint32_t full_len, size_t cap);

/*
 * Parses a W3C traceparent header value. Returns 0 and fills the ids and the
 * trace flags when it is valid, -EINVAL otherwise (then a new trace starts).
 */
int span__parse_traceparent(const char *s, size_t len, uint8_t trace_id[16],
			    uint8_t parent_id[8], uint8_t *trace_flags);

#endif
