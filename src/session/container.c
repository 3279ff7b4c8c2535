// SPDX-License-Identifier: MIT
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "container.h"

/* The initial PID namespace's inode number (PROC_PID_INIT_INO in the kernel). */
#define PID_NS_INIT_INO 0xEFFFFFFCu

static bool is_id(const char *s, size_t len)
{
	if (len != CONTAINER_ID_LEN)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/* A container id in one path component [s, s + len); NULL when none. */
static const char *id_in_component(const char *s, size_t len)
{
	const char *start = s;

	if (len > 6 && !memcmp(s + len - 6, ".scope", 6))
		len -= 6;
	/* after the runtime's prefix: the last '-' or ':' */
	for (size_t i = len; i-- > 0;) {
		if (s[i] == '-' || s[i] == ':') {
			start = s + i + 1;
			break;
		}
	}
	return is_id(start, (size_t)(s + len - start)) ? start : NULL;
}

/* A container id in one cgroup path, looked for from its last component up. */
static const char *id_in_path(const char *path, size_t len)
{
	size_t end = len;

	while (end > 0) {
		size_t begin = end;
		const char *id;

		while (begin > 0 && path[begin - 1] != '/')
			begin--;
		id = id_in_component(path + begin, end - begin);
		if (id)
			return id;
		end = begin ? begin - 1 : 0;
	}
	return NULL;
}

bool container__id_in_cgroup(const char *text, char id[CONTAINER_ID_LEN + 1])
{
	const char *line = text;

	while (*line) {
		const char *nl = strchrnul(line, '\n'), *path, *found;

		/* "hierarchy-ID:controllers:path" */
		path = memchr(line, ':', (size_t)(nl - line));
		path = path ? memchr(path + 1, ':', (size_t)(nl - path - 1)) : NULL;
		found = path ? id_in_path(path + 1, (size_t)(nl - path - 1)) : NULL;
		if (found) {
			memcpy(id, found, CONTAINER_ID_LEN);
			id[CONTAINER_ID_LEN] = '\0';
			return true;
		}
		line = *nl ? nl + 1 : nl;
	}
	return false;
}

bool container__id_of(pid_t pid, char id[CONTAINER_ID_LEN + 1])
{
	char path[32], text[8192];
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	return container__id_in_cgroup(text, id);
}

int pidns__self(struct pidns *ns)
{
	struct stat st;

	if (stat("/proc/self/ns/pid", &st))
		return -errno;
	/* the helper compares with the kernel's dev_t: major << 20 | minor */
	ns->dev = ((uint64_t)major(st.st_dev) << 20) | minor(st.st_dev);
	ns->ino = st.st_ino;
	ns->is_init = st.st_ino == PID_NS_INIT_INO;
	return 0;
}

bool pidns__holds(const struct pidns *ns, pid_t pid)
{
	char path[48];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%d/ns/pid", (int)pid);
	return !stat(path, &st) && st.st_ino == ns->ino &&
	       (((uint64_t)major(st.st_dev) << 20) | minor(st.st_dev)) == ns->dev;
}

int pidns__check_proc(void)
{
	char self[32];
	ssize_t n = readlink("/proc/self", self, sizeof(self) - 1);

	if (n < 0)
		return -errno;
	self[n] = '\0';
	return atoi(self) == (int)getpid() ? 0 : -EXDEV;
}
