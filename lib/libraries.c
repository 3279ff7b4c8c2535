// SPDX-License-Identifier: MIT
/*
 * The one table of instrumented libraries: a row per folder under lib/.
 * Planning, attaching, decoding and the messages all read it; adding a
 * library adds its folder and one row here (docs/adding-a-library.md).
 */
#include "library.h"

extern const struct library lib_net_http_server, lib_net_http_client, lib_database_sql,
	lib_grpc, lib_go_redis, lib_kafka_go, lib_gin, lib_chi, lib_gorilla_mux, lib_echo,
	lib_goroutines;

const struct library *const libraries[] = {
	&lib_net_http_server,
	&lib_net_http_client,
	&lib_database_sql,
	&lib_grpc,
	&lib_go_redis,
	&lib_kafka_go,
	/* auxiliary: planned after the libraries whose spans they serve */
	/* routers: the route of the server span in progress */
	&lib_gin,
	&lib_chi,
	&lib_gorilla_mux,
	&lib_echo,
	/* goroutine ancestry */
	&lib_goroutines,
};

const size_t nlibraries = sizeof(libraries) / sizeof(libraries[0]);

_Static_assert(sizeof(libraries) / sizeof(libraries[0]) <= PLAN_MAX_LIBRARIES,
	       "raise PLAN_MAX_LIBRARIES");

const struct library *library__of_record(uint32_t type)
{
	for (size_t i = 0; i < nlibraries; i++)
		for (const uint32_t *t = libraries[i]->records; *t; t++)
			if (*t == type)
				return libraries[i];
	return NULL;
}

size_t library__index(const struct library *lib)
{
	for (size_t i = 0; i < nlibraries; i++)
		if (libraries[i] == lib)
			return i;
	return nlibraries;
}
