#!/usr/bin/env bash
# Makes a small seed corpus for fuzz_gobin: ELF files that reach every parser
# (build info in both formats, a symtab with Go-named functions, DWARF with the
# structs otrace reads) while staying small enough to mutate quickly.
# Usage: make-gobin-seeds.sh OUT_DIR
set -euo pipefail
out=$1
mkdir -p "$out"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# C stand-ins for the Go types and functions otrace looks for; DWARF names
# with '/' are produced by naming the structs through typedef-free tags.
cat >"$work/seed.c" <<'C'
struct Request { const char *Method; long MethodLen; void *URL; long pad[2];
	long ProtoMajor, ProtoMinor; void *Header; };
struct Request seed_request;
void serve(void) __asm__("net/http.serverHandler.ServeHTTP");
void finish(void) __asm__("runtime.main");
void serve(void) { seed_request.ProtoMajor++; }
void finish(void) { serve(); }
int main(void) { finish(); return 0; }
C
# clang quotes symbol names that GNU as would reject ("net/http...")
clang -g -O1 -o "$work/seed" "$work/seed.c"

# inline build info (Go >= 1.18): magic, ptrsize 8, flags 2, padding to 32,
# then varint-prefixed version and modinfo
{
	printf '\xff Go buildinf:\x08\x02'
	head -c 16 /dev/zero
	printf '\x08go1.26.8'
	modinfo=$'0123456789abcdefpath\texample.com/app\nmod\texample.com/app\t(devel)\t\ndep\tgithub.com/a/b\tv1.2.3\th1:x=\n=>\t../b\t\t\n\nfedcba9876543210'
	printf "\\x$(printf %02x ${#modinfo})"
	printf '%s' "$modinfo"
} >"$work/bi-inline"
objcopy --add-section .go.buildinfo="$work/bi-inline" "$work/seed" "$out/inline-buildinfo"

# pointer build info (Go < 1.18): pointers that lead nowhere valid still parse safely
{
	printf '\xff Go buildinf:\x08\x00'
	printf '\x00\x10\x40\x00\x00\x00\x00\x00\x10\x10\x40\x00\x00\x00\x00\x00'
} >"$work/bi-ptr"
objcopy --add-section .go.buildinfo="$work/bi-ptr" "$work/seed" "$out/pointer-buildinfo"

cp "$work/seed" "$out/plain-c"
strip -o "$out/stripped-c" "$work/seed"
head -c 4096 "$work/seed" >"$out/truncated"
ls -la "$out" >&2
