#!/usr/bin/env bash
# Installs every build and test dependency of otrace on Debian bookworm.
# Idempotent and non-interactive: it only calls apt-get when something is missing.
# Every package a build or test uses is named here: apt runs with
# --no-install-recommends, so nothing may come in as a recommendation
# (clang's sanitizer and libFuzzer runtimes are one: libclang-rt-14-dev).
set -euo pipefail

packages=(
	# build: BPF objects, skeletons, one static binary
	clang llvm bpftool cmake make gcc pkg-config
	libbpf-dev libelf-dev zlib1g-dev libzstd-dev liblzma-dev libbz2-dev
	libjansson-dev libcapstone-dev libdw-dev
	# OTLP/HTTP export over TLS (libssl.a, libcrypto.a); gzip comes from zlib above
	libssl-dev
	# fuzz targets and sanitizer builds: clang's libFuzzer, ASan and UBSan runtimes
	libclang-rt-14-dev
	# tests and demo; Go 1.19 for the version matrix (1.21+ come through GOTOOLCHAIN)
	file jq curl ca-certificates util-linux procps man-db groff-base binutils golang-1.19-go
	lld-14 time git python3 xz-utils zstd gzip iproute2
	# a real PostgreSQL server for the database/sql tests (test/db/postgres.sh)
	postgresql
	# a real Redis server for the go-redis tests (test/go/integration/redis_test.go)
	redis-server
	# Go programs as Debian builds them (Go 1.19, GOPATH mode, stripped), traced by
	# TestDebianPrograms: an HTTP server, a static-site server, a reverse proxy,
	# a monitoring server scraping itself, etcd's gRPC
	prometheus-node-exporter hugo caddy prometheus etcd-server etcd-client
	# benchmark plots; protobuf-c for the encoder comparison (bench/wrk2-hdr/pipeline/proto_compare.c)
	gnuplot-nox protobuf-c-compiler libprotobuf-c-dev
	# test/vm: a guest booting Debian's kernel for what lockdown refuses (--propagate);
	# its initramfs (busybox, cpio) and its kernel's modules (kmod's depmod, modprobe)
	qemu-system-x86 busybox-static cpio kmod
)

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing+=("$p")
done
if ((${#missing[@]})); then
	echo "setup: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Go builds the fixtures and the Collector-based output checker. The machine
# image ships a current Go in /usr/local/go; Debian's golang-go is too old for
# the Collector's pdata module, so it is only a last resort.
export PATH="/usr/local/go/bin:$PATH"
if ! command -v go >/dev/null; then
	echo "setup: no Go toolchain found; installing Debian's golang-go" >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq golang-go >/dev/null
fi
echo "setup: $(go version)"

# Fetch Go modules now, so test failures are never download failures.
root="$(cd "$(dirname "$0")/.." && pwd)"
for mod in "$root"/test/go "$root"/test/otlprecv "$root"/test/fixtures/services \
	"$root"/test/fixtures/redisapp "$root"/test/fixtures/kafkaapp "$root"/test/fixtures/kfake \
	"$root"/test/fixtures/routers/*/ "$root"/bench/wrk2-hdr/*/; do
	if [[ -f "$mod/go.mod" ]]; then
		(cd "$mod" && go mod download)
	fi
done
# The router releases TestRouters builds besides the ones the fixtures pin,
# built once (to nowhere) so that their dependencies are fetched too.
for rel in gin:v1.5.0 gin:v1.4.0 chi:v5.0.0 gorilla_mux:v1.7.4 gorilla_mux:v1.7.3 echo:v4.0.0; do
	"$root/test/fixtures/routers/build.sh" "${rel%%:*}" go /dev/null "${rel#*:}" >/dev/null
done
# The guest's kernel (test/vm), unpacked into a cache, never installed.
"$root/test/vm/run-in-vm.sh" --prepare
echo "setup: done"
