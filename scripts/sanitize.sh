#!/usr/bin/env bash
# Builds otrace with AddressSanitizer and UndefinedBehaviorSanitizer and runs the
# unit tests, one real trace, and the whole Go integration suite with it.
# Usage: scripts/sanitize.sh [BUILD_DIR]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-$root/build/asan-build}"
export PATH="/usr/local/go/bin:$PATH"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

cmake -S "$root" -B "$build" -DOTRACE_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$(nproc)" >/dev/null
# the stages' unit tests (test_*) and each library's (<library>_test_*)
for t in "$build"/test/test_* "$build"/test/*_test_*; do
	[[ -x $t && -f $t ]] || continue
	if ! out=$("$t" 2>&1); then
		echo "$out"
		echo "sanitize: $(basename "$t") failed" >&2
		exit 1
	fi
	echo "sanitize: $(basename "$t"): $(tail -n 1 <<<"$out")"
done

# one real trace of the fixture through the sanitized binary
work="$(mktemp -d)"
trap 'kill "$fixture_pid" 2>/dev/null || true; rm -rf "$work"' EXIT
"$root/test/fixtures/build-fixture.sh" go "$work/httpserver"
"$work/httpserver" -portfile "$work/port" &
fixture_pid=$!
for _ in $(seq 100); do [[ -s $work/port ]] && break; sleep 0.05; done
"$build/otrace" -p "$fixture_pid" -o "$work/spans.jsonl" 2>"$work/stderr" &
otrace_pid=$!
for _ in $(seq 100); do grep -q attached "$work/stderr" && break; sleep 0.05; done
for i in $(seq 20); do
	curl -s -o /dev/null -A $'bad\xff\xfe' "http://127.0.0.1:$(cat "$work/port")/items/$i"
done
kill -INT "$otrace_pid"
wait "$otrace_pid"
cat "$work/stderr"
spans=$(jq -s '[.[].resourceSpans[].scopeSpans[].spans[]] | length' "$work/spans.jsonl")
[[ $spans == 20 ]] || { echo "sanitize: expected 20 spans, got $spans" >&2; exit 1; }
echo "sanitize: 20 spans traced by the sanitized otrace"

# every integration scenario (exec, attach, pipes, bad input...) with the sanitized binary;
# a sanitizer report aborts otrace, which the tests see as a wrong exit status
# The integration suite against the sanitized otrace. It runs first in
# ctest, on a fresh machine with every fixture and module still to build: 25
# minutes of go test, not 12. What the other tests repeat is left to them: the
# gRPC release sample beyond the oldest and the newest release (the same code of
# otrace's; the integration test runs it), TestGRPCLongStream (40,000 calls;
# the soak test runs it with 100,000) and TestExportReceiverDown (a 10 s wait).
releases=$(sed -n 's/^[[:space:]]*\(oldest\|newest\)GRPC *= *"\(v[0-9.]*\)".*/\2/p' \
	"$root/test/go/integration/grpc_test.go" | tr '\n' ' ')
GOTEST_TIMEOUT=${GOTEST_TIMEOUT:-25m} OTRACE_GRPC_RELEASES=${OTRACE_GRPC_RELEASES-$releases} \
	GOTESTFLAGS=${GOTESTFLAGS-"-skip ^(TestGRPCLongStream|TestExportReceiverDown)\$"} \
	"$root/test/go/run-integration.sh" "$build/otrace"
echo "sanitize: integration suite passed under ASan and UBSan"
