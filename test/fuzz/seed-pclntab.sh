#!/bin/sh
# seed-pclntab.sh CORPUS_DIR [GO_BINARY...]
#
# Fills a libFuzzer seed corpus for fuzz_pclntab: the .gopclntab section of
# each GO_BINARY (e.g. test/fixtures builds; extracted with objcopy, so the
# binary needs section headers), plus small hand-made tables in each layout
# (Go 1.16, 1.18, 1.20 and 1.26), which mutate far faster than real tables
# of a megabyte or more, and small C-built ELF files carrying a Go 1.26
# table and a moduledata pointing at it, for the pclntab__open() path:
# non-PIE, PIE, PIE without section headers and, when clang can use lld,
# PIE with unapplied RELATIVE relocations (lld's default).
# scripts/fuzz.sh pclntab runs it with CORPUS_DIR only.
set -eu

if [ $# -lt 1 ]; then
	echo "usage: $0 CORPUS_DIR [GO_BINARY...]" >&2
	exit 2
fi
out=$1
shift
mkdir -p "$out"

n=0
for bin in "$@"; do
	n=$((n + 1))
	name=$n-$(basename "$bin")
	if objcopy -O binary --only-section=.gopclntab "$bin" "$out/real-$name" &&
		[ -s "$out/real-$name" ]; then
		echo "$out/real-$name: $(wc -c <"$out/real-$name") bytes"
	else
		rm -f "$out/real-$name"
		echo "$bin: no .gopclntab section" >&2
	fi
done

# le VALUE NBYTES: VALUE in little endian.
le() {
	v=$1
	i=0
	while [ "$i" -lt "$2" ]; do
		# shellcheck disable=SC2059 # the format is the escape being built
		printf "\\$(printf '%03o' $((v & 255)))"
		v=$((v >> 8))
		i=$((i + 1))
	done
}

# synth MAGIC TEXTSTART: two functions, main.main and runtime.main.
synth() {
	magic=$1
	if [ "$magic" = 0xfffffffa ]; then
		f=8 words=7 base=0x401000
	else
		f=4 words=8 base=0
	fi
	hdr=$((8 + 8 * words))
	names=23 # "main.main\0runtime.main\0"
	cu=$((hdr + names))
	file=$((cu + 4))
	pc=$((file + 4))
	pcln=$((pc + 4))
	fo0=$((5 * f))
	fo1=$((fo0 + 16))
	le "$magic" 4
	le 0 2
	le 1 1
	le 8 1
	le 2 8
	le 1 8
	[ "$words" = 8 ] && le "$2" 8
	for o in "$hdr" "$cu" "$file" "$pc" "$pcln"; do le "$o" 8; done
	printf 'main.main\000runtime.main\000'
	le 0 12
	le $((base + 0)) "$f"
	le "$fo0" "$f"
	le $((base + 0x40)) "$f"
	le "$fo1" "$f"
	le $((base + 0x80)) "$f"
	for r in "0 0" "0x40 10"; do
		set -- $r
		le $((base + $1)) "$f"
		le "$2" 4
		le 0 $((12 - f))
	done
}

# elf_seed NAME COMPILER FLAGS...: a C stand-in for a stripped Go 1.26
# binary, whose moduledata is built by the C compiler's own relocations.
elf_seed() {
	name=$1
	shift
	synth 0xfffffff1 0 >"$tmp/tab"
	bytes=$(od -An -tx1 -v "$tmp/tab" | sed 's/\([0-9a-f][0-9a-f]\)/0x\1,/g')
	# offsets as synth lays them out: header 72, names 23 bytes, then 4 + 4 + 4
	cat >"$tmp/seed.c" <<SEED
__attribute__((section(".gopclntab"), aligned(8), used))
static const unsigned char pcln[] = { $bytes };
void gotext(void) {}
#define T(off) ((const char *)pcln + (off))
#define N(n) ((const void *)(n))
#define TEXT(off) ((const char *)(void *)gotext + (off))
__attribute__((section(".noptrdata"), aligned(8), used))
static const void *md[24] = { pcln, T(72), N(23), N(23), T(95), N(1), N(1), T(99), N(4), N(4),
	T(103), N(4), N(4), T(107), N(52), N(52), T(107), N(3), N(3), N(0),
	TEXT(0), TEXT(0x80), TEXT(0), TEXT(0x80) };
int main(void) { return md[0] == 0; }
SEED
	if "$@" -O0 -s -o "$out/elf-$name" "$tmp/seed.c" 2>"$tmp/cc.log"; then
		echo "$out/elf-$name: $(wc -c <"$out/elf-$name") bytes"
	else
		echo "elf-$name: cannot build: $(head -1 "$tmp/cc.log")" >&2
	fi
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/seed-pclntab.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
elf_seed nopie "${CC:-cc}" -no-pie
elf_seed pie "${CC:-cc}" -fPIE -pie
if [ -s "$out/elf-pie" ]; then
	# zero e_shoff, e_shnum, e_shstrndx: no section headers
	cp "$out/elf-pie" "$out/elf-pie-noshdr"
	dd if=/dev/zero of="$out/elf-pie-noshdr" bs=1 seek=40 count=8 conv=notrunc status=none
	dd if=/dev/zero of="$out/elf-pie-noshdr" bs=1 seek=60 count=4 conv=notrunc status=none
fi
elf_seed pie-lld clang -fPIE -pie -fuse-ld=lld

synth 0xfffffffa 0 >"$out/synth-go116"
synth 0xfffffff0 0x401000 >"$out/synth-go118"
synth 0xfffffff1 0x401000 >"$out/synth-go120"
synth 0xfffffff1 0 >"$out/synth-go126"
ls "$out" | wc -l | sed 's/$/ seeds/'
