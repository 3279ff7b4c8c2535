// SPDX-License-Identifier: MIT
/* The pipeline's JSON lines: a batch too long for one line is split, nothing lost. */
#include <jansson.h>
#include <stdlib.h>
#include <unistd.h>

#include "pipeline.h"
#include "fake_records.h"
#include "unittest.h"

/* Spans in each line of path; every line must parse and stay within the limit. */
static size_t count_lines(const char *path, size_t *nlines)
{
	FILE *f = fopen(path, "r");
	size_t spans = 0, cap = 0;
	char *line = NULL;
	ssize_t len;

	*nlines = 0;
	while (f && (len = getline(&line, &cap, f)) > 0) {
		json_t *doc = json_loadb(line, (size_t)len, 0, NULL), *rs, *ss;
		size_t i, j;

		CHECK(doc != NULL);
		CHECK((size_t)len - 1 <= PIPELINE_LINE_MAX);
		json_array_foreach(json_object_get(doc, "resourceSpans"), i, rs)
		    json_array_foreach(json_object_get(rs, "scopeSpans"), j, ss) spans +=
		    json_array_size(json_object_get(ss, "spans"));
		json_decref(doc);
		(*nlines)++;
	}
	free(line);
	if (f)
		fclose(f);
	return spans;
}

static void test_long_lines(void)
{
	struct resource_defaults d = { .exe_path = "/x", .host_name = "h" };
	char path[] = "/tmp/otrace-test-lines-XXXXXX";
	struct resource_cache *rc;
	struct pipeline_stats st;
	struct ot_http_server_rec rec;
	struct wire_record w;
	struct pipeline *p;
	struct output *out;
	size_t nlines;
	int fd = mkstemp(path);

	CHECK(fd >= 0);
	close(fd);
	CHECK(resource_cache__new(&d, &rc) == 0);
	CHECK(output__open(path, &out) == 0);
	CHECK(pipeline__new(rc, out, &p) == 0);
	for (int i = 0; i < PIPELINE_BATCH_MAX; i++) {
		http_record(&rec);
		rec.pid = 100 + i % 3;
		/*
		 * bytes that are not UTF-8 become U+FFFD, 3 bytes each in JSON: ~2.6 KiB
		 * a span, 1.3 MiB a batch (control characters, which JSON escapes in 6,
		 * do not pass validation)
		 */
		memset(rec.ua, 0xff, OT_UA_CAP);
		rec.ua_len = OT_UA_CAP;
		memset(rec.path + 1, 0xff, OT_PATH_CAP - 1);
		rec.path_len = OT_PATH_CAP;
		memset(rec.pattern + 1, 0xff, OT_PATTERN_CAP - 1);
		rec.pattern[0] = '/';
		rec.pattern_len = OT_PATTERN_CAP;
		http_wire(&rec, &w);
		CHECK(pipeline__record(p, w.bytes, w.size) == 0);
	}
	pipeline__flush(p, true);
	pipeline__stats(p, &st);
	pipeline__free(p);
	output__close(out);
	CHECK(st.written == PIPELINE_BATCH_MAX && st.unwritten == 0);
	CHECK(count_lines(path, &nlines) == PIPELINE_BATCH_MAX);
	CHECK(nlines >= 2 && nlines <= 4);
	resource_cache__free(rc);
	unlink(path);
}

int main(void)
{
	test_long_lines();
	return ut_summary();
}
