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

static inline __attribute__((always_inline)) int ot_hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Decodes n bytes from 2n hex digits at s; returns the OR of the bytes, or -1. */
static inline __attribute__((always_inline)) int ot_hex_bytes(const char *s, __u8 *out, int n)
{
	int any = 0;

	for (int i = 0; i < 16; i++) {
		int hi, lo;

		if (i >= n)
			break;
		hi = ot_hex_digit(s[2 * i]);
		lo = ot_hex_digit(s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (__u8)(hi << 4 | lo);
		any |= out[i];
	}
	return any;
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
