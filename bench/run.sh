#!/bin/bash
# bench/run.sh - next-fire throughput of cronwarden against croniter.
#
# Builds bench_next in an optimised build directory (build-bench: -O2,
# NDEBUG), then in the same run times cronwarden (bench_next) and croniter
# (croniter_bench.py) on the fixed set in bench/expressions.tsv, checks that
# both give the same first five fires for every expression, and prints
# ns/call for each, the ratio croniter/cronwarden, the geometric mean of the
# ratios and whether the target in docs/hacking.md, Quality targets (>= 100x croniter) holds.
#
# Usage: bench/run.sh [--min-time SECONDS]   (default 0.5 s per timed chain)
# Environment: BENCH_BUILD_DIR (default <repo>/build-bench), PYTHON
# (default /usr/bin/python3, which must have python3-croniter).
# Exit status: 0 when both ran and agree on the first fires (the target is
# reported, not enforced: benchmarks are not timed tests); 1 otherwise.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/lib.sh
. "$here/lib.sh"
repo=$(dirname "$here")
build=${BENCH_BUILD_DIR:-$repo/build-bench}
python=${PYTHON:-/usr/bin/python3}
exprs=$here/expressions.tsv
min_time=0.5
target=100

while [ $# -gt 0 ]; do
        case $1 in
        --min-time) min_time=${2:?--min-time needs a value}; shift 2 ;;
        -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "run.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
        esac
done

if ! "$python" -c 'import croniter' 2>/dev/null; then
        echo "run.sh: $python cannot import croniter (apt-get install python3-croniter)" >&2
        exit 1
fi

bench_build "$build" "$repo" bench/bench_next

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "timing cronwarden (bench_next) ..." >&2
"$build/bench/bench_next" --min-time "$min_time" "$exprs" >"$tmp/cw.tsv"
echo "timing croniter $("$python" -c 'import importlib.metadata as m; print(m.version("croniter"))' 2>/dev/null || true) ..." >&2
"$python" "$here/croniter_bench.py" --min-time "$min_time" "$exprs" >"$tmp/cr.tsv"

# Both files list the expressions in the file's order; join them line by line.
paste "$tmp/cw.tsv" "$tmp/cr.tsv" | awk -F'\t' -v target="$target" -v min_time="$min_time" '
/^#/ { next }
{
        expr = $1; zone = $2; cw = $3; cr = $9; cw_first = $6; cr_first = $12
        if ($7 != expr || $8 != zone) {
                printf "run.sh: result files out of step at %s / %s\n", expr, $7 > "/dev/stderr"
                bad = 1
                exit 1
        }
        n++
        ratio = cr / cw
        logsum += log(ratio)
        if (n == 1 || ratio < min_ratio) { min_ratio = ratio; min_expr = expr " (" zone ")" }
        if (ratio < target) below++
        same = (cw_first == cr_first) ? "same" : "DIFFER"
        if (same != "same") { differ++; diffs = diffs sprintf("  %s (%s)\n    cronwarden: %s\n    croniter:   %s\n", expr, zone, cw_first, cr_first) }
        rows[n] = sprintf("%-20s %-14s %14.1f %14.1f %9.0fx   %s", expr, zone, cw, cr, ratio, same)
}
END {
        if (bad) exit 1
        printf "next-fire throughput: chained next() from 2024-01-01T00:00Z, best of 3 runs of >= %s s each, CLOCK_MONOTONIC\n\n", min_time
        printf "%-20s %-14s %14s %14s %10s   %s\n", "expression", "zone", "cronwarden", "croniter", "ratio", "first 5 fires"
        printf "%-20s %-14s %14s %14s %10s\n", "", "", "ns/call", "ns/call", "cr/cw"
        for (i = 1; i <= n; i++) print rows[i]
        geo = exp(logsum / n)
        printf "\ngeometric mean ratio: %.0fx -- target >= %dx croniter (docs/hacking.md, Quality targets): %s\n", geo, target, (geo >= target ? "MET" : "NOT MET")
        printf "lowest ratio: %.0fx for %s; %d of %d expressions below %dx\n", min_ratio, min_expr, below, n, target
        if (differ) {
                printf "sanity: first 5 fires DIFFER for %d of %d expressions:\n%s", differ, n, diffs
                exit 1
        }
        printf "sanity: first 5 fires identical in cronwarden and croniter for all %d expressions\n", n
}'
