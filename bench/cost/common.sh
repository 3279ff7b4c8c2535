# shellcheck shell=bash
# What bench/cost/run, ab and where share; sourced. The steal and
# kernel.bpf_stats_enabled checks (cpu_stat, steal_pct, wait_quiet,
# bpf_stats_off, bpf_stats_restore) are bench/preflight's, shared with the
# wrk2-hdr runner.
# shellcheck source=../preflight
. "$(dirname "${BASH_SOURCE[0]}")/../preflight"

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

# bench_init: $work (a new temporary directory), the load generator built
# into $work/load, and an exit trap (bench_cleanup) that sets
# kernel.bpf_stats_enabled back when bpf_stats_off changed it, stops the
# script's children and removes $work
bench_init() {
	export PATH="/usr/local/go/bin:$PATH"
	work="$(mktemp -d)"
	stats_was=""
	trap bench_cleanup EXIT
	(cd "$here" && go build -o "$work/load" .)
}

bench_cleanup() {
	[[ -z $stats_was ]] || bpf_stats_restore "$stats_was"
	pkill -P $$ 2>/dev/null || true
	rm -rf "$work"
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
