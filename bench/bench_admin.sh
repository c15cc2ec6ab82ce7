#!/bin/bash
# bench/bench_admin.sh - the admin server under load (docs/hacking.md, Quality targets: the
# admin jobs page and API p99 < 50 ms with 10 000 jobs and 1 000 000 runs
# in history), and the scheduler's lateness with and without that load,
# all in one run of one daemon.
#
# Sets up, in a fresh mktemp -d directory:
#   config  N jobs (default 10 000): N - K fillers `Job00001`... with cron
#           specs spread over a month half a year away (nothing fires
#           during the run), and K (default 5) jobs `Late1`... that all
#           fire every P seconds (6-field `*/P * * * * *`, default P = 2)
#           and run bench/stamp (the job's first instruction stamps
#           CLOCK_REALTIME into a file, like bench_lateness.sh);
#           [admin] with a user, an argon2id hash from `cronwarden passwd`
#           and an api_token from `cronwarden passwd --token`, on a free
#           loopback port.
#   store   R runs (default 1 000 000) of the fillers, written straight
#           into the SQLite file by the sqlite3 shell in one transaction
#           (one INSERT ... SELECT over a recursive CTE: 1 run in 20
#           failed, the rest succeeded, spread over the past ~2 months),
#           after `cronwarden history` created the store; then the
#           per-job aggregates (job_stats, run_counts, histograms) are
#           computed from those rows with the same SQL as the store's
#           migrations that introduced them (src/store/sqlite/schema.c,
#           migrations 2 and 4), since rows written behind the store's
#           back skip its upkeep.
# then starts the daemon, logs in (POST /login: a session cookie), and
# runs, one after the other, each for -d seconds (default 20):
#   idle      nothing: the lateness baseline
#   jobs      wrk on GET /jobs with the session cookie (the jobs page)
#   api       wrk on GET /api/v1/jobs with the bearer token (its default
#             page: the first 50 jobs)
#   api-page  wrk on GET /api/v1/jobs?limit=100&offset=5000 (a page in the
#             middle of the list)
#   history   wrk on GET /runs?job=Job00042 with the session cookie (a
#             job's history page), then a page deep in the middle of the
#             whole history (/runs?before=ID)
#   metrics   wrk on GET /metrics with the bearer token (the plain text)
#   metrics-gz the same with Accept-Encoding: gzip, as Prometheus scrapes
#             (target: p99 < 100 ms, answer < 1 MB; docs/api.md)
#   healthz   wrk on GET /healthz (the trivial route: the HTTP baseline),
#             last, as it starves the scheduler's jobs on a small machine
# wrk: -c connections (16), -t threads (2), --latency, --timeout 60s (wrk
# leaves requests slower than its timeout, 2 s by default, out of its
# percentiles); p50/p99 are wrk's latency distribution, rps its
# Requests/sec; any non-2xx answer or socket error is reported.
# Lateness: the k-th stamp of job LateN is the k-th started scheduled run
# of LateN in the store, whose scheduled_at is its due instant (if the
# counts differ, the stamp's second rounded down to a multiple of P is
# used and a warning printed); a sample belongs to the phase its due
# instant fell in; p50/p99/max nearest-rank, idle beside the pooled
# loaded phases (jobs, api, api-page, history, hist-mid, metrics,
# metrics-gz) and
# their ratio. The daemon is stopped
# with SIGTERM (exit 0 required).
#
# Usage: bench/bench_admin.sh [-n JOBS] [-r RUNS] [-d SECONDS] [-c CONNS]
#                             [-t THREADS] [-k LATE_JOBS] [-p PERIOD_S]
# Environment: CRONWARDEN (binary to measure; default: built in
# BENCH_BUILD_DIR, default <repo>/build-bench, -O2/NDEBUG), CC (compiler for
# stamp.c when the build has no such target), KEEP=1 (keep the temporary
# directory and print its path, e.g. to profile the daemon again).
# Needs wrk, curl, sqlite3 (Debian packages wrk, curl, sqlite3).
# Exit status: 0 when every phase ran, every answer was 2xx and the daemon
# stopped with exit 0 (the targets are reported, not enforced); 1
# otherwise; 2 on usage errors.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/lib.sh
. "$here/lib.sh"
repo=$(dirname "$here")
build=${BENCH_BUILD_DIR:-$repo/build-bench}
njobs=10000
nruns=1000000
dur=20
conns=16
threads=2
late=5
period=2

while [ $# -gt 0 ]; do
        case $1 in
        -n) njobs=${2:?-n needs a value}; shift 2 ;;
        -r) nruns=${2:?-r needs a value}; shift 2 ;;
        -d) dur=${2:?-d needs a value}; shift 2 ;;
        -c) conns=${2:?-c needs a value}; shift 2 ;;
        -t) threads=${2:?-t needs a value}; shift 2 ;;
        -k) late=${2:?-k needs a value}; shift 2 ;;
        -p) period=${2:?-p needs a value}; shift 2 ;;
        -h|--help) sed -n '2,60p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "bench_admin.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
        esac
done
for v in "$njobs" "$nruns" "$dur" "$conns" "$threads" "$late" "$period"; do
        [[ "$v" =~ ^[1-9][0-9]*$ ]] || { echo "bench_admin.sh: expected a positive number, got '$v'" >&2; exit 2; }
done
[ "$njobs" -gt "$late" ] || { echo "bench_admin.sh: -n must be larger than -k" >&2; exit 2; }
[ $((60 % period)) -eq 0 ] || { echo "bench_admin.sh: -p must divide 60" >&2; exit 2; }
[ "$njobs" -le 99999 ] || { echo "bench_admin.sh: -n at most 99999" >&2; exit 2; }
for tool in wrk curl sqlite3; do
        command -v "$tool" >/dev/null || { echo "bench_admin.sh: '$tool' is not installed (apt-get install $tool)" >&2; exit 1; }
done

tmp=$(mktemp -d)
[[ "$tmp" =~ ^[A-Za-z0-9/._-]+$ ]] || { echo "bench_admin.sh: temporary directory '$tmp' has unsafe characters" >&2; exit 1; }
dpid=""
# shellcheck disable=SC2317 # called by the trap
cleanup() {
        if [ -n "$dpid" ]; then { kill -KILL "$dpid" && wait "$dpid"; } 2>/dev/null || true; fi
        if [ "${KEEP:-0}" = 1 ]; then echo "bench_admin.sh: kept $tmp" >&2; else rm -rf "$tmp"; fi
}
trap cleanup EXIT

if [ -n "${CRONWARDEN:-}" ]; then
        cw=$CRONWARDEN
        [ -x "$cw" ] || { echo "bench_admin.sh: CRONWARDEN=$cw is not executable" >&2; exit 1; }
else
        bench_build "$build" "$repo" cronwarden cronwarden-spawner cronwarden-pg.so cronwarden-curl.so
        cw=$build/cronwarden
fi
"$cw" passwd --help >/dev/null 2>&1 || { echo "bench_admin.sh: $cw has no 'passwd' command" >&2; exit 1; }
if [ -z "${CRONWARDEN:-}" ] && ninja -C "$build" bench/stamp >/dev/null 2>&1; then
        stamp=$build/bench/stamp
else
        "${CC:-cc}" -O2 -std=gnu11 -Wall -Wextra -Werror -o "$tmp/stamp" "$here/stamp.c" || {
                echo "bench_admin.sh: cannot compile bench/stamp.c" >&2
                exit 1
        }
        stamp=$tmp/stamp
fi
[[ "$stamp" =~ ^[A-Za-z0-9/._-]+$ ]] || { echo "bench_admin.sh: path '$stamp' has unsafe characters" >&2; exit 1; }

now() { date +%s.%N; }
say() { echo "bench_admin.sh: $*" >&2; }
status=0
notes=()

# ---- credentials, port, config ----------------------------------------------------

password=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
# `passwd` reads the password's first line from a pipe and prints the hash;
# `passwd --token` prints the token, then its `api_token = ...` line.
# shellcheck disable=SC2016 # a literal '$' in the pattern
pw_hash=$(printf '%s\n' "$password" | "$cw" passwd 2>/dev/null | grep -o '\$argon2id\$[^[:space:]]*' | head -1) || true
[ -n "$pw_hash" ] || { echo "bench_admin.sh: 'cronwarden passwd' printed no argon2id hash" >&2; exit 1; }
"$cw" passwd --token bench </dev/null >"$tmp/token.out" 2>&1 || { cat "$tmp/token.out" >&2; exit 1; }
token=$(head -1 "$tmp/token.out")
token_line=$(grep -E '^[[:space:]]*api_token[[:space:]]*=' "$tmp/token.out" | head -1 | sed 's/^[[:space:]]*//') || true
if [ -z "$token_line" ] || ! [[ "$token" =~ ^[A-Za-z0-9_.~-]{20,}$ ]]; then
        cat "$tmp/token.out" >&2
        echo "bench_admin.sh: no token in 'cronwarden passwd --token' output" >&2
        exit 1
fi
port=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base=http://127.0.0.1:$port

month=$(( ($(date +%-m) + 5) % 12 + 1 ))
awk -v n="$njobs" -v k="$late" -v p="$period" -v data="$tmp/data" -v stamp="$stamp" -v out="$tmp/stamps" \
        -v mon="$month" -v port="$port" -v hash="$pw_hash" -v tok="$token_line" 'BEGIN {
        printf "[cronwarden]\ndata_dir = %s\ntimezone = UTC\n\n", data
        printf "[admin]\nlisten = 127.0.0.1:%s\nuser = admin\npassword_hash = %s\n%s\n\n", port, hash, tok
        for (i = 1; i <= n - k; i++) {
                printf "[job Job%05d]\ndescription = filler job %d\ncommand = /bin/true\n", i, i
                printf "schedule = %d %d %d %d *\n\n", i % 60, int(i / 60) % 24, 1 + int(i / 1440) % 28, mon
        }
        for (i = 1; i <= k; i++) {
                printf "[job Late%d]\ncommand = %s %s Late%d\nschedule = */%d * * * * *\n", i, stamp, out, i, p
                printf "concurrency = allow\nlock = none\n\n"
        }
}' >"$tmp/cw.ini"
"$cw" --config "$tmp/cw.ini" check >/dev/null || { echo "bench_admin.sh: the generated config does not pass check" >&2; exit 1; }

# ---- the store ----------------------------------------------------------------------

"$cw" --config "$tmp/cw.ini" history --limit 1 >/dev/null   # creates and migrates the store
t0=$(now)
end_us=$(( ($(date +%s) - 3600) * 1000000 ))
fillers=$((njobs - late))
sqlite3 "$tmp/data/cronwarden.db" >/dev/null <<EOF || { echo "bench_admin.sh: filling the store failed" >&2; exit 1; }
PRAGMA busy_timeout = 10000;
BEGIN IMMEDIATE;
WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < $nruns)
INSERT INTO runs (job, spec, node, status, trigger, attempt, scheduled_at, started_us, ended_us,
                  exit_code, output_size)
SELECT printf('Job%05d', (i - 1) % $fillers + 1), printf('Job%05d', (i - 1) % $fillers + 1), 'bench',
       CASE WHEN i % 20 = 0 THEN 'failed' ELSE 'succeeded' END, 'schedule', 1,
       ($end_us - ($nruns - i) * 5000000) / 1000000,
       $end_us - ($nruns - i) * 5000000 + 3000 + (i % 7) * 1000,
       $end_us - ($nruns - i) * 5000000 + 3000 + (i % 7) * 1000 + 200000 + (i % 97) * 30000,
       CASE WHEN i % 20 = 0 THEN 1 ELSE 0 END, 200
FROM g;
-- The aggregates, as the store's migration computes them from existing runs.
DELETE FROM job_stats; DELETE FROM run_counts; DELETE FROM histograms; DELETE FROM histogram_sums;
INSERT INTO job_stats (job, last_run_id, last_success_us)
  SELECT job, max(CASE WHEN status IN ('queued', 'running') THEN 0 ELSE id END),
         max(CASE WHEN status = 'succeeded' THEN ended_us ELSE 0 END)
  FROM runs GROUP BY job;
UPDATE job_stats SET last_status = coalesce((SELECT status FROM runs WHERE id = job_stats.last_run_id), '');
INSERT INTO run_counts (job, status, n)
  SELECT job, status, count(*) FROM runs WHERE status NOT IN ('queued', 'running') GROUP BY job, status;
INSERT INTO histograms (metric, job, bucket, n)
  SELECT 'duration', job, CASE
    WHEN d <= 0.1 THEN 0 WHEN d <= 0.5 THEN 1 WHEN d <= 1 THEN 2 WHEN d <= 2.5 THEN 3
    WHEN d <= 5 THEN 4 WHEN d <= 10 THEN 5 WHEN d <= 30 THEN 6 WHEN d <= 60 THEN 7
    WHEN d <= 300 THEN 8 WHEN d <= 600 THEN 9 WHEN d <= 1800 THEN 10
    WHEN d <= 3600 THEN 11 WHEN d <= 7200 THEN 12 WHEN d <= 86400 THEN 13 ELSE 14 END AS b, count(*)
  FROM (SELECT job, max(ended_us - started_us, 0) / 1e6 AS d FROM runs
        WHERE status IN ('succeeded', 'failed', 'timed_out', 'killed', 'lost'))
  GROUP BY job, b;
INSERT INTO histogram_sums (metric, job, n, sum)
  SELECT 'duration', job, count(*), total(max(ended_us - started_us, 0) / 1e6) FROM runs
  WHERE status IN ('succeeded', 'failed', 'timed_out', 'killed', 'lost') GROUP BY job;
INSERT INTO histograms (metric, job, bucket, n)
  SELECT 'lateness', '', CASE
    WHEN d <= 0.005 THEN 0 WHEN d <= 0.01 THEN 1 WHEN d <= 0.025 THEN 2
    WHEN d <= 0.05 THEN 3 WHEN d <= 0.1 THEN 4 WHEN d <= 0.25 THEN 5 WHEN d <= 0.5 THEN 6
    WHEN d <= 1 THEN 7 WHEN d <= 2.5 THEN 8 WHEN d <= 5 THEN 9 WHEN d <= 10 THEN 10
    WHEN d <= 60 THEN 11 ELSE 12 END AS b, count(*)
  FROM (SELECT max(started_us - scheduled_at * 1000000, 0) / 1e6 AS d FROM runs
        WHERE trigger = 'schedule' AND scheduled_at > 0 AND status NOT IN ('queued', 'skipped', 'missed'))
  GROUP BY b;
INSERT INTO histogram_sums (metric, job, n, sum)
  SELECT 'lateness', '', count(*), total(max(started_us - scheduled_at * 1000000, 0) / 1e6)
  FROM runs WHERE trigger = 'schedule' AND scheduled_at > 0
  AND status NOT IN ('queued', 'skipped', 'missed') HAVING count(*) > 0;
-- Migration 4: the alerting columns and the all-jobs duration histogram.
UPDATE job_stats SET
  last_failure_us = coalesce((SELECT max(ended_us) FROM runs WHERE runs.job = job_stats.job
    AND status IN ('failed', 'timed_out', 'lost')), 0),
  last_duration_us = coalesce((SELECT max(ended_us - started_us, 0) FROM runs
    WHERE started_us > 0 AND id = (SELECT max(id) FROM runs WHERE runs.job = job_stats.job
     AND status IN ('succeeded', 'failed', 'timed_out', 'killed', 'lost'))), -1),
  consecutive_failures = (SELECT count(*) FROM runs WHERE runs.job = job_stats.job
    AND status IN ('failed', 'timed_out', 'lost') AND id > coalesce((SELECT max(id)
    FROM runs WHERE runs.job = job_stats.job AND status = 'succeeded'), 0));
INSERT INTO histograms (metric, job, bucket, n)
  SELECT 'duration', '', bucket, sum(n) FROM histograms
  WHERE metric = 'duration' AND job <> '' GROUP BY bucket;
INSERT INTO histogram_sums (metric, job, n, sum)
  SELECT 'duration', '', sum(n), total(sum) FROM histogram_sums
  WHERE metric = 'duration' AND job <> '' HAVING count(*) > 0;
COMMIT;
PRAGMA wal_checkpoint(TRUNCATE);
EOF
fill_s=$(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }')
got_runs=$(sqlite3 "$tmp/data/cronwarden.db" 'SELECT count(*) FROM runs')
mid_id=$(( got_runs / 2 ))
db_mib=$(du -m "$tmp/data/cronwarden.db" | cut -f1)
say "store: $got_runs runs of $fillers jobs written in $fill_s s ($db_mib MiB)"

# ---- the daemon --------------------------------------------------------------------

env -u JOURNAL_STREAM "$cw" --config "$tmp/cw.ini" daemon </dev/null >/dev/null 2>"$tmp/daemon.log" &
dpid=$!
t0=$(now)
up=0
for _ in $(seq 1 1500); do
        curl -sf -o /dev/null --max-time 2 "$base/healthz" && { up=1; break; }
        kill -0 "$dpid" 2>/dev/null || { cat "$tmp/daemon.log" >&2; echo "bench_admin.sh: the daemon exited" >&2; exit 1; }
        sleep 0.02
done
[ "$up" -eq 1 ] || { cat "$tmp/daemon.log" >&2; echo "bench_admin.sh: no /healthz after 30 s" >&2; exit 1; }
up_ms=$(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.0f", (b - a) * 1000 }')
say "daemon up (answers /healthz) after $up_ms ms"
sleep 1   # the first pass over the jobs
rss_mib() { awk -v k="$1:" '$1 == k { printf "%.1f MiB", $2 / 1024 }' "/proc/$dpid/status" 2>/dev/null || echo "?"; }
rss_idle=$(rss_mib VmRSS)

# As a browser: GET /login (a login token in cookie cw_login and the form's
# csrf field), then POST the form with both.
curl -s -c "$tmp/jar" -o "$tmp/login.html" --max-time 10 "$base/login"
login_csrf=$(grep -o 'name="csrf"[^>]*value="[^"]*"' "$tmp/login.html" | sed 's/.*value="//; s/"$//' | head -1) || true
[ -n "$login_csrf" ] || login_csrf=$(grep -o 'value="[^"]*"[^>]*name="csrf"' "$tmp/login.html" | sed 's/^value="//; s/".*//' | head -1) || true
curl -s -b "$tmp/jar" -o /dev/null -D "$tmp/login.hdr" --max-time 10 --data-urlencode "user=admin" \
        --data-urlencode "password=$password" --data-urlencode "csrf=$login_csrf" "$base/login"
cookie=$(awk 'tolower($1) == "set-cookie:" { sub(/^[^:]*:[ \t]*/, ""); split($0, a, ";"); if (a[1] ~ /^cw_session=./) { print a[1]; exit } }' "$tmp/login.hdr" | tr -d '\r')
[ -n "$cookie" ] || { cat "$tmp/login.hdr" >&2; echo "bench_admin.sh: login gave no session cookie" >&2; exit 1; }
# The login's argon2id verification takes its 64 MiB (the hash's m=65536)
# for a moment: that peak is the password hash's, paid once per login.
# Note it, then reset the peak (clear_refs 5) so the figure printed at the
# end is the load phases' own.
rss_login=$(rss_mib VmHWM)
if echo 5 2>/dev/null >"/proc/$dpid/clear_refs"; then peak_what="during the probes and load phases"; else peak_what="including the login"; fi

# The phases: NAME URL AUTH (cookie | token | none). The /healthz flood
# goes last: it starves the scheduler's jobs on a small machine, and the
# runs it delays would spill into whatever phase came next.
phases=(
        "jobs     /jobs                          cookie"
        "api      /api/v1/jobs                   token"
        "api-page /api/v1/jobs?limit=100&offset=5000 token"
        "history  /runs?job=Job00042             cookie"
        "hist-mid /runs?before=$mid_id           cookie"
        "metrics  /metrics                       token"
        "metrics-gz /metrics                     token gzip"
        "healthz  /healthz                       none"
)
auth_header() {
        case $1 in
        cookie) printf 'Cookie: %s' "$cookie" ;;
        token) printf 'Authorization: Bearer %s' "$token" ;;
        *) printf 'X-Bench: 1' ;;
        esac
}
# The phase's fourth field: gzip sends Accept-Encoding: gzip (the size is
# then the compressed body's).
enc_header() {
        if [ "$1" = gzip ]; then printf 'Accept-Encoding: gzip'; else printf 'X-Bench-Enc: none'; fi
}
for ph in "${phases[@]}"; do
        read -r name path auth enc <<<"$ph"
        line=$(curl -s -o "$tmp/probe.out" -w '%{http_code} %{size_download} %{time_total}' --max-time 30 \
                -H "$(auth_header "$auth")" -H "$(enc_header "${enc:-}")" "$base$path")
        read -r code size secs <<<"$line"
        printf '%s %s %s %s\n' "$name" "$code" "$size" "$secs" >>"$tmp/probe"
        if [ "$code" != 200 ]; then
                notes+=("GET $path ($auth) answered $code before the load: $(head -c 200 "$tmp/probe.out")")
                status=1
        fi
done

# ---- load phases -------------------------------------------------------------------

: >"$tmp/windows"
sleep 2   # past start-up: the first fires of the Late jobs
w0=$(now)
say "idle: $dur s without load (lateness baseline)"
sleep "$dur"
echo "idle $w0 $(now)" >>"$tmp/windows"

# to_ms VALUE: wrk's "1.23ms" / "456.78us" / "1.02s" in ms
to_ms() {
        awk -v v="$1" 'BEGIN {
                if (v ~ /us$/) { sub(/us$/, "", v); printf "%.3f", v / 1000 }
                else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.3f", v }
                else if (v ~ /m$/) { sub(/m$/, "", v); printf "%.3f", v * 60000 }
                else if (v ~ /s$/) { sub(/s$/, "", v); printf "%.3f", v * 1000 }
                else print "nan" }'
}

for ph in "${phases[@]}"; do
        read -r name path auth enc <<<"$ph"
        say "$name: wrk -t$threads -c$conns -d${dur}s GET $path ${enc:+($enc)}"
        w0=$(now)
        # Its own session: with CONFIG_SCHED_AUTOGROUP a session is a
        # scheduling group, and wrk in the daemon's would take the CPU from
        # the server's threads (nice 10) as no remote client can.
        setsid --wait wrk -t"$threads" -c"$conns" -d"${dur}s" --timeout 60s --latency -H "$(auth_header "$auth")" -H "$(enc_header "${enc:-}")" "$base$path" >"$tmp/wrk-$name.out" 2>&1 || {
                notes+=("wrk on $path failed: $(tail -3 "$tmp/wrk-$name.out")")
                status=1
        }
        echo "$name $w0 $(now)" >>"$tmp/windows"
        p50=$(to_ms "$(awk '$1 == "50%" { print $2 }' "$tmp/wrk-$name.out")")
        p99=$(to_ms "$(awk '$1 == "99%" { print $2 }' "$tmp/wrk-$name.out")")
        rps=$(awk '$1 == "Requests/sec:" { print $2 }' "$tmp/wrk-$name.out")
        reqs=$(awk '/requests in/ { print $1 }' "$tmp/wrk-$name.out")
        bad=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' "$tmp/wrk-$name.out")
        sockerr=$(awk '/Socket errors:/ { sub(/^.*Socket errors: /, ""); print }' "$tmp/wrk-$name.out")
        echo "$name $path ${p50:-nan} ${p99:-nan} ${rps:-0} ${reqs:-0} ${bad:-0}" >>"$tmp/http"
        if [ -n "$bad" ] && [ "$bad" != 0 ]; then notes+=("$name: $bad of $reqs answers were not 2xx/3xx"); status=1; fi
        if [ -n "$sockerr" ]; then notes+=("$name: socket errors: $sockerr"); fi
        kill -0 "$dpid" 2>/dev/null || { cat "$tmp/daemon.log" >&2; echo "bench_admin.sh: the daemon died under load" >&2; exit 1; }
done
sleep 1   # the last fires' stamps

# ---- stop --------------------------------------------------------------------------

rss=$(rss_mib VmHWM)
rss_after=$(rss_mib VmRSS)
kill -TERM "$dpid"
rc=0
for _ in $(seq 1 300); do kill -0 "$dpid" 2>/dev/null || break; sleep 0.05; done
if kill -0 "$dpid" 2>/dev/null; then
        notes+=("the daemon did not stop within 15 s of SIGTERM")
        status=1
else
        wait "$dpid" || rc=$?
        [ "$rc" -eq 0 ] || { notes+=("the daemon exited $rc on SIGTERM"); status=1; }
fi
dpid=""
# The Late jobs' scheduled runs, oldest first per job: "JOB SCHEDULED_AT".
sqlite3 -separator ' ' "$tmp/data/cronwarden.db" "SELECT job, scheduled_at FROM runs WHERE job LIKE 'Late%'
        AND trigger = 'schedule' AND status NOT IN ('skipped', 'missed') ORDER BY job, scheduled_at, id" >"$tmp/late-runs"
late_db=$(sqlite3 "$tmp/data/cronwarden.db" "SELECT count(*), printf('%.1f', max(started_us - scheduled_at * 1000000) / 1000.0)
        FROM runs WHERE job LIKE 'Late%' AND trigger = 'schedule' AND status NOT IN ('skipped', 'missed')" | tr '|' ' ')

# ---- figures -----------------------------------------------------------------------

# Lateness samples per phase: "PHASE MS". The k-th stamp of job LateN (in
# time order) is the k-th started scheduled run of LateN in the store (in
# scheduled_at order): its due instant is that run's scheduled_at. Every
# run stamps once, so the counts match; when they do not (a run that never
# reached stamp), the due instant falls back to the stamp's second rounded
# down to a multiple of the period, which is right while lateness < period.
[ -f "$tmp/stamps" ] || : >"$tmp/stamps"
sort -k2,2 -k1,1g "$tmp/stamps" >"$tmp/stamps.sorted"
matched=$(awk 'NR == FNR { n[$1]++; next } { s[$2]++ } END {
        ok = 1; for (j in s) if (s[j] != n[j]) ok = 0; for (j in n) if (s[j] != n[j]) ok = 0; print ok }' \
        "$tmp/late-runs" "$tmp/stamps.sorted")
awk -v p="$period" -v matched="$matched" '
        FILENAME == ARGV[1] { name[FNR] = $1; a[FNR] = $2; b[FNR] = $3; nw = FNR; next }
        FILENAME == ARGV[2] { due[$1, ++nr[$1]] = $2; next }
        { split($1, t, "."); k = ++ns[$2]
          d = matched ? due[$2, k] : t[1] - t[1] % p
          ms = (t[1] - d) * 1000 + t[2] / 1e6
          for (i = 1; i <= nw; i++) if (d >= a[i] && d < b[i]) { print name[i], ms; break } }' \
        "$tmp/windows" "$tmp/late-runs" "$tmp/stamps.sorted" >"$tmp/lateness"
[ "$matched" = 1 ] || notes+=("stamps and recorded Late runs differ in number: due instants guessed from the stamp's second")

# stats PHASE...: "COUNT P50 P99 MAX" (ms, nearest rank) of those phases
stats() {
        awk -v want=" $* " 'index(want, " " $1 " ") { print $2 }' "$tmp/lateness" | sort -g | awk '{ v[NR] = $1 } END {
                if (NR == 0) { print 0, "nan", "nan", "nan"; exit }
                p50 = int(NR * 0.50); if (p50 < NR * 0.50) p50++
                p99 = int(NR * 0.99); if (p99 < NR * 0.99) p99++
                printf "%d %.3f %.3f %.3f\n", NR, v[p50], v[p99], v[NR] }'
}

echo
echo "admin server: $cw, $(nproc) CPUs; $njobs jobs, $got_runs runs in the store ($db_mib MiB, written in $fill_s s);"
echo "wrk -t$threads -c$conns -d${dur}s --latency per route; daemon up in $up_ms ms"
echo "daemon RSS: idle $rss_idle (after start-up), peak $rss $peak_what (target < 64 MiB), $rss_after after the load;"
echo "            peak $rss_login at the login (argon2id's memory, once per login)"
echo
printf "%-10s %-30s %10s %10s %10s %9s %8s %8s\n" "" "route" "p50 ms" "p99 ms" "req/s" "size" "p99/base" "target"
read -r _ _ _ base_p99 _ _ _ < <(awk '$1 == "healthz"' "$tmp/http")
met=1
summary=""
while read -r name path p50 p99 rps _ _; do
        size=$(awk -v n="$name" '$1 == n { print $3 }' "$tmp/probe")
        ratio=$(awk -v a="$p99" -v b="$base_p99" 'BEGIN { if (b > 0) printf "%.1fx", a / b; else print "-" }')
        if [ "$name" = healthz ]; then
                verdict="baseline"
        elif [ "$name" = metrics ]; then
                verdict="(info)"
        elif [ "$name" = metrics-gz ]; then
                verdict=$(awk -v a="$p99" -v s="$size" 'BEGIN { print (a + 0 < 100 && a != "nan" && s + 0 < 1000000) ? "MET" : "NOT MET" }')
        else
                verdict=$(awk -v a="$p99" 'BEGIN { print (a + 0 < 50 && a != "nan") ? "MET" : "NOT MET" }')
                [ "$verdict" = MET ] || met=0
                summary+="$name ${p99} ms; "
        fi
        printf "%-10s %-30s %10s %10s %10s %9s %8s %8s\n" "$name" "$path" "$p50" "$p99" "$rps" "$size" "$ratio" "$verdict"
done <"$tmp/http"

echo
read -r ic ip50 ip99 imax < <(stats idle)
read -r lc lp50 lp99 lmax < <(stats jobs api api-page history hist-mid metrics metrics-gz)
read -r hc hp50 hp99 hmax < <(stats healthz)
printf "%-28s %8s %10s %10s %10s\n" "scheduler lateness" "samples" "p50 ms" "p99 ms" "max ms"
printf "%-28s %8s %10s %10s %10s\n" "idle (no load)" "$ic" "$ip50" "$ip99" "$imax"
printf "%-28s %8s %10s %10s %10s\n" "during wrk on /healthz" "$hc" "$hp50" "$hp99" "$hmax"
printf "%-28s %8s %10s %10s %10s\n" "during wrk on pages + API" "$lc" "$lp50" "$lp99" "$lmax"
for name in jobs api api-page history hist-mid metrics metrics-gz; do
        read -r c p50 p99 mx < <(stats "$name")
        printf "%-28s %8s %10s %10s %10s\n" "  during $name" "$c" "$p50" "$p99" "$mx"
done
lratio=$(awk -v a="$lp99" -v b="$ip99" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "inf" }')
lratio50=$(awk -v a="$lp50" -v b="$ip50" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "inf" }')
echo "lateness ratio loaded/idle: p99 ${lratio}x, p50 ${lratio50}x ($late jobs due every $period s at once)"
echo "cross-check from the store: Late runs recorded and their max started_us - scheduled_at (ms): $late_db; stamps: $(wc -l <"$tmp/stamps")"
want=$(( late * ($(wc -l <"$tmp/windows") * dur / period) ))
echo
echo "(p50/p99: wrk's latency distribution; size: bytes of one answer; p99/base: p99 over /healthz's p99;"
echo " lateness: CLOCK_REALTIME at the start of stamp's main - the due second, nearest-rank)"
echo "target admin jobs page and API p99 < 50 ms (docs/hacking.md, Quality targets): $([ "$met" -eq 1 ] && echo MET || echo "NOT MET") (${summary%; })"
echo "target no lateness change under admin load: p99 ratio ${lratio}x ($(awk -v r="$lratio" 'BEGIN { print (r + 0 <= 1.5) ? "no change beyond noise" : "CHANGED" }'))"
[ "$(wc -l <"$tmp/stamps" 2>/dev/null || echo 0)" -ge $((want / 2)) ] || notes+=("few stamps: $(wc -l <"$tmp/stamps") (about $want expected)")
for note in "${notes[@]}"; do echo "warning: $note"; done
exit "$status"
