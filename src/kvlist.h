/* SPDX-License-Identifier: MIT */
/*
 * The "key1=value1,key2=value2" lists of OTEL_RESOURCE_ATTRIBUTES and
 * OTEL_EXPORTER_OTLP_HEADERS: W3C Baggage's list format without properties,
 * keys and values percent-decoded, blanks around them trimmed, empty members
 * skipped. Any malformed member rejects the whole list (the specification
 * says to discard the whole value rather than guess).
 */
#ifndef OTRACE_KVLIST_H
#define OTRACE_KVLIST_H

#include <stddef.h>

struct kv {
	char *key;
	char *value;
};

struct kvlist {
	struct kv *items;
	size_t n;
};

/*
 * Parses s into list (emptied first). Returns 0, -ENOMEM, or -EINVAL with a
 * one-line reason in err: a member without '=', an empty key, a bad
 * percent-escape, or a decoded NUL byte.
 */
int kvlist__parse(const char *s, struct kvlist *list, char *err, size_t errlen);
/* Sets key to value, replacing an earlier value of the same key. 0 or -ENOMEM. */
int kvlist__set(struct kvlist *list, const char *key, const char *value);
/* The value of key, or NULL. */
const char *kvlist__get(const struct kvlist *list, const char *key);
void kvlist__free(struct kvlist *list);

#endif
