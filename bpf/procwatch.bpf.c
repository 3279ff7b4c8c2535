// SPDX-License-Identifier: MIT
/*
 * otrace --all: which processes start, end and listen, from tracepoints
 * (kprobes are not needed, and not available everywhere). Exec events are
 * sent for every program the host starts, so that a new process of a traced
 * binary is known within a wakeup; exits only for the processes otrace
 * watches (watched), when their last thread exits; listens only while
 * --port asks (report_listen). Without --all, execs only of the processes
 * watched (watched_execs): otrace follows its targets into a new image.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "procwatch.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

#define TCP_LISTEN_STATE 10

const volatile bool report_listen = false;
const volatile bool watched_execs = false;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 << 10);
} proc_events SEC(".maps");

/* the processes whose exit otrace wants to hear of: user space keeps it */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, __u8);
} watched SEC(".maps");

__u64 proc_events_lost = 0;

static __always_inline struct ot_proc_event *reserve(__u32 type, __u32 pid)
{
	struct ot_proc_event *e = bpf_ringbuf_reserve(&proc_events, sizeof(*e), 0);

	if (!e) {
		__sync_fetch_and_add(&proc_events_lost, 1);
		return NULL;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->type = type;
	e->pid = pid;
	e->ktime_ns = bpf_ktime_get_ns();
	return e;
}

static __always_inline void send(__u32 type, __u32 pid, __u16 port)
{
	struct ot_proc_event *e = reserve(type, pid);

	if (!e)
		return;
	e->port = port;
	bpf_ringbuf_submit(e, 0);
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(proc_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct inode *inode = bprm->file->f_inode;
	struct ot_proc_event *e;

	if (watched_execs && !bpf_map_lookup_elem(&watched, &tgid))
		return 0;
	e = reserve(OT_PROC_EXEC, tgid);
	if (!e)
		return 0;
	e->dev = inode->i_sb->s_dev;
	e->ino = inode->i_ino;
	bpf_probe_read_kernel_str(e->path, sizeof(e->path), bprm->filename);
	bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(proc_exit, struct task_struct *p)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;

	if (!bpf_map_lookup_elem(&watched, &tgid))
		return 0;
	/* do_exit counts the thread out of signal->live before this tracepoint */
	if (p->signal->live.counter != 0)
		return 0;
	send(OT_PROC_EXIT, tgid, 0);
	return 0;
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(proc_listen, const struct sock *sk, const int oldstate, const int newstate)
{
	if (!report_listen || newstate != TCP_LISTEN_STATE)
		return 0;
	send(OT_PROC_LISTEN, bpf_get_current_pid_tgid() >> 32, sk->__sk_common.skc_num);
	return 0;
}
