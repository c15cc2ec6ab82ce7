#!/bin/bash
# pgserver.sh - a throwaway PostgreSQL server for the tests.
#
#   tests/pg/pgserver.sh start   starts one in a new temporary directory and
#                                prints two lines: the server's URL, then the
#                                command that stops it;
#   tests/pg/pgserver.sh stop DIR  stops the server of DIR and removes DIR;
#   tests/pg/pgserver.sh restart DIR  restarts it (fast shutdown: sessions are
#                                cut off), for the tests of reconnecting;
#   tests/pg/pgserver.sh down DIR / up DIR  stops it (keeping DIR) and starts
#                                it again on the same port, for the tests of
#                                a server away for a while.
#
# The server is Debian's (initdb and pg_ctl from /usr/lib/postgresql/15/bin,
# or PG_BINDIR), its data directory and unix socket live in the temporary
# directory, it listens on 127.0.0.1 only, on a free port, and trusts local
# connections (nothing but the tests can reach it); PG_MAX_CONNECTIONS sets
# its max_connections (default 100). PostgreSQL refuses to
# run as root: as root, the server runs as the unprivileged `postgres` user
# (which owns the directory); as another user, as that user.
#
# Exit status: 0; 77 (the test harness's "skipped") when PostgreSQL is not
# installed, saying so on stderr; 1 when the server would not start (its
# log is printed on stderr).
set -euo pipefail

bindir=${PG_BINDIR:-/usr/lib/postgresql/15/bin}
python=/usr/bin/python3
[ -x "$python" ] || python=python3

# Runs a command as the server's user.
as_server() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

# A TCP port on 127.0.0.1 that nothing listens on right now.
free_port() {
    "$python" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

start() {
    local dir port url
    if [ ! -x "$bindir/initdb" ] || [ ! -x "$bindir/pg_ctl" ]; then
        echo "pgserver: PostgreSQL is not installed ($bindir/initdb missing): run scripts/deps.sh as root" >&2
        exit 77
    fi
    if [ "$(id -u)" -eq 0 ] && ! getent passwd postgres >/dev/null; then
        echo "pgserver: running as root but there is no 'postgres' user to run the server as" >&2
        exit 77
    fi
    # The server's user must reach the directory, and the unix socket's
    # path must stay short (about 100 bytes at most): else use /tmp.
    local base=${TMPDIR:-/tmp}
    if [ ${#base} -gt 60 ] || { [ "$(id -u)" -eq 0 ] && ! runuser -u postgres -- test -x "$base"; }; then
        base=/tmp
    fi
    dir=$(mktemp -d "$base/cw-pg-XXXXXX")
    chmod 0755 "$dir"
    if [ "$(id -u)" -eq 0 ]; then
        chown postgres: "$dir"
    fi
    if ! as_server "$bindir/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 \
            --locale=C.UTF-8 --no-sync >"$dir/initdb.log" 2>&1; then
        cat "$dir/initdb.log" >&2
        rm -rf "$dir"
        exit 1
    fi
    # A port found free may be taken before the server binds it: try a few.
    for _ in 1 2 3 4 5; do
        port=$(free_port)
        echo "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=${PG_MAX_CONNECTIONS:-100}" >"$dir/options"
        if as_server "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
                -o "$(cat "$dir/options")" start >/dev/null 2>&1; then
            url="postgresql://postgres@127.0.0.1:$port/postgres"
            echo "$url"
            echo "$0 stop $dir"
            return 0
        fi
    done
    cat "$dir/server.log" >&2 || true
    rm -rf "$dir"
    exit 1
}

check_dir() {
    case "$1" in
    */cw-pg-*) ;;
    *)
        echo "pgserver: '$1' is not a directory made by pgserver.sh start" >&2
        exit 2
        ;;
    esac
}

restart() {
    check_dir "$1"
    as_server "$bindir/pg_ctl" -D "$1/data" -l "$1/server.log" -m fast -w -t 60 restart >/dev/null
}

down() {
    check_dir "$1"
    as_server "$bindir/pg_ctl" -D "$1/data" -m fast -w -t 60 stop >/dev/null
}

up() {
    check_dir "$1"
    as_server "$bindir/pg_ctl" -D "$1/data" -l "$1/server.log" -w -t 60 \
        -o "$(cat "$1/options")" start >/dev/null
}

stop() {
    local dir=$1
    check_dir "$dir"
    if [ -d "$dir/data" ]; then
        as_server "$bindir/pg_ctl" -D "$dir/data" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
}

case "${1:-}" in
start) start ;;
stop | restart | down | up)
    [ $# -eq 2 ] || { echo "usage: $0 $1 DIR" >&2; exit 2; }
    "$1" "$2"
    ;;
*)
    echo "usage: $0 start | stop DIR | restart DIR | down DIR | up DIR" >&2
    exit 2
    ;;
esac
