// SPDX-License-Identifier: MIT
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <bpf/libbpf.h>

#include "log.h"

static enum log_level current_level = LOG_INFO;

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

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	/* libbpf is chatty: its warnings show at -v, everything else at -vv */
	enum log_level ours = level == LIBBPF_WARN ? LOG_DEBUG : LOG_LIBBPF;

	if (ours > current_level)
		return 0;
	fputs("otrace: ", stderr); /* libbpf prefixes its own name */
	return vfprintf(stderr, fmt, ap);
}

void log__hook_libbpf(void)
{
	libbpf_set_print(libbpf_print);
}
