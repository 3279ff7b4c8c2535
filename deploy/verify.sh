#!/bin/sh
# deploy/verify.sh [OTRACE]: checks the deployment files without a cluster.
#  - otrace.service with systemd-analyze verify (Debian's systemd package),
#    its ExecStart pointed at OTRACE (the unit names /usr/local/sbin/otrace);
#  - kubernetes/daemonset.yaml decoded strictly into the Kubernetes API's Go
#    types, and what otrace needs checked (deploy/check).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
otrace=$(realpath "${1:-$here/../build/otrace}")
if ! command -v systemd-analyze >/dev/null; then
	apt-get install -y --no-install-recommends systemd >/dev/null
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sed "s#/usr/local/sbin/otrace#$otrace#" "$here/otrace.service" >"$tmp/otrace.service"
out=$(systemd-analyze verify --man=no "$tmp/otrace.service" 2>&1)
if [ -n "$out" ]; then
	echo "$out" >&2
	exit 1
fi
echo "otrace.service: systemd-analyze verify: no complaint"
cd "$here/check" && PATH=/usr/local/go/bin:$PATH go test -count=1 ./...
