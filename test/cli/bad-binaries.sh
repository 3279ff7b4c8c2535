#!/usr/bin/env bash
# Untrusted executables: otrace --list-probes (and --exec) must answer each with
# one clear line on stderr and exit 4, never crash, hang or print to stdout;
# a Go binary with corrupt type data is planned from what else otrace knows.
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

# A Go binary without DWARF whose runtime type data is corrupt: otrace plans
# from what else it knows (exit 0) or finds nothing (exit 5), with diagnostics
# only on stderr, never a crash or hang.
expect_plan() { # NAME FILE
	local name=$1 file=$2 code=0
	timeout 20 "$otrace" --list-probes "$file" >"$work/out" 2>"$work/err" || code=$?
	if { [[ $code == 0 ]] && jq -e .probes "$work/out" >/dev/null 2>&1; } ||
		{ [[ $code == 5 && ! -s $work/out ]]; } && ! grep -qv '^otrace: ' "$work/err"; then
		passed=$((passed + 1))
		echo "ok   $name: exit $code"
	else
		failed=$((failed + 1))
		echo "FAIL $name: exit $code, stdout $(wc -c <"$work/out") bytes: $(head -c 300 "$work/err")"
	fi
}

# file_offset FILE ADDR: where the byte loaded at ADDR lies in FILE.
file_offset() {
	local type off va pa fsz rest
	while read -r type off va pa fsz rest; do
		[[ $type == LOAD ]] && (($2 >= va && $2 < va + fsz)) && echo $((off + $2 - va)) && return
	done < <(readelf -lW "$1")
	return 1
}

# section FILE NAME: "OFFSET SIZE" of a section.
section() {
	local name type addr off size rest
	while read -r name type addr off size rest; do
		[[ $name == "$2" ]] && echo $((0x$off)) $((0x$size)) && return
	done < <(readelf -SW "$1" | sed 's/^ *\[ *[0-9]*\] *//')
	return 1
}

strip -o "$work/stripped" "$fixture"
expect_plan "stripped Go binary" "$work/stripped"
# no typelinks or itabs: no way into the type graph
cp "$work/stripped" "$work/no-links"
for s in .typelink .itablink; do
	read -r off size < <(section "$work/no-links" $s) &&
		dd if=/dev/zero of="$work/no-links" bs=1 seek="$off" count="$size" conv=notrunc status=none
done
expect_plan "type data without links" "$work/no-links"
# the first 256 KiB of the type descriptors overwritten with machine code
cp "$work/stripped" "$work/garbled"
read -r rodata _ < <(section "$work/garbled" .rodata)
read -r text _ < <(section "$work/garbled" .text)
dd if="$work/stripped" of="$work/garbled" bs=4096 skip=$((text / 4096 + 16)) seek=$((rodata / 4096)) \
	count=64 conv=notrunc status=none
expect_plan "garbled type descriptors" "$work/garbled"
# moduledata's words past the text section map all set: no layout fits
md=$(file_offset "$work/stripped" "0x$(nm "$fixture" | awk '$3 == "runtime.firstmoduledata" { print $1 }')")
cp "$work/stripped" "$work/bad-moduledata"
head -c 256 /dev/zero | tr '\0' '\377' |
	dd of="$work/bad-moduledata" bs=1 seek=$((md + 32 * 8)) conv=notrunc status=none
expect_plan "corrupt moduledata" "$work/bad-moduledata"

# A program whose only library is net/http's server, its type data out of
# reach: nothing to trace (5), and the message says why, naming the library,
# the field and where otrace looked, not that the program uses no library
# otrace instruments.
mkdir -p "$work/httponly"
cat >"$work/httponly/main.go" <<'GO'
package main

import "net/http"

func main() { http.ListenAndServe("127.0.0.1:0", nil) }
GO
(cd "$work/httponly" && GOTOOLCHAIN=local GOFLAGS=-mod=mod GO111MODULE=off \
	go build -ldflags="-s -w" -o "$work/httponly/server" main.go)
for s in .typelink .itablink; do
	read -r off size < <(section "$work/httponly/server" $s) &&
		dd if=/dev/zero of="$work/httponly/server" bs=1 seek="$off" count="$size" conv=notrunc status=none
done
code=0
# (--list-probes lists whatever it planned; tracing refuses: --exec, as root)
timeout 20 "$otrace" -o "$work/spans" --exec "$work/httponly/server" >"$work/out" 2>"$work/err" ||
	code=$?
if ((EUID != 0)); then
	echo "skip linked library without layouts: tracing needs root"
elif [[ $code == 5 && ! -s $work/out && ! -s $work/spans ]] &&
	grep -q '^otrace: .*nothing to trace: net/http server: field net/http\.[A-Za-z]*\.[A-Za-z]* unknown (no DWARF; the runtime type data has no descriptor of' "$work/err" &&
	! grep -q 'uses no library' "$work/err"; then
	passed=$((passed + 1))
	echo "ok   linked library without layouts: exit 5: $(tail -n 1 "$work/err")"
else
	failed=$((failed + 1))
	echo "FAIL linked library without layouts: exit $code: $(cat "$work/err")"
fi

echo "$passed passed, $failed failed"
((failed == 0))
