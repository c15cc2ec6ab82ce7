#!/bin/bash
# bench/bench_idle.sh - an idle `cronwarden daemon` with 10 000 jobs, none
# due within the hour (docs/hacking.md, Quality targets: no periodic wake-ups, < 10 ms CPU
# per hour), beside baselines measured in the same window.
#
# Starts, each on its own fresh data_dir:
#   BIG    cronwarden daemon with N jobs (default 10 000): cron specs at
#          minutes/hours/days spread over a month half a year away, in 4
#          zones (no every, no @reboot: nothing is due for months)
#   ONE    cronwarden daemon with 1 such job (what the job count costs)
#   SLEEP  sleep(1) (the measurement's floor: a process that never wakes)
#   TICK   a python3 loop of time.sleep(0.1) (the instrument's positive
#          control: 10 wake-ups a second must show as ~36 000 per hour)
# waits until both daemons logged event=start and armed their timer (the
# first pass done: start-up times are printed), lets them settle (-s, 2 s),
# then over the same window (-w, 20 s) reads for each, summed over all of
# its threads and those of its child processes (the daemon's spawner:
# /proc/PID/task/*, and the same for each pid in `pgrep -P PID`):
#   CPU      schedstat's on-CPU time (ns), and utime+stime from stat (ticks
#            of 1/CLK_TCK s, so only a coarse check)
#   wakes    voluntary context switches (the thread went to sleep: each
#            wake-up ends in one), nonvoluntary ones, and schedstat's count
#            of times it was scheduled in
# and extrapolates each to one hour. Also prints, for each daemon, its
# timerfds as the kernel sees them (/proc/PID/fdinfo: it_value = time left
# until the timer fires), where it sleeps (wchan) and its RSS.
#
# Usage: bench/bench_idle.sh [-n JOBS] [-w SECONDS] [-s SECONDS]
# Environment: CRONWARDEN (a cronwarden binary to measure; default: build
# it in BENCH_BUILD_DIR, default <repo>/build-bench, -O2/NDEBUG, like the
# other benchmarks).
# Exit status: 0 when both daemons ran through the window and stopped
# with exit 0 on SIGTERM (the targets are reported, not enforced); 1
# otherwise; 2 on usage errors.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/lib.sh
. "$here/lib.sh"
repo=$(dirname "$here")
build=${BENCH_BUILD_DIR:-$repo/build-bench}
jobs=10000
window=20
settle=2

while [ $# -gt 0 ]; do
        case $1 in
        -n) jobs=${2:?-n needs a value}; shift 2 ;;
        -w) window=${2:?-w needs a value}; shift 2 ;;
        -s) settle=${2:?-s needs a value}; shift 2 ;;
        -h|--help) sed -n '2,33p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "bench_idle.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
        esac
done
for v in "$jobs" "$window"; do
        [[ "$v" =~ ^[1-9][0-9]*$ ]] || { echo "bench_idle.sh: expected a positive number, got '$v'" >&2; exit 2; }
done
[[ "$settle" =~ ^[0-9]+$ ]] || { echo "bench_idle.sh: expected a number of seconds, got '$settle'" >&2; exit 2; }

tmp=$(mktemp -d)
pids=()
# shellcheck disable=SC2317 # called by the trap
cleanup() {
        for p in "${pids[@]}"; do
                { kill -KILL "$p" && wait "$p"; } 2>/dev/null || true
        done
        rm -rf "$tmp"
}
trap cleanup EXIT

if [ -n "${CRONWARDEN:-}" ]; then
        cw=$CRONWARDEN
        [ -x "$cw" ] || { echo "bench_idle.sh: CRONWARDEN=$cw is not executable" >&2; exit 1; }
else
        bench_build "$build" "$repo" cronwarden cronwarden-spawner cronwarden-pg.so cronwarden-curl.so
        cw=$build/cronwarden
fi
"$cw" daemon --help >/dev/null 2>&1 || { echo "bench_idle.sh: $cw has no 'daemon' command" >&2; exit 1; }

# A month half a year from now: no fire within the hour, whatever the date.
month=$(( ($(date +%-m) + 5) % 12 + 1 ))
gen() { # gen N DATA_DIR
        awk -v n="$1" -v data="$2" -v mon="$month" 'BEGIN {
                split("UTC Europe/Warsaw America/New_York Asia/Tokyo", zone, " ")
                printf "[cronwarden]\ndata_dir = %s\ntimezone = UTC\n\n", data
                for (i = 1; i <= n; i++) {
                        printf "[job Idle%05d]\ncommand = /bin/true\n", i
                        printf "schedule = %d %d %d %d *\n", i % 60, int(i / 60) % 24, 1 + int(i / 1440) % 28, mon
                        if (i % 4) printf "timezone = %s\n", zone[1 + i % 4]
                        printf "\n"
                }
        }'
}
gen "$jobs" "$tmp/big" >"$tmp/big.ini"
gen 1 "$tmp/one" >"$tmp/one.ini"
"$cw" --config "$tmp/big.ini" check >/dev/null || { echo "bench_idle.sh: the generated config does not pass check" >&2; exit 1; }
nearest=$("$cw" --config "$tmp/big.ini" jobs --json | /usr/bin/python3 -c '
import datetime, json, sys
nxt = [datetime.datetime.fromisoformat(j["next"]).timestamp() for j in json.load(sys.stdin) if j["next"]]
print("%.0f" % ((min(nxt) - datetime.datetime.now().timestamp()) / 3600) if nxt else "none")')

armed() { # armed PID: true when one of its timerfds is armed (it_value > 0)
        local fd
        for fd in /proc/"$1"/fd/*; do
                [ "$(readlink "$fd" 2>/dev/null)" = "anon_inode:[timerfd]" ] || continue
                awk '/^it_value:/ { gsub(/[(),]/, " "); if ($2 + $3 > 0) ok = 1 } END { exit !ok }' \
                        "/proc/$1/fdinfo/${fd##*/}" 2>/dev/null && return 0
        done
        return 1
}

start_daemon() { # start_daemon NAME -> sets pid_NAME; log in $tmp/NAME.log
        local name=$1 t0 p
        t0=$(date +%s.%N)
        env -u JOURNAL_STREAM "$cw" --config "$tmp/$name.ini" daemon </dev/null >/dev/null 2>"$tmp/$name.log" &
        p=$!
        pids+=("$p")
        for _ in $(seq 1 3000); do
                grep -q 'event=start\b' "$tmp/$name.log" 2>/dev/null && break
                kill -0 "$p" 2>/dev/null || { cat "$tmp/$name.log" >&2; echo "bench_idle.sh: the $name daemon exited" >&2; exit 1; }
                sleep 0.01
        done
        grep -q 'event=start\b' "$tmp/$name.log" || { echo "bench_idle.sh: no event=start from the $name daemon after 30 s" >&2; exit 1; }
        printf -v "pid_$name" '%s' "$p"
        printf -v "up_$name" '%s' "$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.0f", (b - a) * 1000 }')"
        # Then its first pass plans every entry and arms the timer.
        printf -v "armed_$name" '%s' "?"
        for _ in $(seq 1 3000); do
                if armed "$p"; then
                        printf -v "armed_$name" '%s' "$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.0f", (b - a) * 1000 }')"
                        break
                fi
                sleep 0.01
        done
}

pid_big="" pid_one="" up_big="" up_one="" armed_big="" armed_one=""
start_daemon big
start_daemon one
sleep 1000000 &
pid_sleep=$!
pids+=("$pid_sleep")
/usr/bin/python3 -c 'import time
while True: time.sleep(0.1)' &
pid_tick=$!
pids+=("$pid_tick")
sleep "$settle"

# One sample: "SCHED_NS SLICES UTIME+STIME VOLUNTARY NONVOLUNTARY" summed
# over the threads of the process and of its children (the spawner).
sample() {
        local p=$1 t ns=0 sl=0 tk=0 vol=0 inv=0 a c st kids
        kids=$(pgrep -P "$p" | sed 's|^|/proc/|; s|$|/task/*|' | tr '\n' ' ')
        # shellcheck disable=SC2086 # the children's task globs
        for t in /proc/"$p"/task/* $kids; do
                [ -e "$t/schedstat" ] || continue
                read -r a _ c <"$t/schedstat" || continue
                ns=$((ns + a)); sl=$((sl + c))
                st=$(sed 's/^.*) //' "$t/stat")
                # shellcheck disable=SC2086 # split into the stat fields
                set -- $st
                tk=$((tk + ${12} + ${13}))
                vol=$((vol + $(awk '/^voluntary_ctxt_switches/ { print $2 }' "$t/status")))
                inv=$((inv + $(awk '/^nonvoluntary_ctxt_switches/ { print $2 }' "$t/status")))
        done
        echo "$ns $sl $tk $vol $inv"
}

timerfds() { # the daemon's timerfds as "fd N: it_value S.s s, clockid C"
        local p=$1 fd
        for fd in /proc/"$p"/fd/*; do
                [ "$(readlink "$fd" 2>/dev/null)" = "anon_inode:[timerfd]" ] || continue
                awk -v fd="${fd##*/}" '
                        /^clockid:/ { clk = $2 }
                        /^it_value:/ { gsub(/[(),]/, " "); v = $2 + $3 / 1e9 }
                        END { printf "fd %s: clockid %s, fires in %.0f s (%.1f days)%s\n", fd, clk, v, v / 86400, (v == 0 ? " (disarmed)" : "") }
                ' "/proc/$p/fdinfo/${fd##*/}"
        done
}

echo "measuring for $window s ($jobs jobs; nearest fire in about $nearest h) ..." >&2
b0=$(sample "$pid_big"); o0=$(sample "$pid_one"); s0=$(sample "$pid_sleep"); k0=$(sample "$pid_tick")
t0=$(date +%s.%N)
sleep "$window"
b1=$(sample "$pid_big"); o1=$(sample "$pid_one"); s1=$(sample "$pid_sleep"); k1=$(sample "$pid_tick")
t1=$(date +%s.%N)
wchan_big=$(cat "/proc/$pid_big/wchan" 2>/dev/null || echo "?")
rss_big=$(awk '/^VmRSS/ { r = $2 } /^VmHWM/ { h = $2 } END { printf "%.1f MiB (peak %.1f MiB)", r / 1024, h / 1024 }' "/proc/$pid_big/status")
rss_one=$(awk '/^VmRSS/ { printf "%.1f MiB", $2 / 1024 }' "/proc/$pid_one/status")
tfd_big=$(timerfds "$pid_big")
tfd_one=$(timerfds "$pid_one")
threads_big="$(find "/proc/$pid_big/task" -mindepth 1 -maxdepth 1 | wc -l) thread(s) and $(pgrep -c -P "$pid_big" || true) child process(es) (the spawner)"

# Stop both daemons: SIGTERM, exit 0 within 10 s.
status=0
for name in big one; do
        pv=pid_$name
        kill -TERM "${!pv}"
        rc=0
        for _ in $(seq 1 200); do kill -0 "${!pv}" 2>/dev/null || break; sleep 0.05; done
        if kill -0 "${!pv}" 2>/dev/null; then
                echo "bench_idle.sh: the $name daemon did not stop within 10 s of SIGTERM" >&2
                status=1
        else
                wait "${!pv}" || rc=$?
                [ "$rc" -eq 0 ] || { echo "bench_idle.sh: the $name daemon exited $rc on SIGTERM" >&2; status=1; }
        fi
done
others=$(grep -v 'event=start\b\|event=stop\b' "$tmp/big.log" | head -5 || true)

awk -v w="$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" -v n="$jobs" -v tck="$(getconf CLK_TCK)" \
        -v b0="$b0" -v b1="$b1" -v o0="$o0" -v o1="$o1" -v s0="$s0" -v s1="$s1" -v k0="$k0" -v k1="$k1" \
        -v upb="$up_big" -v upo="$up_one" -v arb="$armed_big" -v aro="$armed_one" -v cw="$cw" -v cpus="$(nproc)" '
function d(x0, x1, i,   a, b) { split(x0, a, " "); split(x1, b, " "); return b[i] - a[i] }
function row(name, x0, x1) {
        printf "%-26s %9.3f %10.3f %8d %8.0f %8d %8.0f %8d %6d\n", name,
                d(x0, x1, 1) / 1e6, d(x0, x1, 1) / 1e6 * 3600 / w,
                d(x0, x1, 4), d(x0, x1, 4) * 3600 / w,
                d(x0, x1, 2), d(x0, x1, 2) * 3600 / w, d(x0, x1, 5), d(x0, x1, 3)
}
BEGIN {
        printf "idle daemon: %s (%d CPUs), measured over %.1f s, extrapolated to 1 h\n\n", cw, cpus, w
        printf "%-26s %9s %10s %8s %8s %8s %8s %8s %6s\n", "", "CPU ms", "CPU ms/h", "vol.cs", "vol.cs/h", "sched-in", "per h", "invol.", "ticks"
        row(sprintf("daemon, %d jobs", n), b0, b1)
        row("daemon, 1 job", o0, o1)
        row("baseline: sleep(1)", s0, s1)
        row("control: 10 wakes/s loop", k0, k1)
        cpu = d(b0, b1, 1) / 1e6 * 3600 / w
        printf "\nstart-up, polled every 10 ms: to event=start (config loaded, store open) %d ms with %d jobs, %d ms with 1 job;\n", upb, n, upo
        printf "  to its timer armed (first pass done, every entry planned) %s ms with %d jobs, %s ms with 1 job\n", arb, n, aro
        printf "(CPU: schedstat on-CPU ns summed over threads; ticks: utime+stime in 1/%d s; vol.cs: voluntary\n", tck
        printf " context switches, one per sleep; sched-in: times a thread was put on a CPU)\n"
        printf "\ntarget no periodic wake-ups (docs/hacking.md, Quality targets): %s (%d voluntary context switches, %d schedule-ins in %.0f s)\n",
                (d(b0, b1, 4) == 0 && d(b0, b1, 2) == 0 ? "MET" : "NOT MET"), d(b0, b1, 4), d(b0, b1, 2), w
        printf "target < 10 ms CPU per hour (docs/hacking.md, Quality targets): %s (%.3f ms/h extrapolated)\n", (cpu < 10 ? "MET" : "NOT MET"), cpu
}'
echo
echo "daemon with $jobs jobs: $threads_big, sleeping in ${wchan_big:-?}, RSS $rss_big; 1-job daemon RSS $rss_one"
echo "its timerfds: ${tfd_big:-none}"
echo "1-job daemon's timerfds: ${tfd_one:-none}"
if [ -n "$others" ]; then
        echo "log lines other than start/stop from the $jobs-job daemon (first 5):"
        echo "$others"
fi
exit "$status"
