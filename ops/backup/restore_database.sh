#!/usr/bin/env bash
# restore_database.sh - loads a backup of ops/backup/backup_database.sh into a PostgreSQL database.
#
#   ops/backup/restore_database.sh FILE [--clean] [--yes] [--database-url URL]
#
#   --clean              replace what the database holds (pg_restore --clean --if-exists); without it the
#                        database must be empty (no tables in schema public), else nothing is done
#   --yes                do not ask; on a terminal the script otherwise asks you to type "yes".
#                        Without a terminal (cron, CI, a pipe) it never prompts.
#   --database-url URL   default: $DATABASE_URL
#
# Runs pg_restore --single-transaction --exit-on-error --no-owner --no-privileges: the restore is all
# or nothing, and the objects belong to the user of URL whatever role owned them when dumped. Stop the
# app (fly scale count 0) or expect it to see the old data until the transaction commits. The password
# of the URL goes to pg_restore through PGPASSWORD, not argv. Tools: $PG_BINDIR, else PATH, else the
# newest /usr/lib/postgresql/*/bin.
# A SQLite backup (cabanas backup --to FILE) is restored by copying the file back while the server is
# stopped; this script refuses sqlite:// URLs.
#
# Exit: 0 restored, 1 failure or not confirmed (nothing changed), 2 usage.
set -euo pipefail

prog=restore_database
die() { echo "$prog: $*" >&2; exit 1; }
usage() { echo "usage: ops/backup/restore_database.sh FILE [--clean] [--yes] [--database-url URL]" >&2; exit 2; }

file="" clean=0 yes=0 url=${DATABASE_URL:-}
while [ $# -gt 0 ]; do
    case "$1" in
    --clean) clean=1; shift ;;
    --yes | -y) yes=1; shift ;;
    --database-url) [ $# -ge 2 ] || usage; url=$2; shift 2 ;;
    --database-url=*) url=${1#*=}; shift ;;
    -h | --help) usage ;;
    -*) echo "$prog: unknown option '$1'" >&2; usage ;;
    *) [ -z "$file" ] || { echo "$prog: unexpected argument '$1'" >&2; usage; }; file=$1; shift ;;
    esac
done
[ -n "$file" ] || usage
case "$url" in
postgresql://* | postgres://*) ;;
sqlite://*) echo "$prog: DATABASE_URL is SQLite: stop the server and copy the backup file to its path" >&2; exit 2 ;;
"") echo "$prog: no database: set DATABASE_URL or pass --database-url postgresql://..." >&2; exit 2 ;;
*) echo "$prog: expected a postgresql:// URL" >&2; exit 2 ;;
esac
[ -f "$file" ] && [ -r "$file" ] || die "$file: no such readable file"

. "$(dirname "$0")/pg_common.sh"

pg_restore=$(pg_tool pg_restore) || die "pg_restore not found (apt-get install postgresql-client, or set PG_BINDIR)"
psql=$(pg_tool psql) || die "psql not found (apt-get install postgresql-client, or set PG_BINDIR)"
split_password "$url"

"$pg_restore" --list "$file" >/dev/null 2>&1 || die "$file is not a pg_dump custom-format archive"

tables=$("$psql" --no-psqlrc --no-password -X -tA -v ON_ERROR_STOP=1 --dbname="$conn_url" \
    -c "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'") || die "cannot connect to the database"
if [ "$clean" -eq 0 ] && [ "$tables" != 0 ]; then
    die "the database already has $tables tables; pass --clean to replace its contents (nothing was changed)"
fi

if [ "$yes" -eq 0 ] && [ -t 0 ]; then
    if [ "$clean" -eq 1 ]; then
        echo "This REPLACES everything in $shown_url ($tables tables) with $file." >&2
    else
        echo "This loads $file into the empty database $shown_url." >&2
    fi
    printf 'Type yes to continue: ' >&2
    read -r answer || answer=""
    [ "$answer" = yes ] || die "not confirmed; nothing was changed"
fi

args=(--single-transaction --exit-on-error --no-owner --no-privileges --no-password --dbname="$conn_url")
[ "$clean" -eq 1 ] && args+=(--clean --if-exists)
echo "$prog: restoring $file into $shown_url$([ "$clean" -eq 1 ] && echo " (--clean)")"
"$pg_restore" "${args[@]}" "$file" || die "pg_restore failed; the transaction was rolled back, nothing was changed"
echo "$prog: done; start the app again (fly scale count 1) and check /api/v1/readyz"
