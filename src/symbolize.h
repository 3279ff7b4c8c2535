/* SPDX-License-Identifier: MIT */
/*
 * Names for addresses in traced processes, for attributes that need them: the
 * dynamic type of a Go error value is its itab, and .symtab names every itab
 * "go:itab.<type>,<interface>" (Go >= 1.20; "go.itab." before). Symbols are
 * loaded once per process, on the first lookup; stripped binaries have none.
 */
#ifndef OTRACE_SYMBOLIZE_H
#define OTRACE_SYMBOLIZE_H

#include <stddef.h>
#include <stdint.h>

struct symbolizer;

struct symbolizer *symbolizer__new(void);
void symbolizer__free(struct symbolizer *s);
/*
 * Writes the type name of the itab at runtime address addr in process pid
 * ("*net.OpError") into buf; returns its length, or 0 when unknown.
 */
size_t symbolizer__itab_type(struct symbolizer *s, uint32_t pid, uint64_t addr, char *buf,
			     size_t cap);

#endif
