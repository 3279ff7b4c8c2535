// SPDX-License-Identifier: MIT
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/libbpf.h>

#include "log.h"

/* libbpf's warnings are kept this long while held, the latest ones */
#define HELD_MAX (64u << 10)

static enum log_level current_level = LOG_INFO;

/*
 * libbpf's warnings while an operation of the thread holding them runs;
 * shown only if it fails. Other threads' (the BPF watches loading in
 * prefetch.c, links removed in attach.c) are not held. Not thread-local:
 * 64 KiB of static TLS would not fit the removal threads' small stacks.
 */
static struct {
	bool on;
	pthread_t owner;
	char buf[HELD_MAX];
	size_t len;
	size_t dropped; /* bytes of the oldest messages that did not fit */
} held;

void log__set_level(enum log_level level)
{
	current_level = level;
}

enum log_level log__level(void)
{
	return current_level;
}

void log__print(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	if (level > current_level)
		return;
	fputs("otrace: ", stderr);
	if (level == LOG_WARN)
		fputs("warning: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* Appends one message to the held ones; only the last HELD_MAX bytes stay. */
static void hold(const char *fmt, va_list ap)
{
	size_t len, keep;
	char *msg;
	int n = vasprintf(&msg, fmt, ap);

	if (n < 0)
		return;
	len = (size_t)n;
	if (len >= HELD_MAX) {
		held.dropped += held.len + len - HELD_MAX;
		memcpy(held.buf, msg + len - HELD_MAX, HELD_MAX);
		held.len = HELD_MAX;
	} else {
		keep = held.len < HELD_MAX - len ? held.len : HELD_MAX - len;
		held.dropped += held.len - keep;
		memmove(held.buf, held.buf + held.len - keep, keep);
		memcpy(held.buf + keep, msg, len);
		held.len = keep + len;
	}
	free(msg);
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	/* libbpf is chatty: its warnings show at -v, everything else at -vv */
	enum log_level ours = level == LIBBPF_WARN ? LOG_DEBUG : LOG_LIBBPF;

	if (ours > current_level) {
		if (held.on && level == LIBBPF_WARN && pthread_equal(held.owner, pthread_self()))
			hold(fmt, ap);
		return 0;
	}
	fputs("otrace: ", stderr); /* libbpf prefixes its own name */
	return vfprintf(stderr, fmt, ap);
}

void log__hold_libbpf(void)
{
	held.owner = pthread_self();
	held.on = true;
	held.len = 0;
	held.dropped = 0;
}

/* Prints the held messages, each line prefixed like every diagnostic. */
static void print_held(void)
{
	const char *line = held.buf, *end = held.buf + held.len;

	if (held.dropped)
		fprintf(stderr, "otrace: (libbpf: the first %zu bytes of its messages left out)\n",
			held.dropped);
	while (line < end) {
		const char *nl = memchr(line, '\n', (size_t)(end - line));
		size_t n = nl ? (size_t)(nl - line) : (size_t)(end - line);

		fprintf(stderr, "otrace: %.*s\n", (int)n, line);
		line += n + 1;
	}
}

void log__release_libbpf(bool show)
{
	if (show)
		print_held();
	held.on = false;
	held.len = 0;
	held.dropped = 0;
}

void log__hook_libbpf(void)
{
	libbpf_set_print(libbpf_print);
}
