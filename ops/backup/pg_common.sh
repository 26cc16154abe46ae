# pg_common.sh - helpers shared by backup_database.sh and restore_database.sh (sourced, not run).

# pg_tool NAME: the path of a PostgreSQL client program: $PG_BINDIR, else PATH, else the newest
# /usr/lib/postgresql/*/bin.
pg_tool() {
    local name=$1 found
    if [ -n "${PG_BINDIR:-}" ]; then
        [ -x "$PG_BINDIR/$name" ] && { echo "$PG_BINDIR/$name"; return 0; }
        return 1
    fi
    found=$(command -v "$name" 2>/dev/null) && { echo "$found"; return 0; }
    found=$(ls -d /usr/lib/postgresql/*/bin/"$name" 2>/dev/null | sort -t/ -k5,5n | tail -1)
    [ -n "$found" ] && { echo "$found"; return 0; }
    return 1
}

# split_password URL: sets conn_url (the URL without its password) and shown_url (password as ***), and
# exports PGPASSWORD (percent-decoded) when the URL has user:password@, so the password never reaches argv.
split_password() {
    local u=$1 scheme rest hostpart userinfo user pass
    scheme=${u%%://*}
    rest=${u#*://}
    hostpart=${rest%%/*}
    conn_url=$u
    shown_url=$u
    case "$hostpart" in *@*) ;; *) return 0 ;; esac
    userinfo=${hostpart%@*}
    case "$userinfo" in *:*) ;; *) return 0 ;; esac
    user=${userinfo%%:*}
    pass=${userinfo#*:}
    conn_url="$scheme://$user@${hostpart##*@}${rest#"$hostpart"}"
    shown_url="$scheme://$user:***@${hostpart##*@}${rest#"$hostpart"}"
    # percent-decoding: %XX -> the byte (printf %b understands \xXX)
    pass=${pass//\\/\\\\}
    PGPASSWORD=$(printf '%b' "${pass//%/\\x}")
    export PGPASSWORD
}
