#!/bin/bash
# bench/bench_cluster.sh - cluster mode on PostgreSQL (docs/cluster.md),
# each figure beside its baseline measured in the same run:
#
#   claims    N jobs (-c, default 300) due at one instant on 3 nodes sharing
#             one database: fires claimed and recorded per second (first to
#             last run row inserted), against the same claim and run INSERTs
#             sent by one psql client, one transaction per fire.
#   lateness  N fires (-n, default "1 100 1000") due at one instant: p50/p99
#             /max from the due instant to the job's first instruction
#             (bench/stamp), 3 nodes on PostgreSQL against one daemon on
#             SQLite, rounds alternating; target: p99 within 1.5x.
#   fallback  a per-second job on 3 nodes, one frozen (SIGSTOP) for 8 s, less
#             than dead_timeout: every fire still recorded once, and how late
#             the fires it was preferred for start (the fallback delay).
#   idle      one node with -j jobs (default 10000), none due, for -i seconds
#             (default 60): CPU seconds and wake-ups (the daemon's context
#             switches) per hour, on PostgreSQL (heartbeats) against SQLite.
#
# Everything runs on this machine: the server (tests/pg/pgserver.sh, a
# throwaway one, removed at exit), the nodes and their jobs share its cores.
#
# Usage: bench/bench_cluster.sh [-r ROUNDS] [-n "1 100 1000"] [-c CLAIM_JOBS]
#        [-j IDLE_JOBS] [-i IDLE_SECONDS] [-p "claims lateness fallback idle"]
# (-p: the phases to run, default all).
# Environment: CRONWARDEN (binary to measure; default: built in
# BENCH_BUILD_DIR, default <repo>/build-bench), CC (for bench/stamp.c).
# Exit status: 0 measured (targets reported, not enforced); 1 a failure
# (a fire lost or doubled, a daemon that would not start); 2 usage; 77
# PostgreSQL is not installed.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/lib.sh
. "$here/lib.sh"
repo=$(dirname "$here")
build=${BENCH_BUILD_DIR:-$repo/build-bench}
rounds=2
sizes="1 100 1000"
claim_jobs=300
idle_jobs=10000
idle_s=60
phases="claims lateness fallback idle"

while [ $# -gt 0 ]; do
        case $1 in
        -r) rounds=${2:?-r needs a value}; shift 2 ;;
        -n) sizes=${2:?-n needs a value}; shift 2 ;;
        -c) claim_jobs=${2:?-c needs a value}; shift 2 ;;
        -j) idle_jobs=${2:?-j needs a value}; shift 2 ;;
        -i) idle_s=${2:?-i needs a value}; shift 2 ;;
        -p) phases=${2:?-p needs a value}; shift 2 ;;
        -h|--help) sed -n '2,30p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "bench_cluster.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
        esac
done
for v in "$rounds" "$claim_jobs" "$idle_jobs" "$idle_s" $sizes; do
        [[ "$v" =~ ^[1-9][0-9]*$ ]] || { echo "bench_cluster.sh: expected a positive number, got '$v'" >&2; exit 2; }
done
for v in $phases; do
        case $v in
        claims|lateness|fallback|idle) ;;
        *) echo "bench_cluster.sh: unknown phase '$v' (claims, lateness, fallback, idle)" >&2; exit 2 ;;
        esac
done

tmp=$(mktemp -d)
stop=""
# shellcheck disable=SC2317 # called by the trap
cleanup() {
        if [ -n "$stop" ]; then $stop >/dev/null 2>&1 || true; fi
        rm -rf "$tmp"
}
trap cleanup EXIT
chmod 755 "$tmp"

if [ -n "${CRONWARDEN:-}" ]; then
        cw=$CRONWARDEN
else
        bench_build "$build" "$repo" cronwarden cronwarden-spawner cronwarden-pg.so cronwarden-curl.so
        cw=$build/cronwarden
fi
"${CC:-cc}" -O2 -std=gnu11 -Wall -Wextra -Werror -o "$tmp/stamp" "$here/stamp.c"

# Every worker of a burst connects to the server: room for the largest.
conns=$claim_jobs
for v in $sizes; do [ "$v" -gt "$conns" ] && conns=$v; done
out=$(PG_MAX_CONNECTIONS=$((conns + 100)) "$repo/tests/pg/pgserver.sh" start) || exit $?
url=$(sed -n 1p <<<"$out")
stop=$(sed -n 2p <<<"$out")

/usr/bin/python3 "$here/bench_cluster.py" "$cw" "$tmp/stamp" "$url" "$tmp" "$rounds" "$sizes" "$claim_jobs" "$idle_jobs" "$idle_s" "$phases"
