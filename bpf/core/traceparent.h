/* SPDX-License-Identifier: MIT */
/*
 * W3C Trace Context `traceparent` parsing, shared by the BPF programs (which
 * continue an incoming trace before any child span can start) and by the
 * unit tests, which exercise exactly this code.
 *
 *   version "-" trace-id "-" parent-id "-" trace-flags    "00-<32>-<16>-<2>"
 *
 * Lowercase hex only; version ff, an all-zero trace or parent id, and a
 * version-00 value that is not exactly 55 bytes are invalid. Later versions
 * may append "-..." after the flags.
 */
#ifndef OTRACE_TRACEPARENT_H
#define OTRACE_TRACEPARENT_H

#define OT_TRACEPARENT_LEN 55

/*
 * Each byte's value as a lowercase hex digit, or OT_HEX_BAD. Decoding by table
 * has no branch per digit: with one (is it 0-9, is it a-f?), the verifier
 * walked every combination of digit kinds it could tell apart, 150,000
 * instructions and 150 ms to load each program that continues a trace.
 */
#define OT_HEX_BAD 0x10
#define X OT_HEX_BAD
static const __u8 ot_hex_value[256] = {
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
	0, 1, 2, 3, 4, 5, 6, 7, 8, 9, X, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
	X, 10, 11, 12, 13, 14, 15, X, X, X, X, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
};
#undef X

/*
 * Decodes n (at most 16) bytes from 2n hex digits at s; returns the OR of the
 * bytes, or -1 when a character is not a lowercase hex digit.
 */
static inline __attribute__((always_inline)) int ot_hex_bytes(const char *s, __u8 *out, int n)
{
	__u32 any = 0, bad = 0;

	for (int i = 0; i < 16; i++) {
		__u32 hi, lo;

		if (i >= n)
			break;
		hi = ot_hex_value[(__u8)s[2 * i]];
		lo = ot_hex_value[(__u8)s[2 * i + 1]];
		bad |= hi | lo;
		out[i] = (__u8)(hi << 4 | lo);
		any |= out[i];
	}
	return bad & OT_HEX_BAD ? -1 : (int)any;
}

/*
 * s holds the first bytes of the value (at least 56 when len > 55, else len);
 * len is the value's full length. Returns 0 when valid, -1 otherwise.
 */
static inline __attribute__((always_inline)) int
ot_parse_traceparent(const char *s, __u64 len, __u8 trace_id[16], __u8 parent_id[8],
		     __u8 *trace_flags)
{
	__u8 version;

	if (len < OT_TRACEPARENT_LEN || s[2] != '-' || s[35] != '-' || s[52] != '-')
		return -1;
	if (ot_hex_bytes(s, &version, 1) < 0 || version == 0xff)
		return -1;
	if ((version == 0 && len != OT_TRACEPARENT_LEN) ||
	    (len > OT_TRACEPARENT_LEN && s[OT_TRACEPARENT_LEN] != '-'))
		return -1;
	if (ot_hex_bytes(s + 3, trace_id, 16) <= 0 || ot_hex_bytes(s + 36, parent_id, 8) <= 0 ||
	    ot_hex_bytes(s + 53, trace_flags, 1) < 0)
		return -1;
	return 0;
}

#endif
