#!/bin/bash
# bench/bench_lateness.sh - lateness of `cronwarden daemon` from a fire's
# due instant to the job's own first instruction, with 1, 100 and 1000
# fires due in the same second, beside the raw posix_spawn cost of starting
# that many processes at one instant, measured in the same run
# (docs/hacking.md, Quality targets: p99 within 2x of the raw cost).
#
# For each N and each round:
#   raw     bench/spawn_at sleeps (clock_nanosleep, CLOCK_REALTIME,
#           TIMER_ABSTIME) until a whole second, then posix_spawns
#           bench/stamp N times without waiting in between, then reaps.
#   daemon  a config of N jobs (concurrency = allow, lock = none), all with
#           the 6-field spec `S M H * * *` of one whole second (UTC) -l
#           seconds ahead (default 4), each running `stamp FILE JOBNAME`;
#           a fresh data_dir; the daemon is started, must have logged
#           event=start and armed its timer before the instant; the script
#           waits until N stamps are written or -t seconds (default 120)
#           after the instant, then waits for the runs to be recorded as
#           finished and stops the daemon with SIGTERM (exit 0 required).
# bench/stamp reads CLOCK_REALTIME as the first thing in main and appends
# it to FILE; lateness = stamp - due instant. Samples of all rounds (-r,
# default 3) are pooled; p50/p99 are nearest-rank. Also printed: the
# spacing between consecutive stamps ((last - first) / (N - 1)), i.e. the
# cost of one start once starts are serialised.
#
# Usage: bench/bench_lateness.sh [-r ROUNDS] [-l LEAD_S] [-t TIMEOUT_S] [-n "1 100 1000"]
# Environment: CRONWARDEN (binary to measure; default: built in
# BENCH_BUILD_DIR, default <repo>/build-bench, -O2/NDEBUG), CC (compiler for
# stamp.c and spawn_at.c when the build has no such targets).
# Exit status: 0 when every stamp arrived and every daemon stopped with
# exit 0 (the target is reported, not enforced); 1 otherwise; 2 usage.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/lib.sh
. "$here/lib.sh"
repo=$(dirname "$here")
build=${BENCH_BUILD_DIR:-$repo/build-bench}
rounds=3
lead=4
timeout=120
sizes="1 100 1000"

while [ $# -gt 0 ]; do
        case $1 in
        -r) rounds=${2:?-r needs a value}; shift 2 ;;
        -l) lead=${2:?-l needs a value}; shift 2 ;;
        -t) timeout=${2:?-t needs a value}; shift 2 ;;
        -n) sizes=${2:?-n needs a value}; shift 2 ;;
        -h|--help) sed -n '2,31p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "bench_lateness.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
        esac
done
for v in "$rounds" "$lead" "$timeout" $sizes; do
        [[ "$v" =~ ^[1-9][0-9]*$ ]] || { echo "bench_lateness.sh: expected a positive number, got '$v'" >&2; exit 2; }
done
[ "$lead" -ge 2 ] || { echo "bench_lateness.sh: -l must be at least 2 s (the daemon must be up before the instant)" >&2; exit 2; }

tmp=$(mktemp -d)
[[ "$tmp" =~ ^[A-Za-z0-9/._-]+$ ]] || { echo "bench_lateness.sh: temporary directory '$tmp' has unsafe characters" >&2; exit 1; }
dpid=""
# shellcheck disable=SC2317 # called by the trap
cleanup() {
        if [ -n "$dpid" ]; then { kill -KILL "$dpid" && wait "$dpid"; } 2>/dev/null || true; fi
        rm -rf "$tmp"
}
trap cleanup EXIT

if [ -n "${CRONWARDEN:-}" ]; then
        cw=$CRONWARDEN
        [ -x "$cw" ] || { echo "bench_lateness.sh: CRONWARDEN=$cw is not executable" >&2; exit 1; }
else
        bench_build "$build" "$repo" cronwarden cronwarden-spawner cronwarden-pg.so cronwarden-curl.so
        cw=$build/cronwarden
fi
"$cw" daemon --help >/dev/null 2>&1 || { echo "bench_lateness.sh: $cw has no 'daemon' command" >&2; exit 1; }

# The two helpers: meson targets when bench/meson.build has them, else cc.
bin_stamp="" bin_spawn_at=""
for prog in stamp spawn_at; do
        if [ -z "${CRONWARDEN:-}" ] && ninja -C "$build" "bench/$prog" >/dev/null 2>&1; then
                printf -v "bin_$prog" '%s' "$build/bench/$prog"
        else
                "${CC:-cc}" -O2 -std=gnu11 -Wall -Wextra -Werror -o "$tmp/$prog" "$here/$prog.c" || {
                        echo "bench_lateness.sh: cannot compile bench/$prog.c" >&2
                        exit 1
                }
                printf -v "bin_$prog" '%s' "$tmp/$prog"
        fi
done
stamp=$bin_stamp
spawn_at=$bin_spawn_at
[[ "$stamp" =~ ^[A-Za-z0-9/._-]+$ ]] || { echo "bench_lateness.sh: path '$stamp' has unsafe characters" >&2; exit 1; }

now() { date +%s.%N; }
ms_since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.0f", (b - a) * 1000 }'; }

armed() { # armed PID: true when one of its timerfds is armed (it_value > 0)
        local fd
        for fd in /proc/"$1"/fd/*; do
                [ "$(readlink "$fd" 2>/dev/null)" = "anon_inode:[timerfd]" ] || continue
                awk '/^it_value:/ { gsub(/[(),]/, " "); if ($2 + $3 > 0) ok = 1 } END { exit !ok }' \
                        "/proc/$1/fdinfo/${fd##*/}" 2>/dev/null && return 0
        done
        return 1
}

# lateness FILE AT: one lateness in ms per stamp line (integer seconds
# subtracted first, so no precision is lost in awk's doubles).
lateness() {
        awk -v at="$2" '{ split($1, t, "."); printf "%.6f\n", (t[1] - at) * 1000 + t[2] / 1e6 }' "$1"
}

status=0
notes=()

# raw N ROUND: the baseline, samples appended to $tmp/raw-N.ms
run_raw() {
        local n=$1 out=$tmp/raw-$1-$2.out at line
        at=$(( $(date +%s) + 2 ))
        line=$("$spawn_at" "$at" "$n" "$stamp" "$out") || {
                echo "bench_lateness.sh: spawn_at failed ($line)" >&2
                status=1
        }
        [ -f "$out" ] || : >"$out"
        lateness "$out" "$at" >>"$tmp/raw-$n.ms"
        echo "$(wc -l <"$out") $(lateness "$out" "$at" | sort -g | awk 'NR == 1 { a = $1 } { b = $1 } END { print a + 0, b + 0 }')" >>"$tmp/raw-$n.span"
}

# run_daemon N ROUND: the daemon, samples appended to $tmp/cw-N.ms
run_daemon() {
        local n=$1 r=$2 d=$tmp/cw-$1-$2 at s m h t0 got deadline rc running
        mkdir -p "$d"
        at=$(( $(date +%s) + lead ))
        s=$(date -u -d "@$at" +%-S); m=$(date -u -d "@$at" +%-M); h=$(date -u -d "@$at" +%-H)
        awk -v n="$n" -v data="$d/data" -v stamp="$stamp" -v out="$d/stamps" -v spec="$s $m $h * * *" 'BEGIN {
                printf "[cronwarden]\ndata_dir = %s\ntimezone = UTC\n\n", data
                for (i = 1; i <= n; i++) {
                        printf "[job L%05d]\ncommand = %s %s L%05d\nschedule = %s\n", i, stamp, out, i, spec
                        printf "concurrency = allow\nlock = none\n\n"
                }
        }' >"$d/cw.ini"
        "$cw" --config "$d/cw.ini" check >/dev/null || { echo "bench_lateness.sh: the generated config does not pass check" >&2; exit 1; }
        t0=$(now)
        env -u JOURNAL_STREAM "$cw" --config "$d/cw.ini" daemon </dev/null >/dev/null 2>"$d/daemon.log" &
        dpid=$!
        for _ in $(seq 1 3000); do
                grep -q 'event=start\b' "$d/daemon.log" 2>/dev/null && armed "$dpid" && break
                kill -0 "$dpid" 2>/dev/null || { cat "$d/daemon.log" >&2; echo "bench_lateness.sh: the daemon exited" >&2; exit 1; }
                sleep 0.01
        done
        echo "$n $(ms_since "$t0")" >>"$tmp/cw-$n.up"
        if ! armed "$dpid" || [ "$(date +%s)" -ge "$at" ]; then
                notes+=("N=$n round $r: the daemon was not armed before the instant (lead -l $lead s too short?)")
                status=1
        fi
        # Wait, bounded, for the N stamps.
        deadline=$(( at + timeout ))
        got=0
        while :; do
                got=$( { wc -l <"$d/stamps"; } 2>/dev/null || echo 0)
                [ "$got" -ge "$n" ] && break
                [ "$(date +%s)" -ge "$deadline" ] && break
                sleep 0.02
        done
        if [ "$got" -lt "$n" ]; then
                notes+=("N=$n round $r: only $got of $n stamps within $timeout s of the instant")
                status=1
        fi
        [ -f "$d/stamps" ] || : >"$d/stamps"
        lateness "$d/stamps" "$at" >>"$tmp/cw-$n.ms"
        echo "$got $(lateness "$d/stamps" "$at" | sort -g | awk 'NR == 1 { a = $1 } { b = $1 } END { print a + 0, b + 0 }')" >>"$tmp/cw-$n.span"
        # Let the workers record their runs as finished before stopping.
        for _ in $(seq 1 600); do
                running=$( { "$cw" --config "$d/cw.ini" history --status running --limit 100000 --json 2>/dev/null
                        "$cw" --config "$d/cw.ini" history --status queued --limit 100000 --json 2>/dev/null; } |
                        grep -c '"id"' || true)
                [ "$running" -eq 0 ] && break
                sleep 0.05
        done
        kill -TERM "$dpid"
        rc=0
        for _ in $(seq 1 200); do kill -0 "$dpid" 2>/dev/null || break; sleep 0.05; done
        if kill -0 "$dpid" 2>/dev/null; then
                notes+=("N=$n round $r: the daemon did not stop within 10 s of SIGTERM")
                status=1
        else
                wait "$dpid" || rc=$?
                [ "$rc" -eq 0 ] || { notes+=("N=$n round $r: the daemon exited $rc on SIGTERM"); status=1; }
        fi
        dpid=""
        grep -c 'event=started\b' "$d/daemon.log" >>"$tmp/cw-$n.started" || true
        grep 'event=\(failed\|skipped\|missed\|error\)\b' "$d/daemon.log" | head -3 >>"$tmp/cw-$n.other" || true
        rm -rf "$d"
}

echo "lateness: $cw, $(nproc) CPUs, $rounds round(s) per N, fires $lead s after the daemon starts; $(df -PT "$tmp" | awk 'NR == 2 { print $2 }') at $tmp" >&2
for n in $sizes; do
        : >"$tmp/raw-$n.ms"; : >"$tmp/cw-$n.ms"
        for r in $(seq 1 "$rounds"); do
                echo "N=$n round $r: raw spawn ..." >&2
                run_raw "$n" "$r"
                echo "N=$n round $r: daemon ..." >&2
                run_daemon "$n" "$r"
        done
done

# stats FILE: "COUNT P50 P99 MAX" in ms (nearest rank)
stats() {
        sort -g "$1" | awk '{ v[NR] = $1 } END {
                if (NR == 0) { print 0, "nan", "nan", "nan"; exit }
                p50 = int(NR * 0.50); if (p50 < NR * 0.50) p50++
                p99 = int(NR * 0.99); if (p99 < NR * 0.99) p99++
                printf "%d %.3f %.3f %.3f\n", NR, v[p50], v[p99], v[NR] }'
}
# spacing FILE N: mean over rounds of (last - first) / (N - 1), ms per start
spacing() {
        awk -v n="$2" '$1 > 1 { s += ($3 - $2) / ($1 - 1); k++ } END { if (n < 2 || k == 0) print "-"; else printf "%.3f\n", s / k }' "$1"
}

echo
printf "%-6s %-22s %8s %10s %10s %10s %12s\n" "N" "" "stamps" "p50 ms" "p99 ms" "max ms" "ms/start"
met=1
summary=""
for n in $sizes; do
        read -r rc rp50 rp99 rmax < <(stats "$tmp/raw-$n.ms")
        read -r cc cp50 cp99 cmax < <(stats "$tmp/cw-$n.ms")
        printf "%-6s %-22s %8s %10s %10s %10s %12s\n" "$n" "raw posix_spawn" "$rc/$((n * rounds))" "$rp50" "$rp99" "$rmax" "$(spacing "$tmp/raw-$n.span" "$n")"
        printf "%-6s %-22s %8s %10s %10s %10s %12s\n" "" "cronwarden daemon" "$cc/$((n * rounds))" "$cp50" "$cp99" "$cmax" "$(spacing "$tmp/cw-$n.span" "$n")"
        ratio=$(awk -v a="$cp99" -v b="$rp99" 'BEGIN { if (b > 0) printf "%.1f", a / b; else print "inf" }')
        ok=$(awk -v a="$cp99" -v b="$rp99" -v c="$cc" -v want="$((n * rounds))" 'BEGIN { print (b > 0 && a <= 2 * b && c == want) ? 1 : 0 }')
        [ "$ok" -eq 1 ] || met=0
        printf "%-6s %-22s p99 ratio daemon/raw: %sx (p50 ratio %s)\n" "" "" "$ratio" \
                "$(awk -v a="$cp50" -v b="$rp50" 'BEGIN { if (b > 0) printf "%.1fx", a / b; else print "inf" }')"
        summary+="N=$n ${ratio}x; "
done
echo
for n in $sizes; do
        echo "N=$n: daemon up and armed after $(awk '{ s += $2; k++ } END { printf "%.0f", s / k }' "$tmp/cw-$n.up") ms (mean); event=started lines per round: $(paste -sd' ' "$tmp/cw-$n.started")"
        if [ -s "$tmp/cw-$n.other" ]; then
                echo "  other events (first ones):"
                sed 's/^/    /' "$tmp/cw-$n.other"
        fi
done
echo
echo "(lateness = CLOCK_REALTIME at the start of stamp's main - the due second; samples of all rounds pooled,"
echo " nearest-rank percentiles; ms/start = (last stamp - first stamp) / (N - 1), mean over rounds)"
echo "target daemon p99 <= 2x raw posix_spawn p99 (docs/hacking.md, Quality targets): $([ "$met" -eq 1 ] && echo MET || echo "NOT MET") (${summary%; })"
for note in "${notes[@]}"; do echo "warning: $note"; done
exit "$status"
