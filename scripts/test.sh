#!/usr/bin/env bash
# Builds otrace and runs every test (unit, integration against real Go programs,
# benchmark smoke tests) through ctest. Needs root for the tracing tests.
# Installs missing dependencies first (scripts/setup.sh); OTRACE_SKIP_SETUP=1 skips that.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${BUILD_DIR:-$root/build}"
export PATH="/usr/local/go/bin:$PATH"
# setup is idempotent and quick once everything is installed
if [[ -z ${OTRACE_SKIP_SETUP:-} ]]; then
	"$root/scripts/setup.sh"
fi
"$root/scripts/build.sh" "$@"
cd "$build"
ctest --output-on-failure --timeout 900
