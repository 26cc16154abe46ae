#!/usr/bin/env bash
# set_fly_secrets.sh - loads an env file (KEY=VALUE lines) into a Fly.io app as secrets.
#
#   ops/set_fly_secrets.sh APP ENVFILE [--dry-run] [--stage]
#
#   --dry-run   validate and list the key names that would be set (never the values); flyctl not needed
#   --stage     pass --stage to flyctl: set the secrets without restarting machines (next deploy uses them)
#
# The file is parsed here, never sourced or executed, with the rules of `cabanas --env-file`: `#`
# comments, blank lines, an optional `export ` prefix, one pair of matching single or double quotes
# around the value, later lines win; `$(...)` and `$VAR` stay literal text. Required: DATABASE_URL
# (postgresql://), JWT_SECRET (at least 32 characters), ADMIN_ALLOWED_EMAILS, ENVIRONMENT (staging or
# production). Any value still containing CHANGE_ME is refused. Empty values are skipped.
#
# The pairs go to `flyctl secrets import -a APP` on stdin (never in argv, so `ps` does not show them),
# each value wrapped in double quotes, which flyctl's parser removes exactly once. Messages name keys
# and line numbers, never values.
#
# Exit: 0 done (or dry run ok), 1 invalid file or flyctl failed, 2 usage.
set -euo pipefail

prog=set_fly_secrets
die() { echo "$prog: $*" >&2; exit 1; }
usage() { echo "usage: ops/set_fly_secrets.sh APP ENVFILE [--dry-run] [--stage]" >&2; exit 2; }

app="" envfile="" dry_run=0 stage=0
for arg in "$@"; do
    case "$arg" in
    --dry-run) dry_run=1 ;;
    --stage) stage=1 ;;
    -h | --help) usage ;;
    -*) echo "$prog: unknown option '$arg'" >&2; usage ;;
    *)
        if [ -z "$app" ]; then app=$arg
        elif [ -z "$envfile" ]; then envfile=$arg
        else echo "$prog: unexpected argument '$arg'" >&2; usage
        fi ;;
    esac
done
[ -n "$app" ] && [ -n "$envfile" ] || usage
[[ "$app" =~ ^[a-z0-9][a-z0-9-]*$ ]] || die "APP '$app' is not a Fly app name (lowercase letters, digits, dashes)"
[ -f "$envfile" ] || die "$envfile: no such file"
[ -r "$envfile" ] || die "$envfile: not readable"

# A file of secrets readable by other users is worth a warning, not a refusal.
mode=$(stat -c %a "$envfile" 2>/dev/null || echo 600)
if [ $((8#$mode & 8#077)) -ne 0 ]; then
    echo "$prog: warning: $envfile is readable by other users (mode $mode); consider chmod 600" >&2
fi

trim() {
    local s=$1
    s="${s#"${s%%[![:space:]]*}"}"
    s="${s%"${s##*[![:space:]]}"}"
    printf '%s' "$s"
}

declare -A values=()
order=()
lineno=0
while IFS= read -r line || [ -n "$line" ]; do
    lineno=$((lineno + 1))
    line=$(trim "$line")
    [ -z "$line" ] && continue
    [ "${line:0:1}" = "#" ] && continue
    if [ "${line:0:7}" = "export " ]; then
        line=$(trim "${line:7}")
    fi
    case "$line" in
    *=*) ;;
    *) die "$envfile:$lineno: expected KEY=VALUE" ;;
    esac
    key=$(trim "${line%%=*}")
    value=$(trim "${line#*=}")
    [[ "$key" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || die "$envfile:$lineno: invalid key"
    if [ ${#value} -ge 2 ]; then
        first=${value:0:1}
        last=${value: -1}
        if { [ "$first" = '"' ] || [ "$first" = "'" ]; } && [ "$first" = "$last" ]; then
            value=${value:1:${#value}-2}
        fi
    fi
    [ -n "${values[$key]+set}" ] || order+=("$key")
    values[$key]=$value
done < "$envfile"

problems=()
missing=()
for key in DATABASE_URL JWT_SECRET ADMIN_ALLOWED_EMAILS ENVIRONMENT; do
    [ -n "${values[$key]:-}" ] || missing+=("$key")
done
[ ${#missing[@]} -eq 0 ] || problems+=("missing required: ${missing[*]}")

placeholders=()
for key in "${order[@]}"; do
    value=${values[$key]}
    case "$value" in *CHANGE_ME*) placeholders+=("$key") ;; esac
    # flyctl reads one line per pair and starts a multi-line value at `"""`.
    if [[ "$value" == *[[:cntrl:]]* ]]; then
        problems+=("$key: control characters are not allowed in a value")
    elif [ "${value:0:2}" = '""' ] || [ "$value" = '"' ]; then
        problems+=("$key: a value starting with \"\" cannot pass through flyctl secrets import")
    fi
done
[ ${#placeholders[@]} -eq 0 ] || problems+=("still a CHANGE_ME placeholder: ${placeholders[*]}")

if [ -n "${values[JWT_SECRET]:-}" ] && [ "${#values[JWT_SECRET]}" -lt 32 ]; then
    problems+=("JWT_SECRET: must be at least 32 characters (generate one with: openssl rand -hex 32)")
fi
case "${values[ENVIRONMENT]:-}" in
"" | staging | production) ;;
development) problems+=("ENVIRONMENT: development is not for Fly (each machine would invent its own JWT secret); use staging or production") ;;
*) problems+=("ENVIRONMENT: expected staging or production") ;;
esac
case "${values[DATABASE_URL]:-}" in
"" | postgresql://* | postgres://*) ;;
sqlite://*) problems+=("DATABASE_URL: SQLite on Fly loses its data at every deploy; use postgresql://...") ;;
*) problems+=("DATABASE_URL: expected postgresql://user:password@host:port/db") ;;
esac

if [ ${#problems[@]} -gt 0 ]; then
    echo "$prog: $envfile is not ready; nothing was sent to Fly:" >&2
    printf '  - %s\n' "${problems[@]}" >&2
    exit 1
fi

send=()
skipped=()
for key in "${order[@]}"; do
    if [ -n "${values[$key]}" ]; then send+=("$key"); else skipped+=("$key"); fi
done
[ ${#skipped[@]} -eq 0 ] || echo "$prog: skipping empty values: ${skipped[*]}" >&2

if [ "$dry_run" -eq 1 ]; then
    echo "$prog: dry run: would import ${#send[@]} secrets into $app (values not shown):"
    printf '  %s\n' "${send[@]}"
    exit 0
fi

flyctl=${FLYCTL:-}
if [ -z "$flyctl" ]; then
    flyctl=$(command -v flyctl || command -v fly || true)
fi
[ -n "$flyctl" ] || die "flyctl not found on PATH (install it: https://fly.io/docs/flyctl/install/, then fly auth login)"

args=(secrets import -a "$app")
[ "$stage" -eq 1 ] && args+=(--stage)
echo "$prog: importing ${#send[@]} secrets into $app: ${send[*]}"
# printf is a shell builtin: the values travel through the pipe only, never through an argv.
rc=0
for key in "${send[@]}"; do
    printf '%s="%s"\n' "$key" "${values[$key]}"
done | "$flyctl" "${args[@]}" || rc=$?
[ "$rc" -eq 0 ] || die "flyctl secrets import failed (exit $rc); no values were printed"
echo "$prog: done"
