#!/usr/bin/env bash
# Replaces generated sections of README.md with their latest results:
#   support-table   <- BUILD_DIR/matrix/support.md (test/matrix/run-matrix.sh ... all)
#   grpc-table      <- BUILD_DIR/grpc-releases/results.md (test/grpc/run-releases.sh)
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
replace_section grpc-table "$build/grpc-releases/results.md"

# extract_section NAME SUMMARY FROM TO: the summary's lines from heading FROM up
# to heading TO become README section NAME, headings demoted
extract_section() {
	local name=$1 summary=$2 from=$3 to=$4 extract
	[[ -f $summary ]] || { echo "update-readme: $summary missing, $name left as is" >&2; return 0; }
	extract="$(mktemp)"
	awk -v from="$from" -v to="$to" '
		index($0, from) == 1 { keep = 1 }
		index($0, to) == 1 { keep = 0 }
		keep { sub(/^### /, "#### "); sub(/^## /, "#### "); print }' "$summary" >"$extract"
	replace_section "$name" "$extract"
	rm -f "$extract"
}

results="$root/bench/wrk2-hdr/results"
extract_section bench-saturation "$results/latest/summary.md" \
	"## Saturation throughput" "## Latency at"
# the latency tables and, next to them, the CPU per request at the same rate
extract_section bench-summary "$results/latest/summary.md" \
	"## Latency at" "![latency by percentile]"

# bench/cost: the CPU tables, not the per-program detail
cost="$root/bench/cost/results.md"
if [[ -f $cost ]]; then
	extract="$(mktemp)"
	awk 'index($0, "Time in otrace") == 1 { exit } { print }' "$cost" >"$extract"
	replace_section cost "$extract"
	rm -f "$extract"
else
	echo "update-readme: $cost missing, cost left as is" >&2
fi
