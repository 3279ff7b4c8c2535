#!/usr/bin/env bash
# Replaces generated sections of README.md with their latest results:
#   support-table   <- BUILD_DIR/matrix/support.md (test/matrix/run-matrix.sh)
#   bench-summary   <- bench/wrk2-hdr/results/latest/summary.md (when present)
# Usage: scripts/update-readme.sh [BUILD_DIR]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-$root/build}"

# replace_section NAME FILE: the lines between the NAME markers become FILE.
replace_section() {
	local name=$1 file=$2 readme="$root/README.md"
	[[ -f $file ]] || { echo "update-readme: $file missing, $name left as is" >&2; return 0; }
	grep -q "<!-- $name:begin -->" "$readme" || { echo "update-readme: no $name markers" >&2; return 1; }
	awk -v name="$name" -v file="$file" '
		$0 == "<!-- " name ":begin -->" { print; while ((getline l < file) > 0) print l; skip = 1; next }
		$0 == "<!-- " name ":end -->" { skip = 0 }
		!skip' "$readme" >"$readme.new"
	mv "$readme.new" "$readme"
	echo "update-readme: $name from $file" >&2
}

replace_section support-table "$build/matrix/support.md"
replace_section bench-summary "$root/bench/wrk2-hdr/results/latest/summary.md"
