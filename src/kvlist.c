// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kvlist.h"
#include "percent.h"

static bool blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Trims blanks off s[0..*len) and returns where it starts. */
static const char *trim(const char *s, size_t *len)
{
	while (*len && blank(*s)) {
		s++;
		(*len)--;
	}
	while (*len && blank(s[*len - 1]))
		(*len)--;
	return s;
}

/* Percent-decodes s[0..len) into a new string; NULL with errno EINVAL or ENOMEM. */
static char *decode(const char *s, size_t len)
{
	char *out = malloc(len + 1);
	ssize_t n;

	if (!out)
		return NULL;
	n = percent__decode(s, len, out);
	/* a decoded NUL would cut the value short */
	if (n < 0 || memchr(out, '\0', (size_t)n)) {
		free(out);
		errno = EINVAL;
		return NULL;
	}
	out[n] = '\0';
	return out;
}

static int append(struct kvlist *list, char *key, char *value)
{
	struct kv *items = realloc(list->items, (list->n + 1) * sizeof(*items));

	if (!items)
		return -ENOMEM;
	list->items = items;
	list->items[list->n++] = (struct kv){ .key = key, .value = value };
	return 0;
}

static int fail(char *err, size_t errlen, const char *fmt, const char *member, size_t len)
{
	snprintf(err, errlen, fmt, (int)len, member);
	return -EINVAL;
}

/* Parses one non-empty member "key=value" (already trimmed). */
static int parse_member(const char *m, size_t len, struct kvlist *list, char *err, size_t errlen)
{
	const char *eq = memchr(m, '=', len);
	size_t klen, vlen;
	const char *k, *v;
	char *key, *value;
	int ret;

	if (!eq)
		return fail(err, errlen, "'%.*s' is not key=value", m, len);
	klen = (size_t)(eq - m);
	vlen = len - klen - 1;
	k = trim(m, &klen);
	v = trim(eq + 1, &vlen);
	if (!klen)
		return fail(err, errlen, "'%.*s' has an empty key", m, len);
	key = decode(k, klen);
	value = key ? decode(v, vlen) : NULL;
	if (!value) {
		ret = errno == ENOMEM ? -ENOMEM : -EINVAL;
		free(key);
		if (ret == -EINVAL)
			fail(err, errlen, "'%.*s' has a bad percent-escape (%%XX, not %%00)", m,
			     len);
		return ret;
	}
	ret = kvlist__set(list, key, value);
	free(key);
	free(value);
	return ret;
}

int kvlist__parse(const char *s, struct kvlist *list, char *err, size_t errlen)
{
	kvlist__free(list);
	for (const char *p = s;;) {
		const char *comma = strchrnul(p, ',');
		size_t len = (size_t)(comma - p);
		const char *m = trim(p, &len);
		int ret = len ? parse_member(m, len, list, err, errlen) : 0;

		if (ret) {
			kvlist__free(list);
			return ret;
		}
		if (!*comma)
			return 0;
		p = comma + 1;
	}
}

int kvlist__set(struct kvlist *list, const char *key, const char *value)
{
	char *k, *v = strdup(value);

	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < list->n; i++) {
		if (!strcmp(list->items[i].key, key)) {
			free(list->items[i].value);
			list->items[i].value = v;
			return 0;
		}
	}
	k = strdup(key);
	if (!k || append(list, k, v)) {
		free(k);
		free(v);
		return -ENOMEM;
	}
	return 0;
}

const char *kvlist__get(const struct kvlist *list, const char *key)
{
	for (size_t i = 0; i < list->n; i++)
		if (!strcmp(list->items[i].key, key))
			return list->items[i].value;
	return NULL;
}

void kvlist__free(struct kvlist *list)
{
	for (size_t i = 0; i < list->n; i++) {
		free(list->items[i].key);
		free(list->items[i].value);
	}
	free(list->items);
	list->items = NULL;
	list->n = 0;
}
