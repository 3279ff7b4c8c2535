#!/usr/bin/env bash
# Untrusted executables: otrace --list-probes (and --exec) must answer each with
# one clear line on stderr and exit 4, never crash, hang or print to stdout.
# Usage: bad-binaries.sh OTRACE_BIN GO_FIXTURE
set -euo pipefail
otrace=$1
fixture=$2
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
passed=0 failed=0

patch_byte() { # FILE OFFSET HEXBYTE
	printf "\\x$3" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

expect() { # NAME CODE FILE
	local name=$1 want=$2 file=$3 code=0
	timeout 20 "$otrace" --list-probes "$file" >"$work/out" 2>"$work/err" || code=$?
	if [[ $code == "$want" && ! -s $work/out && $(wc -l <"$work/err") -ge 1 ]] &&
		grep -q '^otrace: ' "$work/err"; then
		passed=$((passed + 1))
		echo "ok   $name: exit $code: $(head -n 1 "$work/err")"
	else
		failed=$((failed + 1))
		echo "FAIL $name: exit $code (want $want), stdout $(wc -c <"$work/out") bytes: $(head -c 300 "$work/err")"
	fi
}

head -c 0 "$fixture" >"$work/empty"
expect empty 4 "$work/empty"
head -c 64 "$fixture" >"$work/header-only"
expect "ELF header only" 4 "$work/header-only"
head -c 100000 "$fixture" >"$work/truncated"
expect "truncated Go binary" 4 "$work/truncated"
cp "$fixture" "$work/class32"
patch_byte "$work/class32" 4 01 # EI_CLASS = ELFCLASS32
expect "32-bit ELF" 4 "$work/class32"
cp "$fixture" "$work/arm64"
patch_byte "$work/arm64" 18 b7 # e_machine = EM_AARCH64
expect "non-x86 ELF" 4 "$work/arm64"
cp "$fixture" "$work/bad-shoff"
patch_byte "$work/bad-shoff" 47 7f # e_shoff far beyond the file
expect "corrupt section table" 4 "$work/bad-shoff"
expect "shell script" 4 "$(command -v ldd)"
expect "non-Go ELF" 4 /bin/true
expect "directory" 4 /tmp
expect "missing file" 4 /nonexistent/otrace-test

# random bytes that happen to start like an ELF file
{ printf '\x7fELF\x02\x01\x01'; head -c 4096 /dev/urandom; } >"$work/random"
expect "random bytes" 4 "$work/random"

echo "$passed passed, $failed failed"
((failed == 0))
