#!/usr/bin/env bash
# smoke_and_benchmark.sh - after a deploy: is the server up, ready and observable, and fast enough?
#
#   ops/smoke_and_benchmark.sh BASE_URL          e.g. https://sist-cabanas-mvp.fly.dev
#
# Checks, in order, each reported as "ok" or "FAIL <why>":
#   1. GET /api/v1/healthz   200 and "status":"healthy" (degraded, i.e. Redis down, fails too)
#   2. GET /api/v1/readyz    200 and "status":"ready"
#   3. GET /metrics          200 and Prometheus text (a `# TYPE` line)
# then, only when all three pass,
#   4. cabanas bench --base-url BASE_URL --concurrency 10 --requests 100 --report REPORT
#
# Needs only curl and the cabanas binary: $CABANAS_BIN, else `cabanas` on PATH, else ./build/cabanas.
# Environment: RUNTIME_REPORT (default ./runtime-report.md), SMOKE_TIMEOUT seconds per request
# (default 10). Read-only: no check creates data.
#
# Exit: 0 all passed, 1 a check failed or the SLOs were not met (the failing check is named), 2 usage or
# a missing tool.
set -uo pipefail

prog=smoke
usage() { echo "usage: ops/smoke_and_benchmark.sh BASE_URL   (e.g. https://sist-cabanas-mvp.fly.dev)" >&2; exit 2; }
[ $# -eq 1 ] || usage
base=${1%/}
case "$base" in
http://* | https://*) ;;
*) echo "$prog: BASE_URL must start with http:// or https://" >&2; usage ;;
esac

command -v curl >/dev/null 2>&1 || { echo "$prog: curl not found" >&2; exit 2; }
bin=${CABANAS_BIN:-}
if [ -z "$bin" ]; then
    bin=$(command -v cabanas || true)
    [ -n "$bin" ] || bin=./build/cabanas
fi
[ -x "$bin" ] || { echo "$prog: cabanas binary not found ($bin); set CABANAS_BIN or run make" >&2; exit 2; }

report=${RUNTIME_REPORT:-./runtime-report.md}
timeout=${SMOKE_TIMEOUT:-10}
body=$(mktemp)
trap 'rm -f "$body"' EXIT
failed=()

# check NAME PATH PATTERN DESCRIPTION: GET BASE_URL/PATH must answer 200 with a body matching PATTERN.
check() {
    local name=$1 path=$2 pattern=$3 what=$4 code
    code=$(curl -sS -o "$body" -w '%{http_code}' --max-time "$timeout" -H 'Accept: */*' \
        -H "X-Request-ID: smoke-$name-$$" "$base$path" 2>"$body.err")
    if [ $? -ne 0 ] || [ -z "$code" ] || [ "$code" = 000 ]; then
        echo "FAIL $name: GET $path: $(head -c 300 "$body.err")"
        failed+=("$name")
    elif [ "$code" != 200 ]; then
        echo "FAIL $name: GET $path answered $code: $(head -c 300 "$body")"
        failed+=("$name")
    elif ! grep -Eq "$pattern" "$body"; then
        echo "FAIL $name: GET $path answered 200 but not $what: $(head -c 300 "$body")"
        failed+=("$name")
    else
        echo "ok   $name: GET $path 200, $what"
    fi
    rm -f "$body.err"
}

echo "$prog: checking $base"
check healthz /api/v1/healthz '"status"[[:space:]]*:[[:space:]]*"healthy"' '"status":"healthy"'
check readyz /api/v1/readyz '"status"[[:space:]]*:[[:space:]]*"ready"' '"status":"ready"'
check metrics /metrics '^# TYPE [a-zA-Z_:][a-zA-Z0-9_:]* ' 'Prometheus text (# TYPE lines)'

if [ ${#failed[@]} -gt 0 ]; then
    echo "$prog: FAILED: ${failed[*]} (benchmark not run)"
    exit 1
fi

echo "$prog: benchmark: $bin bench --base-url $base --concurrency 10 --requests 100 --report $report"
"$bin" bench --base-url "$base" --concurrency 10 --requests 100 --report "$report"
rc=$?
case $rc in
0) echo "ok   bench: every SLO met; report in $report" ;;
1) echo "FAIL bench: an SLO was not met (or the run failed); see $report and the output above"; failed+=(bench) ;;
*) echo "FAIL bench: cabanas bench exited $rc (usage error?)"; failed+=(bench) ;;
esac

if [ ${#failed[@]} -gt 0 ]; then
    echo "$prog: FAILED: ${failed[*]}"
    exit 1
fi
echo "$prog: all checks passed"
