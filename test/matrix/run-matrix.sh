#!/usr/bin/env bash
# The Go support matrix, as a test: the fixture server built with every Go
# release obtainable here (Debian's 1.19; 1.21-1.26 through GOTOOLCHAIN, latest
# patch of each) in five flavours (symbols, stripped, PIE, static-PIE, cgo).
# For every cell:
#   - otrace --list-probes plans every probe (net/http server and client,
#     database/sql, and with --propagate the HTTP/1.1 and HTTP/2 writers),
#     each on an emulated instruction;
#   - the probe addresses equal those found from .symtab of the unstripped twin,
#     and the field offsets equal its DWARF's;
#   - an end-to-end trace yields correct HTTP server spans, a client span that is
#     a child of its server span, and, for /sql (the fixture's in-memory
#     database/sql driver), six database spans that are children of its server
#     span; checked through the Collector's own unmarshaler (test/go/cmd/otlpcheck).
# Writes BUILD_DIR/matrix/support.md (the README's table) and exits non-zero when
# any cell fails. Toolchains and fixtures are cached under BUILD_DIR/matrix.
# Usage: run-matrix.sh OTRACE_BIN BUILD_DIR [VERSION...]
set -euo pipefail
otrace="$(realpath "$1")"
build="$(mkdir -p "$2" && cd "$2" && pwd)"
shift 2
root="$(cd "$(dirname "$0")/../.." && pwd)"
export PATH="/usr/local/go/bin:$PATH"
versions=("$@")
((${#versions[@]})) || versions=(1.19 1.21 1.22 1.23 1.24 1.25 1.26)
flavours=(symbols stripped pie static-pie cgo)
cache="$build/matrix"
# fixture builds are cached per version of the fixture's source
fixtures="$cache/fixtures-$(cat "$root"/test/fixtures/build-fixture.sh "$root"/test/fixtures/httpserver/* |
	sha256sum | cut -c1-12)"
mkdir -p "$cache" "$fixtures"

(cd "$root/test/go" && go build -o "$cache/otlpcheck" ./cmd/otlpcheck)

all_toolchains="$(go list -m -versions golang.org/toolchain 2>/dev/null | tr ' ' '\n' |
	sed -n 's/^v0\.0\.1-go\(1\.[0-9]*\.[0-9]*\)\.linux-amd64$/\1/p' | sort -V)"

# Sets GOCMD and GOTC (GOTOOLCHAIN) for a release line; fails when unobtainable.
pick_toolchain() {
	local line=$1 patch
	if [[ $line == 1.19 ]]; then
		GOCMD=/usr/lib/go-1.19/bin/go GOTC=local
		[[ -x $GOCMD ]]
		return
	fi
	patch="$(grep "^$line\." <<<"$all_toolchains" | tail -n 1 || true)"
	GOCMD=go GOTC="go$patch"
	[[ -n $patch ]]
}

# build_cell LINE FLAVOUR OUT: the fixture in one flavour (cached).
build_cell() {
	local line=$1 flavour=$2 out=$3 cgo=0 flags=()
	[[ -x $out ]] && return 0
	case $flavour in
	symbols) ;;
	stripped) flags=(-ldflags=-s\ -w) ;;
	pie) flags=(-buildmode=pie) ;;
	static-pie)
		cgo=1 # static-pie needs the external linker
		flags=(-buildmode=pie "-ldflags=-linkmode=external -extldflags=-static-pie")
		;;
	cgo) cgo=1 ;;
	esac
	CGO_ENABLED=$cgo GOTOOLCHAIN=$GOTC "$root/test/fixtures/build-fixture.sh" "$GOCMD" "$out" \
		"${flags[@]}" >"$out.log" 2>&1
}

# The plan as "symbol address" and "struct.field offset" lines.
probes_of() { "$otrace" --list-probes "$1" 2>/dev/null | jq -r '.probes[] | "\(.symbol) \(.address) \(.planned) \(.emulated) \(.program)"'; }
fields_of() { "$otrace" --propagate --list-probes "$1" 2>/dev/null | jq -r '.fields[] | "\(.struct).\(.field) \(.offset)"' | sort; }

# Addresses from .symtab of the unstripped twin, independent of otrace.
symtab_addr() {
	local hex
	hex=$(readelf -sW "$1" | awk -v s="$2" '$8 == s { print $2; exit }')
	[[ -n $hex ]] && echo $((16#$hex))
}

check_plan() {
	local bin=$1 twin=$2 sym addr planned emulated program entry programs
	while read -r sym addr planned emulated program; do
		[[ $planned == true && $emulated == true ]] || { echo "probe $program in $sym not planned/emulated"; return 1; }
		entry=$(symtab_addr "$twin" "$sym")
		if [[ $program == *_done && $program != h2_handler_done || $program == h2_handler_panicked ||
			$program == goroutine_spawn ]]; then
			# after a call or on it, inside the caller
			((addr > entry)) || { echo "$program at $addr, before $sym at $entry"; return 1; }
		else
			# a few bytes into the function (the stack-check branch)
			((addr >= entry && addr < entry + 32)) || { echo "$sym at $addr, symtab entry $entry"; return 1; }
		fi
	done < <(probes_of "$bin")
	programs=$(probes_of "$bin" | awk '{print $5}' | sort | uniq -c | awk '{printf "%s:%s ", $2, $1}')
	# server: start, end, end of abandoned requests, hijack (the fixture hijacks),
	# HTTP/2 end and panic;
	# client: start, connection-error end, HTTP/1.1 and HTTP/2 ends; database/sql;
	# goroutine ancestry
	[[ $programs == "conn_serve_done:1 finish_request_enter:1 goroutine_spawn:1 h2_handler_done:1 h2_handler_panicked:1 http_client_conn_done:1 http_client_done:2 http_client_enter:1 http_hijack:1 serve_http_enter:1 sql_exec_start:1 sql_put_conn:1 sql_query_start:1 sql_release:2 sql_rows_ready:1 sql_stmt_enter:2 sql_stmt_exec_start:1 sql_stmt_query_start:1 " ]] ||
		{ echo "unexpected probe plan: $programs"; return 1; }
	# --propagate adds HTTP/1.1's and HTTP/2's, each on an emulated instruction
	programs=$("$otrace" --propagate --list-probes "$bin" 2>/dev/null | jq -r '.probes[] |
		select(.library | endswith("(--propagate)")) | "\(.program):\(.planned and .emulated)"' |
		sort | tr '\n' ' ')
	[[ $programs == "h2_do_request:true h2_headers_written:true h2_write_headers:true http1_write_headers:true " ]] ||
		{ echo "unexpected --propagate plan: $programs"; return 1; }
	if [[ $bin != "$twin" ]] && ! diff <(fields_of "$bin") <(fields_of "$twin") >/dev/null; then
		echo "field offsets differ from the DWARF of the unstripped twin"
		return 1
	fi
}

# One traced run: six requests (one makes a client call, /sql six database
# calls): seven HTTP spans and six database spans, all correct.
check_trace() {
	local bin=$1 minor=$2 flavour=$3 dir port status etype='*main.fakeError'
	# without .symtab the error's itab has no name
	[[ $flavour == stripped ]] && etype=_OTHER
	dir="$(mktemp -d)"
	"$otrace" -o "$dir/out.jsonl" --exec "$bin" -portfile "$dir/port" 2>"$dir/stderr" &
	local pid=$!
	# BPF load and attach can take seconds on a loaded machine
	for _ in $(seq 600); do [[ -s $dir/port ]] && break; sleep 0.05; done
	if [[ ! -s $dir/port ]]; then
		kill -KILL "$pid" 2>/dev/null || true
		echo "fixture did not start: $(head -c 300 "$dir/stderr")"
		return 1
	fi
	port=$(cat "$dir/port")
	curl -s -o /dev/null -A "matrix/$minor" "http://127.0.0.1:$port/hello"
	curl -s -o /dev/null "http://127.0.0.1:$port/items/42"
	curl -s -o /dev/null -X POST "http://127.0.0.1:$port/items"
	curl -s -o /dev/null "http://127.0.0.1:$port/status/503"
	curl -s -o /dev/null "http://127.0.0.1:$port/call?to=http://127.0.0.1:$port/hello%3Fmatrix=1"
	curl -s -o /dev/null "http://127.0.0.1:$port/sql"
	kill -TERM "$pid"
	status=0
	wait "$pid" || status=$?
	[[ $status == 0 ]] || { echo "otrace exited $status: $(tail -c 300 "$dir/stderr")"; return 1; }
	"$cache/otlpcheck" -flat "$dir/out.jsonl" >"$dir/spans" 2>"$dir/check" ||
		{ echo "Collector unmarshaler rejected output: $(head -c 300 "$dir/check")"; return 1; }
	local want_route=false
	((minor >= 22)) && want_route=true
	jq -e -s --arg etype "$etype" '
		(map(select(.kind == 2 and .attributes["url.path"] == "/sql"))[0].spanId) as $parent
		| map(select(.kind == 3 and .attributes["db.system.name"] != null))
		| length == 6
		and all(.[]; .parentSpanId == $parent and .attributes["db.system.name"] == "other_sql")
		and (map(.name) | sort == ["DELETE items", "INSERT items", "SELECT items", "SELECT items",
		                           "SELECT missing", "UPDATE items"])
		and (map(select(.statusCode == 2)) | length == 1 and .[0].name == "SELECT missing"
		     and .[0].attributes["error.type"] == $etype)
		and all(.[]; .attributes | has("db.query.text") | not)
	' "$dir/spans" >/dev/null || { echo "wrong database spans: $(jq -c 'select(.kind == 3)' "$dir/spans" | head -c 600)"; return 1; }
	jq -e -s --argjson route "$want_route" --arg ua "matrix/$minor" '
		map(select(.attributes["url.path"] != "/sql" and .attributes["db.system.name"] == null))
		| (map(select(.kind == 3)) | length == 1) as $one_client
		| (map(select(.attributes["url.path"] == "/call"))[0]) as $call
		| (map(select(.kind == 3))[0]) as $client
		| $one_client and length == 7
		and (map(.attributes["url.path"] // empty) | sort == ["/call", "/hello", "/hello", "/items", "/items/42", "/status/503"])
		and $client.parentSpanId == $call.spanId and $client.traceId == $call.traceId
		and $client.attributes["http.response.status_code"] == 200
		and ($client.attributes["url.full"] | endswith("/hello?matrix=1"))
		and (map(select(.attributes["url.path"] == "/status/503"))[0]
		     | .statusCode == 2 and .attributes["http.response.status_code"] == 503)
		and (map(select(.attributes["user_agent.original"] == $ua)) | length == 1)
		and (map(select(.attributes["url.path"] == "/items"))[0].attributes["http.response.status_code"] == 201)
		and (all(.[]; .endUnixNano >= .startUnixNano))
		and (if $route then (map(select(.attributes["url.path"] == "/items/42"))[0].name == "GET /items/{id}")
		     else all(.[]; has("attributes") and (.attributes | has("http.route") | not)) end)
	' "$dir/spans" >/dev/null || { echo "wrong spans: $(head -c 600 "$dir/spans")"; return 1; }
	rm -rf "$dir"
}

failures=0
declare -A result release
for line in "${versions[@]}"; do
	minor=${line#1.}
	if ! pick_toolchain "$line"; then
		for f in "${flavours[@]}"; do result[$line,$f]="no toolchain"; done
		continue
	fi
	for f in "${flavours[@]}"; do
		bin="$fixtures/go$line-$f"
		# only the stripped build needs a twin: the same build with its symbols
		twin="$bin"
		[[ $f == stripped ]] && twin="$fixtures/go$line-symbols"
		if ! build_cell "$line" "$f" "$bin" || ! build_cell "$line" symbols "$fixtures/go$line-symbols"; then
			result[$line,$f]="build failed"
			echo "matrix: go$line $f: build failed: $(tail -n 3 "$bin.log" 2>/dev/null)" >&2
			failures=$((failures + 1))
			continue
		fi
		if why=$(check_plan "$bin" "$twin") && why=$(check_trace "$bin" "$minor" "$f"); then
			result[$line,$f]=ok
			release[$line]=$("$otrace" --list-probes "$bin" | jq -r '.goVersion | split(" ")[0]')
			echo "matrix: go$line $f: ok (${release[$line]})" >&2
		else
			result[$line,$f]="FAIL"
			echo "matrix: go$line $f: FAIL: $why" >&2
			failures=$((failures + 1))
		fi
	done
done

{
	echo "| Go | with symbols | stripped (\`-s -w\`) | PIE | static-PIE | cgo |"
	echo "|---|---|---|---|---|---|"
	for line in "${versions[@]}"; do
		row="| $line${release[$line]:+ (${release[$line]})}"
		for f in "${flavours[@]}"; do
			cell=${result[$line,$f]}
			[[ $cell == ok ]] && cell="✓ tested"
			row+=" | $cell"
		done
		echo "$row |"
	done
	# layouts otrace parses from their documented formats, with no toolchain here
	for line in 1.17 1.18 1.20; do
		row="| $line"
		for _ in "${flavours[@]}"; do row+=" | untested¹"; done
		echo "$row |"
	done
	echo
	echo "¹ build info and pclntab are parsed from the documented layouts; no toolchain for these"
	echo "releases can be obtained here (GOTOOLCHAIN starts at 1.21, Debian ships 1.19)."
	echo
	echo "Generated by \`test/matrix/run-matrix.sh\` on $(date -u +%Y-%m-%d): each ✓ is a build of the fixture server"
	echo "whose probe plan matched its \`.symtab\` and DWARF (or, stripped, its unstripped twin's) and whose"
	echo "traced requests gave correct spans, read by the OpenTelemetry Collector's unmarshaler."
} >"$cache/support.md"
cat "$cache/support.md"
echo "matrix: $failures failing cells"
((failures == 0))
