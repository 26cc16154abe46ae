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
#
# Everything listens on 127.0.0.1 on free ports and lives in one mktemp -d directory; every process
# started here (nginx, PostgreSQL, redis-server, two cabanas) is stopped by pid on exit, pass or fail.
# Exit status: 0 all targets met, 1 a target missed (after the full report), 2 set-up error.
# Other knobs: BENCH_WARMUP (s, default 2), BENCH_THREADS (wrk -t, 2), BENCH_CONNECTIONS (wrk -c, 50),
# BENCH_HTTP_THREADS (2) and BENCH_POOL_SIZE (4) for experiments (the targets are for 2 and 4),
# BENCH_RATE_LIMIT (high: limiter on, limit out of reach; off; default: cabanas' own 300/min),
# BENCH_KEEP=1 keeps the temporary directory (logs) for a look afterwards, CABANAS_BIN.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${CABANAS_BIN:-$ROOT/build/cabanas}
DUR=${BENCH_DURATION:-10}
WARM=${BENCH_WARMUP:-2}
RUNS=${BENCH_RUNS:-1}
WRK_T=${BENCH_THREADS:-2}
WRK_C=${BENCH_CONNECTIONS:-50}
POOL=${BENCH_POOL_SIZE:-4}                 # DB_POOL_SIZE of cabanas, and so pgbench -c
HTTP_THREADS=${BENCH_HTTP_THREADS:-2}      # cabanas HTTP_THREADS; nginx gets as many worker processes
PG_JOBS=2       # pgbench -j
RSS_LIMIT_KB=20480

die() { echo "bench: $*" >&2; exit 2; }
for v in DUR WARM RUNS WRK_T WRK_C POOL HTTP_THREADS; do
    [[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a non-negative integer (got '${!v}')"
done
[ "$DUR" -ge 1 ] || die "BENCH_DURATION must be at least 1"
[ "$RUNS" -ge 1 ] || die "BENCH_RUNS must be at least 1"
[ -x "$BIN" ] || die "$BIN not found: run make first"

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
record() { local IFS=' '; CMDS+=("$*"); }

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
PG_STARTED=1
as_pg pg_ctl -D "$PGDATA" -l "$TMP/pg/postgres.log" -w -t 60 start >/dev/null || die "PostgreSQL did not start"
"$PGBIN/psql" -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 \
    -c "CREATE DATABASE cabanas" >/dev/null
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
start_cabanas() { # name port database_url [redis_url]
    local name=$1 port=$2 db=$3 redis=${4:-}
    local redis_env=(-u REDIS_URL)
    [ -z "$redis" ] || redis_env=(REDIS_URL="$redis")
    env "${redis_env[@]}" DATABASE_URL="$db" HOST=127.0.0.1 PORT="$port" HTTP_THREADS=$HTTP_THREADS \
        DB_POOL_SIZE=$POOL LOG_LEVEL=warn "${RL_ENV[@]}" "$BIN" serve --migrate >"$TMP/$name.log" 2>&1 &
    PIDS+=("$name:$!")
    CAB_PID=$!
    wait_http "http://127.0.0.1:$port/api/v1/healthz" "$CAB_PID" "$name"
}
start_cabanas cabanas-sqlite "$CAB_LITE_PORT" "sqlite://$TMP/bench.db"
CAB_LITE_PID=$CAB_PID
start_cabanas cabanas-pg "$CAB_PG_PORT" "$DATABASE_URL_PG" "redis://127.0.0.1:$REDIS_PORT/0"
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
run_wrk() { # label url
    local label=$1 url=$2 out non2xx sockerr
    wrk -t"$WRK_T" -c"$WRK_C" -d"${WARM}s" "$url" >/dev/null 2>&1 || true
    record wrk -t"$WRK_T" -c"$WRK_C" -d"${DUR}s" --latency "$url" "   # after a ${WARM}s warm-up, $label"
    out=$(wrk -t"$WRK_T" -c"$WRK_C" -d"${DUR}s" --latency "$url" 2>&1) || die "wrk failed: $out"
    echo "$out" >>"$TMP/wrk-$label.txt"
    RATE=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")
    P50=$(to_ms "$(awk '$1 == "50%" { print $2 }' <<<"$out")")
    P99=$(to_ms "$(awk '$1 == "99%" { print $2 }' <<<"$out")")
    non2xx=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' <<<"$out")
    sockerr=$(awk -F'[ ,]+' '/Socket errors:/ { s = 0; for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+$/) s += $i; print s }' <<<"$out")
    [ -n "$RATE" ] || die "could not parse wrk output: $out"
    ERRS=$((${non2xx:-0} + ${sockerr:-0}))
}

PGB_SCRIPT=$TMP/select1.sql
echo 'SELECT 1;' >"$PGB_SCRIPT"
chmod 644 "$PGB_SCRIPT"
run_pgbench() {
    local out args
    args=(-n -M prepared -f "$PGB_SCRIPT" -c "$POOL" -j "$PG_JOBS" -h 127.0.0.1 -p "$PG_PORT" -U postgres cabanas)
    "$PGBIN/pgbench" "${args[@]}" -T "$WARM" >/dev/null 2>&1 || true
    record "$PGBIN/pgbench" "${args[@]}" -T "$DUR" "   # after a ${WARM}s warm-up; $PGB_SCRIPT holds: SELECT 1;"
    out=$("$PGBIN/pgbench" "${args[@]}" -T "$DUR" 2>&1) || die "pgbench failed: $out"
    echo "$out" >>"$TMP/pgbench.txt"
    RATE=$(awk '/^tps = / { print $3; exit }' <<<"$out")
    P50=$(awk '/^latency average = / { print $4 }' <<<"$out") # pgbench gives the average only
    P99=-
    ERRS=$(awk '/^number of failed transactions: / { print $5 }' <<<"$out")
    ERRS=${ERRS:-0}
    [ -n "$RATE" ] || die "could not parse pgbench output: $out"
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

m() { median <<<"${R[$1]}"; }
sum() { tr ' ' '\n' | awk '{ s += $1 } END { print s + 0 }'; }
NGINX_RPS=$(m nginx); VERSION_RPS=$(m version); PGB_TPS=$(m pgbench); HEALTH_RPS=$(m healthz)
VERSION_ERR=$(sum <<<"${R[version_err]}"); HEALTH_ERR=$(sum <<<"${R[healthz_err]}"); NGINX_ERR=$(sum <<<"${R[nginx_err]}")
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0) ? a / b : 0 }'; }
R_VERSION=$(ratio "$VERSION_RPS" "$NGINX_RPS")
R_HEALTH=$(ratio "$HEALTH_RPS" "$PGB_TPS")
ge() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a >= b) }'; }

FAILED=0
V1=PASS V2=PASS V3=PASS
if ! ge "$R_VERSION" 0.5 || [ "$VERSION_ERR" -ne 0 ]; then V1=FAIL FAILED=1; fi
if ! ge "$R_HEALTH" 0.3 || [ "$HEALTH_ERR" -ne 0 ]; then V2=FAIL FAILED=1; fi
if ! { [ "$RSS_PG" -gt 0 ] && [ "$RSS_PG" -lt "$RSS_LIMIT_KB" ]; }; then V3=FAIL FAILED=1; fi

fmt() { awk -v v="$1" 'BEGIN { printf "%.0f", v }'; }
mb() { awk -v k="$1" 'BEGIN { printf "%.1f MiB", k / 1024 }'; }
suffix=""; [ "$RUNS" -gt 1 ] && suffix=" (median of $RUNS)"

echo
echo "== cabanas benchmarks: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(. /etc/os-release && echo "$PRETTY_NAME")"
echo "== wrk -t$WRK_T -c$WRK_C -d${DUR}s after ${WARM}s warm-up; cabanas HTTP_THREADS=$HTTP_THREADS DB_POOL_SIZE=$POOL LOG_LEVEL=warn; $RUNS run(s)$suffix"
echo "== cabanas $("$BIN" version 2>/dev/null | head -1)"
printf '%-44s %14s %9s %9s %7s %9s %7s\n' what result p50_ms p99_ms ratio target verdict
printf '%-44s %14s %9s %9s %7s %9s %7s\n' "nginx return 200 (baseline)" "$(fmt "$NGINX_RPS") req/s" \
    "$(m nginx_p50)" "$(m nginx_p99)" - - -
printf '%-44s %14s %9s %9s %7s %9s %7s\n' "cabanas GET /api/v1/version (SQLite)" "$(fmt "$VERSION_RPS") req/s" \
    "$(m version_p50)" "$(m version_p99)" "$R_VERSION" ">= 0.50" "$V1"
printf '%-44s %14s %9s %9s %7s %9s %7s\n' "pgbench SELECT 1 -M prepared -c$POOL -j$PG_JOBS" "$(fmt "$PGB_TPS") tps" \
    "avg $(m pgbench_p50)" - - - -
printf '%-44s %14s %9s %9s %7s %9s %7s\n' "cabanas GET /api/v1/healthz (PG + Redis)" "$(fmt "$HEALTH_RPS") req/s" \
    "$(m healthz_p50)" "$(m healthz_p99)" "$R_HEALTH" ">= 0.30" "$V2"
printf '%-44s %14s %9s %9s %7s %9s %7s\n' "cabanas peak RSS, VmHWM after healthz load" "$(mb "$RSS_PG")" \
    - - - "< 20 MiB" "$V3"
printf '%-44s %14s %9s %9s %7s %9s %7s\n' "(cabanas on SQLite, VmHWM after version load)" "$(mb "$RSS_LITE")" \
    - - - - -
echo
if [ "$RUNS" -gt 1 ]; then
    echo "per-run figures (req/s or tps):"
    for k in nginx version pgbench healthz; do echo "  $k:${R[$k]}"; done
fi
[ "$NGINX_ERR" -eq 0 ] || echo "warning: nginx answered $NGINX_ERR non-2xx responses or socket errors"
[ "$VERSION_ERR" -eq 0 ] || echo "FAIL: /api/v1/version had $VERSION_ERR non-2xx responses or socket errors"
[ "$HEALTH_ERR" -eq 0 ] || echo "FAIL: /api/v1/healthz had $HEALTH_ERR non-2xx responses or socket errors"
echo "healthz after the load: $HEALTH_AFTER"
echo
echo "commands:"
echo "  cabanas (version): env -u REDIS_URL DATABASE_URL=sqlite://\$TMP/bench.db HOST=127.0.0.1 PORT=$CAB_LITE_PORT HTTP_THREADS=$HTTP_THREADS DB_POOL_SIZE=$POOL LOG_LEVEL=warn ${RL_ENV[*]} $BIN serve --migrate"
echo "  cabanas (healthz): DATABASE_URL=$DATABASE_URL_PG REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0 HOST=127.0.0.1 PORT=$CAB_PG_PORT HTTP_THREADS=$HTTP_THREADS DB_POOL_SIZE=$POOL LOG_LEVEL=warn ${RL_ENV[*]} $BIN serve --migrate"
echo "  nginx: $NGINX -e \$TMP/nginx/error.log -p \$TMP/nginx -c \$TMP/nginx/nginx.conf   # worker_processes $HTTP_THREADS; keepalive_requests 1000000; location / { return 200 \"ok\\n\"; }"
echo "  postgresql: initdb -A trust -U postgres --no-sync; listen_addresses=127.0.0.1 port=$PG_PORT fsync=off synchronous_commit=off; pg_ctl start"
echo "  redis: redis-server --bind 127.0.0.1 --port $REDIS_PORT --save '' --appendonly no"
# the load commands of the first run (later runs repeat them)
per_run=4
for ((i = 0; i < per_run && i < ${#CMDS[@]}; i++)); do echo "  ${CMDS[i]//$TMP/\$TMP}"; done
echo "  VmHWM: awk '/^VmHWM:/' /proc/$CAB_PG_PID/status   # after the healthz load"
echo
if [ "$FAILED" -ne 0 ]; then
    echo "bench: at least one target missed"
    exit 1
fi
echo "bench: all targets met"
