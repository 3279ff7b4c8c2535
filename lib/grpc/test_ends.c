// SPDX-License-Identifier: MIT
/*
 * A gRPC call ended from two goroutines at once (a client stream's RecvMsg
 * and its context watcher both call finish; a failed creation and finish)
 * gives one span: every program that ends a call takes the call's ended flag
 * with a compare-and-swap. The race itself is too narrow to hit on demand
 * (TestGRPCConcurrentEnds makes the two finishes, and no duplicate came out
 * of 20,000 on the code before), so this checks the object: each of those
 * programs has an atomic compare-and-exchange.
 */
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <string.h>

#include "core_config.h"
#include "library_configs.h"
#include "otrace.skel.h"
#include "unittest.h"

static bool has_cmpxchg(struct bpf_object *obj, const char *name)
{
	struct bpf_program *prog = bpf_object__find_program_by_name(obj, name);
	const struct bpf_insn *insn = prog ? bpf_program__insns(prog) : NULL;
	size_t n = prog ? bpf_program__insn_cnt(prog) : 0;

	for (size_t i = 0; i < n; i++)
		if (insn[i].code == (BPF_STX | BPF_ATOMIC | BPF_DW) && insn[i].imm == BPF_CMPXCHG)
			return true;
	return false;
}

int main(void)
{
	static const char *const ends[] = { "grpc_server_end", "grpc_client_finish",
					    "grpc_client_created" };
	struct otrace *skel = otrace__open();

	CHECK(skel != NULL);
	if (!skel)
		return ut_summary();
	for (size_t i = 0; i < sizeof(ends) / sizeof(ends[0]); i++) {
		if (!has_cmpxchg(skel->obj, ends[i]))
			fprintf(stderr, "%s takes no compare-and-swap\n", ends[i]);
		CHECK(has_cmpxchg(skel->obj, ends[i]));
	}
	otrace__destroy(skel);
	return ut_summary();
}
