#!/usr/bin/env bash
# make bench: wrk benchmarks of cabanas on loopback, against baselines measured in the same run.
#
#   scripts/bench.sh                       (what `make bench` runs; build build/cabanas first)
#   BENCH_DURATION=3 scripts/bench.sh      shorter measurement windows (seconds, default 10)
#   BENCH_RUNS=3 scripts/bench.sh          repeat every measurement, report the median (default 1)
#
# Targets (platform issue), all on this machine in this run:
#   1. GET /api/v1/version  >= 0.5 x nginx `return 200`, same wrk settings
#   2. GET /api/v1/healthz (PostgreSQL + Redis) >= 0.3 x pgbench `SELECT 1;` -M prepared,
#      -c DB_POOL_SIZE -j 2
#   3. cabanas peak RSS (VmHWM from /proc/PID/status after the healthz load) < 20 MiB
# Booking core (same cabanas on PostgreSQL + Redis, after the loads above; SQL in scripts/bench/):
#   4. POST /api/v1/reservations, non-overlapping 1-night holds (wrk -s scripts/bench/holds.lua over
#      BENCH_ACCOMMODATIONS x 700 nights), 201s a second >= 0.6 x pgbench scripts/bench/hold.sql (the
#      same transaction: stale-hold UPDATE, INSERT reservation, INSERT claim ON CONFLICT DO NOTHING)
#      -M prepared -c DB_POOL_SIZE -j 2; every answer must be 201 (a 409 means the generator overlapped)
#   5. POST of one identical body by every connection (first 201, then 409s): >= 5000 answers/s, no 5xx
#   6. GET /api/v1/accommodations/{id}/availability >= 0.6 x pgbench scripts/bench/availability.sql
#      (the server's SELECT) -M prepared -c DB_POOL_SIZE -j 2, on scripts/bench/fill.sql's bookings
#   and cabanas' VmHWM after the booking loads, reported. The reference column holds the issue's
#   FastAPI + asyncpg figures (2 workers): 1367 holds/s, 3976 answers/s, 2887 req/s, 126 MB RSS.
#
# Everything listens on 127.0.0.1 on free ports and lives in one mktemp -d directory; every process
# started here (nginx, PostgreSQL, redis-server, two cabanas) is stopped by pid on exit, pass or fail.
# Exit status: 0 all targets met, 1 a target missed (after the full report), 2 set-up error.
# Other knobs: BENCH_WARMUP (s, default 2), BENCH_THREADS (wrk -t, 2), BENCH_CONNECTIONS (wrk -c, 50),
# BENCH_HTTP_THREADS (8) and BENCH_POOL_SIZE (8) for experiments (the defaults are the server's own),
# BENCH_RATE_LIMIT (high: limiter on, limit out of reach; off; default: cabanas' own 300/min),
# BENCH_ACCOMMODATIONS (200: how many the hold test spreads over), BENCH_KEEP=1 keeps the temporary
# directory (logs) for a look afterwards, BENCH_PG_STATEMENTS=1 loads pg_stat_statements and prints
# the statements that took PostgreSQL's time (a diagnosis: it slows every PostgreSQL figure), CABANAS_BIN.
# BENCH_PROBE=1 also builds scripts/bench/eventloop_probe.c (not cabanas: a minimal event-loop server on
# the same libraries) and measures it on the availability GET right after cabanas, as a ceiling for that
# design on this machine; BENCH_PROBE_THREADS (1) and BENCH_PROBE_CONNS (DB_POOL_SIZE) size it. It has no
# target and does not change the exit status.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${CABANAS_BIN:-$ROOT/build/cabanas}
DUR=${BENCH_DURATION:-10}
WARM=${BENCH_WARMUP:-2}
RUNS=${BENCH_RUNS:-1}
WRK_T=${BENCH_THREADS:-2}
WRK_C=${BENCH_CONNECTIONS:-50}
POOL=${BENCH_POOL_SIZE:-8}                 # DB_POOL_SIZE of cabanas, and so pgbench -c
HTTP_THREADS=${BENCH_HTTP_THREADS:-8}      # cabanas HTTP_THREADS (its default); nginx gets as many worker processes
PG_JOBS=2       # pgbench -j
RSS_LIMIT_KB=20480
NACC=${BENCH_ACCOMMODATIONS:-200}          # accommodations the hold test spreads over
PROBE=${BENCH_PROBE:-0}                    # 1: also measure scripts/bench/eventloop_probe.c
PROBE_T=${BENCH_PROBE_THREADS:-1}          # its threads and connections per thread
PROBE_C=${BENCH_PROBE_CONNS:-$POOL}
NDAYS=700                                  # nights per accommodation it uses (horizon: 730 days)
BENCH_DIR=$ROOT/scripts/bench

die() { echo "bench: $*" >&2; exit 2; }
for v in DUR WARM RUNS WRK_T WRK_C POOL HTTP_THREADS NACC PROBE_T PROBE_C; do
    [[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a non-negative integer (got '${!v}')"
done
[ "$DUR" -ge 1 ] || die "BENCH_DURATION must be at least 1"
[ "$RUNS" -ge 1 ] || die "BENCH_RUNS must be at least 1"
[ -x "$BIN" ] || die "$BIN not found: run make first"
[ "$NACC" -ge 1 ] || die "BENCH_ACCOMMODATIONS must be at least 1"
for f in hold.sql availability.sql fill.sql holds.lua contention.lua; do
    [ -r "$BENCH_DIR/$f" ] || die "$BENCH_DIR/$f is missing"
done

# --- install what is missing (same logic as scripts/install-deps.sh) ---
need=()
have_pkg() { [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" = "install ok installed" ]; }
for p in wrk postgresql redis-server redis-tools curl; do have_pkg "$p" || need+=("$p"); done
have_pkg nginx || have_pkg nginx-light || have_pkg nginx-core || have_pkg nginx-full || need+=(nginx)
if [ ${#need[@]} -gt 0 ]; then
    echo "bench: installing ${need[*]}" >&2
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null || die "need root or sudo to install: ${need[*]}"
        SUDO=sudo
    fi
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5 -n | tail -1)
[ -x "$PGBIN/initdb" ] || die "PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin"

# --- temporary directory, process bookkeeping, cleanup ---
TMP=$(mktemp -d "${TMPDIR:-/tmp}/cabanas-bench.XXXXXX")
PIDS=()        # "name:pid", stopped in reverse order
PGDATA=$TMP/pg/data
PG_STARTED=0

as_pg() { # run a PostgreSQL binary as the postgres user when we are root (initdb refuses root)
    local exe=$PGBIN/$1; shift
    if [ "$(id -u)" -eq 0 ]; then (cd "$TMP" && runuser -u postgres -- "$exe" "$@"); else "$exe" "$@"; fi
}

stop_pid() { # name pid: SIGTERM, a second SIGTERM (cuts the cabanas drain short), then SIGKILL
    local name=$1 pid=$2 i
    kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -TERM "$pid" 2>/dev/null
    for i in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
        echo "bench: $name (pid $pid) did not stop, killing it" >&2
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
}

cleanup() {
    local rc=$? i
    set +e
    if [ "$rc" -ge 2 ]; then # set-up error: show the logs, before the servers add their shutdown lines
        for f in "$TMP"/*.log "$TMP"/pg/*.log "$TMP"/nginx/*.log "$TMP"/redis/*.log; do
            [ -s "$f" ] && { echo "--- last lines of $f" >&2; tail -n 20 "$f" >&2; }
        done
    fi
    if [ "$PG_STARTED" = 1 ] && [ "${BENCH_PG_STATEMENTS:-0}" = 1 ]; then
        echo "--- pg_stat_statements: the 15 statements that took PostgreSQL's time (all runs)" >&2
        "$PGBIN/psql" -X -h 127.0.0.1 -p "$PG_PORT" -U postgres -d cabanas -P pager=off -c \
            "SELECT calls, round(total_exec_time::numeric, 0) AS total_ms,
                    round((total_exec_time / calls * 1000)::numeric, 1) AS mean_us, rows,
                    left(regexp_replace(query, '\s+', ' ', 'g'), 110) AS query
               FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT 15" >&2
    fi
    for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do stop_pid "${PIDS[i]%%:*}" "${PIDS[i]#*:}"; done
    if [ "$PG_STARTED" = 1 ]; then
        local pgpid
        pgpid=$(head -1 "$PGDATA/postmaster.pid" 2>/dev/null)
        as_pg pg_ctl -D "$PGDATA" -m fast -w -t 30 stop >/dev/null 2>&1
        [ -n "$pgpid" ] && kill -0 "$pgpid" 2>/dev/null && kill -KILL "$pgpid" 2>/dev/null
    fi
    if [ "${BENCH_KEEP:-0}" = 1 ]; then echo "bench: kept $TMP" >&2; else rm -rf "$TMP"; fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() { # a free TCP port on 127.0.0.1, different from those already handed out
    local p
    while :; do
        if command -v python3 >/dev/null; then
            p=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
        else
            p=$((20000 + RANDOM % 40000))
            (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && continue
        fi
        [[ " ${USED_PORTS:-} " == *" $p "* ]] || break
    done
    USED_PORTS="${USED_PORTS:-} $p"
    echo "$p"
}

wait_http() { # url pid what: until the URL answers 200 (30 s), or the process died
    local url=$1 pid=$2 what=$3 i
    for i in $(seq 1 300); do
        kill -0 "$pid" 2>/dev/null || die "$what exited during start-up"
        [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$url" || true)" = 200 ] && return 0
        sleep 0.1
    done
    die "$what: $url did not answer 200 within 30 s"
}

CMDS=() # every load command as run, printed at the end
record() { [ "${run:-1}" != 1 ] || { local IFS=' '; CMDS+=("$*"); }; } # the first run's commands

NGINX_PORT=$(free_port)
PG_PORT=$(free_port)
REDIS_PORT=$(free_port)
CAB_LITE_PORT=$(free_port)
CAB_PG_PORT=$(free_port)

# --- nginx: `return 200`, as many workers as cabanas has HTTP threads, keep-alive not capped ---
mkdir -p "$TMP/nginx/logs"
cat >"$TMP/nginx/nginx.conf" <<EOF
daemon off;
master_process on;
worker_processes $HTTP_THREADS;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    keepalive_requests 1000000;
    keepalive_timeout 60s;
    client_body_temp_path $TMP/nginx/client_body;
    proxy_temp_path $TMP/nginx/proxy;
    fastcgi_temp_path $TMP/nginx/fastcgi;
    uwsgi_temp_path $TMP/nginx/uwsgi;
    scgi_temp_path $TMP/nginx/scgi;
    server {
        listen 127.0.0.1:$NGINX_PORT;
        location / { default_type text/plain; return 200 "ok\n"; }
    }
}
EOF
"$NGINX" -e "$TMP/nginx/error.log" -p "$TMP/nginx" -c "$TMP/nginx/nginx.conf" >"$TMP/nginx.log" 2>&1 &
PIDS+=("nginx:$!")
wait_http "http://127.0.0.1:$NGINX_PORT/" "$!" nginx

# --- PostgreSQL: throwaway cluster, trust auth, fsync off ---
mkdir -p "$TMP/pg/sock"
[ "$(id -u)" -eq 0 ] && chown -R postgres:postgres "$TMP" && chmod 755 "$TMP"
as_pg initdb -D "$PGDATA" -A trust -U postgres --no-sync -E UTF8 >"$TMP/pg/initdb.log" 2>&1 ||
    die "initdb failed: $(tail -5 "$TMP/pg/initdb.log")"
cat >>"$PGDATA/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$TMP/pg/sock'
fsync = off
synchronous_commit = off
max_connections = 100
EOF
[ "${BENCH_PG_STATEMENTS:-0}" = 1 ] && echo "shared_preload_libraries = 'pg_stat_statements'" >>"$PGDATA/postgresql.conf"
PG_STARTED=1
as_pg pg_ctl -D "$PGDATA" -l "$TMP/pg/postgres.log" -w -t 60 start >/dev/null || die "PostgreSQL did not start"
"$PGBIN/psql" -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 \
    -c "CREATE DATABASE cabanas" >/dev/null
if [ "${BENCH_PG_STATEMENTS:-0}" = 1 ]; then
    "$PGBIN/psql" -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -d cabanas -v ON_ERROR_STOP=1 \
        -c "CREATE EXTENSION pg_stat_statements" >/dev/null
fi
DATABASE_URL_PG="postgresql://postgres@127.0.0.1:$PG_PORT/cabanas"

# --- Redis: no persistence ---
mkdir -p "$TMP/redis"
redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save '' --appendonly no --daemonize no \
    --dir "$TMP/redis" --logfile "$TMP/redis/redis.log" >/dev/null 2>&1 &
PIDS+=("redis-server:$!")
REDIS_PID=$!
for i in $(seq 1 100); do
    [ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null || true)" = PONG ] && break
    kill -0 "$REDIS_PID" 2>/dev/null || die "redis-server exited during start-up"
    [ "$i" = 100 ] && die "redis-server did not answer PING"
    sleep 0.1
done

# --- cabanas: one on SQLite for /version, one on PostgreSQL + Redis for /healthz ---
# The per-client rate limiter (default 300 requests a minute) would answer most of the load with 429.
# By default it stays on, so its cost is measured, with a limit no wrk run reaches (10^6 a second);
# BENCH_RATE_LIMIT=off turns it off, =default leaves cabanas' own settings.
case ${BENCH_RATE_LIMIT:-high} in
high) RL_ENV=(RATE_LIMIT_REQUESTS=1000000 RATE_LIMIT_WINDOW_SECONDS=1) ;;
off) RL_ENV=(RATE_LIMIT_ENABLED=false) ;;
default) RL_ENV=() ;;
*) die "BENCH_RATE_LIMIT must be high, off or default" ;;
esac
start_cabanas() { # name port database_url [redis_url [VAR=value ...]]
    local name=$1 port=$2 db=$3 redis=${4:-}
    shift $(($# < 4 ? $# : 4))
    local redis_env=(-u REDIS_URL)
    [ -z "$redis" ] || redis_env=(REDIS_URL="$redis")
    env "${redis_env[@]}" DATABASE_URL="$db" HOST=127.0.0.1 PORT="$port" HTTP_THREADS=$HTTP_THREADS \
        DB_POOL_SIZE=$POOL LOG_LEVEL=warn "${RL_ENV[@]}" "$@" "$BIN" serve --migrate >"$TMP/$name.log" 2>&1 &
    PIDS+=("$name:$!")
    CAB_PID=$!
    wait_http "http://127.0.0.1:$port/api/v1/healthz" "$CAB_PID" "$name"
}
start_cabanas cabanas-sqlite "$CAB_LITE_PORT" "sqlite://$TMP/bench.db"
CAB_LITE_PID=$CAB_PID
# the admin API (to create the booking benchmark's accommodations) needs a JWT secret and an allow-list
ADMIN_EMAIL=bench@example.com
ADMIN_ENV=(JWT_SECRET="$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')" ADMIN_ALLOWED_EMAILS="$ADMIN_EMAIL")
start_cabanas cabanas-pg "$CAB_PG_PORT" "$DATABASE_URL_PG" "redis://127.0.0.1:$REDIS_PORT/0" "${ADMIN_ENV[@]}"
CAB_PG_PID=$CAB_PID
HEALTH_BODY=$(curl -s "http://127.0.0.1:$CAB_PG_PORT/api/v1/healthz")
case $HEALTH_BODY in
*'"status": "healthy"'* | *'"status":"healthy"'*) ;;
*) die "cabanas on PostgreSQL + Redis is not healthy: $HEALTH_BODY" ;;
esac

# --- load runners; each prints "rate p50 p99 errors" ---
to_ms() { # wrk latency (e.g. 512.00us, 1.20ms, 2.01s) in milliseconds
    awk -v v="$1" 'BEGIN { n = v + 0; u = v; sub(/^[0-9.]+/, "", u);
        if (u == "us") n /= 1000; else if (u == "s") n *= 1000; else if (u == "m") n *= 60000;
        printf "%.2f", n }'
}

# run_wrk and run_pgbench set RATE P50 P99 (ms) ERRS; they run in this shell so that die() and
# record() work.
wrk_warmup() { # url [wrk arguments]: a WARM-second run whose figures are dropped; sets WARM_REQS
    local url=$1 out
    shift
    out=$(wrk -t"$WRK_T" -c"$WRK_C" -d"${WARM}s" "$url" "$@" 2>&1) || true
    WARM_REQS=$(awk '/ requests in / { print $1 }' <<<"$out")
    WARM_REQS=${WARM_REQS:-0}
}
wrk_measure() { # label url [wrk arguments]: sets RATE P50 P99 REQS NON2XX SOCKERR ERRS (non-2xx + socket)
    local label=$1 url=$2 out
    shift 2
    record wrk -t"$WRK_T" -c"$WRK_C" -d"${DUR}s" --latency "'$url'" "$@" "   # after a ${WARM}s warm-up, $label"
    out=$(wrk -t"$WRK_T" -c"$WRK_C" -d"${DUR}s" --latency "$url" "$@" 2>&1) || die "wrk failed: $out"
    echo "$out" >>"$TMP/wrk-$label.txt"
    RATE=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")
    REQS=$(awk '/ requests in / { print $1 }' <<<"$out")
    P50=$(to_ms "$(awk '$1 == "50%" { print $2 }' <<<"$out")")
    P99=$(to_ms "$(awk '$1 == "99%" { print $2 }' <<<"$out")")
    NON2XX=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' <<<"$out")
    SOCKERR=$(awk -F'[ ,]+' '/Socket errors:/ { s = 0; for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+$/) s += $i; print s }' <<<"$out")
    { [ -n "$RATE" ] && [ -n "$REQS" ]; } || die "could not parse wrk output: $out"
    NON2XX=${NON2XX:-0} SOCKERR=${SOCKERR:-0}
    ERRS=$((NON2XX + SOCKERR))
}
run_wrk() { # label url [wrk arguments]: warm-up, then the measurement
    wrk_warmup "$2" "${@:3}"
    wrk_measure "$@"
}

PGB_SCRIPT=$TMP/select1.sql
echo 'SELECT 1;' >"$PGB_SCRIPT"
chmod 644 "$PGB_SCRIPT"
PGB_ARGS=(-n -M prepared -c "$POOL" -j "$PG_JOBS" -h 127.0.0.1 -p "$PG_PORT" -U postgres)
pgbench_warmup() { # [pgbench arguments]
    "$PGBIN/pgbench" "${PGB_ARGS[@]}" "$@" -T "$WARM" cabanas >/dev/null 2>&1 || true
}
pgbench_measure() { # label note [pgbench arguments]: sets RATE P50 (average) P99 (-) ERRS
    local label=$1 note=$2 out
    shift 2
    record "$PGBIN/pgbench" "${PGB_ARGS[@]}" "$@" -T "$DUR" cabanas "   # after a ${WARM}s warm-up; $note"
    out=$("$PGBIN/pgbench" "${PGB_ARGS[@]}" "$@" -T "$DUR" cabanas 2>&1) || die "pgbench ($label) failed: $out"
    echo "$out" >>"$TMP/pgbench-$label.txt"
    RATE=$(awk '/^tps = / { print $3; exit }' <<<"$out")
    P50=$(awk '/^latency average = / { print $4 }' <<<"$out") # pgbench gives the average only
    P99=-
    ERRS=$(awk '/^number of failed transactions: / { print $5 }' <<<"$out")
    ERRS=${ERRS:-0}
    [ -n "$RATE" ] || die "could not parse pgbench output: $out"
}
run_pgbench() { # SELECT 1
    pgbench_warmup -f "$PGB_SCRIPT"
    pgbench_measure select1 "$PGB_SCRIPT holds: SELECT 1;" -f "$PGB_SCRIPT"
}

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

declare -A R # R[key]="v1 v2 ..." per metric across runs
add() { R[$1]="${R[$1]:-} $2"; }

echo "bench: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), wrk -t$WRK_T -c$WRK_C -d${DUR}s (after ${WARM}s warm-up), $RUNS run(s)" >&2
measure() { # key label url|pgbench
    if [ "$3" = pgbench ]; then run_pgbench; else run_wrk "$2" "$3"; fi
    add "$1" "$RATE"; add "$1_p50" "$P50"; add "$1_p99" "$P99"; add "$1_err" "$ERRS"
}
for run in $(seq 1 "$RUNS"); do
    echo "bench: run $run/$RUNS: nginx return 200" >&2
    measure nginx nginx "http://127.0.0.1:$NGINX_PORT/"
    echo "bench: run $run/$RUNS: cabanas GET /api/v1/version" >&2
    measure version version "http://127.0.0.1:$CAB_LITE_PORT/api/v1/version"
    echo "bench: run $run/$RUNS: pgbench SELECT 1" >&2
    measure pgbench pgbench pgbench
    echo "bench: run $run/$RUNS: cabanas GET /api/v1/healthz" >&2
    measure healthz healthz "http://127.0.0.1:$CAB_PG_PORT/api/v1/healthz"
done

hwm() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
RSS_PG=$(hwm "$CAB_PG_PID")
RSS_LITE=$(hwm "$CAB_LITE_PID")
kill -0 "$CAB_PG_PID" 2>/dev/null || die "cabanas on PostgreSQL died during the load"
HEALTH_AFTER=$(curl -s "http://127.0.0.1:$CAB_PG_PORT/api/v1/healthz")

# --- booking core, on the same cabanas (PostgreSQL + Redis) ---
CAB=http://127.0.0.1:$CAB_PG_PORT
PSQL=("$PGBIN/psql" -q -X -h 127.0.0.1 -p "$PG_PORT" -U postgres -d cabanas -v ON_ERROR_STOP=1)
sql() { "${PSQL[@]}" "$@" >>"$TMP/psql.log" 2>&1 || die "psql $* failed: $(tail -3 "$TMP/psql.log")"; }
TOKEN=$(env "${ADMIN_ENV[@]}" DATABASE_URL="$DATABASE_URL_PG" "$BIN" admin token "$ADMIN_EMAIL" 2>"$TMP/admin-token.log") ||
    die "cabanas admin token failed: $(cat "$TMP/admin-token.log")"
create_accommodation() { # name: POST /api/v1/admin/accommodations; sets ACC_ID
    local out
    out=$(curl -s --max-time 10 -w '\n%{http_code}' -H "Authorization: Bearer $TOKEN" \
        -H 'Content-Type: application/json' "$CAB/api/v1/admin/accommodations" \
        -d "{\"name\":\"$1\",\"capacity\":4,\"base_price\":\"10000.00\",\"min_nights\":1,\"max_nights\":30}") || true
    [ "${out##*$'\n'}" = 201 ] || die "creating accommodation '$1' answered: $out"
    ACC_ID=$(grep -o '"id": *[0-9]*' <<<"$out" | head -1 | grep -o '[0-9]*$')
    [ -n "$ACC_ID" ] || die "no id in: $out"
}
echo "bench: booking set-up: $NACC + 1 accommodations through the admin API" >&2
FIRST_ACC=
for i in $(seq 1 "$NACC"); do
    create_accommodation "bench $i"
    [ -n "$FIRST_ACC" ] || FIRST_ACC=$ACC_ID
    [ "$ACC_ID" -eq $((FIRST_ACC + i - 1)) ] || die "accommodation ids are not consecutive ($FIRST_ACC .. $ACC_ID)"
done
create_accommodation "contention"
CONT_ACC=$ACC_ID
record curl -H "'Authorization: Bearer \$(cabanas admin token $ADMIN_EMAIL)'" -H "'Content-Type: application/json'" \
    "$CAB/api/v1/admin/accommodations" -d "'{\"name\":\"bench N\",\"capacity\":4,\"base_price\":\"10000.00\",\"min_nights\":1,\"max_nights\":30}'" \
    "   # N = 1..$NACC (ids $FIRST_ACC..$((FIRST_ACC + NACC - 1))), then one named contention (id $CONT_ACC)"

# Dates: "today" as cabanas sees it (PROPERTY_TIMEZONE, default America/Argentina/Buenos_Aires).
TODAY=$(TZ=America/Argentina/Buenos_Aires date +%F)
day_after() { date -u -d "$TODAY +$1 days" +%F; }
HOLD_BASE=$(day_after 1)                          # holds: 1-night stays from tomorrow, NDAYS nights
HOLD_BASE_EPOCH=$(date -u -d "$HOLD_BASE" +%s)
AV_IN=$(day_after 4) AV_OUT=$(day_after 6)        # free in fill.sql's bookings
CONT_IN=$(day_after 10) CONT_OUT=$(day_after 12)
AV_URL="$CAB/api/v1/accommodations/$FIRST_ACC/availability?check_in=$AV_IN&check_out=$AV_OUT&guests=2"
RES_URL="$CAB/api/v1/reservations"
SLOTS=$((NACC * NDAYS))

# pgbench must run the statement the server runs: look for availability.sql's text (:id :cin :cout
# :now as $1..$4) in the binary.
AV_SQL=$(grep -v '^--' "$BENCH_DIR/availability.sql" | sed 's/;$//; s/:id/$1/g; s/:cin/$2/g; s/:cout/$3/g; s/:now/$4/g')
AV_SQL_SAME=yes
grep -qF -- "$AV_SQL" <(strings -n 64 "$BIN" 2>/dev/null || cat "$BIN") || AV_SQL_SAME=no
[ "$AV_SQL_SAME" = yes ] ||
    echo "bench: warning: $BIN does not contain the SELECT of scripts/bench/availability.sql: update the script" >&2

if [ "$PROBE" = 1 ]; then
    # shellcheck disable=SC2046 # pkg-config prints several words on purpose
    cc -O2 -o "$TMP/eventloop_probe" "$BENCH_DIR/eventloop_probe.c" \
        $(pkg-config --cflags --libs libmicrohttpd jansson libpq) -pthread 2>"$TMP/probe-build.log" ||
        die "building the event-loop probe failed: $(tail -5 "$TMP/probe-build.log")"
    PROBE_PORT=$(free_port)
    PROBE_CMD=("$TMP/eventloop_probe" "$PROBE_PORT" "host=127.0.0.1 port=$PG_PORT user=postgres dbname=cabanas"
        "$PROBE_T" "$PROBE_C" "$AV_SQL")
    "${PROBE_CMD[@]}" >"$TMP/probe.log" 2>&1 &
    PIDS+=("eventloop-probe:$!")
    PROBE_URL="http://127.0.0.1:$PROBE_PORT${AV_URL#"$CAB"}"
    wait_http "$PROBE_URL" "$!" "event-loop probe"
fi

# POST /api/v1/reservations answers so far, from /metrics: "n201 n409 n5xx nother n499". 499 is the
# server's record of a client that closed its connection before the answer: wrk does that to the requests
# still in flight when its time is up (at most one per connection), which is not an answer.
post_counts() {
    curl -s --max-time 5 "$CAB/metrics" | awk '
        /^http_requests_total\{/ && /method="POST"/ && /route="\/api\/v1\/reservations"/ {
            match($0, /status="[0-9]+"/); st = substr($0, RSTART + 8, RLENGTH - 9); v = $NF
            if (st == "201") a += v; else if (st == "409") b += v; else if (st ~ /^5/) c += v;
            else if (st == "499") e += v; else d += v }
        END { printf "%d %d %d %d %d\n", a, b, c, d, e }'
}
delta() { # "before" "after": field-wise difference
    awk -v a="$1" -v b="$2" 'BEGIN { n = split(a, x); split(b, y); for (i = 1; i <= n; i++) printf "%s%d", (i > 1 ? " " : ""), y[i] - x[i]; print "" }'
}
badd() { # key: the last measurement's figures
    add "$1" "$RATE"; add "$1_p50" "$P50"; add "$1_p99" "$P99"; add "$1_err" "$ERRS"
}

record "${PSQL[@]}" -c "'TRUNCATE stay_claims, reservations, outbox, audit_log CASCADE'" "   # before every booking measurement (see below)"
for run in $(seq 1 "$RUNS"); do
    # 6. availability: raw query, then cabanas, on the same fixed bookings
    echo "bench: run $run/$RUNS: booking: pgbench availability SELECT" >&2
    sql -c 'TRUNCATE stay_claims, reservations, outbox, audit_log CASCADE'
    sql -v now="$(date +%s)" -f "$BENCH_DIR/fill.sql"
    record "${PSQL[@]}" -v now=EPOCH -f "$BENCH_DIR/fill.sql" "   # the bookings availability reads"
    body=$(curl -s --max-time 5 "$AV_URL")
    case $body in *'"available":true'* | *'"available": true'*) ;; *) die "availability check answered: $body" ;; esac
    AV_D=(-f "$BENCH_DIR/availability.sql" -D id="$FIRST_ACC" -D cin="$AV_IN" -D cout="$AV_OUT")
    pgbench_warmup "${AV_D[@]}" -D now="$(date +%s)"
    pgbench_measure availability "the SELECT of store_accommodation_availability" "${AV_D[@]}" -D now="$(date +%s)"
    badd avail_pg
    echo "bench: run $run/$RUNS: booking: cabanas GET availability" >&2
    run_wrk availability "$AV_URL"
    badd avail
    if [ "$PROBE" = 1 ]; then
        echo "bench: run $run/$RUNS: booking: event-loop probe GET availability (not cabanas)" >&2
        run_wrk probe "$PROBE_URL"
        badd avail_probe
    fi

    # 4. holds: raw transaction, then cabanas
    echo "bench: run $run/$RUNS: booking: pgbench hold transaction" >&2
    now=$(date +%s)
    HOLD_D=(-f "$BENCH_DIR/hold.sql" -D seq=0 -D nclients="$POOL" -D first_acc="$FIRST_ACC" -D nacc="$NACC"
        -D ndays="$NDAYS" -D base="$HOLD_BASE" -D now="$now" -D expires=$((now + 1800)))
    sql -c 'TRUNCATE stay_claims, reservations, outbox, audit_log CASCADE'
    pgbench_warmup "${HOLD_D[@]}"
    sql -c 'TRUNCATE stay_claims, reservations, outbox, audit_log CASCADE' # the measurement starts again from slot 0
    pgbench_measure holds "the hold transaction of store_hold_create, non-overlapping nights" "${HOLD_D[@]}"
    badd holds_pg
    n_pg=$("${PSQL[@]}" -At -c 'SELECT count(*) FROM stay_claims' 2>>"$TMP/psql.log") || n_pg=0
    add holds_pg_rows "$n_pg"
    [ "$n_pg" -le "$SLOTS" ] || echo "bench: warning: pgbench made $n_pg holds, more than the $SLOTS slots" >&2

    echo "bench: run $run/$RUNS: booking: cabanas POST holds, distinct nights" >&2
    sql -c 'TRUNCATE stay_claims, reservations, outbox, audit_log CASCADE'
    wrk_warmup "$RES_URL" -s "$BENCH_DIR/holds.lua" -- "$HOLD_BASE_EPOCH" "$FIRST_ACC" "$NACC" "$NDAYS" "$WRK_T" 0
    # measurement slots start past every slot the warm-up can have used (a thread does at most all of
    # its requests, plus one in flight per connection, plus wrk's check call)
    offset=$((WRK_T * (WARM_REQS + WRK_C + 2)))
    sleep 0.5
    before=$(post_counts)
    wrk_measure holds "$RES_URL" -s "$BENCH_DIR/holds.lua" -- "$HOLD_BASE_EPOCH" "$FIRST_ACC" "$NACC" "$NDAYS" "$WRK_T" "$offset"
    sleep 0.5
    read -r c201 c409 c5xx cother c499 <<<"$(delta "$before" "$(post_counts)")"
    [ "$c499" -le "$WRK_C" ] || cother=$((cother + c499)) # more than wrk can leave behind: count them
    # holds/s: the 2xx (all 201) answers wrk counted, over its duration
    RATE=$(awk -v r="$RATE" -v n="$REQS" -v e="$NON2XX" 'BEGIN { printf "%.2f", (n > 0) ? r * (n - e) / n : 0 }')
    badd holds
    add holds_409 "$c409"; add holds_5xx "$c5xx"; add holds_other "$cother"; add holds_sock "$SOCKERR"
    add holds_201 "$c201"; add holds_499 "$c499"
    [ $((offset + WRK_T * (REQS + WRK_C + 2))) -le "$SLOTS" ] ||
        echo "bench: warning: the hold generator ran past its $SLOTS slots and repeated nights (raise BENCH_ACCOMMODATIONS)" >&2

    # 5. contention: everyone POSTs the same body
    echo "bench: run $run/$RUNS: booking: cabanas POST holds, same nights" >&2
    CONT_ARGS=(-s "$BENCH_DIR/contention.lua" -- "$CONT_ACC" "$CONT_IN" "$CONT_OUT")
    wrk_warmup "$RES_URL" "${CONT_ARGS[@]}"
    sleep 0.3
    sql -c 'TRUNCATE stay_claims, reservations, outbox, audit_log CASCADE' # so that the measured window starts with the first 201
    before=$(post_counts)
    wrk_measure contention "$RES_URL" "${CONT_ARGS[@]}"
    sleep 0.3
    read -r c201 c409 c5xx cother c499 <<<"$(delta "$before" "$(post_counts)")"
    [ "$c499" -le "$WRK_C" ] || cother=$((cother + c499))
    badd contention
    add cont_201 "$c201"; add cont_409 "$c409"; add cont_5xx "$c5xx"; add cont_other "$cother"; add cont_499 "$c499"
    add cont_sock "$SOCKERR"
done
RSS_BOOK=$(hwm "$CAB_PG_PID")
kill -0 "$CAB_PG_PID" 2>/dev/null || die "cabanas on PostgreSQL died during the booking load"

m() { median <<<"${R[$1]}"; }
sum() { tr ' ' '\n' | awk '{ s += $1 } END { print s + 0 }'; }
maxof() { tr ' ' '\n' | awk 'NF { if ($1 > m) m = $1 } END { print m + 0 }'; }
NGINX_RPS=$(m nginx); VERSION_RPS=$(m version); PGB_TPS=$(m pgbench); HEALTH_RPS=$(m healthz)
VERSION_ERR=$(sum <<<"${R[version_err]}"); HEALTH_ERR=$(sum <<<"${R[healthz_err]}"); NGINX_ERR=$(sum <<<"${R[nginx_err]}")
HOLDS_PG=$(m holds_pg); HOLDS=$(m holds); CONT=$(m contention); AVAIL_PG=$(m avail_pg); AVAIL=$(m avail)
H409=$(sum <<<"${R[holds_409]}"); H5XX=$(sum <<<"${R[holds_5xx]}"); HOTHER=$(sum <<<"${R[holds_other]}")
HSOCK=$(sum <<<"${R[holds_sock]}"); HPG_ERR=$(sum <<<"${R[holds_pg_err]}")
C201=$(sum <<<"${R[cont_201]}"); C201_MAX=$(maxof <<<"${R[cont_201]}"); C409=$(sum <<<"${R[cont_409]}")
C5XX=$(sum <<<"${R[cont_5xx]}"); COTHER=$(sum <<<"${R[cont_other]}"); CSOCK=$(sum <<<"${R[cont_sock]}")
AV_ERR=$(sum <<<"${R[avail_err]}"); AVPG_ERR=$(sum <<<"${R[avail_pg_err]}")
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0) ? a / b : 0 }'; }
R_VERSION=$(ratio "$VERSION_RPS" "$NGINX_RPS")
R_HEALTH=$(ratio "$HEALTH_RPS" "$PGB_TPS")
R_HOLDS=$(ratio "$HOLDS" "$HOLDS_PG")
R_AVAIL=$(ratio "$AVAIL" "$AVAIL_PG")
ge() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a >= b) }'; }

FAILED=0
V1=PASS V2=PASS V3=PASS V4=PASS V5=PASS V6=PASS
if ! ge "$R_VERSION" 0.5 || [ "$VERSION_ERR" -ne 0 ]; then V1=FAIL FAILED=1; fi
if ! ge "$R_HEALTH" 0.3 || [ "$HEALTH_ERR" -ne 0 ]; then V2=FAIL FAILED=1; fi
if ! { [ "$RSS_PG" -gt 0 ] && [ "$RSS_PG" -lt "$RSS_LIMIT_KB" ]; }; then V3=FAIL FAILED=1; fi
# holds: every answer a 201 (a 409 means the generator repeated a night), the raw run without failures
if ! ge "$R_HOLDS" 0.6 || [ $((H409 + H5XX + HOTHER + HSOCK + HPG_ERR)) -ne 0 ]; then V4=FAIL FAILED=1; fi
# contention: 201 then 409s only, never two 201s for the same nights in one window, no 5xx
if ! ge "$CONT" 5000 || [ $((C5XX + COTHER + CSOCK)) -ne 0 ] || [ "$C201_MAX" -gt 1 ]; then V5=FAIL FAILED=1; fi
if ! ge "$R_AVAIL" 0.6 || [ $((AV_ERR + AVPG_ERR)) -ne 0 ] || [ "$AV_SQL_SAME" != yes ]; then V6=FAIL FAILED=1; fi

fmt() { awk -v v="$1" 'BEGIN { printf "%.0f", v }'; }
mb() { awk -v k="$1" 'BEGIN { printf "%.1f MiB", k / 1024 }'; }
suffix=""; [ "$RUNS" -gt 1 ] && suffix=" (median of $RUNS)"

ROW='%-46s %15s %9s %9s %7s %10s %7s %14s\n'
echo
echo "== cabanas benchmarks: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(. /etc/os-release && echo "$PRETTY_NAME")"
echo "== wrk -t$WRK_T -c$WRK_C -d${DUR}s after ${WARM}s warm-up; cabanas HTTP_THREADS=$HTTP_THREADS DB_POOL_SIZE=$POOL LOG_LEVEL=warn; $RUNS run(s)$suffix"
echo "== cabanas $("$BIN" version 2>/dev/null | head -1)"
echo "== reference: the issue's FastAPI + asyncpg, 2 workers (another machine; for orientation, not a target)"
printf "$ROW" what result p50_ms p99_ms ratio target verdict reference
printf "$ROW" "nginx return 200 (baseline)" "$(fmt "$NGINX_RPS") req/s" \
    "$(m nginx_p50)" "$(m nginx_p99)" - - - -
printf "$ROW" "cabanas GET /api/v1/version (SQLite)" "$(fmt "$VERSION_RPS") req/s" \
    "$(m version_p50)" "$(m version_p99)" "$R_VERSION" ">= 0.50" "$V1" -
printf "$ROW" "pgbench SELECT 1 -M prepared -c$POOL -j$PG_JOBS" "$(fmt "$PGB_TPS") tps" \
    "avg $(m pgbench_p50)" - - - - -
printf "$ROW" "cabanas GET /api/v1/healthz (PG + Redis)" "$(fmt "$HEALTH_RPS") req/s" \
    "$(m healthz_p50)" "$(m healthz_p99)" "$R_HEALTH" ">= 0.30" "$V2" -
printf "$ROW" "cabanas peak RSS, VmHWM after healthz load" "$(mb "$RSS_PG")" \
    - - - "< 20 MiB" "$V3" -
printf "$ROW" "(cabanas on SQLite, VmHWM after version load)" "$(mb "$RSS_LITE")" \
    - - - - - -
echo "-- booking core (PG + Redis, $NACC accommodations)"
printf "$ROW" "pgbench hold transaction -M prepared -c$POOL -j$PG_JOBS" "$(fmt "$HOLDS_PG") tps" \
    "avg $(m holds_pg_p50)" - - - - -
printf "$ROW" "cabanas POST reservations, distinct nights" "$(fmt "$HOLDS") holds/s" \
    "$(m holds_p50)" "$(m holds_p99)" "$R_HOLDS" ">= 0.60" "$V4" "1367 holds/s"
printf "$ROW" "cabanas POST reservations, same nights" "$(fmt "$CONT") answers/s" \
    "$(m contention_p50)" "$(m contention_p99)" - ">= 5000/s" "$V5" "3976 answers/s"
printf "$ROW" "pgbench availability SELECT -M prepared -c$POOL -j$PG_JOBS" "$(fmt "$AVAIL_PG") tps" \
    "avg $(m avail_pg_p50)" - - - - -
printf "$ROW" "cabanas GET accommodations/{id}/availability" "$(fmt "$AVAIL") req/s" \
    "$(m avail_p50)" "$(m avail_p99)" "$R_AVAIL" ">= 0.60" "$V6" "2887 req/s"
if [ "$PROBE" = 1 ]; then
    printf "$ROW" "(event-loop probe ${PROBE_T}x$PROBE_C, not cabanas)" "$(fmt "$(m avail_probe)") req/s" \
        "$(m avail_probe_p50)" "$(m avail_probe_p99)" "$(ratio "$(m avail_probe)" "$AVAIL_PG")" - - -
fi
printf "$ROW" "cabanas peak RSS, VmHWM after booking loads" "$(mb "$RSS_BOOK")" \
    - - - - - "126 MB"
echo
if [ "$RUNS" -gt 1 ]; then
    echo "per-run figures (req/s, tps, holds/s or answers/s):"
    for k in nginx version pgbench healthz avail_pg avail holds_pg holds contention; do echo "  $k:${R[$k]}"; done
    [ "$PROBE" != 1 ] || echo "  avail_probe:${R[avail_probe]}"
fi
echo "holds, distinct nights: ${R[holds_201]# } answered 201 (per run, from /metrics); 409: $H409, 5xx: $H5XX, other: $HOTHER, socket errors: $HSOCK; closed by wrk at its end before the answer (499, not counted):${R[holds_499]}; pgbench holds made:${R[holds_pg_rows]}, failed transactions: $HPG_ERR"
echo "same nights: 201: $C201 (per run:${R[cont_201]}), 409: $C409, 5xx: $C5XX, other: $COTHER, socket errors: $CSOCK; closed by wrk at its end (499, not counted):${R[cont_499]}"
[ "$NGINX_ERR" -eq 0 ] || echo "warning: nginx answered $NGINX_ERR non-2xx responses or socket errors"
[ "$VERSION_ERR" -eq 0 ] || echo "FAIL: /api/v1/version had $VERSION_ERR non-2xx responses or socket errors"
[ "$HEALTH_ERR" -eq 0 ] || echo "FAIL: /api/v1/healthz had $HEALTH_ERR non-2xx responses or socket errors"
[ "$H409" -eq 0 ] || echo "FAIL: the hold generator overlapped: $H409 answers were 409"
[ $((H5XX + HOTHER + HSOCK)) -eq 0 ] || echo "FAIL: holds: $H5XX 5xx, $HOTHER other non-201 answers, $HSOCK socket errors"
[ "$C201_MAX" -le 1 ] || echo "FAIL: one contention window got $C201_MAX answers 201 for the same nights"
[ $((C5XX + COTHER + CSOCK)) -eq 0 ] || echo "FAIL: contention: $C5XX 5xx, $COTHER answers neither 201 nor 409, $CSOCK socket errors"
[ $((AV_ERR + AVPG_ERR)) -eq 0 ] || echo "FAIL: availability: $AV_ERR non-2xx or socket errors (cabanas), $AVPG_ERR failed pgbench transactions"
[ "$AV_SQL_SAME" = yes ] || echo "FAIL: scripts/bench/availability.sql is not the SELECT in $BIN any more"
if [ "$PROBE" = 1 ]; then
    PROBE_ERR=$(sum <<<"${R[avail_probe_err]}")
    [ "$PROBE_ERR" -eq 0 ] || echo "warning: the event-loop probe had $PROBE_ERR non-2xx answers or socket errors: its rate does not count"
fi
echo "healthz after the load: $HEALTH_AFTER"
echo
echo "commands:"
echo "  cabanas (version): env -u REDIS_URL DATABASE_URL=sqlite://\$TMP/bench.db HOST=127.0.0.1 PORT=$CAB_LITE_PORT HTTP_THREADS=$HTTP_THREADS DB_POOL_SIZE=$POOL LOG_LEVEL=warn ${RL_ENV[*]} $BIN serve --migrate"
echo "  cabanas (healthz, booking): DATABASE_URL=$DATABASE_URL_PG REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0 HOST=127.0.0.1 PORT=$CAB_PG_PORT HTTP_THREADS=$HTTP_THREADS DB_POOL_SIZE=$POOL LOG_LEVEL=warn ${RL_ENV[*]} JWT_SECRET=<64 random hex digits> ADMIN_ALLOWED_EMAILS=$ADMIN_EMAIL $BIN serve --migrate"
echo "  nginx: $NGINX -e \$TMP/nginx/error.log -p \$TMP/nginx -c \$TMP/nginx/nginx.conf   # worker_processes $HTTP_THREADS; keepalive_requests 1000000; location / { return 200 \"ok\\n\"; }"
echo "  postgresql: initdb -A trust -U postgres --no-sync; listen_addresses=127.0.0.1 port=$PG_PORT fsync=off synchronous_commit=off; pg_ctl start"
echo "  redis: redis-server --bind 127.0.0.1 --port $REDIS_PORT --save '' --appendonly no"
[ "$PROBE" != 1 ] || echo "  event-loop probe: \$TMP/eventloop_probe $PROBE_PORT 'host=127.0.0.1 port=$PG_PORT user=postgres dbname=cabanas' $PROBE_T $PROBE_C '<the SELECT of scripts/bench/availability.sql, \$1..\$4>'"
# the commands of the first run (later runs repeat them)
for ((i = 0; i < ${#CMDS[@]}; i++)); do echo "  ${CMDS[i]//$TMP/\$TMP}"; done
echo "  VmHWM: awk '/^VmHWM:/' /proc/$CAB_PG_PID/status   # after the healthz load, and again after the booking loads"
echo
if [ "$FAILED" -ne 0 ]; then
    echo "bench: at least one target missed"
    exit 1
fi
echo "bench: all targets met"
