// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/perf_event.h>
#include <sys/syscall.h>

#include "preflight.h"

#ifndef CAP_PERFMON
#define CAP_PERFMON 38
#endif
#ifndef CAP_BPF
#define CAP_BPF 39
#endif

static int has_cap(const struct __user_cap_data_struct *d, int cap)
{
	return !!(d[cap / 32].effective & (1u << (cap % 32)));
}

/*
 * 0 when the effective set holds both capabilities a and b (or sufficient,
 * when not -1); else -EPERM naming the missing ones.
 */
static int need_both(int a, const char *a_name, int b, const char *b_name, int sufficient,
		     char *missing, size_t len)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2] = {};
	bool has_a, has_b;

	if (syscall(SYS_capget, &hdr, data))
		return -errno;
	if (sufficient >= 0 && has_cap(data, sufficient))
		return 0;
	has_a = has_cap(data, a);
	has_b = has_cap(data, b);
	if (has_a && has_b)
		return 0;
	snprintf(missing, len, "%s%s%s", has_a ? "" : a_name, !has_a && !has_b ? " and " : "",
		 has_b ? "" : b_name);
	return -EPERM;
}

int preflight__switch_user(char *missing, size_t len)
{
	return need_both(CAP_SETUID, "CAP_SETUID", CAP_SETGID, "CAP_SETGID", -1, missing, len);
}

int preflight__privileges(char *missing, size_t len)
{
	/* CAP_SYS_ADMIN implies both on kernels that split them out */
	return need_both(CAP_BPF, "CAP_BPF", CAP_PERFMON, "CAP_PERFMON", CAP_SYS_ADMIN, missing,
			 len);
}

/* The uprobe PMU's perf event type, or -1. */
static int uprobe_pmu_type(const char *root)
{
	char path[256];
	int type = -1;
	FILE *f;

	snprintf(path, sizeof(path), "%s/bus/event_source/devices/uprobe/type", root);
	f = fopen(path, "re");
	if (!f)
		return -1;
	if (fscanf(f, "%d", &type) != 1)
		type = -1;
	fclose(f);
	return type;
}

int preflight__uprobes(char *missing, size_t len)
{
	const char *root = getenv("OTRACE_SYSFS_ROOT");
	struct perf_event_attr attr = { .size = sizeof(attr) };
	int type, fd;

	if (!root || !*root)
		root = "/sys";
	type = uprobe_pmu_type(root);
	if (type < 0)
		return 0; /* preflight__kernel says what is missing */
	/*
	 * The PMU checks the creator's capability first and the file after, so
	 * an empty path tells the two apart without probing anything: EINVAL
	 * when allowed, EACCES when not. Since Linux 6.16 and the stable
	 * updates of July 2025 (ba677dbe77af, CVE-2025-38466) that capability
	 * is CAP_SYS_ADMIN; CAP_PERFMON was enough before.
	 */
	attr.type = (__u32)type;
	attr.config1 = (__u64)(unsigned long)"";
	fd = (int)syscall(SYS_perf_event_open, &attr, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);
	if (fd >= 0) {
		close(fd);
		return 0;
	}
	if (errno != EACCES && errno != EPERM)
		return 0; /* not a matter of privilege: attaching says what it is */
	snprintf(missing, len, "CAP_SYS_ADMIN to create uprobes (CAP_PERFMON no longer does since "
			       "Linux 6.16 and the stable kernels of July 2025)");
	return -EPERM;
}

int preflight__kernel(char *missing, size_t len)
{
	const char *root = getenv("OTRACE_SYSFS_ROOT");
	char path[256];

	if (!root || !*root)
		root = "/sys";
	snprintf(path, sizeof(path), "%s/kernel/btf/vmlinux", root);
	if (access(path, R_OK)) {
		snprintf(missing, len, "BTF (%s)", path);
		return -ENOTSUP;
	}
	snprintf(path, sizeof(path), "%s/bus/event_source/devices/uprobe/type", root);
	if (access(path, R_OK)) {
		snprintf(missing, len, "uprobe events (%s)", path);
		return -ENOTSUP;
	}
	return 0;
}

/* The active lockdown mode from securityfs ("integrity"), if it is mounted. */
static bool lockdown_mode(char *mode, size_t len)
{
	const char *root = getenv("OTRACE_SYSFS_ROOT");
	char path[256], line[128];
	const char *open_br, *close_br;
	FILE *f;

	if (!root || !*root)
		root = "/sys";
	snprintf(path, sizeof(path), "%s/kernel/security/lockdown", root);
	f = fopen(path, "re");
	if (!f)
		return false;
	if (!fgets(line, sizeof(line), f)) {
		fclose(f);
		return false;
	}
	fclose(f);
	/* "none [integrity] confidentiality": the active mode is bracketed */
	open_br = strchr(line, '[');
	close_br = open_br ? strchr(open_br, ']') : NULL;
	if (!open_br || !close_br)
		return false;
	snprintf(mode, len, "%.*s", (int)(close_br - open_br - 1), open_br + 1);
	return true;
}

/*
 * The kernel's own answer: does it load a uprobe (kprobe-type) program that
 * calls bpf_probe_write_user? (libbpf's helper probe cannot tell "refused"
 * from "supported": lockdown rejects with a message it does not look for.)
 */
static bool write_user_allowed(void)
{
	const struct bpf_insn insns[] = {
		/* *(u64 *)(r10 - 8) = 0 */
		{ .code = BPF_ST | BPF_MEM | BPF_DW, .dst_reg = BPF_REG_10, .off = -8, .imm = 0 },
		/* r1 = 0: the destination; never run, only verified */
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_1, .imm = 0 },
		/* r2 = r10 - 8 */
		{ .code = BPF_ALU64 | BPF_MOV | BPF_X, .dst_reg = BPF_REG_2, .src_reg = BPF_REG_10 },
		{ .code = BPF_ALU64 | BPF_ADD | BPF_K, .dst_reg = BPF_REG_2, .imm = -8 },
		/* r3 = 8 */
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_3, .imm = 8 },
		{ .code = BPF_JMP | BPF_CALL, .imm = BPF_FUNC_probe_write_user },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	int fd = bpf_prog_load(BPF_PROG_TYPE_KPROBE, "otrace_write_probe", "GPL", insns,
			       sizeof(insns) / sizeof(insns[0]), NULL);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

int preflight__write_user(char *why, size_t len)
{
	char mode[32];

	if (write_user_allowed())
		return 0;
	if (lockdown_mode(mode, sizeof(mode)) && strcmp(mode, "none"))
		snprintf(why, len, "kernel lockdown (%s) forbids writing to process memory", mode);
	else
		snprintf(why, len, "the kernel refuses BPF writes to process memory (lockdown, or "
				   "no CAP_SYS_ADMIN)");
	return -EPERM;
}
