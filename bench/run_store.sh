#!/bin/bash
# bench/run_store.sh - recorded runs per second through the store, beside
# raw SQLite and posix_spawn of /bin/true timed in the same run.
#
# Builds bench_store in the optimised build directory (build-bench: -O2,
# NDEBUG), then runs it: 1, 4 and 16 writer processes each record 20 000
# runs (insert as running + finish with 200 bytes of output) on a fresh
# store, alternating with the same number of bare SQLite INSERT/UPDATE
# transaction pairs, best of 3; then times posix_spawn + wait of /bin/true
# and the history queries on a store of 1 000 000 runs. Prints runs/s, the
# store/raw ratio and whether the target in docs/hacking.md, Quality targets (>= 2 000 recorded
# runs/s) holds. See bench/README.md.
#
# Usage: bench/run_store.sh [bench_store options]
#   default options: --runs 20000 --procs 1,4,16 --repeat 3 --history 1000000
#   e.g. bench/run_store.sh --runs 5000 --repeat 1 --history 0   (quick)
# Environment: BENCH_BUILD_DIR (default <repo>/build-bench), TMPDIR (where
# the temporary stores go; its file system is part of what is measured).
# Exit status: 0 when every measurement ran (the target is reported, not
# enforced: benchmarks are not timed tests); 1 otherwise.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/lib.sh
. "$here/lib.sh"
repo=$(dirname "$here")
build=${BENCH_BUILD_DIR:-$repo/build-bench}

case ${1:-} in
-h|--help) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
esac

bench_build "$build" "$repo" bench/bench_store

if [ $# -eq 0 ]; then
        set -- --runs 20000 --procs 1,4,16 --repeat 3 --history 1000000
fi
echo "bench_store $* ($(nproc) CPUs, stores in ${TMPDIR:-/tmp}: $(df -PT "${TMPDIR:-/tmp}" | awk 'NR == 2 { print $2 }'))" >&2
exec "$build/bench/bench_store" "$@"
