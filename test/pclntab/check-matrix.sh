#!/bin/bash
# check-matrix.sh OTRACE_SRC_DIR BUILD_DIR
#
# Checks otrace's pclntab reader against the linker's own .symtab, for each
# available Go toolchain and several build flavours. For every flavour a
# small net/http program (prog/) is built twice: a reference with .symtab,
# and a twin that is stripped (-ldflags=-s -w) or otherwise transformed.
# The entries (and sizes) that src/inspect/pclntab.c finds in the twin must equal
# the reference's .symtab values, and the text start it derives must equal
# the reference's runtime.text.
#
# Toolchains: the local go; Debian's /usr/lib/go-1.19/bin/go when
# installed; and the latest patch of every minor from go1.21 on that the
# module proxy lists (GOTOOLCHAIN downloads, cached under BUILD_DIR). Set
# OTRACE_GO_TOOLCHAINS="local go1.19 go1.22.12 ..." to choose.
#
# Flavours:
#   default     the plain build, read through its own pclntab
#   stripped    -s -w
#   noshdr      the stripped binary with its section headers removed
#   pie         -buildmode=pie -s -w (internal linking)
#   cgo         CGO_ENABLED=1 with import "C" (external linking: C code
#               precedes runtime.text in .text) -s -w
#   pie-cgo     both (external PIE, tables in RELRO) -s -w
#   static-pie  external linking with -static-pie -s -w
#   lld         pie-cgo linked by lld (leaves RELATIVE targets zero) -s -w
# static-pie and lld are skipped when the C toolchain cannot link them.
#
# Prints a version x flavour table of ok/FAIL; exits 1 on any FAIL.
set -u

if [ $# -ne 2 ]; then
	echo "usage: $0 OTRACE_SRC_DIR BUILD_DIR" >&2
	exit 2
fi
src=$(cd "$1" && pwd) || exit 2
mkdir -p "$2" || exit 2
work=$(cd "$2" && pwd)/pclntab-matrix
mkdir -p "$work/logs" "$work/bin"

command -v go >/dev/null || export PATH=/usr/local/go/bin:$PATH

# Toolchains and the build cache are the user's (shared with test/matrix),
# so a CI run downloads each toolchain once.
export GOWORK=off GOFLAGS=-buildvcs=false
unset GOOS GOARCH GOAMD64 GOEXPERIMENT CGO_CFLAGS CGO_LDFLAGS

funcs=(
	'net/http.serverHandler.ServeHTTP'
	'net/http.(*response).finishRequest'
	'net/http.(*conn).serve'
	'runtime.main'
	'runtime.goexit'
	'runtime.rt0_go'
	'main.main'
	'main.hello'
)
flavours=(default stripped noshdr pie cgo pie-cgo static-pie lld)
# OTRACE_PCLNTAB_FLAVOURS="noshdr lld" narrows the run (ctest does, see test/CMakeLists.txt)
if [ -n "${OTRACE_PCLNTAB_FLAVOURS:-}" ]; then
	read -r -a flavours <<<"$OTRACE_PCLNTAB_FLAVOURS"
fi
optional=" static-pie lld "
fails=0

# Always rebuilt (a second): the sources under test may come from any tree.
dump=$work/pclntab_dump
build_dump() {
	${CC:-cc} -O2 -g -Wall -Wextra -D_GNU_SOURCE -I"$src/src/inspect" "$src/src/inspect/pclntab.c" \
		"$src/src/inspect/gobin.c" "$src/src/inspect/typedata.c" "$src/src/inspect/name_index.c" \
		"$src/test/pclntab/pclntab_dump.c" \
		-lelf -o "$dump"
}

# Latest patch of each minor >= 21 in the proxy's toolchain list, except
# the local go's own minor; a fixed list when the proxy cannot be asked.
proxy_toolchains() {
	local local_minor=$1 list

	list=$(cd "$work" && GOTOOLCHAIN=local timeout 120 go list -m -versions \
		golang.org/toolchain 2>/dev/null | tr ' ' '\n' |
		sed -n 's/^v0\.0\.1-go\(1\.[0-9]*\.[0-9]*\)\.linux-amd64$/\1/p')
	if [ -z "$list" ]; then
		echo "note: cannot list golang.org/toolchain; trying a fixed list" >&2
		list="1.21.13 1.22.12 1.23.12 1.24.13 1.25.14"
	fi
	printf '%s\n' $list | sort -t. -k2,2n -k3,3n |
		awk -F. -v skip="$local_minor" '$2 >= 21 && $2 != skip { last[$2] = $0 }
			END { for (m in last) print "go" last[m] }' | sort -t. -k2,2n
}

# Prints "label go-command GOTOOLCHAIN" lines.
toolchains() {
	local v minor

	v=$(GOTOOLCHAIN=local go env GOVERSION 2>/dev/null) || {
		echo "go not found" >&2
		return
	}
	minor=$(printf '%s\n' "$v" | sed -n 's/^go1\.\([0-9]*\).*/\1/p')
	if [ -n "${OTRACE_GO_TOOLCHAINS:-}" ]; then
		for t in $OTRACE_GO_TOOLCHAINS; do
			case $t in
			local) echo "$v go local" ;;
			go1.19) echo "go1.19 /usr/lib/go-1.19/bin/go local" ;;
			*) echo "$t go $t" ;;
			esac
		done
		return
	fi
	{
		[ -x /usr/lib/go-1.19/bin/go ] && echo "go1.19 /usr/lib/go-1.19/bin/go local"
		for t in $(proxy_toolchains "$minor"); do
			echo "$t go $t"
		done
		echo "$v go local"
	} | sort -V
}

# build LABEL GO TOOLCHAIN NAME CGO CC BUILDMODE LDFLAGS -> $work/bin/LABEL/NAME
build() {
	local label=$1 gocmd=$2 tc=$3 name=$4 cgo=$5 cc=$6 mode=$7 ldflags=$8
	local out=$work/bin/$label/$name log=$work/logs/$label-build-$name.log
	local prog=$work/prog f

	if [ -x "$out" ]; then
		for f in "$prog"/*; do
			[ "$f" -nt "$out" ] && break
		done
		[ "$f" -nt "$out" ] || return 0
	fi
	mkdir -p "$work/bin/$label"
	(cd "$prog" && GOTOOLCHAIN=$tc CGO_ENABLED=$cgo CC=$cc \
		"$gocmd" build -buildmode="$mode" -ldflags="$ldflags" -o "$out" .) >"$log" 2>&1
}

# Zeroes e_shoff, e_shnum and e_shstrndx: an ELF without section headers.
drop_section_headers() {
	cp "$1" "$2" &&
		dd if=/dev/zero of="$2" bs=1 seek=40 count=8 conv=notrunc status=none &&
		dd if=/dev/zero of="$2" bs=1 seek=60 count=4 conv=notrunc status=none
}

# compare LABEL FLAVOUR REF TEST: 0 when TEST's pclntab matches REF's .symtab.
compare() {
	local label=$1 flavour=$2 ref=$3 test=$4 log=$work/logs/$1-$2.log
	local want got text src

	{
		echo "ref $ref"
		echo "test $test"
	} >"$log"
	# assembly functions are "name.abi0" in .symtab but "name" in the pclntab
	want=$("$dump" "$ref" --symtab runtime.text "${funcs[@]}" "${funcs[@]/%/.abi0}" \
		2>>"$log") || return 1
	got=$("$dump" "$test" "${funcs[@]}" 2>>"$log") || {
		echo "pclntab_dump failed" >>"$log"
		return 1
	}
	printf 'symtab:\n%s\npclntab:\n%s\n' "$want" "$got" >>"$log"
	awk -v got="$got" '
		function hex(s,    v, i, c) {
			v = 0
			for (i = 3; i <= length(s); i++) {
				c = index("0123456789abcdef", substr(s, i, 1)) - 1
				v = v * 16 + c
			}
			return v
		}
		BEGIN {
			n = split(got, g, "\n")
			for (i = 1; i <= n; i++) {
				split(g[i], f, " ")
				if (f[1] == "#") { text = f[3]; src = f[4]; continue }
				addr[f[1]] = f[2]; size[f[1]] = f[3]
			}
		}
		$1 == "runtime.text" {
			if ($2 == "-" || text != $2) { printf "text start %s (%s), want %s\n", text, src, $2; bad = 1 }
			next
		}
		$2 != "-" { name = $1; sub(/\.abi0$/, "", name); raddr[name] = $2; rsize[name] = $3 }
		END {
			for (name in addr) {
				if (!(name in raddr)) { printf "%s: not in reference .symtab\n", name; bad = 1; continue }
				if (addr[name] != raddr[name]) {
					printf "%s: entry %s, want %s\n", name, addr[name], raddr[name]; bad = 1; continue
				}
				# pclntab sizes run to the next entry: the symbol plus alignment padding
				s = hex(size[name]); r = hex(rsize[name])
				if (s < r || s - r >= 64) { printf "%s: size %s, symbol size %s\n", name, size[name], rsize[name]; bad = 1 }
			}
			exit bad
		}' <<<"$want" >>"$log" 2>&1
}

# flavour LABEL GO TOOLCHAIN FLAVOUR: prints ok, FAIL or skip.
flavour() {
	local label=$1 gocmd=$2 tc=$3 fl=$4 b=$work/bin/$1
	local cgo=0 cc=${CC:-gcc} mode=exe ld=""

	case $fl in
	default)
		build "$label" "$gocmd" "$tc" plain 0 "$cc" exe "" || { echo FAIL; return; }
		compare "$label" "$fl" "$b/plain" "$b/plain" && echo ok || echo FAIL
		return
		;;
	stripped | noshdr) ;;
	pie) mode=pie ;;
	cgo) cgo=1 ;;
	pie-cgo) cgo=1 mode=pie ;;
	static-pie) cgo=1 mode=pie ld="-linkmode=external -extldflags=-static-pie" ;;
	lld) cgo=1 mode=pie cc=clang ld="-linkmode=external -extldflags=-fuse-ld=lld" ;;
	esac
	local ref=$fl test=$fl-s
	[ "$fl" = stripped ] || [ "$fl" = noshdr ] && ref=plain test=stripped
	if ! build "$label" "$gocmd" "$tc" "$ref" $cgo "$cc" $mode "$ld" ||
		! build "$label" "$gocmd" "$tc" "$test" $cgo "$cc" $mode "$ld -s -w"; then
		case $optional in *" $fl "*) echo skip ;; *) echo FAIL ;; esac
		return
	fi
	if [ "$fl" = noshdr ]; then
		drop_section_headers "$b/stripped" "$b/noshdr" || { echo FAIL; return; }
		test=noshdr
	fi
	compare "$label" "$fl" "$b/$ref" "$b/$test" && echo ok || echo FAIL
}

build_dump || exit 1
rm -rf "$work/prog"
cp -Rp "$src/test/pclntab/prog" "$work/prog" # -p: mtimes decide rebuilds

rows=()
while read -r label gocmd tc; do
	if ! (cd "$work/prog" && GOTOOLCHAIN=$tc "$gocmd" version) >"$work/logs/$label-version.log" 2>&1; then
		rows+=("$(printf '%-12s unavailable' "$label")")
		continue
	fi
	row=$(printf '%-12s' "$label")
	for fl in "${flavours[@]}"; do
		r=$(flavour "$label" "$gocmd" "$tc" "$fl")
		[ "$r" = FAIL ] && fails=$((fails + 1)) &&
			echo "FAIL $label $fl: see $work/logs/$label-$fl.log" >&2
		row+=$(printf ' %-10s' "$r")
	done
	rows+=("$row")
	echo "$row" >&2
done < <(toolchains)

printf '%-12s' version
printf ' %-10s' "${flavours[@]}"
echo
printf '%s\n' "${rows[@]}"
[ $fails = 0 ] || {
	echo "$fails failure(s)"
	exit 1
}
