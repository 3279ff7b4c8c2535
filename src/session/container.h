/* SPDX-License-Identifier: MIT */
/*
 * Containers and PID namespaces: the container a process runs in, from its
 * cgroup path, and the PID namespace otrace itself runs in.
 */
#ifndef OTRACE_CONTAINER_H
#define OTRACE_CONTAINER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define CONTAINER_ID_LEN 64 /* the hex id Docker, containerd, CRI-O and Podman give */

/*
 * The container id in the text of a /proc/PID/cgroup file: the last path
 * component of a line that is, or ends in, 64 lower-case hex digits after
 * the runtime's prefix ("docker-", "cri-containerd-", "crio-", "libpod-")
 * and before ".scope" (systemd's cgroup driver), or alone (cgroupfs:
 * /docker/ID, /kubepods/.../ID). Returns true with id filled (NUL-ended).
 */
bool container__id_in_cgroup(const char *text, char id[CONTAINER_ID_LEN + 1]);
/* The container id of pid, from /proc/PID/cgroup; false when it has none. */
bool container__id_of(pid_t pid, char id[CONTAINER_ID_LEN + 1]);

/* The PID namespace otrace runs in, as bpf_get_ns_current_pid_tgid takes it. */
struct pidns {
	uint64_t dev; /* the nsfs device, in the kernel's encoding */
	uint64_t ino;
	bool is_init; /* the initial (host's) PID namespace */
};

/* Reads otrace's own PID namespace from /proc/self/ns/pid; 0 or -errno. */
int pidns__self(struct pidns *ns);
/*
 * Whether pid's active PID namespace is ns (false also when /proc/PID/ns/pid
 * cannot be read).
 */
bool pidns__holds(const struct pidns *ns, pid_t pid);
/*
 * 0 when /proc shows otrace's own PID namespace (/proc/self is getpid()),
 * -EXDEV when it was mounted for another one (a PID namespace entered
 * without mounting a proc for it).
 */
int pidns__check_proc(void);

#endif
