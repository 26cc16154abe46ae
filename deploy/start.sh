#!/usr/bin/env bash
# start.sh - the container's entrypoint: check the environment, migrate, then become `cabanas serve`.
#
#   1. With ENVIRONMENT other than development (the default), DATABASE_URL, JWT_SECRET and
#      ADMIN_ALLOWED_EMAILS must be set: exit 1 naming every missing one (a Fly machine then restarts
#      and keeps failing visibly until the secrets are set, see ops/set_fly_secrets.sh).
#   2. `cabanas config-check` validates every other setting (exit 2 on an invalid value).
#   3. Integrations without credentials are reported as disabled, never fatal.
#   4. `cabanas migrate` (PostgreSQL: an advisory lock, so machines starting together take turns and the
#      later ones find nothing to do), retried START_MIGRATE_ATTEMPTS times (default 3, 3 s apart) while
#      the database is unreachable.
#   5. exec `cabanas serve "$@"`: the server replaces this shell, so Fly's SIGTERM reaches it directly
#      and the graceful drain (SHUTDOWN_DRAIN_SECONDS) applies.
#
# CABANAS_BIN overrides the binary (default: `cabanas` on PATH, else /usr/local/bin/cabanas).
# Messages go to stderr, prefixed "start:"; no secret value is ever printed.
set -euo pipefail

say() { echo "start: $*" >&2; }

bin=${CABANAS_BIN:-}
if [ -z "$bin" ]; then
    bin=$(command -v cabanas || echo /usr/local/bin/cabanas)
fi
[ -x "$bin" ] || { say "cabanas binary not found at $bin (set CABANAS_BIN)"; exit 1; }

environment=${ENVIRONMENT:-development}
if [ "$environment" != development ]; then
    missing=()
    for var in DATABASE_URL JWT_SECRET ADMIN_ALLOWED_EMAILS; do
        [ -n "${!var:-}" ] || missing+=("$var")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        say "missing required environment for ENVIRONMENT=$environment: ${missing[*]}"
        say "set them as Fly secrets (ops/set_fly_secrets.sh APP ENVFILE); not starting"
        exit 1
    fi
fi

if ! "$bin" config-check >/dev/null; then
    say "the configuration is invalid (see the message above); not starting"
    exit 2
fi

# report NAME VAR [VAR...]: enabled when every VAR is set, else disabled naming the first missing one.
report() {
    local name=$1 var
    shift
    for var in "$@"; do
        if [ -z "${!var:-}" ]; then
            say "$name: disabled ($var not set)"
            return 0
        fi
    done
    say "$name: credentials set"
}
if [ -n "${REDIS_URL:-}" ]; then
    say "Redis: enabled"
else
    say "Redis: disabled (REDIS_URL not set; single instance, in-process rate limits and idempotency)"
fi
# Read by the payments/WhatsApp/email/iCal features when they arrive; reported now so a missing
# credential is visible at deploy time. None of them ever stops the server.
report MercadoPago MERCADOPAGO_ACCESS_TOKEN
report WhatsApp WHATSAPP_ACCESS_TOKEN WHATSAPP_PHONE_NUMBER_ID
report Email SMTP_URL
report iCal ICS_SALT

attempts=${START_MIGRATE_ATTEMPTS:-3}
[[ "$attempts" =~ ^[1-9][0-9]*$ ]] || attempts=3
n=1
until "$bin" migrate; do
    if [ "$n" -ge "$attempts" ]; then
        say "cabanas migrate failed $n time(s); not starting"
        exit 1
    fi
    say "cabanas migrate failed (attempt $n of $attempts); retrying in 3 s"
    n=$((n + 1))
    sleep 3
done

exec "$bin" serve "$@"
