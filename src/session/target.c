// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "target.h"

int target__exists(pid_t pid)
{
	char path[32];

	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	if (access(path, F_OK) == 0)
		return 0;
	return errno == ENOENT ? -ESRCH : -errno;
}

bool target__running(pid_t pid)
{
	char path[32], buf[512], *paren;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno != ENOENT && errno != ESRCH;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	/* "PID (comm) S ...": comm may hold anything, the state follows its last ')' */
	paren = strrchr(buf, ')');
	return !paren || (paren[1] == ' ' && paren[2] != 'Z' && paren[2] != 'X');
}

int target__exe_path(pid_t pid, char *path, size_t len)
{
	char link[32];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/%d/exe", (int)pid);
	n = readlink(link, path, len - 1);
	if (n < 0)
		return -errno;
	path[n] = '\0';
	return 0;
}

static int check_candidate(const char *path)
{
	struct stat st;

	if (stat(path, &st))
		return -errno;
	if (!S_ISREG(st.st_mode) || access(path, X_OK))
		return -EACCES;
	return 0;
}

int target__resolve_program(const char *prog, char *path, size_t len)
{
	const char *env = getenv("PATH");
	int result = -ENOENT;

	if (!*prog)
		return -ENOENT;
	if (strchr(prog, '/')) {
		if ((size_t)snprintf(path, len, "%s", prog) >= len)
			return -ENAMETOOLONG;
		return check_candidate(path);
	}
	if (!env)
		env = "/usr/local/bin:/usr/bin:/bin";
	while (*env) {
		const char *colon = strchrnul(env, ':');
		int dirlen = (int)(colon - env);
		int err;

		if ((size_t)snprintf(path, len, "%.*s/%s", dirlen ? dirlen : 1,
				     dirlen ? env : ".", prog) < len) {
			err = check_candidate(path);
			if (!err)
				return 0;
			if (err == -EACCES)
				result = -EACCES;
		}
		env = *colon ? colon + 1 : colon;
	}
	return result;
}

static void child_wait_and_exec(int go_fd, int err_fd, const char *path, char *const argv[],
				const struct spawn_attr *attr)
{
	int err, report[2] = { 0, 0 };
	sigset_t none;
	char go;

	/* otrace blocks signals and sets their dispositions for itself; the program gets its own */
	for (int sig = 1; sig < NSIG; sig++)
		if (sigismember(&attr->changed, sig) == 1)
			signal(sig, sigismember(&attr->ignored, sig) == 1 ? SIG_IGN : SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (read(go_fd, &go, 1) != 1)
		_exit(127); /* otrace gave up before attaching */
	close(go_fd);
	/* the child's report: which step failed (0: exec, 1: credentials) and errno */
	if (attr->creds && (err = credentials__apply(attr->creds))) {
		report[0] = 1;
		report[1] = -err;
	} else {
		if (!attr->stdout_to_stderr || dup2(STDERR_FILENO, STDOUT_FILENO) >= 0)
			execv(path, argv);
		report[1] = errno;
	}
	if (write(err_fd, report, sizeof(report)) < 0)
		_exit(127);
	_exit(127);
}

int target__spawn(const char *path, char *const argv[], const struct spawn_attr *attr,
		  struct spawned *sp)
{
	int go_pipe[2], err_pipe[2];
	pid_t pid;

	if (pipe2(go_pipe, O_CLOEXEC))
		return -errno;
	if (pipe2(err_pipe, O_CLOEXEC)) {
		int err = -errno;

		close(go_pipe[0]);
		close(go_pipe[1]);
		return err;
	}
	pid = fork();
	if (pid < 0) {
		int err = -errno;

		close(go_pipe[0]);
		close(go_pipe[1]);
		close(err_pipe[0]);
		close(err_pipe[1]);
		return err;
	}
	if (pid == 0) {
		close(go_pipe[1]);
		close(err_pipe[0]);
		child_wait_and_exec(go_pipe[0], err_pipe[1], path, argv, attr);
	}
	close(go_pipe[0]);
	close(err_pipe[1]);
	sp->pid = pid;
	sp->go_fd = go_pipe[1];
	sp->err_fd = err_pipe[0];
	sp->creds_failed = false;
	return 0;
}

int target__release(struct spawned *sp)
{
	int report[2] = { 0, 0 };
	ssize_t n;

	if (write(sp->go_fd, "g", 1) != 1)
		return -errno;
	close(sp->go_fd);
	sp->go_fd = -1;
	/* EOF on the CLOEXEC pipe means the exec succeeded */
	do {
		n = read(sp->err_fd, report, sizeof(report));
	} while (n < 0 && errno == EINTR);
	close(sp->err_fd);
	sp->err_fd = -1;
	if (n != sizeof(report))
		return 0;
	sp->creds_failed = report[0] == 1;
	return -report[1];
}

int target__pidfd(pid_t pid)
{
	int fd = (int)syscall(SYS_pidfd_open, pid, 0);

	return fd < 0 ? -errno : fd;
}
