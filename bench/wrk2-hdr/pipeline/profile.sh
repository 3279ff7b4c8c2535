#!/usr/bin/env bash
# profile.sh PIPELINE_BENCH [SPANS]
#
# Where pipeline_bench spends its instructions: runs it under callgrind
# (valgrind) on SPANS spans (default 5120, ten full batches) and prints the
# instructions per span, the callees of the encoder and of the flush, and
# the functions with the most instructions of their own.
set -euo pipefail

if [ $# -lt 1 ]; then
	echo "usage: $0 PIPELINE_BENCH [SPANS]" >&2
	exit 2
fi
bench=$1
spans=${2:-5120}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

timeout 900 valgrind --tool=callgrind --callgrind-out-file="$out/cg" \
	"$bench" -n "$spans" >/dev/null 2>"$out/log"
total=$(sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$out/log")
echo "instructions: $total for $spans spans, $((total / spans)) per span"
echo
echo "== inclusive, callees of the pipeline's steps =="
callgrind_annotate --tree=calling --inclusive=yes "$out/cg" 2>/dev/null |
	grep -E -A12 '\* .*(pipeline__record|pipeline__flush|otlp__encode) ' |
	grep -E '^ *[0-9,]+ \(' | grep -v '0\.0[0-9]%' | head -40
echo
echo "== exclusive, top 15 =="
callgrind_annotate "$out/cg" 2>/dev/null |
	grep -E '^ *[0-9,]+ \( *[0-9.]+%\) ' | sed -n 2,16p
