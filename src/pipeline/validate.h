/* SPDX-License-Identifier: MIT */
/*
 * What a value read from a traced program must be before it becomes an
 * attribute. Probes read memory otrace does not control: a stale pointer, a
 * layout that does not fit, a field of another type give plausible-looking
 * garbage. Every decoder's values pass these checks (span.h and semconv.h
 * apply them); a value that fails is left out and counted in the span
 * (span.invalid), never emitted.
 */
#ifndef OTRACE_VALIDATE_H
#define OTRACE_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The longest string attribute otrace emits (every capture is shorter). */
#define VALIDATE_TEXT_MAX 4096

/* An HTTP token (RFC 9110 5.6.2): methods, header names. */
bool validate__token(const char *s, size_t len);
/*
 * Text on one line: no NUL and no control byte but HTAB (what an HTTP field
 * value, a path or a name may hold; bytes >= 0x80 are left to the UTF-8
 * repair of the encoder), at most VALIDATE_TEXT_MAX bytes.
 */
bool validate__line(const char *s, size_t len);
/* Text of several lines (a SQL statement): also LF and CR. */
bool validate__text(const char *s, size_t len);
/* A status code an HTTP response can carry: 100-599. */
bool validate__http_status(int64_t code);
/* A TCP/UDP port a peer can have: 1-65535. */
bool validate__port(int64_t port);
/* A trace id or span id: not all zero (W3C, OTLP). */
bool validate__id(const uint8_t *id, size_t len);

#endif
