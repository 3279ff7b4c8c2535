// SPDX-License-Identifier: MIT
#include <errno.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>

#include "uprobe_multi.h"

/* BPF_LINK_CREATE's attributes for BPF_TRACE_UPROBE_MULTI, as in the kernel's UAPI. */
struct uprobe_multi_attr {
	__u32 prog_fd;
	__u32 target_fd;
	__u32 attach_type;
	__u32 flags;
	__aligned_u64 path;
	__aligned_u64 offsets;
	__aligned_u64 ref_ctr_offsets;
	__aligned_u64 cookies;
	__u32 cnt;
	__u32 multi_flags;
	__u32 pid;
	__u32 _pad;
};

int uprobe_multi__attach(int prog_fd, const char *path, const uint64_t *offsets,
			 const uint64_t *cookies, uint32_t cnt, pid_t pid)
{
	struct uprobe_multi_attr attr = {
		.prog_fd = (__u32)prog_fd,
		.attach_type = UPROBE_MULTI_ATTACH_TYPE,
		.path = (uintptr_t)path,
		.offsets = (uintptr_t)offsets,
		.cookies = (uintptr_t)cookies,
		.cnt = cnt,
		.pid = (__u32)pid,
	};
	long fd = syscall(__NR_bpf, BPF_LINK_CREATE, &attr, sizeof(attr));

	return fd < 0 ? -errno : (int)fd;
}

/*
 * A program that does nothing, linked into "/" (a directory: EBADF where
 * multi-uprobes exist), then with PID -1 (EINVAL where the PID filter
 * checks its process, fixed after their first release).
 */
static bool probe_kernel(void)
{
	struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = UPROBE_MULTI_ATTACH_TYPE);
	uint64_t offset = 0;
	int prog, link;
	bool ok;

	prog = bpf_prog_load(BPF_PROG_TYPE_KPROBE, "otrace_probe", "GPL", insns, 2, &opts);
	if (prog < 0)
		return false;
	link = uprobe_multi__attach(prog, "/", &offset, NULL, 1, 0);
	ok = link == -EBADF;
	if (link >= 0)
		close(link);
	if (ok) {
		link = uprobe_multi__attach(prog, "/", &offset, NULL, 1, -1);
		ok = link == -EINVAL;
		if (link >= 0)
			close(link);
	}
	close(prog);
	return ok;
}

bool uprobe_multi__supported(void)
{
	static int supported = -1;

	if (supported < 0)
		supported = probe_kernel();
	return supported;
}
