#!/bin/bash
# demo.sh - the demo command: install what is missing, build, and show
# cronwarden on examples/demo.ini.
#
# It validates the config, lists its jobs, previews time specs, then runs
# one job for real and shows it in the run history (run, history, logs).
# The history is kept in examples/.cronwarden-demo/ (ignored by git), so it
# grows by one run each time. It ends by starting the scheduler daemon in
# the foreground with the admin web UI on http://127.0.0.1:8080 (user
# admin, password demo); Ctrl-C stops it (running jobs finish on their own).
# DEMO_NO_DAEMON=1 stops after the command-line tour instead.
#
# Usage: scripts/demo.sh
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/deps.sh </dev/null

# quiet CMD...: runs CMD, showing its output only if it fails.
quiet()
{
    local out
    if ! out=$("$@" 2>&1 </dev/null); then
        printf '%s\n' "$out" >&2
        echo "demo.sh: '$*' failed" >&2
        exit 1
    fi
}

echo "building cronwarden in build/ ..."
if [[ -f build/meson-private/coredata.dat ]]; then
    quiet meson setup --reconfigure build
else
    rm -rf build
    quiet meson setup build
fi
quiet ninja -C build

cw=build/cronwarden
config=examples/demo.ini

# show CMD...: prints the command as one would type it, then runs it.
show()
{
    local a line="$"
    for a in "$@"; do
        if [[ "$a" =~ [^A-Za-z0-9_./:+=-] ]]; then
            line+=" '$a'"
        else
            line+=" $a"
        fi
    done
    printf '\n%s\n' "$line"
    "$@"
}

echo "cronwarden $("$cw" --version | cut -d' ' -f2) demo, config $config"

show "$cw" --config "$config" check
show "$cw" --config "$config" jobs
show "$cw" --config "$config" info Report
printf '\n# DST: on 2027-03-28 Warsaw clocks jump from 02:00 CET to 03:00 CEST, so a\n'
printf '# fixed-time 02:00 job runs once that day, at 03:00 CEST.'
show "$cw" next '0 2 * * *' --tz Europe/Warsaw --from 2027-03-27T00:00:00+01:00 --count 3
printf '\n# On 2027-10-31 the hour from 02:00 to 03:00 happens twice; a wildcard\n'
printf '# job (*/30 in the minute field) runs in both.'
show "$cw" next '*/30 2 * * *' --tz Europe/Warsaw --from 2027-10-31T00:00:00+02:00 --count 4

# A real run: a job spec from demo.ini's [schedule] section (a positional
# param and sleep=1), so it takes about a second. The job's output is
# copied here as it arrives; the last line, on stderr, names the run, whose
# id `logs` takes below.
printf '\n# Run a job now: under its lock, recorded in the SQLite store in\n'
printf '# examples/.cronwarden-demo/ (hello.sh gets "office hours" --sleep=1).'
err=$(mktemp)
trap 'rm -f "$err"' EXIT
status=0
show "$cw" --config "$config" run 'HelloWorld:"office hours",sleep=1' 2>"$err" || status=$?
cat "$err" >&2
if [[ $status -ne 0 ]]; then
    echo "demo.sh: the run failed (exit status $status)" >&2
    exit 1
fi
run_id=$(sed -n 's/^run \([0-9][0-9]*\): .*/\1/p' "$err" | tail -n 1)
if [[ -z "$run_id" ]]; then
    echo "demo.sh: no run id in the output of run" >&2
    exit 1
fi
show "$cw" --config "$config" history --limit 5
show "$cw" --config "$config" logs "$run_id"

cat <<'EOF'

That was the command line: validating a config (check), listing jobs with
their next fires (jobs, info), previewing any time spec (next), and running
a job by hand (run) under its lock, with its output, exit status, duration
and progress recorded in an embedded SQLite store (history, logs; status,
kill, suspend and resume for runs in progress).
EOF
if [[ "${DEMO_NO_DAEMON:-0}" == 1 ]]; then
    cat <<'EOF'

To let the jobs fire on their schedules, with the admin web UI, run:

    build/cronwarden --config examples/demo.ini daemon
EOF
    exit 0
fi
cat <<'EOF'

Now the scheduler: the jobs fire on their schedules, and the admin web UI is
at http://127.0.0.1:8080 (user admin, password demo): jobs, runs with their
output, Run now, Kill, enable/disable, live progress. Ctrl-C stops the
daemon; jobs already running finish and are recorded. (Instead of a daemon,
`build/cronwarden --config examples/demo.ini crontab install` runs one pass
a minute from your crontab.)
EOF
show "$cw" --config "$config" daemon
