#!/bin/bash
# demo.sh - the demo command: install what is missing, build, and show
# cronwarden on examples/demo.ini.
#
# For now this shows the commands that exist (check, jobs, info, next). The
# scheduler daemon and the admin web UI, which the demo will start, come in
# a later release.
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

cat <<'EOF'

That is what exists today: validating a config (check), listing jobs with
their next fires (jobs, info), and previewing any time spec (next).
Running jobs - the worker, the SQLite store, the scheduler daemon and the
admin web UI - comes in a later release; this demo will start them then.
EOF
