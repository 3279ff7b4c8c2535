#!/usr/bin/env bash
# Regenerates src/inspect/offsets_modules.inc: the offsets of the fields otrace reads in
# types of third-party modules (grpc-go, and the genproto status it carries),
# keyed by the module's path and exact version, for binaries without DWARF.
# Called by gen-offsets-table.sh; runs alone too.
#
# For each grpc-go release it builds the services fixture twice: with the
# local go, and with the oldest Go release line (latest patch) that builds
# that release. The rows are otrace's own DWARF reading (--propagate
# --list-probes, so that the propagation's fields come too; source "dwarf") of
# fields whose type lies in a module of the binary (longest module path that
# is a prefix of the type's package). The two builds must agree:
# a type's layout could follow Go's when it embeds a standard type by value
# (net/url.URL is in grpc.ClientConn, via resolver.Target), and a row holds
# only for the Go lines its builds span (go_min..go_max), nothing beyond.
# A difference stops the script: such rows would need the Go release as key.
#
# Usage: scripts/gen-offsets-modules.sh [OTRACE_BIN] [GRPC_VERSION...]
#   Default: the latest patch of every grpc-go minor release from v1.14 to
#   v1.85 (what lib/grpc/plan.c supports) that the module proxy lists; releases
#   that do not build are skipped with a message. Builds are cached by Go:
#   a cold run takes about 40 minutes on 2 cores, a warm one about 15.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
otrace="${1:-$root/build/otrace}"
shift || true
releases=("$@")
export PATH="/usr/local/go/bin:$PATH"
oldest_minor=14 newest_minor=85
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

if ((${#releases[@]} == 0)); then
	# latest patch per minor (the proxy lists them in semver order)
	mapfile -t releases < <(cd "$work" && go list -m -versions google.golang.org/grpc |
		tr ' ' '\n' | grep -E '^v1\.[0-9]+\.[0-9]+$' |
		awk -F. -v lo="$oldest_minor" -v hi="$newest_minor" \
			'$2 >= lo && $2 <= hi { last[$2] = $0 } END { for (m in last) print last[m] }' |
		sort -V)
fi

# Latest published patch of each Go release line from 1.21 (the fixture's go
# directive) on, for the second build of each release.
mapfile -t lines < <(cd "$work" && go list -m -versions golang.org/toolchain | tr ' ' '\n' |
	sed -n 's/^v0\.0\.1-go\(1\.[0-9]*\.[0-9]*\)\.linux-amd64$/\1/p' | sort -V |
	awk -F. '$2 >= 21 { last[$2] = $0 } END { for (m in last) print last[m] }' | sort -V)
local_go="$(go env GOVERSION)"

# Prints "module<TAB>version<TAB>type<TAB>field<TAB>offset" per field of a
# module type otrace read from BINARY's DWARF; a replaced module counts as
# its replacement, as otrace looks it up.
module_rows() {
	"$otrace" --propagate --list-probes "$1" | jq -r '
		def pkg: split("[")[0] | sub("\\.[^/]*$"; "");
		[.modules[] | select(.main | not)] as $mods
		| .fields[] | select(.source == "dwarf")
		| (.struct | pkg) as $p
		| ([$mods[] | select(.path as $mp | $p == $mp or ($p | startswith($mp + "/")))]
		   | max_by(.path | length)) as $m
		| select($m != null)
		| [($m.replace.path // $m.path), ($m.replace.version // $m.version),
		   .struct, .field, .offset] | @tsv' | sort -u
}

minor() { sed -n 's/^\(go\)\{0,1\}1\.\([0-9]*\).*/\2/p' <<<"$1"; }

# build GOTOOLCHAIN RELEASE OUT: the services fixture, quietly
build() {
	GOTOOLCHAIN=$1 "$root/test/fixtures/services/build.sh" go "$3" "$2" >"$work/log" 2>&1
}

obs="$work/observations" # go_minor, then a module_rows line
: >"$obs"
differ=0
for release in "${releases[@]}"; do
	if ! build local "$release" "$work/new"; then
		echo "gen-offsets-modules: grpc $release does not build with $local_go, skipped:" \
			"$(tail -n 1 "$work/log")" >&2
		continue
	fi
	module_rows "$work/new" >"$work/rows-new"
	old=""
	for tc in "${lines[@]}"; do
		if build "go$tc" "$release" "$work/old"; then
			old=$tc
			break
		fi
	done
	if [[ -z $old ]]; then
		echo "gen-offsets-modules: grpc $release: no second toolchain builds it, skipped" >&2
		continue
	fi
	module_rows "$work/old" >"$work/rows-old"
	if ! diff -u "$work/rows-old" "$work/rows-new" >"$work/diff"; then
		echo "gen-offsets-modules: grpc $release: offsets differ between go$old and" \
			"$local_go; these rows need the Go release as key:" >&2
		cat "$work/diff" >&2
		differ=1
		continue
	fi
	sed "s/^/$(minor "$old")\t/" "$work/rows-old" >>"$obs"
	sed "s/^/$(minor "$local_go")\t/" "$work/rows-new" >>"$obs"
	echo "gen-offsets-modules: grpc $release: go$old and $local_go agree," \
		"$(grep -c "" "$work/rows-new") rows" >&2
done
if ((differ)); then
	echo "gen-offsets-modules: layouts depend on Go; table not written" >&2
	exit 1
fi

# One row per module version and field, with the Go lines it was read from;
# one field with two offsets at the same module version would be a layout
# following another module's version, which the key cannot express.
rows="$work/rows"
sort -t $'\t' -k2,2 -k3,3V -k4,5 -k1,1n "$obs" | awk -F '\t' '
	{ key = $2 "\t" $3 "\t" $4 "\t" $5 }
	key in offset && offset[key] != $6 {
		printf "gen-offsets-modules: %s.%s at %s %s: offsets %s and %s\n",
			$4, $5, $2, $3, offset[key], $6 > "/dev/stderr"
		bad = 1
	}
	!(key in offset) { order[n++] = key; offset[key] = $6; lo[key] = $1 }
	{ if ($1 < lo[key]) lo[key] = $1; if ($1 > hi[key]) hi[key] = $1 }
	END {
		if (bad) exit 1
		for (i = 0; i < n; i++) {
			split(order[i], k, "\t")
			printf "\t{ \"%s\", \"%s\", %d, %d, \"%s\", \"%s\", %s },\n",
				k[1], k[2], lo[order[i]], hi[order[i]], k[3], k[4], offset[order[i]]
		}
	}' >"$rows"

out="$root/src/inspect/offsets_modules.inc"
{
	echo "/*"
	echo " * Generated by scripts/gen-offsets-modules.sh from the DWARF of the services"
	echo " * fixture built against each grpc-go release listed there; do not edit by hand."
	echo " * { module, exact version, Go 1.x lines built with (from, to), type, field, offset }"
	echo " */"
	echo "static const struct module_offsets_row module_offsets_rows[] = {"
	cat "$rows"
	echo "};"
} >"$out"
echo "gen-offsets-modules: wrote $out ($(wc -l <"$rows") rows," \
	"${#releases[@]} releases asked)" >&2
