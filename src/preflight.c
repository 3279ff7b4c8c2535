// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/capability.h>
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

int preflight__privileges(char *missing, size_t len)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2] = {};

	if (syscall(SYS_capget, &hdr, data))
		return -errno;
	/* CAP_SYS_ADMIN implies both on kernels that split them out */
	if (has_cap(data, CAP_SYS_ADMIN))
		return 0;
	if (has_cap(data, CAP_BPF) && has_cap(data, CAP_PERFMON))
		return 0;
	snprintf(missing, len, "%s%s%s", has_cap(data, CAP_BPF) ? "" : "CAP_BPF",
		 !has_cap(data, CAP_BPF) && !has_cap(data, CAP_PERFMON) ? " and " : "",
		 has_cap(data, CAP_PERFMON) ? "" : "CAP_PERFMON");
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
