#!/usr/bin/env bash
# test-closed-loop.sh WRK2HDR SCRATCH_DIR
#
# Checks wrk2hdr's --closed-loop mode (used by the benchmark runner to
# measure saturation throughput) against stallserver without stalls:
#  - it runs, gets responses and no errors, and reports mode "closed";
#  - with no schedule the corrected and uncorrected latencies are the same;
#  - it keeps every connection busy: it completes more requests than a
#    constant-rate run at a rate well below what it achieved;
#  - the server answered at least as many requests as were recorded;
#  - -R together with --closed-loop is a usage error (exit 2).
# Assertions never depend on how fast this machine is. Loopback only.
# Last line: "N passed, N failed".
set -euo pipefail

if [ $# -ne 2 ]; then
	echo "usage: $0 WRK2HDR SCRATCH_DIR" >&2
	exit 2
fi
WRK2HDR=$1
SCRATCH=$2
HERE=$(cd "$(dirname "$0")" && pwd)
passed=0
failed=0
SERVER_PID=

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

ok() {
	awk "BEGIN { exit !($1) }"
}

cleanup() {
	if [ -n "$SERVER_PID" ]; then
		kill "$SERVER_PID" 2>/dev/null || true
		wait "$SERVER_PID" 2>/dev/null || true
	fi
}
trap cleanup EXIT

json_lat() {
	sed -n "s/.*\"$2\": {[^}]*\"$3\": \([0-9.]*\).*/\1/p" "$1"
}

json_top() {
	sed -n "s/^  \"$2\": \([0-9.]*\),*$/\1/p" "$1"
}

GO=${GO:-$(command -v go || echo /usr/local/go/bin/go)}
export GOTOOLCHAIN=local GOFLAGS="-buildvcs=false -modcacherw"
mkdir -p "$SCRATCH"
# CI may run without HOME; keep Go's caches inside the scratch dir then
if [ -z "${HOME:-}" ]; then
	export GOPATH=$SCRATCH/gopath GOCACHE=$SCRATCH/gocache
fi
(cd "$HERE/stallserver" && "$GO" build -o "$SCRATCH/stallserver" .)

rm -f "$SCRATCH/closed.port"
"$SCRATCH/stallserver" -addr 127.0.0.1:0 -portfile "$SCRATCH/closed.port" \
	-max-lifetime 60s 2>"$SCRATCH/closed.log" &
SERVER_PID=$!
for _ in $(seq 100); do
	[ -s "$SCRATCH/closed.port" ] && break
	sleep 0.05
done
PORT=$(cat "$SCRATCH/closed.port")
URL=http://127.0.0.1:$PORT/

j=$SCRATCH/closed.json
closed_run() {
	timeout 30 "$WRK2HDR" --closed-loop -d 2s --warmup 500ms -c 4 -t 1 \
		--json "$j" "$URL" >"$SCRATCH/closed.txt"
}
open_run() {	# open_run RATE
	timeout 30 "$WRK2HDR" -R "$1" -d 2s -c 4 -t 1 \
		--json "$SCRATCH/open.json" "$URL" >"$SCRATCH/open.txt"
}
check "closed-loop run succeeds" closed_run
cat "$SCRATCH/closed.txt"
reqs=$(json_top "$j" requests)
rate=$(json_top "$j" achieved_rate)
check "responses were recorded" ok "${reqs:-0} > 0"
check "JSON says mode closed" grep -q '"mode": "closed"' "$j"
check "no socket errors, non-2xx or unsent" \
	grep -q '"errors": {"connect": 0, "read": 0, "write": 0, "timeout": 0, "non2xx": 0, "parse": 0}' "$j"
check "unsent is 0" ok "$(json_top "$j" unsent) == 0"
for k in p50 p99 max; do
	check "corrected $k == uncorrected $k (no schedule)" \
		ok "$(json_lat "$j" corrected $k) == $(json_lat "$j" uncorrected $k)"
done

# A constant-rate run at a quarter of that rate completes fewer requests.
low=$(awk "BEGIN { r = int(${rate:-0} / 4); print (r < 1 ? 1 : r) }")
check "constant-rate run at $low req/s succeeds" open_run "$low"
check "closed loop completes more than a run at a quarter of its rate" \
	ok "$reqs > $(json_top "$SCRATCH/open.json" requests)"

kill "$SERVER_PID"
wait "$SERVER_PID" || true
SERVER_PID=
served=$(sed -n 's/^stallserver: \([0-9]*\) requests.*/\1/p' \
	"$SCRATCH/closed.log")
check "the server answered >= the recorded requests" \
	ok "${served:-0} >= $reqs"

set +e
"$WRK2HDR" --closed-loop -R 100 "$URL" >/dev/null 2>&1
rc=$?
set -e
check "--closed-loop with -R is a usage error (exit 2)" ok "$rc == 2"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
