#!/bin/sh
# run-integration.sh OTRACE_BIN
#
# Vets and runs every Go test in test/go (otlpcheck and its decoder's unit
# tests, then the integration tests against OTRACE_BIN). Meant for ctest:
# the exit status is the result. Needs root for the tracing tests.
#
# Optional environment: OTRACE_FIXTURE (prebuilt fixture binary, see
# integration/doc.go), GO (go command, default: go on PATH), GOTESTFLAGS
# (extra `go test` flags, e.g. "-run TestExec"), GOTEST_TIMEOUT (go test -timeout,
# default 25m: on a fresh machine, where the tests download modules and build
# every fixture first, the suite takes over 12 minutes; ctest bounds it too).
set -eu

if [ $# -ne 1 ]; then
	echo "usage: $0 OTRACE_BIN" >&2
	exit 2
fi
case $1 in
/*) OTRACE_BIN=$1 ;;
*) OTRACE_BIN=$(pwd)/$1 ;; # the tests run from another directory
esac
if [ ! -f "$OTRACE_BIN" ] || [ ! -x "$OTRACE_BIN" ]; then
	echo "$0: $OTRACE_BIN is not an executable file" >&2
	exit 1
fi
export OTRACE_BIN

cd "$(dirname "$0")"
go=${GO:-go}
"$go" vet ./...
# -count=1: never report cached results for a binary that may have changed.
# shellcheck disable=SC2086 # GOTESTFLAGS is split on purpose
exec "$go" test -count=1 -v -timeout "${GOTEST_TIMEOUT:-25m}" ${GOTESTFLAGS:-} ./...
