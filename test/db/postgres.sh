#!/bin/sh
# postgres.sh start DIR PORT | stop DIR
#
# A throwaway PostgreSQL server for the database/sql tests, from Debian's
# postgresql package (scripts/setup.sh installs it):
#
#   start  stops whatever server a previous run left in DIR, makes a new
#          cluster in DIR/data owned by the postgres user (initdb refuses
#          root), listens on 127.0.0.1:PORT and on a unix socket in DIR with
#          trust auth, creates database otrace with table items, waits until
#          it accepts queries, and prints the DSN on stdout:
#            postgres://postgres@127.0.0.1:PORT/otrace?sslmode=disable
#   stop   stops the server in DIR (fast shutdown); nothing to stop is fine.
#
# DIR must be reachable by the postgres user (every parent searchable by
# others, as /tmp is; not inside a 0700 mktemp directory). It keeps the log,
# DIR/postgres.log. Failures print one line on stderr and exit 1.
# PG_TIMEOUT (seconds, default 30) bounds each wait.
set -eu

me=postgres.sh
timeout=${PG_TIMEOUT:-30}

die() {
	echo "$me: $*" >&2
	exit 1
}

usage() {
	echo "usage: $0 start DIR PORT | stop DIR" >&2
	exit 2
}

# The newest installed major version, e.g. /usr/lib/postgresql/15/bin.
bindir=
for d in /usr/lib/postgresql/*/bin; do
	[ -x "$d/pg_ctl" ] && bindir=$(printf '%s\n%s\n' "$bindir" "$d" | sort -V | tail -n 1)
done
[ -n "$bindir" ] ||
	die "no PostgreSQL server under /usr/lib/postgresql/*/bin (apt-get install postgresql, or run scripts/setup.sh)"

# as_pg runs a command as the postgres user when we are root, from DIR so
# that it never starts in a directory it cannot read (root's home).
as_pg() {
	if [ "$(id -u)" -eq 0 ]; then
		(cd "$dir" && runuser -u postgres -- "$@")
	else
		(cd "$dir" && "$@")
	fi
}

# running: a server runs in DIR/data. A pid file that a killed server left
# behind does not count, nor does one whose pid now belongs to another
# program (pg_ctl would signal it) or to a zombie (pg_ctl would wait for it
# to go away, which only its reaper decides).
running() {
	[ -f "$dir/data/postmaster.pid" ] || return 1
	pid=$(head -n 1 "$dir/data/postmaster.pid")
	case $pid in
	'' | *[!0-9]*) return 1 ;;
	esac
	[ "$(cat "/proc/$pid/comm" 2>/dev/null)" = postgres ] &&
		! grep -q '^State:[[:space:]]*Z' "/proc/$pid/status" 2>/dev/null
}

stop_server() {
	running || return 0
	as_pg "$bindir/pg_ctl" stop -D "$dir/data" -m fast -w -t "$timeout" >>"$dir/postgres.log" 2>&1 ||
		die "could not stop the server in $dir/data within ${timeout}s (see $dir/postgres.log)"
}

# first_error prints the first FATAL/ERROR line of the log, for the one-line
# failure message.
first_error() {
	grep -m 1 -E 'FATAL|ERROR|PANIC' "$dir/postgres.log" 2>/dev/null || echo "no error in the log"
}

start() {
	case $port in
	'' | *[!0-9]*) die "PORT must be a number, got '$port'" ;;
	esac
	if [ "$port" -lt 1 ] || [ "$port" -gt 65535 ]; then
		die "PORT must be 1-65535, got $port"
	fi
	mkdir -p "$dir"
	dir=$(cd "$dir" && pwd)
	if [ "$(id -u)" -eq 0 ]; then
		chown postgres: "$dir"
		runuser -u postgres -- test -w "$dir" -a -x "$dir" ||
			die "user postgres cannot write to $dir: a parent directory is not searchable by others"
	fi
	stop_server
	rm -rf "$dir/data"
	: >"$dir/postgres.log"
	[ "$(id -u)" -ne 0 ] || chown postgres: "$dir/postgres.log"

	# C locale: the machine may have no other, and tests need no collation.
	as_pg "$bindir/initdb" -D "$dir/data" -U postgres --auth=trust --locale=C -E UTF8 \
		>>"$dir/postgres.log" 2>&1 || die "initdb failed in $dir/data (see $dir/postgres.log)"
	# Durability off: the data are thrown away, and fsync makes tests slow.
	cat >>"$dir/data/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
	as_pg "$bindir/pg_ctl" start -D "$dir/data" -l "$dir/postgres.log" -w -t "$timeout" >/dev/null 2>&1 ||
		die "server did not start on port $port within ${timeout}s: $(first_error)"

	# pg_ctl -w waited for the postmaster; also wait until TCP connections
	# are accepted, the way the tests will connect.
	deadline=$(($(date +%s) + timeout))
	until "$bindir/pg_isready" -q -h 127.0.0.1 -p "$port" -U postgres -d postgres -t 1; do
		[ "$(date +%s)" -lt "$deadline" ] || die "server on port $port not ready within ${timeout}s: $(first_error)"
		sleep 0.1
	done

	as_pg "$bindir/psql" -X -q -v ON_ERROR_STOP=1 -h "$dir" -p "$port" -U postgres -d postgres \
		-c 'CREATE DATABASE otrace' >>"$dir/postgres.log" 2>&1 ||
		die "could not create database otrace (see $dir/postgres.log)"
	# The same schema as test/fixtures/services/db.go's pgSchema.
	as_pg "$bindir/psql" -X -q -v ON_ERROR_STOP=1 -h "$dir" -p "$port" -U postgres -d otrace \
		-c 'CREATE TABLE items (id bigserial PRIMARY KEY, name text NOT NULL, qty integer NOT NULL DEFAULT 0)' \
		>>"$dir/postgres.log" 2>&1 ||
		die "could not create table items (see $dir/postgres.log)"
	echo "postgres://postgres@127.0.0.1:$port/otrace?sslmode=disable"
}

[ $# -ge 2 ] || usage
cmd=$1
dir=$2
case $cmd in
start)
	[ $# -eq 3 ] || usage
	port=$3
	start
	;;
stop)
	[ $# -eq 2 ] || usage
	[ -d "$dir" ] || exit 0
	dir=$(cd "$dir" && pwd)
	stop_server
	;;
*) usage ;;
esac
