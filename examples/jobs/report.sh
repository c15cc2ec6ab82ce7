#!/bin/sh
# report.sh - demo job: "builds" a report and reports its progress.
# Progress lines like "3/5" go to the descriptor in $CRONWARDEN_PROGRESS_FD
# when cronwarden provides one (docs/running.md).
set -eu
format=text
for arg in "$@"; do
    case $arg in
    --format=*) format=${arg#--format=} ;;
    esac
done
echo "report for ${CRONWARDEN_SCHEDULED_AT:-now} as $format"
for step in 1 2 3 4 5; do
    if [ -n "${CRONWARDEN_PROGRESS_FD:-}" ]; then
        echo "$step/5" >&"$CRONWARDEN_PROGRESS_FD"
    fi
done
echo "report done"
