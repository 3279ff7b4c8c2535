#!/usr/bin/env bash
# Builds otrace and runs every test (unit, integration against real Go programs,
# benchmark smoke tests) through ctest. Needs root for the tracing tests.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${BUILD_DIR:-$root/build}"
export PATH="/usr/local/go/bin:$PATH"
"$root/scripts/build.sh" "$@"
cd "$build"
ctest --output-on-failure --timeout 900
