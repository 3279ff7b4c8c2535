/* SPDX-License-Identifier: MIT */
/*
 * Records whose strings travel packed: BPF writes each string's captured
 * bytes (its full length, at most its buffer's size) one after the other,
 * so that a record is as long as what it holds (most strings are short).
 * User space unpacks them into the decoded form, a struct whose fields give
 * each string a buffer and a full length, which the decoder reads.
 */
#ifndef OTRACE_PACKED_H
#define OTRACE_PACKED_H

#include <stddef.h>

/* One packed string: where its full length (a __u32) and its buffer lie in the decoded form. */
struct packed_string {
	size_t len;
	size_t buf;
	size_t cap;
};

#define PACKED_STRING(type, len_field, buf_field)                                    \
	{ offsetof(type, len_field), offsetof(type, buf_field),                        \
	  sizeof(((type *)0)->buf_field) }

/*
 * Copies the packed strings (n bytes at strings) into the decoded form r,
 * whose lengths are already set, in the order of ps. -EINVAL unless they
 * take exactly the n bytes.
 */
int packed__unpack(const struct packed_string *ps, size_t nps, const char *strings, size_t n,
		   void *r);
/* The inverse: packs r's strings into strings (room for the sum of the caps); returns the bytes. */
size_t packed__pack(const struct packed_string *ps, size_t nps, const void *r, char *strings);

/*
 * A record whose wire form is its decoded form's first head bytes (a
 * struct ot_rec_hdr first), then its packed strings: the decoded form is
 * decoded bytes long.
 */
struct packed_record {
	const struct packed_string *strings;
	size_t nstrings;
	size_t head;
	size_t decoded;
};

#define PACKED_RECORD(decoded_type, wire_type, table)                                 \
	{ (table), sizeof(table) / sizeof((table)[0]), sizeof(wire_type),              \
	  sizeof(decoded_type) }

/* The wire record (size bytes) into its decoded form r, cleared first; -EINVAL if malformed. */
int packed__unpack_record(const struct packed_record *pr, const void *wire, size_t size, void *r);
/* The decoded form r into its wire form at out (room for head and caps); sets and returns its size. */
size_t packed__pack_record(const struct packed_record *pr, const void *r, void *out);

#endif
