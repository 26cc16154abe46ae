#!/usr/bin/env bash
# run.sh SECONDS - runs the ical_feed_parse() fuzz target for about SECONDS seconds on the seed corpus
# (tests/data/ical). With libFuzzer, new inputs go to build-fuzz/corpus and a crash, leak or hang (an input
# slower than 10 s) is written as build-fuzz/crash-* / leak-* / timeout-*; without clang the driver replays
# the corpus and then mutates it. Prints "fuzz: ok" or "fuzz: FAILED" last; exits non-zero on a failure.
set -uo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-20}
bin=build-fuzz/fuzz_ical
[ -x "$bin" ] || { echo "fuzz: $bin is missing (make build-fuzz/fuzz_ical)"; exit 1; }
mkdir -p build-fuzz/corpus
kind=$(cat build-fuzz/fuzz_ical.kind 2>/dev/null || echo driver)
if [ "$kind" = libfuzzer ]; then
    timeout -k 10 $((seconds + 60)) "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -max_len=65536 -dict=tests/fuzz/ical.dict -artifact_prefix=build-fuzz/ -print_final_stats=1 \
        build-fuzz/corpus tests/data/ical > build-fuzz/fuzz.log 2>&1
    rc=$?
    grep -E '^(stat::number_of_executed_units|stat::new_units_added)|ERROR|SUMMARY' build-fuzz/fuzz.log | head -20
else
    FUZZ_SECONDS=$seconds FUZZ_ITERATIONS=${FUZZ_ITERATIONS:-1000000} timeout -k 10 $((seconds + 60)) "$bin" \
        tests/data/ical build-fuzz/corpus > build-fuzz/fuzz.log 2>&1
    rc=$?
    tail -20 build-fuzz/fuzz.log
fi
if [ "$rc" -ne 0 ]; then
    tail -40 build-fuzz/fuzz.log
    echo "fuzz: FAILED (exit $rc; see build-fuzz/fuzz.log)"
    exit 1
fi
echo "fuzz: ok ($kind, ${seconds} s)"
