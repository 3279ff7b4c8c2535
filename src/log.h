/* SPDX-License-Identifier: MIT */
/* Diagnostics on stderr with a level; stdout carries data only. */
#ifndef OTRACE_LOG_H
#define OTRACE_LOG_H

#include <stdbool.h>

/* LOG_LIBBPF: libbpf's own chatter, shown at -vv */
enum log_level { LOG_ERROR = 0, LOG_WARN, LOG_INFO, LOG_DEBUG, LOG_LIBBPF };

/* Sets the most verbose level printed (default LOG_INFO). */
void log__set_level(enum log_level level);
enum log_level log__level(void);
/* Routes libbpf's own messages through our levels. */
void log__hook_libbpf(void);
/*
 * Keeps libbpf's warnings (and the verifier's log, which libbpf passes on as
 * one) from now on, the last 64 KiB of them, instead of dropping them below
 * -v; log__release_libbpf prints them when show (what they concern failed).
 */
void log__hold_libbpf(void);
void log__release_libbpf(bool show);

void log__print(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define pr_err(...) log__print(LOG_ERROR, __VA_ARGS__)
#define pr_warn(...) log__print(LOG_WARN, __VA_ARGS__)
#define pr_info(...) log__print(LOG_INFO, __VA_ARGS__)
#define pr_debug(...) log__print(LOG_DEBUG, __VA_ARGS__)

#endif
