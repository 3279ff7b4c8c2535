// SPDX-License-Identifier: MIT
#include "field_path.h"

size_t field_path__len(const struct field_path *p)
{
	size_t n = 0;

	while (n < FIELD_PATH_HOPS && p->hop[n].type)
		n++;
	return n;
}

void field_path__link(struct field_path *p)
{
	size_t n = field_path__len(p);

	for (size_t i = 0; i + 1 < n; i++)
		p->hop[i].holds = p->hop[i + 1].type;
}

const struct field_req *field_path__missing(const struct field_path *p)
{
	size_t n = field_path__len(p);

	if (!n)
		return &p->hop[0];
	for (size_t i = 0; i < n; i++)
		if (!p->hop[i].source)
			return &p->hop[i];
	return NULL;
}

void field_path__config(const struct field_path *p, struct ot_field_path *out)
{
	size_t n = field_path__len(p);
	int derefs = 0;

	*out = (struct ot_field_path){ .derefs = -1 };
	if (field_path__missing(p))
		return;
	for (size_t i = 0; i < n; i++) {
		out->off[derefs] += p->hop[i].offset;
		/* the last hop is the field itself: read as whatever it is */
		if (i + 1 < n && p->hop[i].pointer)
			derefs++;
	}
	out->derefs = derefs;
}

int64_t field_path__offset(const struct field_path *p)
{
	struct ot_field_path c;

	field_path__config(p, &c);
	return c.derefs == 0 ? c.off[0] : -1;
}
