#!/bin/bash
# bench/bench_run.sh - the full `cronwarden run` of /bin/true, end to end
# (config load, store open, lock, run recorded at start and at finish,
# job spawned and reaped, lock released), beside the raw posix_spawn+wait
# of /bin/true measured in the same run by the same driver (spawn_true).
#
# Two figures, each as ms per run and as a ratio to the raw baseline:
#   sequential  N runs one after another of a lock = class job
#   parallel    N runs, J at a time (default 8), of a lock = none job:
#               rounds of J concurrent `cronwarden run`, each round waited
#               for, also given as recorded runs per second
# The store is SQLite in a fresh temporary data_dir (mktemp -d: $TMPDIR or
# /tmp); the script says which filesystem that is, since it matters.
#
# Usage: bench/bench_run.sh [-n N] [-j J] [-r R]
#   -n N  runs per timed loop (default 200)
#   -j J  concurrent runs per round in the parallel figure (default 8)
#   -r R  timed loops per figure, best kept (default 3)
# Environment: BENCH_BUILD_DIR (default <repo>/build-bench, configured
# -O2/NDEBUG on first use like bench/run.sh), CC (fallback compiler for
# spawn_true when the build has no bench/spawn_true target).
# Exit status: 0 when every run succeeded and every run was recorded
# exactly once as succeeded; 1 otherwise.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/lib.sh
. "$here/lib.sh"
repo=$(dirname "$here")
build=${BENCH_BUILD_DIR:-$repo/build-bench}
n=200
par=8
reps=3

while [ $# -gt 0 ]; do
        case $1 in
        -n) n=${2:?-n needs a value}; shift 2 ;;
        -j) par=${2:?-j needs a value}; shift 2 ;;
        -r) reps=${2:?-r needs a value}; shift 2 ;;
        -h|--help) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "bench_run.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
        esac
done
for v in "$n" "$par" "$reps"; do
        [[ "$v" =~ ^[1-9][0-9]*$ ]] || { echo "bench_run.sh: expected a positive number, got '$v'" >&2; exit 2; }
done

bench_build "$build" "$repo" cronwarden cronwarden-spawner cronwarden-pg.so cronwarden-curl.so
cw=$build/cronwarden

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if ninja -C "$build" bench/spawn_true >/dev/null 2>&1; then
        spawn=$build/bench/spawn_true
else
        spawn=$tmp/spawn_true
        "${CC:-cc}" -O2 -Wall -o "$spawn" "$here/spawn_true.c" || {
                echo "bench_run.sh: cannot compile bench/spawn_true.c" >&2
                exit 1
        }
fi

cfg=$tmp/cronwarden.ini
cat >"$cfg" <<EOF
[cronwarden]
data_dir = $tmp/data

[job True]
command = /bin/true
lock = class

[job Par]
command = /bin/true
lock = none
EOF

# Warm-up (creates the store, fills the page cache); must succeed.
for _ in 1 2 3; do
        "$cw" --config "$cfg" run True --quiet 2>/dev/null || {
                echo "bench_run.sh: warm-up run failed:" >&2
                "$cw" --config "$cfg" run True --quiet >&2 || true
                exit 1
        }
done

field() { grep -v '^#' | cut -f"$1"; }

echo "timing raw posix_spawn+wait of /bin/true and cronwarden run, $n runs x best of $reps ..." >&2
raw_seq=$("$spawn" -n "$n" -r "$reps" -- /bin/true)
cw_seq=$("$spawn" -n "$n" -r "$reps" -- "$cw" --config "$cfg" run True --quiet) || {
        echo "bench_run.sh: some sequential runs failed" >&2; exit 1; }
raw_par=$("$spawn" -n "$n" -j "$par" -r "$reps" -- /bin/true)
cw_par=$("$spawn" -n "$n" -j "$par" -r "$reps" -- "$cw" --config "$cfg" run Par --quiet) || {
        echo "bench_run.sh: some parallel runs failed" >&2; exit 1; }

# Sanity: every run recorded once, as succeeded.
want=$((3 + 2 * n * reps))
counts=$("$cw" --config "$cfg" history --limit 100000 --json | /usr/bin/python3 -c '
import json, sys
runs = json.load(sys.stdin)
print(len(runs), sum(r["status"] == "succeeded" for r in runs))')
read -r got ok <<<"$counts"

rs=$(field 4 <<<"$raw_seq"); cs=$(field 4 <<<"$cw_seq")
rp=$(field 5 <<<"$raw_par"); cp=$(field 5 <<<"$cw_par")
rps=$(field 6 <<<"$cw_par"); rrps=$(field 6 <<<"$raw_par")
fs=$(stat -f -c %T "$tmp")
awk -v n="$n" -v par="$par" -v reps="$reps" -v rs="$rs" -v cs="$cs" -v rp="$rp" -v cp="$cp" \
        -v rps="$rps" -v rrps="$rrps" -v fs="$fs" -v cpus="$(nproc)" 'BEGIN {
        printf "cronwarden run of /bin/true, end to end (store: SQLite on %s, %d CPUs; best of %d loops of %d runs)\n\n", fs, cpus, reps, n
        printf "%-34s %12s %12s %10s\n", "", "raw spawn", "cronwarden", "ratio"
        printf "%-34s %12.3f %12.3f %9.1fx\n", "sequential, ms per run", rs, cs, cs / rs
        printf "%-34s %12.3f %12.3f %9.1fx\n", sprintf("%d in parallel, ms per round", par), rp, cp, cp / rp
        printf "%-34s %12.0f %12.0f\n", sprintf("%d in parallel, runs per second", par), rrps, rps
}'
echo
if [ "$got" -eq "$want" ] && [ "$ok" -eq "$want" ]; then
        echo "sanity: all $want runs recorded, all succeeded"
else
        echo "sanity: FAILED: expected $want runs recorded as succeeded, history has $got runs, $ok succeeded"
        exit 1
fi
