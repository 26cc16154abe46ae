#!/usr/bin/env bash
# Installs the Debian 12 packages cabanas needs, only those missing.
#   scripts/install-deps.sh          build + run (make run)
#   scripts/install-deps.sh --test   also the test tools: PostgreSQL, Redis, promtool, cmocka, clang (libFuzzer)
# Uses apt-get as root, or through sudo. Idempotent and quiet when nothing is missing.
set -euo pipefail

build_pkgs=(build-essential pkg-config libmicrohttpd-dev libjansson-dev libpq-dev libsqlite3-dev
    libhiredis-dev libsodium-dev libcurl4-openssl-dev libssl-dev ca-certificates tzdata
    libical-dev libical3)
test_pkgs=(libcmocka-dev postgresql postgresql-contrib redis-server prometheus python3 curl
    cppcheck clang-format sqlite3 clang)

want=("${build_pkgs[@]}")
[ "${1:-}" = "--test" ] && want+=("${test_pkgs[@]}")

missing=()
for p in "${want[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    [ "$status" = "install ok installed" ] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

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
