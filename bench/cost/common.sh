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

# cpu_stat: "STEAL TOTAL", the host's CPU ticks stolen by the hypervisor and all
# ticks so far (/proc/stat). A shared host's figures move with its neighbours'
# load: idle, the guest shows none, so the steal is taken while measuring.
cpu_stat() { awk '$1 == "cpu" { t = 0; for (i = 2; i <= NF; i++) t += $i; print $9, t; exit }' /proc/stat; }

# steal_pct "BEFORE" "AFTER": the share of the CPU time between two cpu_stat
# samples that the hypervisor stole, in percent
steal_pct() {
	awk -v b="$1" -v a="$2" 'BEGIN { split(b, x, " "); split(a, y, " ")
		printf "%.1f\n", (y[2] > x[2]) ? 100 * (y[1] - x[1]) / (y[2] - x[2]) : 0 }'
}

# median: the median of the numbers on stdin, one per line
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# steal_summary PCT...: one line, the median and worst steal of the runs and how
# many passed 5% (their figures are suspect)
steal_summary() {
	local med
	med=$(printf '%s\n' "$@" | median)
	printf '%s\n' "$@" | sort -g | awk -v med="$med" '{ v[NR] = $1; if ($1 > 5) n++ }
		END { printf "hypervisor steal during the %d measured runs: median %.1f%%, worst %.1f%%, %d above 5%%\n",
			NR, med, v[NR], n + 0 }'
}

# busy_steal SECONDS: the steal, in percent, while both cores spin for SECONDS.
# An idle guest shows none whatever its neighbours do; under load it shows what
# a measured run would lose.
busy_steal() {
	local before pids=() i
	before=$(cpu_stat)
	for i in $(seq "$(nproc)"); do
		timeout "$1" sh -c 'while :; do :; done' &
		pids+=($!)
	done
	wait "${pids[@]}" 2>/dev/null || true
	steal_pct "$before" "$(cpu_stat)"
}

# wait_quiet [MAX_PCT] [TRIES]: before measuring, probes the steal under load
# (5 s) until it is at most MAX_PCT (2) or TRIES (12, a minute apart) have
# passed; says on stderr what it found. Returns 1 when the host never quietened:
# the caller measures anyway and its steal figures tell.
wait_quiet() {
	local max=${1:-2} tries=${2:-12} i s
	for i in $(seq "$tries"); do
		s=$(busy_steal 5)
		if awk -v s="$s" -v m="$max" 'BEGIN { exit !(s <= m) }'; then
			echo "host quiet: ${s}% steal under load" >&2
			return 0
		fi
		echo "host busy: ${s}% steal under load (try $i of $tries)" >&2
		((i < tries)) && sleep 55
	done
	return 1
}

# bpf_stats_off: turns kernel.bpf_stats_enabled off for what follows and sets
# stats_was to what it was. With it on, every BPF program run reads the clock
# twice (two kvm-clock reads here, ~0.3 µs a request of the HTTP server), which
# would be charged to otrace; callers restore stats_was when they exit.
bpf_stats_off() {
	stats_was=$(sysctl -n kernel.bpf_stats_enabled)
	if [[ $stats_was != 0 ]]; then
		echo "kernel.bpf_stats_enabled was $stats_was: off while measuring CPU time, restored at exit" >&2
		sysctl -qw kernel.bpf_stats_enabled=0
	fi
}

# The fixtures and the servers they talk to, in $work (the caller's, removed
# with it; children are the caller's to end); $root is the source tree.

# need_fixture NAME: builds fixture NAME into $work/NAME unless there: server
# (test/fixtures/httpserver), services, redisapp, kafkaapp, kfake, or a
# router's (gin, chi, gorilla_mux, echo)
need_fixture() {
	[[ -x $work/$1 ]] && return
	case $1 in
	server) "$root/test/fixtures/build-fixture.sh" go "$work/server" ;;
	services | redisapp | kafkaapp) "$root/test/fixtures/$1/build.sh" go "$work/$1" ;;
	kfake) (cd "$root/test/fixtures/kfake" && GOWORK=off go build -o "$work/kfake" .) ;;
	gin | chi | gorilla_mux | echo) "$root/test/fixtures/routers/build.sh" "$1" go "$work/$1" ;;
	*) echo "need_fixture: no fixture $1" >&2; return 1 ;;
	esac >/dev/null
}

# wait_file FILE: until it exists and is not empty
wait_file() { for _ in $(seq 200); do [[ -s $1 ]] && return; sleep 0.05; done; }

# need_backends: Debian's redis-server and the fixture Kafka broker (kfake),
# once, in the background; sets redis_port and kafka_broker
need_backends() {
	[[ -n ${kafka_broker:-} ]] && return
	need_fixture kfake
	redis_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	redis-server --bind 127.0.0.1 --port "$redis_port" --dir "$work" --save "" --appendonly no \
		>"$work/redis.log" 2>&1 &
	"$work/kfake" -topics sent,next -port-file "$work/kfake.port" 2>"$work/kfake.err" &
	wait_file "$work/kfake.port"
	kafka_broker=127.0.0.1:$(cat "$work/kfake.port")
}

# start_server DIR PATH: starts the fixture PATH's prefix names ("svc:", "redis:",
# "kafka:", a router's fixture "gin:", "chi:", "gorilla_mux:", "echo:"; none: the
# httpserver fixture), in the background, building it first if need be; sets
# server_pid, server_port and server_path (PATH without its prefix, @PORT@ in it
# replaced by the server's port)
start_server() {
	local dir=$1 fixture
	server_path=$2
	case $server_path in
	svc:*) fixture=services ;;
	redis:*) fixture=redisapp ;;
	kafka:*) fixture=kafkaapp ;;
	gin:* | chi:* | gorilla_mux:* | echo:*) fixture=${server_path%%:*} ;;
	*) fixture=server ;;
	esac
	need_fixture "$fixture"
	[[ $fixture == redisapp || $fixture == kafkaapp ]] && need_backends
	case $fixture in
	services) "$work/services" -port-file "$dir/port" -h2-addr "" 2>"$dir/server.err" & ;;
	redisapp) "$work/redisapp" -redis "127.0.0.1:$redis_port" -port-file "$dir/port" 2>"$dir/server.err" & ;;
	kafkaapp) "$work/kafkaapp" -brokers "$kafka_broker" -batch-size 1 -port-file "$dir/port" \
		2>"$dir/server.err" & ;;
	server) "$work/server" -portfile "$dir/port" 2>"$dir/server.err" & ;;
	*) "$work/$fixture" -portfile "$dir/port" 2>"$dir/server.err" & ;;
	esac
	server_pid=$!
	server_path=${server_path#@(svc|redis|kafka|gin|chi|gorilla_mux|echo):}
	wait_file "$dir/port"
	server_port=$(cat "$dir/port")
	server_path=${server_path//@PORT@/$server_port}
}

# fill_next N: N thousand messages in topic "next" for the kafkaapp fixture's /next,
# which reads from offset 0 in every run
fill_next() {
	local dir="$work/fill" i
	mkdir -p "$dir"
	start_server "$dir" kafka:/hello
	for ((i = 0; i < $1; i++)); do
		curl -sf "http://127.0.0.1:$server_port/produce?topic=next&n=1000&tag=fill" >/dev/null
	done
	kill -TERM "$server_pid"
	wait "$server_pid" || true
}
