#!/usr/bin/env bash
# Runs the --propagate integration tests (TestPropagate*) inside a guest that
# boots Debian's own kernel (test/vm/run-in-vm.sh), where bpf_probe_write_user
# is allowed, so that the write path itself runs: the host's kernel may be in
# lockdown, where those tests can only check that otrace refuses. For the same
# reason TestInFlightEvicted runs there too: lockdown refuses the fexit
# program that counts live spans evicted from full maps (bpf/evictwatch.bpf.c).
# TestRedis and TestKafka run there as well (their newest release each): the
# go-redis and kafka-go programs are the largest otrace has, and Debian 12's
# verifier is older than the host's.
#
# The guest boots with preempt=full (OTRACE_VM_APPEND; Debian's kernels are
# PREEMPT_DYNAMIC): a thread can then be preempted inside a BPF program and
# another run one on the same CPU, which is what the per-CPU buffers' slots
# (bpf/core/slots.h) are for. The script checks the guest ran in that mode,
# and TestConcurrentRequests sends 2,000 requests there
# (OTRACE_CONCURRENT_REQUESTS), each span checked against its own request.
#
# Usage: test/vm/run-propagate.sh OTRACE_BIN [WORK_DIR]
#
# Everything is built on the host first, into WORK_DIR (default: a
# vm-propagate directory next to OTRACE_BIN; under /tmp works too, the guest
# keeps the host's directories it is given): the Go integration test binary, the
# httpserver fixture, and the grpcchain fixture for each gRPC release, so
# that the guest, which has no network, finds every module and most of the
# build in the host's Go caches when TestPropagateGRPC rebuilds it.
#
# Fails when the tests fail, when TestPropagate or TestInFlightEvicted did not
# run and pass, when TestPropagate took the refusal branch ("this kernel
# forbids BPF writes": the point is the write path), or when the eviction
# watch did not load. Exit 77 (skip) when no guest can run here.
#
# Environment: OTRACE_VM_TESTS (go test -run pattern, default
# ^(TestPropagate.*|TestInFlightEvicted)$),
# OTRACE_VM_SKIP (go test -skip pattern, default Plan$: the *Plan tests only
# list probes, need no guest, and cost a fixture build each, minutes under
# emulation; the integration ctest runs them on the host), OTRACE_GRPC_RELEASES
# (see test/go/integration/doc.go), and run-in-vm.sh's OTRACE_VM_* variables.
set -euo pipefail
shopt -s inherit_errexit

if (($# < 1 || $# > 2)); then
	echo "usage: $0 OTRACE_BIN [WORK_DIR]" >&2
	exit 2
fi
root="$(cd "$(dirname "$0")/../.." && pwd)"
export PATH="/usr/local/go/bin:$PATH"
otrace="$(realpath "$1")"
if [[ ! -f $otrace || ! -x $otrace ]]; then
	echo "$0: $1 is not an executable file" >&2
	exit 1
fi
work="$(realpath -m "${2:-$(dirname "$otrace")/vm-propagate}")"
case $work/ in
/dev/* | /proc/* | /sys/*)
	echo "$0: WORK_DIR $work is not a host directory the guest sees; pick another" >&2
	exit 2
	;;
esac
mkdir -p "$work"
refusal="this kernel forbids BPF writes"

echo "run-propagate: building the test binary and the fixtures into $work"
(cd "$root/test/go" && go test -c -o "$work/integration.test" ./integration)
"$root/test/fixtures/build-fixture.sh" go "$work/httpserver"

# The gRPC fixtures, prebuilt here (OTRACE_GRPC_FIXTURES): a build in the
# emulated guest takes a minute each.
releases=${OTRACE_GRPC_RELEASES-$(sed -n 's/^[[:space:]]*\(oldest\|newest\)GRPC *= *"\(v[0-9.]*\)".*/\2/p' \
	"$root/test/go/integration/grpc_test.go")}
for release in $releases; do
	if [[ -f $root/test/fixtures/grpcchain/build.sh ]]; then
		sh "$root/test/fixtures/grpcchain/build.sh" go "$work/grpcchain-grpc$release" "$release" \
			>"$work/build-grpcchain.log" 2>&1 || {
			cat "$work/build-grpcchain.log" >&2
			exit 1
		}
	fi
done

# TestRedis's and TestKafka's fixtures, as goFixture names them (OTRACE_PREBUILT):
# the newest go-redis v9 and kafka-go release of their lists
redis_release=$(sed -n 's/^[[:space:]]*"\(github.com\/redis\/go-redis\/v9@v[0-9.]*\)".*/\1/p' \
	"$root/test/go/integration/redis_test.go" | tail -1)
kafka_release=$(sed -n 's/^var kafkaReleases = .*"\(v[0-9.]*\)")$/\1/p' \
	"$root/test/go/integration/kafka_test.go")
if [[ -z $redis_release || -z $kafka_release ]]; then
	echo "$0: cannot find the go-redis or kafka-go release in the tests' lists" >&2
	exit 1
fi
redis_key="redisapp-$(echo "$redis_release" | tr / _ | tr @ -)"
sh "$root/test/fixtures/redisapp/build.sh" go "$work/$redis_key" "$redis_release" >"$work/build-redisapp.log" 2>&1 &&
	sh "$root/test/fixtures/kafkaapp/build.sh" go "$work/kafkaapp-$kafka_release" "$kafka_release" >"$work/build-kafkaapp.log" 2>&1 &&
	(cd "$root/test/fixtures/kfake" && GOWORK=off CGO_ENABLED=0 go build -o "$work/kfake" .) || {
	cat "$work"/build-redisapp.log "$work"/build-kafkaapp.log >&2
	exit 1
}
export OTRACE_PREBUILT="$work" OTRACE_REDIS_RELEASES="$redis_release" OTRACE_KAFKA_RELEASES="$kafka_release"
export OTRACE_VM_APPEND="${OTRACE_VM_APPEND-preempt=full}"
export OTRACE_CONCURRENT_REQUESTS="${OTRACE_CONCURRENT_REQUESTS-2000}"

# TestInFlightEvicted's services fixture, as grpcFixture names it
newest=$(sed -n 's/^[[:space:]]*newestGRPC *= *"\(v[0-9.]*\)".*/\1/p' "$root/test/go/integration/grpc_test.go")
"$root/test/fixtures/services/build.sh" go "$work/services-grpc$newest" "$newest" >"$work/build-services.log" 2>&1 || {
	cat "$work/build-services.log" >&2
	exit 1
}

export OTRACE_BIN="$otrace" OTRACE_FIXTURE="$work/httpserver" OTRACE_GRPC_FIXTURES="$work"
# The guest has no network: a module missing from the cache fails at once.
export GOPROXY=off
log="$work/guest.log"
rc=0
# from the package directory, as go test runs it: the tests find the fixtures' sources from there
(cd "$root/test/go/integration" &&
	"$root/test/vm/run-in-vm.sh" sh -c 'echo "guest preemption: $(cat /sys/kernel/debug/sched/preempt 2>&1)"; exec "$@"' sh \
		"$work/integration.test" -test.v -test.count=1 -test.timeout=10m \
		-test.run "${OTRACE_VM_TESTS:-^(TestPropagate.*|TestInFlightEvicted|TestRedis|TestKafka|TestConcurrentRequests)\$}" -test.skip "${OTRACE_VM_SKIP-Plan$}") |
	tee "$log" || rc=$?

if ((rc == 77)); then
	exit 77
fi
if grep -q "$refusal" "$log"; then
	echo "run-propagate: FAIL: the guest's kernel refused BPF writes (\"$refusal\"): the write path did not run" >&2
	exit 1
fi
if ((rc != 0)); then
	echo "run-propagate: FAIL: the tests failed in the guest (exit $rc)" >&2
	exit 1
fi
if ! grep -q '^--- PASS: TestPropagate ' "$log"; then
	echo "run-propagate: FAIL: TestPropagate did not run and pass in the guest" >&2
	exit 1
fi
if [[ $OTRACE_VM_APPEND == *preempt=full* ]] && ! grep -q '^guest preemption: .*(full)' "$log"; then
	echo "run-propagate: FAIL: the guest did not run with full preemption (preempt=full)" >&2
	exit 1
fi
if [[ -z ${OTRACE_VM_TESTS:-} ]]; then
	for t in TestInFlightEvicted TestRedis TestKafka TestConcurrentRequests; do
		if ! grep -q "^--- PASS: $t " "$log"; then
			echo "run-propagate: FAIL: $t did not run and pass in the guest" >&2
			exit 1
		fi
	done
	if grep -q "this kernel refuses the eviction watch" "$log"; then
		echo "run-propagate: FAIL: the guest's kernel refused the eviction watch: its count did not run" >&2
		exit 1
	fi
fi
echo "run-propagate: the --propagate write path, the eviction watch, go-redis and kafka-go passed in the guest"
