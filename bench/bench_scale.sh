#!/bin/bash
# bench/bench_scale.sh - 100 000 jobs (docs/hacking.md, Quality targets: config load + first
# schedule < 1 s, RSS < 64 MiB), beside baselines measured in the same run.
#
# Generates a config of N jobs (default 100 000: 16 kinds of cron specs,
# 6-field ones, L / 5L / MON#2, H / H/15 / H(0-29), macros, every, at; one
# job in three in one of 7 non-default zones; one in ten with a second
# schedule line) and times, each with one driver (bench_scale run:
# posix_spawn + wait4, CLOCK_MONOTONIC wall time, peak RSS = ru_maxrss),
# best and median of R runs:
#   cronwarden --config BIG check                  config load + validation
#   cronwarden --config BIG jobs --json >/dev/null config load + the first
#                                                  fire of every entry
#                                                  (+ JSON for 100k jobs)
#   cronwarden --config BIG jobs >/dev/null        the same as a text table
# Baselines, same driver, same run:
#   wc -l BIG                                      reading the file once
#   bench_scale ini BIG                            libinih parse of the file
#                                                  (no semantics)
#   cronwarden --config ONE check / jobs --json    a 1-job config: the fixed
#                                                  cost of the process
#
# Usage: bench/bench_scale.sh [-n JOBS] [-r RUNS] [-k FILE]
#   -k FILE  also keep a copy of the generated config in FILE (to profile
#            it by hand, e.g. with heaptrack or valgrind --tool=massif)
# Environment: CRONWARDEN (a cronwarden binary to measure; default: build
# it in BENCH_BUILD_DIR, default <repo>/build-bench, -O2/NDEBUG, like the
# other benchmarks), CC (to compile bench/bench_scale.c when the build has
# no bench/bench_scale target).
# Exit status: 0 when every command ran and exited 0 (the targets are
# reported, not enforced); 1 otherwise; 2 on usage errors.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/lib.sh
. "$here/lib.sh"
repo=$(dirname "$here")
build=${BENCH_BUILD_DIR:-$repo/build-bench}
jobs=100000
reps=3
keep=""

while [ $# -gt 0 ]; do
        case $1 in
        -n) jobs=${2:?-n needs a value}; shift 2 ;;
        -r) reps=${2:?-r needs a value}; shift 2 ;;
        -k) keep=${2:?-k needs a file name}; shift 2 ;;
        -h|--help) sed -n '2,30p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "bench_scale.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
        esac
done
for v in "$jobs" "$reps"; do
        [[ "$v" =~ ^[1-9][0-9]*$ ]] || { echo "bench_scale.sh: expected a positive number, got '$v'" >&2; exit 2; }
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if [ -n "${CRONWARDEN:-}" ]; then
        cw=$CRONWARDEN
        [ -x "$cw" ] || { echo "bench_scale.sh: CRONWARDEN=$cw is not executable" >&2; exit 1; }
        driver_built=""
else
        bench_build "$build" "$repo" cronwarden cronwarden-spawner cronwarden-pg.so cronwarden-curl.so
        cw=$build/cronwarden
        driver_built=$build
fi

if [ -n "$driver_built" ] && ninja -C "$build" bench/bench_scale >/dev/null 2>&1; then
        drv=$build/bench/bench_scale
else
        drv=$tmp/bench_scale
        # shellcheck disable=SC2046
        "${CC:-cc}" -O2 -Wall -o "$drv" "$here/bench_scale.c" $(pkg-config --cflags --libs inih 2>/dev/null || echo -linih) || {
                echo "bench_scale.sh: cannot compile bench/bench_scale.c (needs libinih-dev)" >&2
                exit 1
        }
fi

big=$tmp/big.ini
one=$tmp/one.ini
t0=$(date +%s.%N)
awk -v n="$jobs" -v data="$tmp/data" '
BEGIN {
        split("Europe/Warsaw America/New_York Asia/Tokyo Australia/Sydney Asia/Kolkata America/Sao_Paulo Europe/London", zone, " ")
        printf "[cronwarden]\ndata_dir = %s\ntimezone = UTC\n\n[defaults]\ntimeout = 1h\n\n", data
        for (i = 1; i <= n; i++) {
                m = i % 60; h = int(i / 60) % 24; k = i % 16
                if (k == 0) s = m " " h " * * *"
                else if (k == 1) s = "*/5 * * * *"
                else if (k == 2) s = "H H * * *"
                else if (k == 3) s = "H/15 * * * *"
                else if (k == 4) s = "H(0-29) " h " * * 1-5"
                else if (k == 5) s = m " 9-17 * * MON-FRI"
                else if (k == 6) s = "0 0 L * *"
                else if (k == 7) s = "0 " h " * * 5L"
                else if (k == 8) s = m " 8 * * MON#2"
                else if (k == 9) s = "0 0 29 2 *"
                else if (k == 10) s = "@daily"
                else if (k == 11) s = "@hourly"
                else if (k == 12) s = "every " (30 + i % 90) "m"
                else if (k == 13) s = sprintf("at %02d:%02d, 14:00", h, m)
                else if (k == 14) s = m " */10 * * * *"
                else s = "H H(0-5) 1 * *"
                printf "[job Job%06d]\ncommand = /usr/bin/env true\nschedule = %s\n", i, s
                if (i % 10 == 0) printf "schedule = 30 2 * * *\n"
                if (i % 3 == 0) printf "timezone = %s\n", zone[1 + int(i / 3) % 7]
                printf "\n"
        }
}' >"$big"
t1=$(date +%s.%N)
[ -z "$keep" ] || cp "$big" "$keep"
cat >"$one" <<EOF
[cronwarden]
data_dir = $tmp/data
timezone = UTC

[defaults]
timeout = 1h

[job Job000001]
command = /usr/bin/env true
schedule = 1 0 * * *
EOF

# Sanity before timing: both configs are valid and the big one has every job.
"$cw" --config "$one" check >/dev/null
chk=$("$cw" --config "$big" check 2>&1) || { echo "$chk" | tail -5 >&2; echo "bench_scale.sh: the generated config does not pass check" >&2; exit 1; }
case $chk in
*" $jobs jobs"*) ;;
*) echo "bench_scale.sh: check says '$chk', expected $jobs jobs" >&2; exit 1 ;;
esac
njson=$("$cw" --config "$big" jobs --json | /usr/bin/python3 -c '
import json, sys
jobs = json.load(sys.stdin)
print(len(jobs), sum(1 for j in jobs if j["next"] is None and not j["next_at_startup"]))')
read -r njobs nnext <<<"$njson"
[ "$njobs" -eq "$jobs" ] || { echo "bench_scale.sh: jobs --json lists $njobs jobs, expected $jobs" >&2; exit 1; }
inih=$("$drv" ini "$big")

echo "timing $jobs jobs ($(wc -c <"$big") bytes, $(wc -l <"$big") lines), best/median of $reps runs each ..." >&2
measure() { "$drv" run -r "$reps" -- "$@" | grep -v '^#'; }
r_wc=$(measure wc -l "$big")
r_ini=$(measure "$drv" ini "$big")
r_chk1=$(measure "$cw" --config "$one" check)
r_chk=$(measure "$cw" --config "$big" check)
r_jobs1=$(measure "$cw" --config "$one" jobs --json)
r_jobs=$(measure "$cw" --config "$big" jobs --json)
r_jobst=$(measure "$cw" --config "$big" jobs)

awk -F'\t' -v n="$jobs" -v reps="$reps" -v gen="$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b - a}')" \
        -v inih="$inih" -v nnext="$nnext" -v cw="$cw" -v cpus="$(nproc)" \
        -v wc="$r_wc" -v ini="$r_ini" -v chk1="$r_chk1" -v chk="$r_chk" -v jobs1="$r_jobs1" -v jobs="$r_jobs" -v jobst="$r_jobst" '
function f(s, i,   a) { split(s, a, "\t"); return a[i] }
function row(name, s) { printf "%-44s %10.1f %10.1f %10.1f\n", name, f(s, 2), f(s, 3), f(s, 4) / 1024 }
function target(name, s) {
        printf "  %-34s %9.0f %10.1f   %s / %s\n", name, f(s, 2), f(s, 4) / 1024,
                (f(s, 2) < 1000 ? "MET" : "NOT MET"), (f(s, 4) < 65536 ? "MET" : "NOT MET")
}
BEGIN {
        printf "scale: %d jobs, %s (%d CPUs); config generated in %s s; inih sees %s sections/keys\n", n, cw, cpus, gen, inih
        printf "wall time and peak RSS per process, best and median of %d runs\n\n", reps
        printf "%-44s %10s %10s %10s\n", "", "best ms", "median ms", "RSS MiB"
        row("baseline: wc -l BIG", wc)
        row("baseline: libinih parse of BIG", ini)
        row("baseline: cronwarden check, 1-job config", chk1)
        row("baseline: cronwarden jobs --json, 1 job", jobs1)
        row("cronwarden check, BIG", chk)
        row("cronwarden jobs --json, BIG (>/dev/null)", jobs)
        row("cronwarden jobs (table), BIG (>/dev/null)", jobst)
        c = f(chk, 2); j = f(jobs, 2); i = f(ini, 2)
        printf "\nratios (best times):\n"
        printf "  check BIG / inih parse of BIG          %8.1fx\n", c / i
        printf "  jobs --json BIG / inih parse of BIG    %8.1fx\n", j / i
        printf "  jobs --json BIG / check BIG            %8.2fx   (first schedule + JSON on top of the load)\n", j / c
        printf "  per job: load %.2f us, load + first schedule + JSON %.2f us (1-job process cost subtracted)\n",
                (c - f(chk1, 2)) * 1000 / n, (j - f(jobs1, 2)) * 1000 / n
        if (nnext > 0) printf "  note: %d jobs have no next fire (next = null in jobs --json)\n", nnext
        printf "\ntargets (docs/hacking.md, Quality targets): load + first schedule < 1 s, peak RSS < 64 MiB\n"
        printf "  %-34s %9s %10s   %s\n", "", "best ms", "RSS MiB", "time / RSS"
        target("check (load + validation)", chk)
        target("jobs (load + first fire, table)", jobst)
        target("jobs --json (the same + JSON)", jobs)
        printf "  (RSS of the 1-job process, the fixed cost: %.1f MiB; of the inih parse of BIG: %.1f MiB)\n",
                f(chk1, 4) / 1024, f(ini, 4) / 1024
}'
