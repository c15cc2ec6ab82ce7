# shellcheck shell=bash
# bench/lib.sh - sourced by the bench scripts.
#
# bench_build BUILD REPO TARGET...: configures the optimised bench build
# directory BUILD once (-O2, NDEBUG, no tests), then builds the ninja
# TARGETs. On failure it says why, named after the calling script, and
# exits 1.
bench_build() {
        local build=$1 repo=$2 me
        shift 2
        me=$(basename "$0")
        if [ ! -f "$build/build.ninja" ]; then
                meson setup "$build" "$repo" -Doptimization=2 -Ddebug=false -Db_ndebug=true \
                        -Dtests=false >"$build.setup.log" 2>&1 || {
                        cat "$build.setup.log" >&2
                        echo "$me: meson setup failed" >&2
                        exit 1
                }
                rm -f "$build.setup.log"
        fi
        ninja -C "$build" "$@" >/dev/null || {
                echo "$me: build failed (ninja -C $build $*)" >&2
                exit 1
        }
}
