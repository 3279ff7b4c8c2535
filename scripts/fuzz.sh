#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan) and runs one of them for
# a bounded time on a seed corpus. A crash, leak or sanitizer report fails it.
# Usage: scripts/fuzz.sh TARGET [BUILD_DIR]   (TARGET: gobin, pclntab, ...)
# FUZZ_SECONDS (default 30) sets the time.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
target=$1
build="${2:-$root/build/fuzz-build}"
seconds="${FUZZ_SECONDS:-30}"

# configure once; concurrent fuzz tests would race on it, ctest runs them serially
CC=clang cmake -S "$root" -B "$build" -DOTRACE_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$(nproc)" --target "fuzz_$target" >/dev/null

corpus="$build/corpus-$target"
seeds="$build/seeds-$target"
mkdir -p "$corpus" "$seeds"
if [[ -x $root/test/fuzz/make-$target-seeds.sh ]]; then
	"$root/test/fuzz/make-$target-seeds.sh" "$seeds" 2>/dev/null
elif [[ -x $root/test/fuzz/seed-$target.sh ]]; then
	"$root/test/fuzz/seed-$target.sh" "$seeds" 2>/dev/null || true
fi
# a target whose real seeds are larger says so (libFuzzer's .options convention)
max_len=$(sed -n 's/^max_len *= *\([0-9]*\)$/\1/p' "$root/test/fuzz/fuzz_$target.options" 2>/dev/null || true)
echo "fuzz: $target for ${seconds}s on $(ls "$seeds" | wc -l) seeds"
"$build/test/fuzz_$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
	-max_len="${max_len:-65536}" -print_final_stats=1 "$corpus" "$seeds" 2>&1 | tail -n 15
