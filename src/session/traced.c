// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "exitcodes.h"
#include "log.h"
#include "library.h"
#include "offsets.h"
#include "target.h"
#include "traced.h"

enum probe_placement traced__placement(const struct otrace_opts *o)
{
	enum probe_placement placement = PLACEMENT_EMULATED;

	if (o->probe_placement)
		plan__parse_placement(o->probe_placement, &placement); /* validated by cli */
	return placement;
}

/* Opens the binary, checks it is Go and plans its probes; returns an exit code. */
int traced__inspect(struct traced_binary *b, enum probe_placement placement)
{
	int err = gobin__open(b->path, &b->gb);

	if (err == -EACCES || err == -EPERM) {
		pr_err("cannot read %s: %s", b->display, strerror(-err));
		return EXIT_PRIVILEGE;
	}
	if (err == -ENOENT) {
		pr_err("%s: no such file", b->display);
		return EXIT_NOT_GO;
	}
	if (err == -EINVAL) {
		pr_err("%s is a truncated or corrupt ELF file", b->display);
		return EXIT_NOT_GO;
	}
	if (err) {
		pr_err("%s is not an x86-64 ELF executable otrace can read (%s)", b->display,
		       err == -ENOEXEC ? "wrong format or architecture" : strerror(-err));
		return EXIT_NOT_GO;
	}
	if (!gobin__is_go(b->gb)) {
		pr_err("%s is not a Go program", b->display);
		return EXIT_NOT_GO;
	}
	/* said once per binary: every library's plan looks its fields up */
	if (!dwarf__present(gobin__elf(b->gb)))
		pr_debug("%s has no DWARF: struct offsets come from the generated tables",
			 b->display);
	b->nplanned = plan__build(b->gb, placement, &b->plan);
	return EXIT_OK;
}

static struct traced_binary *add_binary(struct traced_set *set)
{
	struct traced_binary *bins = realloc(set->bins, (set->nbins + 1) * sizeof(*bins));

	if (!bins)
		return NULL;
	set->bins = bins;
	memset(&bins[set->nbins], 0, sizeof(*bins));
	return &bins[set->nbins++];
}

/* Whether pid runs as otrace's own user (then no CAP_SYS_PTRACE is needed). */
static bool owns(pid_t pid)
{
	char path[32];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	return !stat(path, &st) && st.st_uid == geteuid();
}

/*
 * Files this PID's executable into set: a new binary, or one already there.
 * same_ns: the process must be in set's PID namespace (otrace outside the
 * host's, tracing).
 */
static int add_pid(struct traced_set *set, pid_t pid, enum probe_placement placement,
		   bool same_ns)
{
	char link[32];
	struct traced_binary *b;
	struct stat st;

	if (target__exists(pid)) {
		pr_err("no such process: %d", (int)pid);
		return EXIT_NO_PROCESS;
	}
	if (same_ns && !pidns__holds(&set->pidns, pid)) {
		pr_err("PID %d runs in a PID namespace nested in otrace's: outside the host's PID "
		       "namespace, otrace traces the processes of its own only",
		       (int)pid);
		return EXIT_USAGE;
	}
	snprintf(link, sizeof(link), "/proc/%d/exe", (int)pid);
	if (stat(link, &st)) {
		int err = errno;

		if (target__exists(pid)) {
			pr_err("no such process: %d", (int)pid);
			return EXIT_NO_PROCESS;
		}
		if (err == ENOENT)
			pr_err("PID %d has no executable file (a kernel thread?): not a Go program",
			       (int)pid);
		else if ((err == EACCES || err == EPERM) && !owns(pid))
			pr_err("PID %d belongs to another user: tracing it needs CAP_SYS_PTRACE",
			       (int)pid);
		else
			pr_err("PID %d: cannot open its executable: %s", (int)pid, strerror(err));
		return err == EACCES || err == EPERM ? EXIT_PRIVILEGE : EXIT_NOT_GO;
	}
	for (size_t i = 0; i < set->nbins; i++) {
		b = &set->bins[i];
		if (b->dev == st.st_dev && b->ino == st.st_ino) {
			b->pids[b->npids++] = pid;
			return EXIT_OK;
		}
	}
	b = add_binary(set);
	if (!b) {
		pr_err("out of memory");
		return EXIT_RUNTIME;
	}
	b->dev = st.st_dev;
	b->ino = st.st_ino;
	b->pids[b->npids++] = pid;
	if (target__exe_path(pid, b->exe, sizeof(b->exe)))
		snprintf(b->exe, sizeof(b->exe), "%s", link);
	/* the magic link still works when the file was replaced or deleted */
	snprintf(b->path, sizeof(b->path), "%s", link);
	snprintf(b->display, sizeof(b->display), "PID %d (%s)", (int)pid, b->exe);
	return traced__inspect(b, placement);
}

/* One file named on the command line (as display): --binary, --exec or --list-probes BINARY. */
static int add_file(struct traced_set *set, const char *path, const char *display,
		    enum probe_placement placement)
{
	struct traced_binary *b = add_binary(set);

	if (!b) {
		pr_err("out of memory");
		return EXIT_RUNTIME;
	}
	snprintf(b->path, sizeof(b->path), "%s", path);
	snprintf(b->exe, sizeof(b->exe), "%s", path);
	snprintf(b->display, sizeof(b->display), "%s", display);
	return traced__inspect(b, placement);
}

/*
 * Finds otrace's PID namespace. Outside the host's, the BPF side names
 * processes as otrace sees them, which needs /proc mounted for it and
 * processes of that namespace only: not --binary, whose probes fire in
 * every process running the file. Returns an exit code.
 */
static int check_pid_namespace(const struct otrace_opts *o, struct traced_set *set)
{
	int err = pidns__self(&set->pidns);

	if (err) {
		pr_err("cannot read otrace's PID namespace (/proc/self/ns/pid): %s",
		       strerror(-err));
		return EXIT_RUNTIME;
	}
	if (set->pidns.is_init)
		return EXIT_OK;
	if (pidns__check_proc()) {
		pr_err("/proc shows another PID namespace than otrace's: mount one for it "
		       "(mount -t proc proc /proc)");
		return EXIT_RUNTIME;
	}
	if (o->binary || o->all) {
		pr_err("%s needs the host's PID namespace: in otrace's (a container without the "
		       "host's PIDs) the processes it would reach could not be named; use -p or "
		       "--exec, or run otrace with the host's PIDs (hostPID)",
		       o->all ? "--all" : "--binary");
		return EXIT_USAGE;
	}
	return EXIT_OK;
}

int traced__resolve(const struct otrace_opts *o, struct traced_set *set)
{
	enum probe_placement placement = traced__placement(o);
	char path[PATH_MAX];
	int err, code;

	memset(set, 0, sizeof(*set));
	set->pidns.is_init = true;
	if (!o->list_probes) {
		code = check_pid_namespace(o, set);
		if (code != EXIT_OK)
			return code;
	}
	for (size_t i = 0; i < o->npids; i++) {
		code = add_pid(set, o->pids[i], placement, !set->pidns.is_init);
		if (code != EXIT_OK)
			return code;
	}
	if (o->npids || o->all) /* --all: the session finds its processes */
		return EXIT_OK;
	if (o->list_binary)
		return add_file(set, o->list_binary, o->list_binary, placement);
	if (o->binary) {
		set->all_processes = true;
		/* absolute, so that it can stand in for /proc/PID/exe in resources */
		return add_file(set, realpath(o->binary, path) ? path : o->binary, o->binary,
				placement);
	}
	err = target__resolve_program(o->exec_argv[0], path, sizeof(path));
	if (err == -ENOENT) {
		pr_err("%s: program not found", o->exec_argv[0]);
		return EXIT_EXEC_MISSING;
	}
	if (err) {
		pr_err("%s: not executable: %s", o->exec_argv[0], strerror(-err));
		return EXIT_EXEC_NOEXEC;
	}
	return add_file(set, path, path, placement);
}

/* Whether a library traced in plan names Go types in its spans. */
static bool names_types(const struct plan *plan)
{
	for (size_t i = 0; i < nlibraries; i++)
		if (plan->libs[i].active && libraries[i]->names_types)
			return true;
	return false;
}

int traced__load_binary_names(struct traced_binary *b)
{
	int err;

	b->span = (struct span_binary){ .plan = &b->plan };
	if (!names_types(&b->plan))
		return 0;
	err = itab_names__load(b->gb, &b->itabs);
	if (err) {
		pr_err("%s: failed to read the symbol table: %s", b->display, strerror(-err));
		return err;
	}
	if (!itab_names__count(b->itabs))
		pr_warn("%s: no itab names (no .symtab, no readable type data): error.type is "
			"_OTHER and db.system.name comes from the linked driver packages",
			b->display);
	b->span.itabs = b->itabs;
	return 0;
}

int traced__load_names(struct traced_set *set)
{
	for (size_t i = 0; i < set->nbins; i++) {
		int err = traced__load_binary_names(&set->bins[i]);

		if (err)
			return err;
	}
	return 0;
}

const struct traced_binary *traced__binary_of(const struct traced_set *set, pid_t pid)
{
	for (size_t i = 0; i < set->nbins; i++)
		for (size_t j = 0; j < set->bins[i].npids; j++)
			if (set->bins[i].pids[j] == pid)
				return &set->bins[i];
	return NULL;
}

void traced__free(struct traced_set *set)
{
	for (size_t i = 0; i < set->nbins; i++) {
		itab_names__free(set->bins[i].itabs);
		gobin__free(set->bins[i].gb);
	}
	free(set->bins);
	memset(set, 0, sizeof(*set));
}
