// SPDX-License-Identifier: MIT
#include <errno.h>

#include "fake_records.h"
#include "semconv.h"
#include "spantest.h"
#include "unittest.h"

/*
 * The assembler's own part: traceparent parsing, records it must refuse, and
 * the shared semantic-convention helpers. Each library's decoder is tested in
 * its folder (lib/<library>/test_decode.c).
 */

static void test_split(void)
{
	size_t off, len;
	int64_t port;

	CHECK(semconv__split_host_port("a.b:80", 6, &off, &len, &port) == 0);
	CHECK(off == 0 && len == 3 && port == 80);
	CHECK(semconv__split_host_port("host", 4, &off, &len, &port) == 0);
	CHECK(len == 4 && port == -1);
	CHECK(semconv__split_host_port("[::1]:8443", 10, &off, &len, &port) == 0);
	CHECK(off == 1 && len == 3 && port == 8443);
	CHECK(semconv__split_host_port("[::1]", 5, &off, &len, &port) == 0);
	CHECK(off == 1 && len == 3 && port == -1);
	CHECK(semconv__split_host_port("::1", 3, &off, &len, &port) == 0);
	CHECK(len == 3 && port == -1);
	CHECK(semconv__split_host_port("h:99999", 7, &off, &len, &port) == -EINVAL);
	CHECK(semconv__split_host_port("h:8x", 4, &off, &len, &port) == -EINVAL);
	CHECK(semconv__split_host_port("[::1", 4, &off, &len, &port) == -EINVAL);
}

static void test_traceparent(void)
{
	static const char valid[] = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
	uint8_t tid[16], pid[8], flags;

	CHECK(span__parse_traceparent(valid, 55, tid, pid, &flags) == 0);
	CHECK(tid[0] == 0x0a && tid[15] == 0x9c && pid[0] == 0xb7 && pid[7] == 0x31 && flags == 1);
	/* later versions may carry more fields after a dash */
	CHECK(span__parse_traceparent("01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00-xyz",
				      59, tid, pid, &flags) == 0);
	CHECK(span__parse_traceparent(valid, 54, tid, pid, &flags) == -EINVAL);
	CHECK(span__parse_traceparent("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01x",
				      56, tid, pid, &flags) == -EINVAL);
	CHECK(span__parse_traceparent("ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
				      55, tid, pid, &flags) == -EINVAL);
	CHECK(span__parse_traceparent("00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01",
				      55, tid, pid, &flags) == -EINVAL);
	CHECK(span__parse_traceparent("00-00000000000000000000000000000000-b7ad6b7169203331-01",
				      55, tid, pid, &flags) == -EINVAL);
	CHECK(span__parse_traceparent("00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",
				      55, tid, pid, &flags) == -EINVAL);
	CHECK(span__parse_traceparent("00_0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
				      55, tid, pid, &flags) == -EINVAL);
}

static void test_bad_records(struct span_assembler *sa)
{
	struct ot_http_server_rec r;
	struct wire_record w;
	struct ot_http_server_wire *wire = (struct ot_http_server_wire *)w.bytes;
	struct span s;

	http_record(&r);
	http_wire(&r, &w);
	CHECK(span_assembler__decode(sa, w.bytes, w.size, &s) == 0);
	CHECK(span_assembler__decode(sa, w.bytes, 4, &s) == -EINVAL);
	CHECK(span_assembler__decode(sa, w.bytes, w.size - 1, &s) == -EINVAL);
	wire->hdr.type = 99;
	CHECK(span_assembler__decode(sa, w.bytes, w.size, &s) == -EINVAL);
	http_wire(&r, &w);
	wire->hdr.size = 16;
	CHECK(span_assembler__decode(sa, w.bytes, w.size, &s) == -EINVAL);
	/* packed strings that end past the record, or before it */
	http_wire(&r, &w);
	wire->hdr.size = (uint32_t)w.size - 1;
	CHECK(span_assembler__decode(sa, w.bytes, w.size, &s) == -EINVAL);
	http_wire(&r, &w);
	wire->ua_len += 1;
	CHECK(span_assembler__decode(sa, w.bytes, w.size, &s) == -EINVAL);
	http_wire(&r, &w);
	wire->hdr.size = (uint32_t)w.size + 8;
	CHECK(span_assembler__decode(sa, w.bytes, w.size + 8, &s) == -EINVAL);
}

/* A clock the test steps: CLOCK_REALTIME = CLOCK_MONOTONIC + fake_offset. */
static uint64_t fake_mono = 5000000000ull;
static int64_t fake_offset = 1700000000000000000ll;

static int fake_gettime(clockid_t clock, struct timespec *ts)
{
	uint64_t ns = clock == CLOCK_REALTIME ? (uint64_t)((int64_t)fake_mono + fake_offset) :
						 fake_mono;

	ts->tv_sec = (time_t)(ns / 1000000000ull);
	ts->tv_nsec = (long)(ns % 1000000000ull);
	return 0;
}

/* A wall-clock step while tracing shifts the spans decoded after the next reading only. */
static void test_clock_step(void)
{
	struct span_assembler *sa;
	const int64_t hour = 3600000000000ll;

	CHECK(span_assembler__new(&sa) == 0);
	span_assembler__set_clock(sa, fake_gettime);
	CHECK(span_assembler__unix_ns(sa, fake_mono) == (uint64_t)(fake_mono + fake_offset));
	/* the clock is stepped back an hour */
	fake_offset -= hour;
	fake_mono += 100000000ull; /* 0.1 s later: not read again yet */
	span_assembler__resync_clock(sa);
	CHECK(span_assembler__unix_ns(sa, fake_mono) == (uint64_t)(fake_mono + fake_offset + hour));
	fake_mono += 1000000000ull; /* a second later it is */
	span_assembler__resync_clock(sa);
	CHECK(span_assembler__unix_ns(sa, fake_mono) == (uint64_t)(fake_mono + fake_offset));
	/* a span's start and end use the same reading: its duration is kept */
	CHECK(span_assembler__unix_ns(sa, fake_mono) - span_assembler__unix_ns(sa, fake_mono - 7) == 7);
	span_assembler__free(sa);
}

int main(void)
{
	struct span_assembler *sa;

	CHECK(span_assembler__new(&sa) == 0);
	test_split();
	test_traceparent();
	test_bad_records(sa);
	test_clock_step();
	span_assembler__free(sa);
	return ut_summary();
}
