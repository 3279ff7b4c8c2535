/* SPDX-License-Identifier: MIT */
/* Documented exit codes (man/otrace.8, README). Keep the three in step. */
#ifndef OTRACE_EXITCODES_H
#define OTRACE_EXITCODES_H

enum otrace_exit {
	EXIT_OK = 0,
	EXIT_RUNTIME = 1,	/* failed to load or attach, internal error */
	EXIT_USAGE = 2,		/* bad command line */
	EXIT_NO_PROCESS = 3,	/* -p PID: no such process */
	EXIT_NOT_GO = 4,	/* not a Go program, or unreadable binary */
	EXIT_NOTHING = 5,	/* Go program without any instrumented library */
	EXIT_EXEC_MISSING = 6,	/* --exec: program not found */
	EXIT_EXEC_NOEXEC = 7,	/* --exec: program not executable */
	EXIT_PRIVILEGE = 8,	/* missing capability */
	EXIT_OUTPUT = 9,	/* output file cannot be opened */
	EXIT_KERNEL = 10,	/* no BTF or no uprobe support */
	EXIT_CONFIG = 11,	/* bad export or resource settings (OTEL_*, --otlp-endpoint) */
};

#endif
