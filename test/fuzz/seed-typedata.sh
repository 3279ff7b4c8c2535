#!/bin/sh
# seed-typedata.sh CORPUS_DIR [GO_BINARY...]
#
# Fills a libFuzzer seed corpus for fuzz_typedata: hand-built images of a
# small program's type data in every layout era, pointers in place and only
# in relocations (written by test/unit/test_typedata.c --seeds), plus real Go
# binaries: each GO_BINARY, or when none is given and go is at hand, a small
# program built stripped, as PIE and, when clang can use lld, as a PIE whose
# pointers exist only as relocations.
# scripts/fuzz.sh typedata runs it with CORPUS_DIR only.
set -eu

if [ $# -lt 1 ]; then
	echo "usage: $0 CORPUS_DIR [GO_BINARY...]" >&2
	exit 2
fi
out=$1
shift
mkdir -p "$out"
src=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/seed-typedata.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

${CC:-cc} -O1 -D_GNU_SOURCE -I"$src/src/inspect" "$src/src/inspect/typedata.c" "$src/src/inspect/pclntab.c" \
	"$src/src/inspect/gobin.c" "$src/src/inspect/name_index.c" "$src/test/unit/test_typedata.c" -lelf \
	-o "$tmp/test_typedata"
"$tmp/test_typedata" --seeds "$out"

n=0
for bin in "$@"; do
	n=$((n + 1))
	cp "$bin" "$out/real-$n-$(basename "$bin")"
done

command -v go >/dev/null || PATH=/usr/local/go/bin:$PATH
if [ $# -eq 0 ] && command -v go >/dev/null; then
	mkdir "$tmp/prog"
	cat >"$tmp/prog/go.mod" <<'MOD'
module seed
go 1.21
MOD
	cat >"$tmp/prog/main.go" <<'PROG'
package main

import "os"

type Inner struct{ X int64 }

type Conn struct {
	name string
	Inner
	next   *Conn
	status int
}

func (c *Conn) Close() error { return nil }

type Closer interface{ Close() error }

var sink Closer

func main() {
	sink = &Conn{name: os.Args[0]}
	if len(os.Args) > 5 {
		sink.Close()
	}
}
PROG
	(
		cd "$tmp/prog"
		export GOWORK=off GOFLAGS=-buildvcs=false GOTOOLCHAIN=local
		CGO_ENABLED=0 go build -ldflags='-s -w' -o "$out/real-stripped" .
		CGO_ENABLED=0 go build -buildmode=pie -ldflags='-s -w' -o "$out/real-pie" .
		CGO_ENABLED=1 CC=clang go build -buildmode=pie \
			-ldflags='-s -w -linkmode=external -extldflags=-fuse-ld=lld' \
			-o "$out/real-pie-lld" . 2>/dev/null || echo "real-pie-lld: cannot link with lld" >&2
	)
fi
ls "$out" | wc -l | sed 's/$/ seeds/'
