// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: the whole inspection of an untrusted executable, from ELF
 * headers through build info, symbols, DWARF field offsets and Capstone probe
 * placement, as `otrace --list-probes` runs it.
 */
#include <stddef.h>
#include <stdint.h>

#include "gobin.h"
#include "log.h"
#include "plan.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log__set_level(LOG_ERROR); /* missing fields are expected, not news */
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gobin *gb;
	struct plan plan;

	if (gobin__open_mem(data, size, &gb))
		return 0;
	gobin__is_go(gb);
	for (size_t i = 0; i < gobin__module_count(gb); i++)
		gobin__module(gb, i);
	plan__build(gb, PLACEMENT_EMULATED, &plan);
	plan__build(gb, PLACEMENT_ENTRY_RET, &plan);
	gobin__free(gb);
	return 0;
}
