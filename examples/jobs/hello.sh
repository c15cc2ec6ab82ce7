#!/bin/sh
# hello.sh - demo job: greets $1, then sleeps --sleep=N seconds if given.
# cronwarden appends params as arguments: positional values first, then
# key=value params as --key=value (docs/config.md).
set -eu
who=${1:-world}
secs=0
for arg in "$@"; do
    case $arg in
    --sleep=*) secs=${arg#--sleep=} ;;
    esac
done
echo "hello, $who"
sleep "$secs"
