#!/usr/bin/env bash
# test-correction.sh WRK2HDR SCRATCH_DIR
#
# Proves that wrk2hdr's latency is free of coordinated omission:
#  1. Against stallserver (every 1000th request holds a global lock for
#     50 ms) at 2000 req/s for 5 s, the corrected latency (from the intended
#     send time) must show the stall at its high percentiles, while the
#     naive uncorrected latency (from the actual send time) hides most of it.
#  2. Against the same server without stalls, wrk2hdr's median and p99 must
#     be within a sane factor of vegeta's at the same constant rate (each
#     tool's lower figure of two rounds, the order swapped in the second).
# Assertions are on ratios and on the known 50 ms stall, never on how fast
# this machine is. Loopback only; every run is bounded by `timeout`.
# Exit status: 0 if every check passed. Last line: "N passed, N failed".
set -u

if [ $# -ne 2 ]; then
	echo "usage: $0 WRK2HDR SCRATCH_DIR" >&2
	exit 2
fi
WRK2HDR=$1
SCRATCH=$2
HERE=$(cd "$(dirname "$0")" && pwd)
RATE=2000
STALL_EVERY=1000
# Latest vegeta, or this release when the module proxy won't list versions.
VEGETA_PINNED=v12.12.0

passed=0
failed=0
server_pids=()

check() {	# check DESCRIPTION COMMAND...
	local what=$1
	shift
	if "$@"; then
		echo "PASS: $what"
		passed=$((passed + 1))
	else
		echo "FAIL: $what"
		failed=$((failed + 1))
	fi
}

# awk does the float comparisons: ok "EXPR" with numbers substituted
ok() {
	awk "BEGIN { exit !($1) }"
}

finish() {
	echo "$passed passed, $failed failed"
	[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
	exit $?
}

cleanup() {
	local p
	for p in "${server_pids[@]}"; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
}
trap cleanup EXIT

find_go() {
	if [ -n "${GO:-}" ] && [ -x "$GO" ]; then
		return 0
	fi
	GO=$(command -v go || true)
	[ -n "$GO" ] || GO=/usr/local/go/bin/go
	[ -x "$GO" ]
}

setup_go_env() {
	export GOTOOLCHAIN=local	# never try to download a toolchain
	export GOFLAGS="-buildvcs=false -modcacherw"
	# CI may run without HOME; keep Go's caches inside the scratch dir then
	if [ -z "${HOME:-}" ]; then
		export GOPATH=$SCRATCH/gopath
		export GOCACHE=$SCRATCH/gocache
	fi
}

build_server() {
	(cd "$HERE/stallserver" && "$GO" build -o "$SCRATCH/stallserver" .)
}

# start_server NAME ARGS...: sets PORT and SERVER_PID, log in $SCRATCH/NAME.log
start_server() {
	local name=$1 i
	shift
	rm -f "$SCRATCH/$name.port"
	"$SCRATCH/stallserver" -addr 127.0.0.1:0 -portfile "$SCRATCH/$name.port" \
		-max-lifetime 60s "$@" 2>"$SCRATCH/$name.log" &
	SERVER_PID=$!
	server_pids+=("$SERVER_PID")
	for i in $(seq 100); do
		[ -s "$SCRATCH/$name.port" ] && break
		sleep 0.05
	done
	PORT=$(cat "$SCRATCH/$name.port" 2>/dev/null)
	[ -n "$PORT" ]
}

stop_server() {
	kill "$SERVER_PID" 2>/dev/null
	wait "$SERVER_PID" 2>/dev/null
}

# json_lat FILE corrected|uncorrected KEY -> number from wrk2hdr's --json
json_lat() {
	sed -n "s/.*\"$2\": {[^}]*\"$3\": \([0-9.]*\).*/\1/p" "$1"
}

# json_top FILE KEY -> top-level number from wrk2hdr's --json
json_top() {
	sed -n "s/^  \"$2\": \([0-9.]*\),*$/\1/p" "$1"
}

run_wrk2hdr() {	# run_wrk2hdr NAME DURATION: JSON to $SCRATCH/NAME.json
	timeout 30 "$WRK2HDR" -R "$RATE" -d "$2" -c 4 -t 2 --warmup 500ms -U \
		--json "$SCRATCH/$1.json" --hgrm "$SCRATCH/$1.hgrm" \
		"http://127.0.0.1:$PORT/" >"$SCRATCH/$1.txt" 2>&1
}

# the row before the footer is percentile 1.000000, the footer is all there
hgrm_complete() {
	grep -B1 '^#\[Mean    = ' "$1" | head -1 | grep -q ' 1\.000000 ' &&
		grep -q '^#\[Max     = ' "$1" && grep -q '^#\[Buckets = ' "$1"
}

# --- 1: the stall must show up in the corrected, not the uncorrected ---
stall_test() {
	local j=$SCRATCH/stall.json c99 c999 cmax u99 reqs stalls

	if ! start_server stall -stall-every "$STALL_EVERY" -stall 50ms; then
		check "stall server started" false
		return
	fi
	check "wrk2hdr run against the stall server" run_wrk2hdr stall 5s
	stop_server
	cat "$SCRATCH/stall.txt"
	stalls=$(sed -n 's/.* \([0-9]*\) stalls$/\1/p' "$SCRATCH/stall.log")
	reqs=$(json_top "$j" requests)
	c99=$(json_lat "$j" corrected p99)
	c999=$(json_lat "$j" corrected p99_9)
	cmax=$(json_lat "$j" corrected max)
	u99=$(json_lat "$j" uncorrected p99)
	echo
	echo "stall run: ${reqs:-?} requests, server stalled ${stalls:-?} times"
	printf '%-14s %12s %12s\n' "latency (us)" corrected uncorrected
	printf '%-14s %12s %12s\n' p50 "$(json_lat "$j" corrected p50)" \
		"$(json_lat "$j" uncorrected p50)"
	printf '%-14s %12s %12s\n' p99 "$c99" "$u99"
	printf '%-14s %12s %12s\n' p99.9 "$c999" \
		"$(json_lat "$j" uncorrected p99_9)"
	printf '%-14s %12s %12s\n' max "$cmax" "$(json_lat "$j" uncorrected max)"
	: "${reqs:=0}" "${stalls:=0}" "${c99:=0}" "${c999:=0}" "${cmax:=0}"
	: "${u99:=999999999}"
	check "the constant rate was kept (>= 90% of $RATE/s x 5 s)" \
		ok "$reqs >= 0.9 * $RATE * 5"
	check "the server really stalled (>= 3 times)" ok "$stalls >= 3"
	check "corrected p99.9 >= 40 ms (shows the 50 ms stall)" \
		ok "$c999 >= 40000"
	check "corrected max >= 40 ms" ok "$cmax >= 40000"
	check "corrected p99 >= 20 ms (~1 in 100 requests was due mid-stall)" \
		ok "$c99 >= 20000"
	# coordinated omission hides the stall from the uncorrected figure: a ratio,
	# not a bound on it, which a loaded machine's own pauses raise (13.8 ms at
	# p99 on a shared host, with the corrected p99 at 61.9 ms)
	check "corrected p99 >= 3x uncorrected p99 (coordinated omission hides the stall)" \
		ok "$c99 >= 3 * $u99"
	check "spectrum file ends with the 100% row and the footer" \
		hgrm_complete "$SCRATCH/stall.hgrm"
}

install_vegeta() {
	VEGETA=$SCRATCH/gobin/vegeta
	[ -x "$VEGETA" ] && return 0
	echo "installing vegeta into $SCRATCH/gobin ..."
	GOBIN=$SCRATCH/gobin "$GO" install github.com/tsenart/vegeta/v12@latest \
		>"$SCRATCH/vegeta-install.log" 2>&1 && return 0
	# A proxy that serves modules but not version lists breaks @latest
	# (go install looks up deprecations); build a pinned release instead.
	echo "go install @latest failed, building vegeta $VEGETA_PINNED"
	rm -rf "$SCRATCH/vegeta-mod"
	mkdir -p "$SCRATCH/vegeta-mod"
	(cd "$SCRATCH/vegeta-mod" &&
		"$GO" mod init vegetabuild &&
		"$GO" get "github.com/tsenart/vegeta/v12@$VEGETA_PINNED" &&
		"$GO" build -o "$VEGETA" github.com/tsenart/vegeta/v12) \
		>>"$SCRATCH/vegeta-install.log" 2>&1
}

# within A B FACTOR ABS: A and B within FACTOR of each other, or ABS apart
within() {
	ok "($1 - $2 <= $4 && $2 - $1 <= $4) || ($1 <= $3 * $2 && $2 <= $3 * $1)"
}

# run_vegeta NAME: vegeta at the same rate for 3 s, its JSON report to $SCRATCH/NAME.json
run_vegeta() {
	echo "GET http://127.0.0.1:$PORT/" |
		timeout 30 "$VEGETA" attack -rate="$RATE" -duration=3s \
			-timeout=2s 2>"$SCRATCH/$1.err" |
		timeout 30 "$VEGETA" report -type=json >"$SCRATCH/$1.json"
}

# vegeta_us FILE KEY: a latency of vegeta's JSON report (nanoseconds) in us
vegeta_us() {
	local ns

	ns=$(sed -n "s/.*\"$2\":\([0-9]*\).*/\1/p" "$1" | head -1)
	awk -v ns="${ns:-0}" 'BEGIN { print ns / 1000 }'
}

# min A B: the smaller number
min() {
	awk "BEGIN { print ($1 < $2) ? $1 : $2 }"
}

# --- 2: cross-check against vegeta at the same rate, no stalls ---
# Two rounds, the order swapped in the second, and each tool's lower figure
# compared: the tools run one after the other, and a pause of this shared
# host in one run (a wrk2hdr p99 of 8.6 ms against vegeta's 1.1 ms, its
# uncorrected p99 3.7 ms, in a fresh-clone CI run) measures the host, not
# the tools.
vegeta_test() {
	local vm=999999999 v99=999999999 wm=999999999 w99=999999999 vs=1 r x

	if ! install_vegeta; then
		tail -5 "$SCRATCH/vegeta-install.log"
		check "vegeta installed (go install github.com/tsenart/vegeta/v12 failed, see $SCRATCH/vegeta-install.log)" false
		return
	fi
	if ! start_server plain; then
		check "plain server started" false
		return
	fi
	for r in 1 2; do
		if [ "$r" = 1 ]; then
			check "wrk2hdr run $r against the plain server" run_wrk2hdr "plain$r" 3s
			run_vegeta "vegeta$r"
		else
			run_vegeta "vegeta$r"
			check "wrk2hdr run $r against the plain server" run_wrk2hdr "plain$r" 3s
		fi
		x=$(json_lat "$SCRATCH/plain$r.json" corrected p50)
		wm=$(min "$wm" "${x:-999999999}")
		x=$(json_lat "$SCRATCH/plain$r.json" corrected p99)
		w99=$(min "$w99" "${x:-999999999}")
		vm=$(min "$vm" "$(vegeta_us "$SCRATCH/vegeta$r.json" 50th)")
		v99=$(min "$v99" "$(vegeta_us "$SCRATCH/vegeta$r.json" 99th)")
		x=$(sed -n 's/.*"success":\([0-9.]*\).*/\1/p' "$SCRATCH/vegeta$r.json")
		vs=$(min "$vs" "${x:-0}")
		echo
		printf '%-14s %12s %12s %12s\n' "round $r (us)" wrk2hdr "(uncorr.)" vegeta
		printf '%-14s %12s %12s %12s\n' p50 "$(json_lat "$SCRATCH/plain$r.json" corrected p50)" \
			"$(json_lat "$SCRATCH/plain$r.json" uncorrected p50)" \
			"$(vegeta_us "$SCRATCH/vegeta$r.json" 50th)"
		printf '%-14s %12s %12s %12s\n' p99 "$(json_lat "$SCRATCH/plain$r.json" corrected p99)" \
			"$(json_lat "$SCRATCH/plain$r.json" uncorrected p99)" \
			"$(vegeta_us "$SCRATCH/vegeta$r.json" 99th)"
		printf '%-14s %12s %12s %12s\n' requests "$(json_top "$SCRATCH/plain$r.json" requests)" "" \
			"$(sed -n 's/.*"requests":\([0-9]*\).*/\1/p' "$SCRATCH/vegeta$r.json")"
	done
	stop_server
	echo "lower of the two rounds: wrk2hdr p50 $wm p99 $w99, vegeta p50 $vm p99 $v99 (us)"
	check "vegeta ran (>= 99% 2xx in both rounds)" ok "$vs >= 0.99"
	check "both medians measured" ok "$wm > 0 && $wm < 999999999 && $vm > 0 && $vm < 999999999"
	check "medians within 3x or 1 ms" within "$wm" "$vm" 3 1000
	check "p99s within 5x or 2 ms" within "$w99" "$v99" 5 2000
}

mkdir -p "$SCRATCH" || exit 2
if [ ! -x "$WRK2HDR" ]; then
	echo "no wrk2hdr binary at $WRK2HDR" >&2
	exit 2
fi
if ! find_go; then
	check "go toolchain found (PATH or /usr/local/go/bin)" false
	finish
fi
setup_go_env
if ! build_server; then
	check "stallserver builds" false
	finish
fi
stall_test
vegeta_test
finish
