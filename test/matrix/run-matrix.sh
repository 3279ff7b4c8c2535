#!/usr/bin/env bash
# The Go support matrix, as a test: the fixture server built with Go releases
# (Debian's 1.19 as "go1.19"; any go1.N.P from 1.21.0 on through GOTOOLCHAIN)
# in three flavours: plain (symbols and DWARF), stripped (-s -w) and PIE
# (-buildmode=pie -s -w: the type data behind relocations); static-pie and cgo
# (plain, external linking) when asked for. For every cell:
#   - otrace --list-probes plans every probe (net/http server, HTTP/1.1 and
#     HTTP/2, and client, database/sql, goroutine ancestry, and with
#     --propagate the HTTP/1.1 and HTTP/2 writers), each on an emulated
#     instruction;
#   - the probe addresses equal those found from .symtab of the unstripped
#     twin (the plain build; for PIE, the PIE built with DWARF), and every
#     field of every plan, --propagate's included, has the offset of the
#     twin's DWARF, from the type data ("typedata"; "table" only for the
#     runtime's own types);
#   - an end-to-end trace yields correct spans: HTTP/1.1 and HTTP/2 server
#     spans (status, route, user agent), an HTTP/1.1 and an HTTP/2 client span,
#     each the child of its server span, and for /sql (the fixture's in-memory
#     database/sql driver) six database spans, children of theirs, error.type
#     named from the binary's itabs; checked through the Collector's own
#     unmarshaler (test/go/cmd/otlpcheck).
# A release the module proxy does not serve is reported, not failed.
#
# Usage: run-matrix.sh OTRACE_BIN BUILD_DIR [RELEASE[:FLAVOUR,...]...]
#   RELEASE: go1.19 (Debian's), go1.N.P, or "all": go1.19, every patch release
#   of 1.21 to 1.26 up to the newest the proxy lists (unlisted ones are tried
#   too), and go1.27.3 - the full sweep, on demand (hours; toolchains and
#   builds are cached). Default: the CI sample below. FLAVOURs after a colon
#   replace OTRACE_MATRIX_FLAVOURS (default "plain stripped pie") for that
#   release.
# OTRACE_MATRIX_PRUNE=1 removes each toolchain the run downloaded once its
# cells are done (the full sweep fetches ~80 of ~330 MB each).
# Writes BUILD_DIR/matrix/results.tsv (release, flavour, result),
# BUILD_DIR/matrix/support.md (the README's table, one row per release line,
# scripts/update-readme.sh) and exits non-zero when any cell fails.
set -euo pipefail
otrace="$(realpath "$1")"
build="$(mkdir -p "$2" && cd "$2" && pwd)"
shift 2
root="$(cd "$(dirname "$0")/../.." && pwd)"
export PATH="/usr/local/go/bin:$PATH" GOWORK=off
sample=(go1.19 go1.21.5 go1.22.3 go1.23.4 go1.24.4 go1.25.7 go1.26.10:plain,stripped,pie,static-pie,cgo
	go1.27.3)
args=("$@")
((${#args[@]})) || args=("${sample[@]}")
read -r -a default_flavours <<<"${OTRACE_MATRIX_FLAVOURS:-plain stripped pie}"
cache="$build/matrix"
# fixture builds are cached per version of the fixture's source
fixtures="$cache/fixtures-$(cat "$root"/test/fixtures/build-fixture.sh "$root"/test/fixtures/httpserver/* |
	sha256sum | cut -c1-12)"
mkdir -p "$cache" "$fixtures"

(cd "$root/test/go" && go build -o "$cache/otlpcheck" ./cmd/otlpcheck)

# Every go1.N.P the sweep tries: 1.21 to 1.26, up to each line's newest listed
# patch (the proxy serves some releases it does not list).
all_releases() {
	local line newest
	echo go1.19
	for line in 21 22 23 24 25 26; do
		newest=$(cd "$cache" && go list -m -versions golang.org/toolchain | tr ' ' '\n' |
			sed -n "s/^v0\.0\.1-go1\.$line\.\([0-9]*\)\.linux-amd64$/\1/p" | sort -n | tail -n 1)
		for ((p = 0; p <= ${newest:-0}; p++)); do echo "go1.$line.$p"; done
	done
	echo go1.27.3
}

# Sets GOCMD and GOTC (GOTOOLCHAIN) for a release; fails when unobtainable.
pick_toolchain() {
	if [[ $1 == go1.19 ]]; then
		GOCMD=/usr/lib/go-1.19/bin/go GOTC=local
		[[ -x $GOCMD ]]
		return
	fi
	GOCMD=go GOTC=$1
	(cd "$cache" && GOTOOLCHAIN=$GOTC go version) >/dev/null 2>&1
}

# build_cell RELEASE FLAVOUR OUT: the fixture in one flavour (cached). "pie-dwarf"
# is the PIE cell's twin.
build_cell() {
	local flavour=$2 out=$3 cgo=0 flags=()
	[[ -x $out ]] && return 0
	case $flavour in
	plain) ;;
	stripped) flags=(-ldflags=-s\ -w) ;;
	pie) flags=(-buildmode=pie -ldflags=-s\ -w) ;;
	pie-dwarf) flags=(-buildmode=pie) ;;
	static-pie)
		cgo=1 # static-pie needs the external linker
		flags=(-buildmode=pie "-ldflags=-linkmode=external -extldflags=-static-pie")
		;;
	cgo) cgo=1 ;;
	*) return 1 ;;
	esac
	CGO_ENABLED=$cgo GOTOOLCHAIN=$GOTC "$root/test/fixtures/build-fixture.sh" "$GOCMD" "$out.tmp" \
		"${flags[@]}" >"$out.log" 2>&1 && mv "$out.tmp" "$out"
}

# The plan as "symbol address planned emulated program" lines; the Go 1.27
# HTTP/2 client's end program counts as the other client ends.
probes_of() {
	"$otrace" --list-probes "$1" 2>/dev/null |
		jq -r '.probes[] | "\(.symbol) \(.address) \(.planned) \(.emulated) \(.program | sub("_h2_done$"; "_done"))"'
}

# Every field of every plan, --propagate's included: "struct.field offset source".
fields_of() {
	"$otrace" --propagate --list-probes "$1" 2>/dev/null |
		jq -r '.fields[] | "\(.struct).\(.field) \(.offset) \(.source // "none")"' | sort -u
}

# Addresses from .symtab of the unstripped twin, independent of otrace.
symtab_addr() {
	local hex
	hex=$(readelf -sW "$1" | awk -v s="$2" '$8 == s { print $2; exit }')
	[[ -n $hex ]] && echo $((16#$hex))
}

# check_fields BIN TWIN: every field DWARF gave the twin, the binary has at
# the same offset from the type data (runtime types: or the runtime table),
# and it has no field the twin lacks.
check_fields() {
	local bad
	bad=$(join -a1 -a2 -e missing -o 0,1.2,1.3,2.2,2.3 <(fields_of "$1") <(fields_of "$2") |
		awk '
			$5 == "none" && $3 == "none" { next }
			$5 != "dwarf" { print $1 " is " $4 " from " $5 " in the twin, " $2 " from " $3; next }
			$2 != $4 { print $1 " at " $2 ", DWARF " $4; next }
			$3 != "typedata" && !($3 == "table" && $1 ~ /^runtime\./) { print $1 " from " $3 }')
	[[ -z $bad ]] || { echo "fields differ from the twin's DWARF: $(head -c 400 <<<"$bad")"; return 1; }
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
	# --propagate adds HTTP/1.1's (the request being written, its headers) and
	# HTTP/2's, each on an emulated instruction
	programs=$("$otrace" --propagate --list-probes "$bin" 2>/dev/null | jq -r '.probes[] |
		select(.library | endswith("(--propagate)")) | "\(.program):\(.planned and .emulated)"' |
		sort | tr '\n' ' ')
	[[ $programs == "h2_do_request:true h2_headers_written:true h2_write_headers:true http1_request_write:true http1_write_headers:true " ]] ||
		{ echo "unexpected --propagate plan: $programs"; return 1; }
	[[ $bin == "$twin" ]] || check_fields "$bin" "$twin"
}

# One traced run: six HTTP/1.1 requests (one makes an HTTP/1.1 client call,
# /sql six database calls) and two over HTTP/2 (one makes an HTTP/2 client
# call to the fixture's own HTTP/2 port): eleven HTTP spans and six database
# spans, all correct.
check_trace() {
	local bin=$1 minor=$2 dir port tls status
	dir="$(mktemp -d)"
	"$otrace" -o "$dir/out.jsonl" --exec "$bin" -portfile "$dir/port" -tlsportfile "$dir/tls" 2>"$dir/stderr" &
	local pid=$!
	# BPF load and attach can take seconds on a loaded machine
	for _ in $(seq 600); do [[ -s $dir/port ]] && break; sleep 0.05; done
	if [[ ! -s $dir/port || ! -s $dir/tls ]]; then
		kill -KILL "$pid" 2>/dev/null || true
		echo "fixture did not start: $(head -c 300 "$dir/stderr")"
		return 1
	fi
	port=$(cat "$dir/port") tls=$(cat "$dir/tls")
	curl -s -o /dev/null -A "matrix/$minor" "http://127.0.0.1:$port/hello"
	curl -s -o /dev/null "http://127.0.0.1:$port/items/42"
	curl -s -o /dev/null -X POST "http://127.0.0.1:$port/items"
	curl -s -o /dev/null "http://127.0.0.1:$port/status/503"
	curl -s -o /dev/null "http://127.0.0.1:$port/call?to=http://127.0.0.1:$port/hello%3Fmatrix=1"
	curl -s -o /dev/null "http://127.0.0.1:$port/sql"
	curl -sk --http2 -o /dev/null -A "matrix-h2/$minor" "https://127.0.0.1:$tls/items/7"
	curl -sk --http2 -o /dev/null "https://127.0.0.1:$tls/call?tls=1&to=https://127.0.0.1:$tls/hello%3Fmatrix=2"
	kill -TERM "$pid"
	status=0
	wait "$pid" || status=$?
	[[ $status == 0 ]] || { echo "otrace exited $status: $(tail -c 300 "$dir/stderr")"; return 1; }
	"$cache/otlpcheck" -flat "$dir/out.jsonl" >"$dir/spans" 2>"$dir/check" ||
		{ echo "Collector unmarshaler rejected output: $(head -c 300 "$dir/check")"; return 1; }
	local want_route=false
	((minor >= 22)) && want_route=true
	jq -e -s '
		(map(select(.kind == 2 and .attributes["url.path"] == "/sql"))[0].spanId) as $parent
		| map(select(.kind == 3 and .attributes["db.system.name"] != null))
		| length == 6
		and all(.[]; .parentSpanId == $parent and .attributes["db.system.name"] == "other_sql")
		and (map(.name) | sort == ["DELETE items", "INSERT items", "SELECT items", "SELECT items",
		                           "SELECT missing", "UPDATE items"])
		and (map(select(.statusCode == 2)) | length == 1 and .[0].name == "SELECT missing"
		     and .[0].attributes["error.type"] == "*main.fakeError")
		and all(.[]; .attributes | has("db.query.text") | not)
	' "$dir/spans" >/dev/null || { echo "wrong database spans: $(jq -c 'select(.kind == 3)' "$dir/spans" | head -c 600)"; return 1; }
	jq -e -s --argjson route "$want_route" --arg ua "matrix/$minor" --arg ua2 "matrix-h2/$minor" '
		map(select(.attributes["url.path"] != "/sql" and .attributes["db.system.name"] == null))
		| map(select(.kind == 2 and .attributes["url.path"] == "/call")) as $calls
		| map(select(.kind == 3)) as $clients
		| length == 11 and ($calls | length == 2) and ($clients | length == 2)
		and (map(.attributes["url.path"] // empty) | sort ==
		     ["/call", "/call", "/hello", "/hello", "/hello", "/items", "/items/42", "/items/7", "/status/503"])
		and all($clients[]; . as $c | any($calls[]; .spanId == $c.parentSpanId and .traceId == $c.traceId
		        and .attributes["network.protocol.version"] == $c.attributes["network.protocol.version"])
		        and $c.attributes["http.response.status_code"] == 200)
		and ($clients | map(.attributes["network.protocol.version"]) | sort == ["1.1", "2"])
		and ($clients | map(.attributes["url.full"] | test("/hello[?]matrix=[12]$")) | all)
		and (map(select(.attributes["url.path"] == "/status/503"))[0]
		     | .statusCode == 2 and .attributes["http.response.status_code"] == 503)
		and (map(select(.attributes["user_agent.original"] == $ua)) | length == 1)
		and (map(select(.attributes["url.path"] == "/items/7"))[0] | .attributes["user_agent.original"] == $ua2
		     and .attributes["network.protocol.version"] == "2" and .attributes["http.response.status_code"] == 200)
		and (map(select(.kind == 2 and .attributes["network.protocol.version"] == "2")) | length == 3)
		and (map(select(.attributes["url.path"] == "/items"))[0].attributes["http.response.status_code"] == 201)
		and (all(.[]; .endUnixNano >= .startUnixNano))
		and (if $route then (map(select(.attributes["url.path"] == "/items/42"))[0].name == "GET /items/{id}")
		     else all(.[]; has("attributes") and (.attributes | has("http.route") | not)) end)
	' "$dir/spans" >/dev/null || { echo "wrong spans: $(head -c 800 "$dir/spans")"; return 1; }
	rm -rf "$dir"
}

releases=()
declare -A flavours_of
for a in "${args[@]}"; do
	if [[ $a == all ]]; then
		for r in $(all_releases); do
			releases+=("$r")
			flavours_of[$r]="${default_flavours[*]}"
		done
		continue
	fi
	r=${a%%:*}
	releases+=("$r")
	if [[ $a == *:* ]]; then
		flavours_of[$r]="${a#*:}"
		flavours_of[$r]=${flavours_of[$r]//,/ }
	else
		flavours_of[$r]="${default_flavours[*]}"
	fi
done

failures=0
results="$cache/results.tsv"
: >"$results"
for r in "${releases[@]}"; do
	minor=${r#go1.}
	minor=${minor%%.*}
	read -r -a flavours <<<"${flavours_of[$r]}"
	toolchain_dir=$(go env GOMODCACHE)/golang.org/toolchain@v0.0.1-$r.linux-amd64
	prune=false
	[[ ${OTRACE_MATRIX_PRUNE:-} == 1 && $r != go1.19 && ! -d $toolchain_dir ]] && prune=true
	if ! pick_toolchain "$r"; then
		echo "matrix: $r: not served" >&2
		for f in "${flavours[@]}"; do printf '%s\t%s\t%s\n' "$r" "$f" "not served" >>"$results"; done
		continue
	fi
	for f in "${flavours[@]}"; do
		bin="$fixtures/$r-$f" twin="$fixtures/$r-$f"
		case $f in
		stripped) twin="$fixtures/$r-plain" ;;
		pie) twin="$fixtures/$r-pie-dwarf" ;;
		esac
		if ! build_cell "$r" "$f" "$bin" || ! build_cell "$r" "${twin##*"$r"-}" "$twin"; then
			echo "matrix: $r $f: build failed: $(tail -n 3 "$bin.log" "$twin.log" 2>/dev/null | head -c 300)" >&2
			printf '%s\t%s\t%s\n' "$r" "$f" "build failed" >>"$results"
			failures=$((failures + 1))
			continue
		fi
		if why=$(check_plan "$bin" "$twin") && why=$(check_trace "$bin" "$minor"); then
			printf '%s\t%s\tok\t%s\n' "$r" "$f" \
				"$("$otrace" --list-probes "$bin" | jq -r '.goVersion | split(" ")[0]')" >>"$results"
			echo "matrix: $r $f: ok" >&2
		else
			printf '%s\t%s\tFAIL\t%s\n' "$r" "$f" "$why" >>"$results"
			echo "matrix: $r $f: FAIL: $why" >&2
			failures=$((failures + 1))
		fi
	done
	if $prune; then
		chmod -R u+w "$toolchain_dir" && rm -rf "$toolchain_dir" \
			"$(go env GOMODCACHE)/cache/download/golang.org/toolchain/@v/v0.0.1-$r.linux-amd64".*
	fi
done

"$root/test/matrix/support-table.sh" "$results" >"$cache/support.md"
cat "$cache/support.md"
echo "matrix: $failures failing cells"
((failures == 0))
