#!/usr/bin/env bash
# Sets up a fresh machine, builds otrace, starts an example Go service under
# `otrace --exec`, sends it a few seconds of varied traffic, and shows the spans
# otrace writes on stdout. Usage: scripts/demo.sh [--raw] [SECONDS]
#   --raw   print the OTLP-JSON lines as they are instead of a jq summary
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
if [[ $EUID -ne 0 ]]; then
	exec sudo --preserve-env=PATH "$0" "$@"
fi
raw=0
if [[ ${1:-} == --raw ]]; then
	raw=1
	shift
fi
seconds=${1:-5}

"$root/scripts/setup.sh" >&2
"$root/scripts/build.sh" >&2
export PATH="/usr/local/go/bin:$PATH"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$root/test/fixtures/build-fixture.sh" go "$work/shop-api" >&2

echo "demo: otrace --exec $work/shop-api (spans follow on stdout)" >&2
if ((raw)); then
	"$root/build/otrace" --exec "$work/shop-api" -portfile "$work/port" &
else
	"$root/build/otrace" --exec "$work/shop-api" -portfile "$work/port" |
		jq -c --unbuffered '.resourceSpans[] | .resource.attributes as $r
		  | .scopeSpans[].spans[]
		  | {name, status: ([.attributes[] | select(.key == "http.response.status_code")
		                     | .value.intValue][0]),
		     ms: (((.endTimeUnixNano | tonumber) - (.startTimeUnixNano | tonumber)) / 1e6),
		     trace: .traceId,
		     service: ([$r[] | select(.key == "service.name") | .value.stringValue][0])}' &
fi
for _ in $(seq 50); do
	[[ -s $work/port ]] && break
	sleep 0.1
done
port=$(cat "$work/port")
base="http://127.0.0.1:$port"
end=$((SECONDS + seconds))
while ((SECONDS < end)); do
	curl -s -o /dev/null -A "demo-browser/1.0" "$base/hello"
	curl -s -o /dev/null -A "demo-mobile/2.3" "$base/items/$RANDOM"
	curl -s -o /dev/null -X POST -d '{"sku":1}' "$base/items"
	curl -s -o /dev/null "$base/status/503"
	curl -s -o /dev/null "$base/slow"
	sleep 0.2
done
pkill -TERM -f "^$root/build/otrace --exec $work/shop-api" || true
wait
