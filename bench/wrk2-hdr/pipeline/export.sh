#!/bin/sh
# export.sh PIPELINE_BENCH SCRATCH [pipeline_bench options]
#
# The export path to a local receiver: starts the OTLP sink (../sink) on the
# other core, runs pipeline_bench --export to it without and with gzip, on
# core 0, and checks that the sink counted every span. Prints both results.
set -eu

if [ $# -lt 2 ]; then
	echo "usage: $0 PIPELINE_BENCH SCRATCH [pipeline_bench options]" >&2
	exit 2
fi
bench=$1
scratch=$2
shift 2
go=${GO:-go}
here=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$scratch"
if [ -z "${HOME:-}" ]; then
	export GOPATH="$scratch/gopath" GOCACHE="$scratch/gocache"
fi
(cd "$here/sink" && GOFLAGS=-buildvcs=false "$go" build -o "$scratch/sink" .)
rm -f "$scratch/port"
cpus=$(nproc)
pin_sink=""
if [ "$cpus" -gt 1 ]; then
	pin_sink="taskset -c 1"
fi
$pin_sink "$scratch/sink" -addr 127.0.0.1:0 -portfile "$scratch/port" 2>"$scratch/sink.err" &
sink=$!
trap 'kill $sink 2>/dev/null; wait $sink 2>/dev/null || true' EXIT
i=0
while [ ! -s "$scratch/port" ]; do
	i=$((i + 1))
	if [ $i -gt 100 ]; then
		echo "$0: the sink did not start" >&2
		exit 1
	fi
	sleep 0.1
done
url="http://127.0.0.1:$(cat "$scratch/port")"
total=0
for gz in "" --gzip; do
	out=$("$bench" --cpu 0 --export "$url" $gz "$@")
	echo "$out"
	n=$(echo "$out" | sed -n 's/.*, \([0-9]*\) exported$/\1/p')
	total=$((total + n))
done
got=$(curl -s "$url/stats" | sed -n 's/.*"spans":\([0-9]*\).*/\1/p')
if [ "$got" != "$total" ]; then
	echo "$0: the sink counted $got spans, pipeline_bench exported $total" >&2
	exit 1
fi
echo "sink: $got spans received, as many as exported"
