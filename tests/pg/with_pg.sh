#!/bin/bash
# with_pg.sh - runs a command against a throwaway PostgreSQL server.
#
#   tests/pg/with_pg.sh CMD [ARG...]
#
# Starts a server with pgserver.sh (next to this script), exports its URL
# as CW_TEST_POSTGRESQL_URL (and its directory, for `pgserver.sh restart`,
# as CW_TEST_POSTGRESQL_DIR), runs CMD and stops and removes the server
# afterwards, whatever CMD's outcome (also when interrupted). Exits with
# CMD's status, or 77 (skipped) when PostgreSQL is not installed, or when
# CW_TEST_POSTGRESQL_URL is already set: then CMD runs against that server
# instead and none is started.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)

if [ $# -eq 0 ]; then
    echo "usage: $0 CMD [ARG...]" >&2
    exit 2
fi
if [ -n "${CW_TEST_POSTGRESQL_URL:-}" ]; then
    exec "$@"
fi

out=$("$here/pgserver.sh" start)
rc=$?
if [ $rc -ne 0 ]; then
    [ $rc -eq 77 ] && echo "with_pg: skipped: no PostgreSQL to test against" >&2
    exit $rc
fi
url=$(sed -n 1p <<<"$out")
dir=$(sed -n 2p <<<"$out" | awk '{print $NF}')
trap '"$here/pgserver.sh" stop "$dir"' EXIT

# CMD runs in the background so that a signal (meson's timeout sends
# SIGTERM) is handled at once: CMD is stopped, then the server.
CW_TEST_POSTGRESQL_URL=$url CW_TEST_POSTGRESQL_DIR=$dir "$@" &
child=$!
trap 'kill -TERM "$child" 2>/dev/null; wait "$child"; exit 143' INT TERM
wait "$child"
