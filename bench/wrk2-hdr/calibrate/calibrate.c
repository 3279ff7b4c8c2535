// SPDX-License-Identifier: MIT
/*
 * calibrate - this machine's cost of one uprobe hit, by the kind of
 * instruction probed.
 *
 * The probed functions are written in assembly so that their first
 * instruction is known: the kernel emulates push, jmp and (5-byte) nop, and
 * single-steps lea and cmp out of line. Each function is called N times
 * through a volatile pointer with no probe and with an empty BPF uprobe
 * program attached to its first instruction; the difference per call is
 * the cost of one hit. Needs root (CAP_BPF + CAP_PERFMON).
 *
 *	calibrate [--json] [--quick]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>

#include <bpf/libbpf.h>

#include "calibrate.skel.h"

#define REPEATS 5

/* Each takes and returns a value so the call cannot be optimised away. */
#define ASM_FUNC(name, body)						\
	__asm__(".text\n"						\
		".globl " #name "\n"					\
		".type " #name ", @function\n"				\
		".p2align 4\n"						\
		#name ":\n" body					\
		".size " #name ", . - " #name "\n")

ASM_FUNC(calib_push, "push %rbp\n pop %rbp\n mov %rdi, %rax\n ret\n");
ASM_FUNC(calib_jmp, "jmp 1f\n 1: mov %rdi, %rax\n ret\n");
ASM_FUNC(calib_nop5, ".byte 0x0f, 0x1f, 0x44, 0x00, 0x00\n"
	 " mov %rdi, %rax\n ret\n");
/* the nops Go places after calls: one byte, and the 0x66-prefixed 6-byte form */
ASM_FUNC(calib_nop1, "nop\n mov %rdi, %rax\n ret\n");
ASM_FUNC(calib_nop6, ".byte 0x66, 0x0f, 0x1f, 0x44, 0x00, 0x00\n"
	 " mov %rdi, %rax\n ret\n");
ASM_FUNC(calib_lea, "lea 1(%rdi), %rax\n ret\n");
ASM_FUNC(calib_cmp, "cmp $0, %rdi\n mov %rdi, %rax\n ret\n");

uint64_t calib_push(uint64_t);
uint64_t calib_jmp(uint64_t);
uint64_t calib_nop5(uint64_t);
uint64_t calib_nop1(uint64_t);
uint64_t calib_nop6(uint64_t);
uint64_t calib_lea(uint64_t);
uint64_t calib_cmp(uint64_t);

typedef uint64_t (*calib_fn)(uint64_t);

struct target {
	const char *symbol;
	const char *insn;
	const char *handling;
	calib_fn fn;
	long calls;		/* per timed repeat */
	double ns_plain;	/* per call, no probe (median) */
	double ns_probed;	/* per call, probed (median) */
	uint64_t hits;
	bool ok;
};

#define TARGET(sym, in, how, n)						\
	{ .symbol = #sym, .insn = in, .handling = how, .fn = sym, .calls = n }

static struct target targets[] = {
	TARGET(calib_push, "push %rbp", "emulated", 200000),
	TARGET(calib_jmp, "jmp rel8", "emulated", 200000),
	TARGET(calib_nop5, "nopl 0(%rax,%rax,1) (nop5)",
	       "nop5: emulated, or optimised on kernels that do", 200000),
	TARGET(calib_nop1, "nop (0x90)", "emulated", 200000),
	TARGET(calib_nop6, "nopw 0(%rax,%rax,1) (0x66 prefix)", "emulated", 200000),
	TARGET(calib_lea, "lea 1(%rdi),%rax", "single-stepped", 20000),
	TARGET(calib_cmp, "cmp $0,%rdi", "single-stepped", 20000),
};

#define NTARGETS (sizeof(targets) / sizeof(targets[0]))

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Median ns per call of @fn over REPEATS runs of @calls calls. */
static double time_calls(calib_fn fn, long calls)
{
	calib_fn volatile f = fn;
	double per[REPEATS];
	uint64_t sink = 0;
	int r;

	for (r = 0; r < REPEATS; r++) {
		int64_t t0 = now_ns();
		long i;

		for (i = 0; i < calls; i++)
			sink += f((uint64_t)i);
		per[r] = (double)(now_ns() - t0) / (double)calls;
	}
	__asm__ volatile("" : : "r"(sink));
	return median(per, REPEATS);
}

static double time_getppid(long calls)
{
	double per[REPEATS];
	int r;

	for (r = 0; r < REPEATS; r++) {
		int64_t t0 = now_ns();
		long i;

		for (i = 0; i < calls; i++)
			syscall(SYS_getppid);
		per[r] = (double)(now_ns() - t0) / (double)calls;
	}
	return median(per, REPEATS);
}

static int libbpf_quiet(enum libbpf_print_level level, const char *fmt,
			va_list ap)
{
	return level == LIBBPF_WARN ? vfprintf(stderr, fmt, ap) : 0;
}

static int measure(struct calibrate_bpf *skel, struct target *t)
{
	LIBBPF_OPTS(bpf_uprobe_opts, opts, .func_name = t->symbol);
	struct bpf_link *link;
	uint64_t before;

	t->fn(0);		/* fault the page in */
	t->ns_plain = time_calls(t->fn, t->calls);
	link = bpf_program__attach_uprobe_opts(skel->progs.calib_probe, 0,
					       "/proc/self/exe", 0, &opts);
	if (!link) {
		fprintf(stderr, "calibrate: attach to %s: %s\n", t->symbol,
			strerror(errno));
		return -1;
	}
	t->fn(0);
	before = skel->bss->hits;
	t->ns_probed = time_calls(t->fn, t->calls);
	t->hits = skel->bss->hits - before;
	bpf_link__destroy(link);
	t->ok = t->hits == (uint64_t)t->calls * REPEATS;
	if (!t->ok)
		fprintf(stderr, "calibrate: %s: %llu hits for %ld calls\n",
			t->symbol, (unsigned long long)t->hits,
			t->calls * REPEATS);
	return 0;
}

static void print_text(double syscall_ns)
{
	size_t i;

	printf("%-11s %-28s %-16s %12s\n", "function", "probed instruction",
	       "kernel", "ns per hit");
	for (i = 0; i < NTARGETS; i++) {
		const struct target *t = &targets[i];

		printf("%-11s %-28s %-16s %12.0f%s\n", t->symbol, t->insn,
		       strncmp(t->handling, "nop5", 4) ? t->handling : "nop5",
		       t->ns_probed - t->ns_plain, t->ok ? "" : "  (hits lost!)");
	}
	printf("%-11s %-28s %-16s %12.0f\n", "getppid", "(a syscall, for scale)",
	       "", syscall_ns);
}

static void print_json(double syscall_ns)
{
	size_t i;

	printf("{\"repeats\": %d, \"probes\": [", REPEATS);
	for (i = 0; i < NTARGETS; i++) {
		const struct target *t = &targets[i];

		printf("%s\n  {\"symbol\": \"%s\", \"instruction\": \"%s\", "
		       "\"handling\": \"%s\", \"calls\": %ld, "
		       "\"ns_per_call_plain\": %.1f, "
		       "\"ns_per_call_probed\": %.1f, \"ns_per_hit\": %.1f, "
		       "\"hits_ok\": %s}", i ? "," : "", t->symbol, t->insn,
		       t->handling, t->calls, t->ns_plain, t->ns_probed,
		       t->ns_probed - t->ns_plain, t->ok ? "true" : "false");
	}
	printf("],\n \"getppid_ns\": %.1f}\n", syscall_ns);
}

int main(int argc, char **argv)
{
	struct calibrate_bpf *skel;
	bool json = false, quick = false;
	double syscall_ns;
	int i, err = 0;
	size_t j;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json")) {
			json = true;
		} else if (!strcmp(argv[i], "--quick")) {
			quick = true;
		} else {
			fprintf(stderr, "usage: calibrate [--json] [--quick]\n");
			return 2;
		}
	}
	if (quick)
		for (j = 0; j < NTARGETS; j++)
			targets[j].calls /= 10;
	libbpf_set_print(libbpf_quiet);
	skel = calibrate_bpf__open_and_load();
	if (!skel) {
		fprintf(stderr, "calibrate: cannot load the BPF program: %s "
			"(needs root)\n", strerror(errno));
		return 1;
	}
	for (j = 0; j < NTARGETS && !err; j++)
		err = measure(skel, &targets[j]);
	calibrate_bpf__destroy(skel);
	if (err)
		return 1;
	syscall_ns = time_getppid(quick ? 20000 : 200000);
	if (json)
		print_json(syscall_ns);
	else
		print_text(syscall_ns);
	for (j = 0; j < NTARGETS; j++)
		if (!targets[j].ok)
			return 1;
	return 0;
}
