#!/bin/bash
# test.sh - build cronwarden and run every test: the one test command.
#
# Stages, in order (each runs even when an earlier one failed, unless it
# needs a build that failed):
#   deps        scripts/deps.sh (installs missing Debian packages as root;
#               when it cannot, nothing else runs)
#   build       meson setup + ninja in build/
#   release     a --buildtype=release build in build-release/ (-O3 finds
#               warnings, e.g. maybe-uninitialized, that -O2 does not),
#               and a -Dtests=false build in build-notests/
#   lint        tests/lint/banned.py (banned functions, file comments)
#   format      tests/lint/format.sh: every C file as clang-format 14 lays it out
#   unit        cmocka unit tests: meson test --suite unit
#   pytest      tests/integration against build/: PYTEST_JOBS xdist workers,
#               then the tests marked serial alone (see pytest_stage)
#   asan-*      the same build, unit tests and pytest in build-asan/ with
#               AddressSanitizer + UndefinedBehaviorSanitizer
#   fuzz-*      clang + libFuzzer build in build-fuzz/, then every
#               build-fuzz/tests/fuzz_* target for FUZZ_SECONDS on a copy
#               of its corpus tests/fuzz/corpus/NAME/, FUZZ_JOBS at a time
#
# Counting: meson's "Ok/Fail/..." summary for unit tests, pytest's closing
# summary, one test per fuzz target and one for lint. A stage that errors
# (build failure, no tests found, a crash of the runner) counts as one
# failed test, so the closing line never says "0 failed" on a red run.
# The last line printed is always "N passed, N failed"; the exit status is
# 0 only when nothing failed.
#
# Environment:
#   FUZZ_SECONDS=N   seconds per fuzz target (default 30)
#   FUZZ_JOBS=N      fuzz targets run at a time (default 2)
#   PYTEST_JOBS=N    pytest-xdist workers for the integration tests
#                    (default 3; 0 runs them in the pytest process itself)
#   SKIP_ASAN=1      skip the sanitizer build and its tests
#   SKIP_FUZZ=1      skip the fuzz build and runs
# Logs of every stage: tests/artifacts/logs/; fuzz runs, their corpus
# copies and any crash files: tests/artifacts/fuzz/NAME/.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
PY=/usr/bin/python3
FUZZ_SECONDS=${FUZZ_SECONDS:-30}
# Three workers on two cores: most integration tests wait (on daemons,
# timeouts, sleeps of the jobs they run) rather than compute.
PYTEST_JOBS=${PYTEST_JOBS:-3}
# Fuzzers are CPU-bound: one per core.
FUZZ_JOBS=${FUZZ_JOBS:-2}
SKIP_ASAN=${SKIP_ASAN:-0}
SKIP_FUZZ=${SKIP_FUZZ:-0}
LOGDIR=$ROOT/tests/artifacts/logs
FUZZDIR=$ROOT/tests/artifacts/fuzz

if ! [[ "$PYTEST_JOBS" =~ ^[0-9]+$ ]]; then
    echo "test.sh: PYTEST_JOBS must be a number of workers (0: no xdist workers), got '$PYTEST_JOBS'" >&2
    exit 2
fi
if ! [[ "$FUZZ_JOBS" =~ ^[0-9]+$ ]] || [[ "$FUZZ_JOBS" -lt 1 ]]; then
    echo "test.sh: FUZZ_JOBS must be a positive number of fuzzers at a time, got '$FUZZ_JOBS'" >&2
    exit 2
fi
if ! [[ "$FUZZ_SECONDS" =~ ^[0-9]+$ ]] || [[ "$FUZZ_SECONDS" -lt 1 ]]; then
    echo "test.sh: FUZZ_SECONDS must be a positive number of seconds, got '$FUZZ_SECONDS'" >&2
    exit 2
fi

mkdir -p "$LOGDIR"
# The stage logs are per run; fuzz corpus copies are reset per target.
rm -f "$LOGDIR"/*.log

# Sanitizer runtime options: stop at the first UBSan report (the build also
# has -fno-sanitize-recover=all), report leaks.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:detect_stack_use_after_return=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# Tests must not depend on the caller's config.
unset CRONWARDEN_CONFIG

stage_names=()
stage_results=()
stage_counts=()
stage_times=()
total_pass=0
total_fail=0
stage_start=0

banner()
{
    printf '\n==== %s ====\n' "$1"
    stage_start=$SECONDS
}

# record NAME RESULT PASSED FAILED: RESULT is ok, FAIL, ERROR or skipped.
# PASSED/FAILED of "-" mean the stage counts no tests (deps, builds).
record()
{
    local name=$1 result=$2 pass=$3 fail=$4 counts=""
    if [[ "$pass" != - ]]; then
        counts="$pass passed, $fail failed"
        total_pass=$((total_pass + pass))
        total_fail=$((total_fail + fail))
    elif [[ "$result" == ERROR ]]; then
        counts="counted as 1 failed"
        total_fail=$((total_fail + 1))
    fi
    stage_names+=("$name")
    stage_results+=("$result")
    stage_times+=("$((SECONDS - stage_start))s")
    stage_counts+=("$counts")
    printf -- '---- %s: %s%s\n' "$name" "$result" "${counts:+ ($counts)}"
}

# skip NAME WHY: a stage not run, which counts nothing.
skip()
{
    stage_start=$SECONDS
    record "$1" skipped - -
    stage_counts[-1]="($2)"
}

# run LOG CMD...: runs CMD with its output shown and saved to LOG; returns
# CMD's exit status without tripping set -e.
run()
{
    local log=$1 rc=0
    shift
    "$@" </dev/null 2>&1 | tee "$log" || rc=$?
    return "$rc"
}

# setup_build DIR [MESON OPTIONS...]: configures DIR (reconfigures it when
# it was configured before, wipes it when that fails) and builds it.
setup_build()
{
    local dir=$1 setup_log build_log
    shift
    setup_log=$LOGDIR/setup-$dir.log
    build_log=$LOGDIR/ninja-$dir.log
    if [[ -f "$dir/meson-private/coredata.dat" ]]; then
        if ! run "$setup_log" meson setup --reconfigure "$dir" "$@"; then
            echo "test.sh: reconfiguring $dir failed; wiping it"
            run "$setup_log" meson setup --wipe "$dir" "$@" || return 1
        fi
    else
        rm -rf "$dir"
        run "$setup_log" meson setup "$dir" "$@" || return 1
    fi
    run "$build_log" ninja -C "$dir"
}

# unit_stage NAME DIR: meson's unit suite in DIR, counted from its summary.
unit_stage()
{
    local name=$1 dir=$2 log rc=0 ok xfail fail xpass timeout
    log=$LOGDIR/$name.log
    banner "$name: meson test -C $dir --suite unit"
    run "$log" meson test -C "$dir" --suite unit --print-errorlogs || rc=$?
    ok=$(sed -n 's/^Ok:[[:space:]]*\([0-9]\+\).*/\1/p' "$log" | tail -n 1)
    xfail=$(sed -n 's/^Expected Fail:[[:space:]]*\([0-9]\+\).*/\1/p' "$log" | tail -n 1)
    fail=$(sed -n 's/^Fail:[[:space:]]*\([0-9]\+\).*/\1/p' "$log" | tail -n 1)
    xpass=$(sed -n 's/^Unexpected Pass:[[:space:]]*\([0-9]\+\).*/\1/p' "$log" | tail -n 1)
    timeout=$(sed -n 's/^Timeout:[[:space:]]*\([0-9]\+\).*/\1/p' "$log" | tail -n 1)
    if [[ -z "$ok" || -z "$fail" ]]; then
        echo "test.sh: $name: no meson test summary (no unit tests defined?)"
        record "$name" ERROR - -
        return
    fi
    local pass=$((ok + ${xfail:-0})) failed=$((fail + ${xpass:-0} + ${timeout:-0}))
    if [[ $((pass + failed)) -eq 0 ]]; then
        echo "test.sh: $name: no unit test ran"
        record "$name" ERROR - -
    elif [[ $failed -gt 0 ]]; then
        record "$name" FAIL "$pass" "$failed"
    elif [[ $rc -ne 0 ]]; then
        echo "test.sh: $name: meson test exited $rc with no failed test"
        record "$name" ERROR "$pass" 1
    else
        record "$name" ok "$pass" 0
    fi
}

# pytest_count LOG: "PASSED FAILED" from pytest's closing summary in LOG,
# or nothing when LOG has none.
pytest_count()
{
    local log=$1 line pass=0 failed=0 n word
    # The closing line, e.g. "3 failed, 120 passed, 1 skipped in 4.20s".
    line=$(grep -E '([0-9]+ (passed|failed|errors?)|no tests ran).* in [0-9.]+s' "$log" | tail -n 1 || true)
    [[ -n "$line" ]] || return 0
    while read -r n word; do
        case $word in
        passed | xfailed | xpassed) pass=$((pass + n)) ;;
        failed | error | errors) failed=$((failed + n)) ;;
        esac
    done < <(grep -oE '[0-9]+ (passed|failed|errors?|xfailed|xpassed)' <<<"$line" || true)
    echo "$pass $failed"
}

# pytest_stage NAME DIR [PYTEST ARGS...]: tests/integration against the
# binaries in DIR, in two passes counted together:
#   1. every test not marked `serial`, spread over PYTEST_JOBS xdist
#      workers (--dist loadgroup: see tests/integration/conftest.py);
#   2. the tests marked `serial` (timing-sensitive), one at a time, alone.
# Pass 2 finding no test (exit 5) is fine; pass 1 finding none is an error.
pytest_stage()
{
    local name=$1 dir=$2 log slog rc=0 src=0 counts scounts pass failed n m
    shift 2
    log=$LOGDIR/$name.log
    slog=$LOGDIR/$name-serial.log
    banner "$name: pytest tests/integration (CRONWARDEN_BUILD_DIR=$dir, $PYTEST_JOBS workers)"
    CRONWARDEN_BUILD_DIR=$ROOT/$dir PYTHONDONTWRITEBYTECODE=1 \
        run "$log" "$PY" -m pytest -p no:cacheprovider --color=no -q --durations=10 \
        -n "$PYTEST_JOBS" --dist loadgroup -m "not serial" "$@" tests/integration || rc=$?
    echo "---- $name: the tests marked serial, one at a time"
    CRONWARDEN_BUILD_DIR=$ROOT/$dir PYTHONDONTWRITEBYTECODE=1 \
        run "$slog" "$PY" -m pytest -p no:cacheprovider --color=no -q \
        -m serial "$@" tests/integration || src=$?
    counts=$(pytest_count "$log")
    scounts=$(pytest_count "$slog")
    if [[ $src -eq 5 ]]; then
        src=0
        scounts="0 0"
    fi
    if [[ $rc -eq 5 ]]; then
        echo "test.sh: $name: pytest collected no tests"
        record "$name" ERROR - -
        return
    elif [[ -z "$counts" || -z "$scounts" ]]; then
        echo "test.sh: $name: pytest exited $rc (serial pass: $src) without a summary"
        record "$name" ERROR - -
        return
    fi
    read -r pass failed <<<"$counts"
    read -r n m <<<"$scounts"
    pass=$((pass + n))
    failed=$((failed + m))
    if [[ $failed -gt 0 ]]; then
        record "$name" FAIL "$pass" "$failed"
    elif [[ $rc -ne 0 || $src -ne 0 ]]; then
        echo "test.sh: $name: pytest exited $rc (serial pass: $src) with no failed test"
        record "$name" ERROR "$pass" 1
    else
        record "$name" ok "$pass" 0
    fi
}

# fuzz_start TARGET: starts build-fuzz/tests/TARGET in the background on a
# copy of its corpus; its pid goes to fuzz_pids[TARGET].
declare -A fuzz_pids=()
fuzz_start()
{
    local target=$1 name work corpus
    name=${target#fuzz_}
    work=$FUZZDIR/$name
    corpus=tests/fuzz/corpus/$name
    rm -rf "$work"
    mkdir -p "$work/corpus"
    if [[ -d "$corpus" ]]; then
        cp -R "$corpus/." "$work/corpus/"
    else
        echo "test.sh: warning: no corpus at $corpus/ (starting from nothing)"
    fi
    echo "$target: corpus: $(find "$work/corpus" -type f | wc -l) inputs from $corpus/; log: ${work#"$ROOT"/}/fuzz.log"
    # The outer timeout only catches a fuzzer that ignores -max_total_time.
    timeout --kill-after=10 $((FUZZ_SECONDS + 120)) \
        "build-fuzz/tests/$target" -max_total_time="$FUZZ_SECONDS" -max_len=4096 \
        -timeout=10 -print_final_stats=1 -artifact_prefix="$work/" \
        "$work/corpus" </dev/null >"$work/fuzz.log" 2>&1 &
    fuzz_pids[$target]=$!
}

# fuzz_finish TARGET: waits for the fuzzer that fuzz_start started and
# records its result as stage fuzz-NAME.
fuzz_finish()
{
    local target=$1 name work log rc=0 runs
    name=${target#fuzz_}
    work=$FUZZDIR/$name
    log=$work/fuzz.log
    wait "${fuzz_pids[$target]}" || rc=$?
    echo "-- $target:"
    runs=$(sed -n 's/^stat::number_of_executed_units:[[:space:]]*\([0-9]\+\).*/\1/p' "$log" | tail -n 1)
    if [[ $rc -eq 0 ]]; then
        echo "${runs:-?} inputs run; corpus now $(find "$work/corpus" -type f | wc -l) inputs"
        echo "to keep new inputs: build-fuzz/tests/$target -merge=1 tests/fuzz/corpus/$name ${work#"$ROOT"/}/corpus"
        record "fuzz-$name" ok 1 0
    else
        echo "test.sh: $target exited $rc; from its log:"
        # The sanitizer's or libFuzzer's report, not the shadow-memory dump.
        if grep -qE '(ERROR|WARNING): |runtime error:|==[0-9]+== ' "$log"; then
            grep -m 1 -A 30 -E '(ERROR|WARNING): |runtime error:|==[0-9]+== ' "$log"
            grep -E '^SUMMARY: ' "$log" | head -n 3
        else
            tail -n 30 "$log"
        fi
        find "$work" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' \
            -o -name 'oom-*' \) -printf 'reproducer: %p\n' | sed "s|$ROOT/||"
        echo "reproduce with: build-fuzz/tests/$target FILE"
        record "fuzz-$name" FAIL 0 1
    fi
}

# fuzz_stages TARGET...: every target for FUZZ_SECONDS, FUZZ_JOBS at a time
# (each fuzzer is one process on one core); each batch's stages share its
# time.
fuzz_stages()
{
    local batch t
    while [[ $# -gt 0 ]]; do
        batch=("${@:1:FUZZ_JOBS}")
        shift "${#batch[@]}"
        banner "fuzz: ${batch[*]} for ${FUZZ_SECONDS}s"
        for t in "${batch[@]}"; do
            fuzz_start "$t"
        done
        for t in "${batch[@]}"; do
            fuzz_finish "$t"
        done
    done
}

# Runs every stage; returns early only when the packages are missing.
all_stages()
{
    local built t targets
    # ---- deps ----
    banner "deps: scripts/deps.sh"
    if scripts/deps.sh </dev/null; then
        record deps ok - -
    else
        # Without the packages nothing below can build: say so once, stop.
        record deps ERROR - -
        return
    fi

    # ---- plain build, lint, unit tests, pytest ----
    banner "build: build/"
    if setup_build build; then
        record build ok - -
        built=1
    else
        record build ERROR - -
        built=0
    fi

    banner "release: build-release/ (--buildtype=release) and build-notests/ (-Dtests=false)"
    if setup_build build-release --buildtype=release && setup_build build-notests -Dtests=false; then
        record release ok - -
    else
        record release ERROR - -
    fi

    banner "lint: tests/lint/banned.py"
    if run "$LOGDIR/lint.log" "$PY" tests/lint/banned.py; then
        record lint ok 1 0
    else
        record lint FAIL 0 1
    fi

    banner "format: tests/lint/format.sh (clang-format 14, .clang-format)"
    if run "$LOGDIR/format.log" tests/lint/format.sh; then
        record format ok 1 0
    else
        record format FAIL 0 1
    fi

    if [[ $built -eq 1 ]]; then
        unit_stage unit build
        pytest_stage pytest build
    else
        skip unit "build failed"
        skip pytest "build failed"
    fi

    # ---- sanitizers ----
    if [[ "$SKIP_ASAN" == 1 ]]; then
        skip asan "SKIP_ASAN=1"
    else
        banner "asan-build: build-asan/ (ASan + UBSan)"
        if setup_build build-asan -Db_sanitize=address,undefined -Db_lundef=false \
            "-Dc_args=-fno-sanitize-recover=all -fno-omit-frame-pointer"; then
            record asan-build ok - -
            unit_stage asan-unit build-asan
            pytest_stage asan-pytest build-asan
        else
            record asan-build ERROR - -
            skip asan-unit "build failed"
            skip asan-pytest "build failed"
        fi
    fi

    # ---- fuzzing ----
    if [[ "$SKIP_FUZZ" == 1 ]]; then
        skip fuzz "SKIP_FUZZ=1"
    else
        banner "fuzz-build: build-fuzz/ (clang, libFuzzer, ASan + UBSan)"
        if CC=clang setup_build build-fuzz -Dfuzz=true -Dtests=false \
            -Db_sanitize=address,undefined -Db_lundef=false \
            "-Dc_args=-fsanitize=fuzzer-no-link -fno-sanitize-recover=all"; then
            record fuzz-build ok - -
            targets=()
            for f in build-fuzz/tests/fuzz_*; do
                if [[ -f "$f" && -x "$f" ]]; then
                    targets+=("${f##*/}")
                fi
            done
            if [[ ${#targets[@]} -eq 0 ]]; then
                banner "fuzz: no targets"
                echo "test.sh: no fuzz targets in build-fuzz/tests/"
                record fuzz ERROR - -
            fi
            fuzz_stages "${targets[@]}"
        else
            record fuzz-build ERROR - -
            skip fuzz "build failed"
        fi
    fi
}

all_stages

# ---- summary ----
printf '\n==== summary ====\n'
bad=0
for i in "${!stage_names[@]}"; do
    printf '%-14s %-8s %6s  %s\n' "${stage_names[$i]}" "${stage_results[$i]}" \
        "${stage_times[$i]}" "${stage_counts[$i]}"
    case ${stage_results[$i]} in
    ok | skipped) ;;
    *) bad=1 ;;
    esac
done
echo "logs: tests/artifacts/logs/"
echo "$total_pass passed, $total_fail failed"
if [[ $bad -ne 0 || $total_fail -ne 0 ]]; then
    exit 1
fi
exit 0
