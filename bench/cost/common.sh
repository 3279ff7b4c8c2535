# shellcheck shell=bash
# What bench/cost/run and bench/cost/ab share; sourced.

# cpu_ns PID: CPU time of the process's threads so far, in ns (their
# schedstat; /proc/PID/stat counts clock ticks, 10 ms, which is 1 µs per
# request over 10,000). A thread that exited is missing from the sum: the
# fixtures' Go runtimes keep theirs, and otrace's live as long as it does.
cpu_ns() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ s += $1 } END { printf "%.0f\n", s }'; }

# otrace_progs OPID: a JSON array of the BPF programs that otrace process
# OPID holds (the ids its descriptors name) and that ran, with the kernel's
# run counts and times (kernel.bpf_stats_enabled): another program on the
# host, a leftover otrace's among them, is not counted.
otrace_progs() {
	local ids
	ids=$(cat /proc/"$1"/fdinfo/* 2>/dev/null | awk '$1 == "prog_id:" { print $2 }' | sort -u | jq -s .)
	bpftool prog show -j | jq --argjson ids "$ids" \
		'[.[] | select((.run_cnt // 0) > 0) | select(.id as $id | $ids | index($id))]'
}
