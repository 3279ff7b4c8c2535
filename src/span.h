/* SPDX-License-Identifier: MIT */
/*
 * Span assembly: ring-buffer records in, spans with OpenTelemetry semantic
 * convention attributes out. Owns id generation and the clock translation
 * from the kernel's monotonic clock to Unix time.
 */
#ifndef OTRACE_SPAN_H
#define OTRACE_SPAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../bpf/otrace.h"

#define SPAN_MAX_ATTRS 16

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
enum span_kind { SPAN_KIND_SERVER = 2, SPAN_KIND_CLIENT = 3 };
enum span_status { STATUS_UNSET = 0, STATUS_OK = 1, STATUS_ERROR = 2 };

struct span {
	uint8_t trace_id[16];
	uint8_t span_id[8];
	uint8_t parent_span_id[8];
	bool has_parent;
	uint32_t flags; /* OTLP Span.flags */
	enum span_kind kind;
	enum span_status status;
	uint32_t pid;
	uint64_t start_unix_ns;
	uint64_t end_unix_ns;
	char name[OT_METHOD_CAP + OT_PATTERN_CAP + 2];
	size_t name_len;
	size_t nattrs;
	struct attr attrs[SPAN_MAX_ATTRS];
	/* derived strings that attrs point into: url.full, ports, status codes */
	char scratch[2 * (OT_SCHEME_CAP + OT_HOST_CAP + OT_PATH_CAP + OT_QUERY_CAP +
			  OT_FRAGMENT_CAP + 64)];
	size_t scratch_used;
	union {
		struct ot_http_server_rec http_server;
		struct ot_http_client_rec http_client;
		struct ot_db_rec db;
		struct ot_grpc_rec grpc;
	} rec; /* the record the attributes point into */
};

struct span_assembler;
struct itab_names;

/* What decoding needs beyond the records: options and the traced binary's names. */
/* What decoding needs from the binary a span's process runs. */
struct span_binary {
	/* names the types of errors and drivers; NULL: unnamed (error.type _OTHER) */
	const struct itab_names *itabs;
	/* db.system.name when the driver's type is not a known driver; NULL: other_sql */
	const char *db_system;
};

struct span_config {
	bool db_statement; /* --db-statement: record db.query.text */
	struct span_binary binary; /* the traced binary, when there is one */
	/* several binaries: the one process pid runs; NULL or returning NULL: binary */
	const struct span_binary *(*binary_of)(void *ctx, uint32_t pid);
	void *binary_ctx;
};
int span_assembler__new(struct span_assembler **out);
void span_assembler__free(struct span_assembler *sa);
/* Sets the configuration (copied; what it points to must outlive sa). */
void span_assembler__configure(struct span_assembler *sa, const struct span_config *cfg);
/*
 * Decodes one ring-buffer record into span. Returns 0, or -EINVAL for a
 * record that is truncated or of unknown type.
 */
int span_assembler__decode(struct span_assembler *sa, const void *data, size_t size,
			   struct span *span);
/* Converts a CLOCK_MONOTONIC timestamp to Unix nanoseconds. */
uint64_t span_assembler__unix_ns(const struct span_assembler *sa, uint64_t mono_ns);

/*
 * Parses a W3C traceparent header value. Returns 0 and fills the ids and the
 * trace flags when it is valid, -EINVAL otherwise (then a new trace starts).
 */
int span__parse_traceparent(const char *s, size_t len, uint8_t trace_id[16],
			    uint8_t parent_id[8], uint8_t *trace_flags);

/* The parts of a client request's URL, as the request holds them. */
struct url_parts {
	const char *scheme, *host, *path, *query, *fragment;
	size_t scheme_len, host_len, path_len, query_len, fragment_len;
	bool userinfo; /* the URL has user info (never read: it is replaced) */
};

/*
 * Writes url.full for a client request into dst (capacity cap):
 * scheme://[REDACTED:REDACTED@]host path[?query][#fragment], with the values
 * of well-known secret query parameters replaced by REDACTED (semantic
 * conventions). Returns the length written.
 */
size_t span__url_full(char *dst, size_t cap, const struct url_parts *u);

/*
 * The name of a gRPC status code as the semantic conventions write
 * rpc.response.status_code ("OK", "NOT_FOUND"), or NULL outside 0..16.
 */
const char *span__grpc_code_name(int32_t code);

/* Exposed for tests: splits "host:port", "[v6]:port" or "host". */
int span__split_host_port(const char *s, size_t len, size_t *host_off, size_t *host_len,
			  int64_t *port);

#endif
