#!/usr/bin/env bash
# Installs the Debian 12 packages cabanas needs, only those missing.
#   scripts/install-deps.sh          build + run (make run)
#   scripts/install-deps.sh --test   also the test tools: PostgreSQL, Redis, promtool, cmocka, and for the
#                                    admin page's browser test Debian's chromium, Node.js and (npm ci in
#                                    tests/e2e/) the pinned playwright-core
# Uses apt-get as root, or through sudo. Idempotent and quiet when nothing is missing.
set -euo pipefail

build_pkgs=(build-essential pkg-config libmicrohttpd-dev libjansson-dev libpq-dev libsqlite3-dev
    libhiredis-dev libsodium-dev libcurl4-openssl-dev libssl-dev ca-certificates tzdata)
test_pkgs=(libcmocka-dev postgresql postgresql-contrib redis-server prometheus python3 curl
    cppcheck clang-format sqlite3 chromium nodejs)

want=("${build_pkgs[@]}")
[ "${1:-}" = "--test" ] && want+=("${test_pkgs[@]}")

# The browser test's Node package (tests/e2e/package-lock.json): `npm ci` when node_modules does not hold
# exactly the locked versions. playwright-core drives the system chromium; it never downloads a browser.
e2e_deps() {
    local dir
    dir="$(cd "$(dirname "$0")/.." && pwd)/tests/e2e"
    command -v node >/dev/null 2>&1 || return 0
    if node -e 'const fs = require("fs"), [, have, want] = process.argv;
        const a = JSON.parse(fs.readFileSync(have)).packages, b = JSON.parse(fs.readFileSync(want)).packages;
        for (const k of Object.keys(b)) if (k && (!a[k] || a[k].version !== b[k].version)) process.exit(1);' \
        "$dir/node_modules/.package-lock.json" "$dir/package-lock.json" 2>/dev/null; then
        return 0
    fi
    echo "install-deps: npm ci in tests/e2e" >&2
    (cd "$dir" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error >/dev/null) ||
        echo "install-deps: npm ci failed in tests/e2e: the browser test will be skipped" >&2
}

missing=()
for p in "${want[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    [ "$status" = "install ok installed" ] || missing+=("$p")
done
# Node.js from Debian ships npm separately; other builds (NodeSource) include it.
if [ "${1:-}" = "--test" ] && ! command -v npm >/dev/null 2>&1; then
    status=$(dpkg-query -W -f='${Status}' npm 2>/dev/null || true)
    [ "$status" = "install ok installed" ] || missing+=(npm)
fi
if [ ${#missing[@]} -eq 0 ]; then
    if [ "${1:-}" = "--test" ]; then e2e_deps; fi
    exit 0
fi

echo "install-deps: installing ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "install-deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
    SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# Debian's postgresql and redis packages start system services; tests never use them (the harness runs
# its own servers in temporary directories), so stop them from auto-starting where policy-rc.d allows.
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
if [ "${1:-}" = "--test" ]; then e2e_deps; fi
