#!/usr/bin/env bash
# backup_database.sh - a pg_dump of the cabanas PostgreSQL database, with retention.
#
#   ops/backup/backup_database.sh [--dir DIR] [--keep N] [--database-url URL]
#
#   --dir DIR            where to write (default ./backups; created with mode 700)
#   --keep N             keep the newest N backups of this script in DIR (default 7, at least 1)
#   --database-url URL   default: $DATABASE_URL
#
# Writes DIR/cabanas-YYYYmmddTHHMMSSZ.dump (UTC) in pg_dump's custom format (-Fc: compressed, restored
# with ops/backup/restore_database.sh or pg_restore), mode 600. The dump goes to a hidden temporary
# file that is checked with `pg_restore --list` and renamed only when complete, so a failed run leaves
# no partial .dump behind; an existing backup is never overwritten. Retention then deletes the oldest
# files named cabanas-<timestamp>.dump in DIR beyond N; no other file is touched.
#
# The password of the URL is handed to pg_dump through PGPASSWORD, not argv, so `ps` does not show it.
# pg_dump is taken from $PG_BINDIR, else PATH, else the newest /usr/lib/postgresql/*/bin; its major
# version must be at least the server's.
# SQLite databases are backed up with `cabanas backup --to FILE` instead.
#
# Exit: 0 backup written, 1 failure (message on stderr), 2 usage.
set -euo pipefail

prog=backup_database
die() { echo "$prog: $*" >&2; exit 1; }
usage() { echo "usage: ops/backup/backup_database.sh [--dir DIR] [--keep N] [--database-url URL]" >&2; exit 2; }

dir=./backups keep=7 url=${DATABASE_URL:-}
while [ $# -gt 0 ]; do
    case "$1" in
    --dir) [ $# -ge 2 ] || usage; dir=$2; shift 2 ;;
    --dir=*) dir=${1#*=}; shift ;;
    --keep) [ $# -ge 2 ] || usage; keep=$2; shift 2 ;;
    --keep=*) keep=${1#*=}; shift ;;
    --database-url) [ $# -ge 2 ] || usage; url=$2; shift 2 ;;
    --database-url=*) url=${1#*=}; shift ;;
    -h | --help) usage ;;
    *) echo "$prog: unknown argument '$1'" >&2; usage ;;
    esac
done
[[ "$keep" =~ ^[1-9][0-9]{0,3}$ ]] || { echo "$prog: --keep expects a number from 1 to 9999" >&2; usage; }
[ -n "$dir" ] || usage
case "$url" in
postgresql://* | postgres://*) ;;
sqlite://*) echo "$prog: DATABASE_URL is SQLite; use: cabanas backup --to FILE" >&2; exit 2 ;;
"") echo "$prog: no database: set DATABASE_URL or pass --database-url postgresql://..." >&2; exit 2 ;;
*) echo "$prog: expected a postgresql:// URL" >&2; exit 2 ;;
esac

. "$(dirname "$0")/pg_common.sh"

pg_dump=$(pg_tool pg_dump) || die "pg_dump not found (apt-get install postgresql-client, or set PG_BINDIR)"
pg_restore=$(pg_tool pg_restore) || die "pg_restore not found (apt-get install postgresql-client, or set PG_BINDIR)"
split_password "$url"

umask 077
mkdir -p "$dir" || die "cannot create $dir"
[ -w "$dir" ] || die "$dir is not writable"

# A new name each time: two runs within one second wait for the next second rather than overwrite.
for _ in 1 2 3; do
    name="cabanas-$(date -u +%Y%m%dT%H%M%SZ).dump"
    [ -e "$dir/$name" ] || break
    sleep 1
done
[ ! -e "$dir/$name" ] || die "$dir/$name already exists"

tmp=$(mktemp "$dir/.cabanas-backup.XXXXXX") || die "cannot create a temporary file in $dir"
trap 'rm -f "$tmp"' EXIT
trap 'exit 130' INT TERM

if ! "$pg_dump" --format=custom --no-password --file="$tmp" --dbname="$conn_url"; then
    die "pg_dump failed; no backup written"
fi
if ! "$pg_restore" --list "$tmp" >/dev/null; then
    die "the dump cannot be read back by pg_restore; no backup written"
fi
[ -s "$tmp" ] || die "pg_dump wrote an empty file; no backup written"
# ln, not mv: it fails instead of replacing a file that appeared meanwhile.
ln "$tmp" "$dir/$name" || die "cannot create $dir/$name"
rm -f "$tmp"
size=$(stat -c %s "$dir/$name")
echo "$prog: wrote $dir/$name ($size bytes)"

# Retention: the names sort by time, oldest first.
mapfile -t all < <(find "$dir" -maxdepth 1 -type f -name 'cabanas-*.dump' -printf '%f\n' \
    | grep -E '^cabanas-[0-9]{8}T[0-9]{6}Z\.dump$' | sort)
excess=$((${#all[@]} - keep))
for ((i = 0; i < excess; i++)); do
    rm -f -- "$dir/${all[$i]}" || die "cannot remove old backup $dir/${all[$i]}"
    echo "$prog: removed old backup $dir/${all[$i]} (keeping the newest $keep)"
done
