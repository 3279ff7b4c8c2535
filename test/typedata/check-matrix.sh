#!/bin/bash
# check-matrix.sh OTRACE_BIN BUILD_DIR
#
# Checks otrace's runtime type-data reader (src/inspect/typedata.c) against DWARF,
# across Go releases and build flavours. For each toolchain, fixture and
# flavour a reference with DWARF and a test twin are built:
#   plain       the reference is its own twin (its type data, read though it
#               has DWARF)
#   stripped    the twin is built with -ldflags=-s -w
#   pie         -buildmode=pie, the twin -s -w too
#   cgo, pie-cgo, static-pie, lld  (httpserver only) as test/pclntab's flavours
# and checked three ways:
#   plan    every struct field the plans use (what `otrace --list-probes
#           --propagate` of the reference lists with DWARF offsets) has the
#           same offset in the twin's type data (typedata_dump); a field may
#           be missing only when its type never has a descriptor
#           (runtime.hmap, the map header before Go 1.24)
#   otrace  `otrace --list-probes --propagate` of a twin without DWARF gives
#           every such field at DWARF's offset from "typedata" (the types
#           above: from the runtime table, keyed by Go minor, or none)
#   all     every field of every named struct in the twin's type data equals
#           the reference's DWARF, for the structs DWARF has
# Prints a toolchain x fixture/flavour table of ok/FAIL (the number of plan
# fields checked, and of all fields), also written to
# BUILD_DIR/typedata-matrix/results.txt; exits 1 on any FAIL.
#
# OTRACE_GO_TOOLCHAINS: toolchains, "local" for the go in PATH and "go1.19"
#   for Debian's /usr/lib/go-1.19 (default: go1.19 go1.21.0 go1.21.5 go1.22.3
#   go1.23.4 go1.24.4 go1.25.7 go1.26.10 go1.27.3 local)
# OTRACE_TYPEDATA_FIXTURES: httpserver and/or services (default both; the
#   services fixture needs Go 1.21)
# OTRACE_TYPEDATA_FLAVOURS: default "plain stripped pie"
# Builds are cached under BUILD_DIR/typedata-matrix/bin.
set -u

if [ $# -ne 2 ]; then
	echo "usage: $0 OTRACE_BIN BUILD_DIR" >&2
	exit 2
fi
otrace=$(realpath "$1") || exit 2
mkdir -p "$2" || exit 2
work=$(cd "$2" && pwd)/typedata-matrix
src=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$work/logs" "$work/bin"

command -v go >/dev/null || export PATH=/usr/local/go/bin:$PATH
export GOWORK=off GOFLAGS=-buildvcs=false
unset GOOS GOARCH GOAMD64 GOEXPERIMENT CGO_CFLAGS CGO_LDFLAGS

read -r -a toolchains <<<"${OTRACE_GO_TOOLCHAINS:-go1.19 go1.21.0 go1.21.5 go1.22.3 go1.23.4 go1.24.4 go1.25.7 go1.26.10 go1.27.3 local}"
read -r -a fixtures <<<"${OTRACE_TYPEDATA_FIXTURES:-httpserver services}"
read -r -a flavours <<<"${OTRACE_TYPEDATA_FLAVOURS:-plain stripped pie}"
no_descriptor='^runtime\.hmap$'
optional=" static-pie lld "
fails=0

# Always rebuilt (a second): the sources under test may come from any tree.
dump=$work/typedata_dump
${CC:-cc} -O2 -g -Wall -Wextra -D_GNU_SOURCE -I"$src/src/inspect" "$src/src/inspect/typedata.c" \
	"$src/src/inspect/pclntab.c" "$src/src/inspect/gobin.c" "$src/src/inspect/name_index.c" \
	"$src/test/typedata/typedata_dump.c" \
	-ldw -lelf -o "$dump" || exit 1

fixture_dir() {
	echo "$src/test/fixtures/$1"
}

# build FIXTURE LABEL GO TOOLCHAIN NAME CGO CC BUILDMODE LDFLAGS -> $work/bin/LABEL/FIXTURE-NAME
build() {
	local fx=$1 label=$2 gocmd=$3 tc=$4 name=$5 cgo=$6 cc=$7 mode=$8 ldflags=$9
	local out=$work/bin/$label/$fx-$name log=$work/logs/$label-build-$fx-$name.log f
	local script=$src/test/fixtures/build-fixture.sh args=()

	if [ -x "$out" ]; then
		for f in "$(fixture_dir "$fx")"/* "$src"/test/fixtures/build-fixture.sh; do
			[ "$f" -nt "$out" ] && break
		done
		[ "$f" -nt "$out" ] || return 0
	fi
	mkdir -p "$work/bin/$label"
	if [ "$fx" = services ]; then
		script=$src/test/fixtures/services/build.sh
		args=("")
	fi
	GOTOOLCHAIN=$tc CGO_ENABLED=$cgo CC=$cc "$script" "$gocmd" "$out" "${args[@]}" \
		-buildmode="$mode" -ldflags="$ldflags" >"$log" 2>&1
}

# The fields a plan reads, "TYPE<tab>FIELD<tab>OFFSET<tab>SOURCE", once each.
plan_fields() {
	"$otrace" --list-probes --propagate "$1" 2>/dev/null |
		jq -r '.fields[] | [.struct, .field, (.offset | tostring), (.source // "none")] | @tsv' |
		sort -u
}

# compare LOG REF TEST WITH_OTRACE: prints "PLAN ALL" counts; 0 when all agree.
compare() {
	local log=$1 ref=$2 test=$3 with_otrace=$4 d=$work/cmp bad=0
	local nplan nall

	mkdir -p "$d"
	{
		echo "ref $ref"
		echo "test $test"
	} >"$log"
	plan_fields "$ref" | awk -F'\t' '$4 == "dwarf"' >"$d/want" || return 1
	if [ ! -s "$d/want" ]; then
		echo "no DWARF fields in the reference's plan" >>"$log"
		return 1
	fi
	cut -f1,2 "$d/want" | "$dump" "$test" >"$d/got" 2>>"$log" || return 1
	# plan: the twin's type data against the reference's DWARF
	awk -F'\t' -v nodesc="$no_descriptor" '
		NR == FNR { want[$1 "\t" $2] = $3; next }
		$3 == "-" && $1 ~ nodesc { print "no descriptor (expected): " $1 "." $2; next }
		$3 != want[$1 "\t" $2] { print "plan: " $1 "." $2 " typedata " $3 ", DWARF " want[$1 "\t" $2]; bad = 1 }
		END { exit bad }' "$d/want" "$d/got" >>"$log" || bad=1
	nplan=$(wc -l <"$d/want")
	# otrace: the end-to-end answer of a binary without DWARF
	if [ "$with_otrace" = yes ]; then
		plan_fields "$test" >"$d/otrace"
		awk -F'\t' -v nodesc="$no_descriptor" '
			NR == FNR { off[$1 "\t" $2] = $3; src[$1 "\t" $2] = $4; next }
			$1 ~ nodesc {
				k = $1 "\t" $2
				print "otrace: " $1 "." $2 " " off[k] " from " src[k] " (no descriptor; DWARF " $3 ")"
				if (src[k] == "table" && off[k] != $3)
					bad = 1
				next
			}
			{
				k = $1 "\t" $2
				if (off[k] != $3 || src[k] != "typedata") {
					print "otrace: " $1 "." $2 " " off[k] " from " src[k] ", want " $3 " from typedata"
					bad = 1
				}
			}
			END { exit bad }' "$d/otrace" "$d/want" >>"$log" || bad=1
	fi
	# all: every named struct of the type data that DWARF has too
	"$dump" "$test" --all 2>>"$log" | cut -f1-3 | sort -u >"$d/all" || return 1
	"$dump" "$ref" --dwarf 2>>"$log" | sort -u >"$d/dwarf" || return 1
	awk -F'\t' 'NR == FNR { has[$1] = 1; next } ($1 in has)' "$d/dwarf" "$d/all" >"$d/common"
	comm -23 "$d/common" "$d/dwarf" | sed 's/^/all: not in DWARF: /' >>"$log"
	[ -s "$d/common" ] && ! comm -23 "$d/common" "$d/dwarf" | grep -q . || bad=1
	nall=$(wc -l <"$d/common")
	echo "$nplan $nall"
	return $bad
}

# cell LABEL GO TOOLCHAIN FIXTURE FLAVOUR: prints "ok P/A", "FAIL", "skip" or "n/a".
cell() {
	local label=$1 gocmd=$2 tc=$3 fx=$4 fl=$5 b=$work/bin/$1
	local cgo=0 cc=${CC:-gcc} mode=exe ld="" ref test counts log=$work/logs/$1-$4-$5.log

	if [ "$fx" = services ] && [ "$label" = go1.19 ]; then
		echo n/a # its go.mod needs Go 1.21
		return
	fi
	case $fl in
	plain | stripped) ;;
	pie) mode=pie ;;
	cgo | pie-cgo | static-pie | lld)
		[ "$fx" = httpserver ] || {
			echo n/a
			return
		}
		cgo=1
		;;&
	pie-cgo) mode=pie ;;
	static-pie) mode=pie ld="-linkmode=external -extldflags=-static-pie" ;;
	lld) mode=pie cc=clang ld="-linkmode=external -extldflags=-fuse-ld=lld" ;;
	esac
	ref=$fl
	[ "$fl" = stripped ] && ref=plain
	if ! build "$fx" "$label" "$gocmd" "$tc" "$ref" $cgo "$cc" $mode "$ld"; then
		case $optional in *" $fl "*) echo skip ;; *) echo FAIL ;; esac
		return
	fi
	test=$ref
	if [ "$fl" != plain ]; then
		test=$fl-s
		build "$fx" "$label" "$gocmd" "$tc" "$test" $cgo "$cc" $mode "$ld -s -w" || {
			echo FAIL
			return
		}
	fi
	if counts=$(compare "$log" "$b/$fx-$ref" "$b/$fx-$test" \
		"$([ "$fl" = plain ] && echo no || echo yes)"); then
		echo "ok ${counts// //}"
	else
		echo FAIL
	fi
}

# "label go-command GOTOOLCHAIN" for a toolchain name.
toolchain() {
	case $1 in
	local) echo "$(GOTOOLCHAIN=local go env GOVERSION) go local" ;;
	go1.19) echo "go1.19 /usr/lib/go-1.19/bin/go local" ;;
	*) echo "$1 go $1" ;;
	esac
}

header=$(printf '%-12s' version)
for fx in "${fixtures[@]}"; do
	for fl in "${flavours[@]}"; do
		header+=$(printf ' %-22s' "$fx/$fl")
	done
done
rows=()
for t in "${toolchains[@]}"; do
	read -r label gocmd tc <<<"$(toolchain "$t")"
	if ! (cd "$work" && GOTOOLCHAIN=$tc "$gocmd" version) >"$work/logs/$label-version.log" 2>&1; then
		rows+=("$(printf '%-12s unavailable' "$label")")
		fails=$((fails + 1))
		continue
	fi
	row=$(printf '%-12s' "$label")
	for fx in "${fixtures[@]}"; do
		for fl in "${flavours[@]}"; do
			r=$(cell "$label" "$gocmd" "$tc" "$fx" "$fl")
			[ "$r" = FAIL ] && fails=$((fails + 1)) &&
				echo "FAIL $label $fx $fl: see $work/logs/$label-$fx-$fl.log" >&2
			row+=$(printf ' %-22s' "$r")
		done
	done
	rows+=("$row")
	echo "$row" >&2
done

{
	echo "$header"
	printf '%s\n' "${rows[@]}"
	echo "(ok PLAN/ALL: plan fields checked / named-struct fields checked against DWARF)"
} | tee "$work/results.txt"
[ $fails = 0 ] || {
	echo "$fails failure(s)"
	exit 1
}
