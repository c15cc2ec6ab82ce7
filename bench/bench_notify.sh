#!/bin/bash
# bench/bench_notify.sh - what notifications cost the scheduler: lateness
# of `cronwarden daemon` from a fire's due instant to the job's own first
# instruction, with 1 and 100 fires due in the same second, each job with
# a ping to a local HTTP endpoint, against the same fires without
# notifications, in one run (docs/notifications.md, "Delivery": the sender
# never delays a run). Target: p99 with pings within 1.1x of p99 without.
#
# Measured as bench/bench_lateness.sh does (bench/stamp appends
# CLOCK_REALTIME as its first instruction; lateness = stamp - due second;
# samples of all rounds pooled; nearest-rank percentiles). Rounds
# alternate the two modes, so drift in the machine's load hits both. The
# endpoint is a Python http.server on 127.0.0.1 answering 200 at once; the
# script also counts the pings it received (2 per run: start and end).
#
# Usage: bench/bench_notify.sh [-r ROUNDS] [-l LEAD_S] [-n "1 100"]
# Environment: CRONWARDEN (binary; default built in BENCH_BUILD_DIR,
# default <repo>/build-bench), CC (for stamp.c when the build lacks it).
# Exit status: 0 when every stamp arrived (the target is reported, not
# enforced); 1 otherwise; 2 usage.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/lib.sh
. "$here/lib.sh"
repo=$(dirname "$here")
build=${BENCH_BUILD_DIR:-$repo/build-bench}
rounds=3
lead=4
sizes="1 100"

while [ $# -gt 0 ]; do
        case $1 in
        -r) rounds=${2:?-r needs a value}; shift 2 ;;
        -l) lead=${2:?-l needs a value}; shift 2 ;;
        -n) sizes=${2:?-n needs a value}; shift 2 ;;
        -h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "bench_notify.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
        esac
done
for v in "$rounds" "$lead" $sizes; do
        [[ "$v" =~ ^[1-9][0-9]*$ ]] || { echo "bench_notify.sh: expected a positive number, got '$v'" >&2; exit 2; }
done

tmp=$(mktemp -d)
dpid="" hpid=""
# shellcheck disable=SC2317 # called by the trap
cleanup() {
        if [ -n "$dpid" ]; then { kill -KILL "$dpid" && wait "$dpid"; } 2>/dev/null || true; fi
        if [ -n "$hpid" ]; then { kill -TERM "$hpid" && wait "$hpid"; } 2>/dev/null || true; fi
        rm -rf "$tmp"
}
trap cleanup EXIT

if [ -n "${CRONWARDEN:-}" ]; then
        cw=$CRONWARDEN
else
        bench_build "$build" "$repo" cronwarden cronwarden-spawner cronwarden-pg.so cronwarden-curl.so
        cw=$build/cronwarden
fi
if [ -z "${CRONWARDEN:-}" ] && ninja -C "$build" bench/stamp >/dev/null 2>&1; then
        stamp=$build/bench/stamp
else
        "${CC:-cc}" -O2 -std=gnu11 -Wall -Wextra -Werror -o "$tmp/stamp" "$here/stamp.c"
        stamp=$tmp/stamp
fi

# The endpoint: counts requests in a file, answers 200 at once.
cat >"$tmp/endpoint.py" <<'EOF'
import http.server, sys, threading
count = [0]
lock = threading.Lock()
class H(http.server.BaseHTTPRequestHandler):
    def _do(self):
        n = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(n)
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"OK")
        with lock:
            count[0] += 1
            open(sys.argv[1], "w").write(str(count[0]))
    do_GET = do_POST = _do
    def log_message(self, *a):
        pass
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
open(sys.argv[2], "w").write(str(s.server_address[1]))
s.serve_forever()
EOF
/usr/bin/python3 "$tmp/endpoint.py" "$tmp/pings" "$tmp/port" &
hpid=$!
for _ in $(seq 1 500); do [ -s "$tmp/port" ] && break; sleep 0.01; done
port=$(cat "$tmp/port")

armed() {
        local fd
        for fd in /proc/"$1"/fd/*; do
                [ "$(readlink "$fd" 2>/dev/null)" = "anon_inode:[timerfd]" ] || continue
                awk '/^it_value:/ { gsub(/[(),]/, " "); if ($2 + $3 > 0) ok = 1 } END { exit !ok }' \
                        "/proc/$1/fdinfo/${fd##*/}" 2>/dev/null && return 0
        done
        return 1
}
lateness() {
        awk -v at="$2" '{ split($1, t, "."); printf "%.6f\n", (t[1] - at) * 1000 + t[2] / 1e6 }' "$1"
}
status=0

# run_daemon N ROUND MODE (plain | ping): samples appended to $tmp/MODE-N.ms
run_daemon() {
        local n=$1 r=$2 mode=$3 d=$tmp/$3-$1-$2 at s m h got deadline busy ping=""
        mkdir -p "$d"
        [ "$mode" = ping ] && ping="ping = http://127.0.0.1:$port/ping/$n-$r"
        at=$(( $(date +%s) + lead ))
        s=$(date -u -d "@$at" +%-S); m=$(date -u -d "@$at" +%-M); h=$(date -u -d "@$at" +%-H)
        awk -v n="$n" -v data="$d/data" -v stamp="$stamp" -v out="$d/stamps" -v spec="$s $m $h * * *" -v ping="$ping" 'BEGIN {
                printf "[cronwarden]\ndata_dir = %s\ntimezone = UTC\n\n[defaults]\n%s\n\n", data, ping
                for (i = 1; i <= n; i++)
                        printf "[job L%05d]\ncommand = %s %s L%05d\nschedule = %s\nconcurrency = allow\nlock = none\n\n", i, stamp, out, i, spec
        }' >"$d/cw.ini"
        env -u JOURNAL_STREAM "$cw" --config "$d/cw.ini" daemon </dev/null >/dev/null 2>"$d/daemon.log" &
        dpid=$!
        for _ in $(seq 1 3000); do
                grep -q 'event=start\b' "$d/daemon.log" 2>/dev/null && armed "$dpid" && break
                sleep 0.01
        done
        deadline=$(( at + 60 ))
        got=0
        while :; do
                got=$( { wc -l <"$d/stamps"; } 2>/dev/null || echo 0)
                [ "$got" -ge "$n" ] && break
                [ "$(date +%s)" -ge "$deadline" ] && break
                sleep 0.02
        done
        [ "$got" -ge "$n" ] || { echo "bench_notify.sh: $mode N=$n round $r: only $got of $n stamps" >&2; status=1; }
        [ -f "$d/stamps" ] || : >"$d/stamps"
        lateness "$d/stamps" "$at" >>"$tmp/$mode-$n.ms"
        # Let the runs end (and their pings go) before the next round.
        for _ in $(seq 1 400); do
                busy=$( { "$cw" --config "$d/cw.ini" history --status running --limit 100000 --json 2>/dev/null
                        "$cw" --config "$d/cw.ini" history --status queued --limit 100000 --json 2>/dev/null
                        "$cw" --config "$d/cw.ini" notifications --pending --count 100000 --json 2>/dev/null; } |
                        grep -c '"id"' || true)
                [ "$busy" -eq 0 ] && break
                sleep 0.05
        done
        kill -TERM "$dpid"; wait "$dpid" || true
        dpid=""
        rm -rf "$d"
}

echo "notify: $cw, $(nproc) CPUs, $rounds round(s) per N and mode, endpoint 127.0.0.1:$port" >&2
for n in $sizes; do
        : >"$tmp/plain-$n.ms"; : >"$tmp/ping-$n.ms"
        for r in $(seq 1 "$rounds"); do
                echo "N=$n round $r: without notifications ..." >&2
                run_daemon "$n" "$r" plain
                echo "N=$n round $r: with pings ..." >&2
                run_daemon "$n" "$r" ping
        done
done

stats() {
        sort -g "$1" | awk '{ v[NR] = $1 } END {
                if (NR == 0) { print 0, "nan", "nan", "nan"; exit }
                p50 = int(NR * 0.50); if (p50 < NR * 0.50) p50++
                p99 = int(NR * 0.99); if (p99 < NR * 0.99) p99++
                printf "%d %.3f %.3f %.3f\n", NR, v[p50], v[p99], v[NR] }'
}
echo
printf "%-6s %-24s %8s %10s %10s %10s\n" "N" "" "stamps" "p50 ms" "p99 ms" "max ms"
met=1 summary=""
for n in $sizes; do
        read -r pc pp50 pp99 pmax < <(stats "$tmp/plain-$n.ms")
        read -r nc np50 np99 nmax < <(stats "$tmp/ping-$n.ms")
        printf "%-6s %-24s %8s %10s %10s %10s\n" "$n" "without notifications" "$pc/$((n * rounds))" "$pp50" "$pp99" "$pmax"
        printf "%-6s %-24s %8s %10s %10s %10s\n" "" "with a ping per job" "$nc/$((n * rounds))" "$np50" "$np99" "$nmax"
        ratio=$(awk -v a="$np99" -v b="$pp99" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "inf" }')
        awk -v a="$np99" -v b="$pp99" 'BEGIN { exit !(b > 0 && a <= 1.1 * b) }' || met=0
        summary+="N=$n ${ratio}x; "
done
echo
echo "pings received by the endpoint: $(cat "$tmp/pings" 2>/dev/null || echo 0) (2 per run: start and end)"
echo "target p99 with pings <= 1.1x p99 without: $([ "$met" -eq 1 ] && echo MET || echo "NOT MET") (${summary%; })"
exit "$status"
