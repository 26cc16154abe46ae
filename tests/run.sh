#!/usr/bin/env bash
# Runs every test: the cmocka unit tests (built with ASan/UBSan) and the integration modules (the real
# binary, by default the ASan/UBSan build, against SQLite and a throwaway PostgreSQL + Redis).
# Each test program runs under a timeout; every process a module started is killed by pid afterwards.
# Ends with one line: `N passed, N failed`. Exit status 1 on any failure (or when nothing ran).
#   CABANAS_BIN=build/cabanas tests/run.sh      run against the optimized build
#   tests/run.sh unit | fuzz | integration [module]    run a part (fuzz: FUZZ_SECONDS, default 20)
set -uo pipefail
cd "$(dirname "$0")/.."

export CABANAS_BIN=${CABANAS_BIN:-$PWD/build-asan/cabanas}
export CABANAS_TEST_DATA=$PWD/tests/data
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
UNIT_TIMEOUT=${UNIT_TIMEOUT:-120}
MODULE_TIMEOUT=${MODULE_TIMEOUT:-900}
PYTHON=${PYTHON:-python3}

part=${1:-all}
only=${2:-}
passed=0
failed=0
logdir=tests/artifacts
mkdir -p "$logdir"

kill_leftovers() {
    local pidfile=$1
    [ -f "$pidfile" ] || return 0
    while read -r pid; do
        [ -n "$pid" ] || continue
        # an exited daemon (PostgreSQL's postmaster is reparented) may linger as a zombie: not a leftover
        state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null || true)
        [ -z "$state" ] || [ "$state" = "Z" ] && continue
        kill -9 "$pid" 2>/dev/null && echo "  (killed leftover pid $pid)"
    done < "$pidfile"
    rm -f "$pidfile"
}

run_unit() {
    local t out p f
    for t in build-asan/tests/test_*; do
        [ -x "$t" ] || continue
        out=$(timeout -k 5 "$UNIT_TIMEOUT" "$t" 2>&1)
        local rc=$?
        echo "$out" | grep -E '^\[  (FAILED|ERROR) |^\[  PASSED  \]|^\[==========\] .* ran' | sed "s|^|$(basename "$t"): |"
        p=$(echo "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | awk '{s+=$1} END {print s+0}')
        f=$(echo "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | awk '{s+=$1} END {print s+0}')
        if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
            echo "$out" | tail -30
            echo "$(basename "$t"): exited $rc (crash, sanitizer report or timeout)"
            f=1
        fi
        passed=$((passed + p))
        failed=$((failed + f))
    done
}

# The iCal parser's fuzz target (make test builds it), FUZZ_SECONDS long; counts as one test.
run_fuzz() {
    if [ ! -x build-fuzz/fuzz_ical ]; then
        echo "== fuzz_ical: not built (make build-fuzz/fuzz_ical); skipped"
        return
    fi
    echo "== fuzz_ical"
    if tests/fuzz/run.sh "${FUZZ_SECONDS:-20}" | sed 's/^/  /'; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
    fi
}

run_integration() {
    local m name pidfile out rc p f
    for m in tests/integration/test_*.py; do
        name=$(basename "$m" .py)
        [ -n "$only" ] && [ "$name" != "$only" ] && continue
        pidfile=$(mktemp)
        echo "== $name"
        CABANAS_TEST_PIDFILE=$pidfile timeout -k 15 "$MODULE_TIMEOUT" "$PYTHON" "$m" > "$logdir/$name.out" 2>&1
        rc=$?
        grep -E ' \.\.\. (ok|FAIL|ERROR|skipped)' "$logdir/$name.out" | sed 's/^/  /'
        kill_leftovers "$pidfile"
        p=$(sed -n 's/^RESULT passed=\([0-9]*\).*/\1/p' "$logdir/$name.out" | tail -1)
        f=$(sed -n 's/^RESULT passed=[0-9]* failed=\([0-9]*\).*/\1/p' "$logdir/$name.out" | tail -1)
        if [ -z "$p" ]; then
            echo "  $name did not finish (exit $rc): last output:"
            tail -40 "$logdir/$name.out" | sed 's/^/  | /'
            p=0
            f=1
        elif [ "$f" -gt 0 ]; then
            sed -n '/^=\{20,\}$/,/^RESULT/p' "$logdir/$name.out" | head -200 | sed 's/^/  | /'
        fi
        passed=$((passed + p))
        failed=$((failed + f))
    done
}

case "$part" in
unit) run_unit ;;
fuzz) run_fuzz ;;
integration) run_integration ;;
all) run_unit; run_fuzz; run_integration ;;
*) echo "usage: tests/run.sh [all|unit|fuzz|integration [module]]" >&2; exit 2 ;;
esac

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
