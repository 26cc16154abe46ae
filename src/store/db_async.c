/* db_async.c - a pipelined, non-blocking PostgreSQL connection per event-loop thread. See db_async.h.
 *
 * The connection stays in pipeline mode. A query is [Parse] Bind Execute Sync: its results are read
 * until the Sync's PGRES_PIPELINE_SYNC, so one query's error never leaks into the next one's answer.
 * The connection is opened by db_pg_connect, with the same settings as the pool's. */
#include "db_async.h"

#include "../core/log.h"
#include "db_internal.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ASYNC_STMTS 16 /* distinct statements prepared on one connection */

struct query {
    db_async_done done;
    void *data;
    PGresult *result; /* the statement's own result (not the Parse's), once it has come */
    struct query *next;
};

struct db_async {
    struct db_conn conn; /* libpq handle, settings and error text, as in the pool */
    db_async_watch watch;
    void *watch_ctx;
    int fd;         /* the socket the owner waits on, -1 when none */
    int want_write; /* libpq holds bytes the socket did not take yet */
    struct query *head, *tail;
    int in_flight;
    const char *stmt_sql[ASYNC_STMTS]; /* prepared statements "a0".. by sql pointer */
    int nstmts;
    double last_connect_attempt; /* monotonic seconds; 0: never */
};

static double now_mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void set_watch(struct db_async *a, int fd, int want_write)
{
    if (fd == a->fd && want_write == a->want_write)
        return;
    int old = a->fd;
    a->fd = fd;
    a->want_write = want_write;
    a->watch(a->watch_ctx, old, fd, want_write);
}

struct db_async *db_async_new(struct db *db, db_async_watch watch, void *ctx)
{
    if (db_engine_of(db) != DB_ENGINE_POSTGRES)
        return NULL;
    struct db_async *a = calloc(1, sizeof *a);
    if (!a)
        abort();
    a->conn.engine = DB_ENGINE_POSTGRES;
    a->conn.cfg = db_config_of(db);
    a->conn.db = db;
    a->watch = watch;
    a->watch_ctx = ctx;
    a->fd = -1;
    return a;
}

/* Runs and frees every query in flight with `rc` (their results, if any, are dropped). */
static void fail_all(struct db_async *a, int rc)
{
    struct query *q = a->head;
    a->head = a->tail = NULL;
    a->in_flight = 0;
    while (q) {
        struct query *next = q->next;
        if (q->result)
            PQclear(q->result);
        q->done(NULL, rc, q->data);
        free(q);
        q = next;
    }
}

static void disconnect(struct db_async *a)
{
    set_watch(a, -1, 0);
    if (a->conn.pg)
        PQfinish(a->conn.pg);
    a->conn.pg = NULL;
    a->conn.broken = 0;
    a->nstmts = 0;
}

/* The connection is gone or out of step: fail what is in flight and start over on the next query. */
static void lose(struct db_async *a)
{
    const char *why = a->conn.error[0] ? a->conn.error : a->conn.pg ? PQerrorMessage(a->conn.pg) : "";
    log_warn("database: asynchronous connection closed: %s", why);
    a->conn.error[0] = '\0';
    disconnect(a);
    fail_all(a, DB_UNAVAILABLE);
}

void db_async_free(struct db_async *a)
{
    if (!a)
        return;
    fail_all(a, DB_UNAVAILABLE);
    disconnect(a);
    free(a);
}

static int connect_now(struct db_async *a)
{
    double now = now_mono();
    if (a->last_connect_attempt > 0 && now - a->last_connect_attempt < 1.0)
        return DB_UNAVAILABLE; /* one blocking attempt a second at most: the pool path answers meanwhile */
    a->last_connect_attempt = now;
    if (db_pg_connect(&a->conn) != DB_OK)
        return DB_UNAVAILABLE;
    if (PQsetnonblocking(a->conn.pg, 1) != 0 || !PQenterPipelineMode(a->conn.pg)) {
        PQfinish(a->conn.pg);
        a->conn.pg = NULL;
        return DB_UNAVAILABLE;
    }
    set_watch(a, PQsocket(a->conn.pg), 0);
    return DB_OK;
}

/* Hands libpq's output to the socket; watches for writability while some is left. */
static int flush(struct db_async *a)
{
    int rc = PQflush(a->conn.pg);
    if (rc < 0)
        return -1;
    set_watch(a, a->fd, rc == 1);
    return 0;
}

int db_async_query(struct db_async *a, const char *sql, int n, const char *const *params, db_async_done done,
                   void *data)
{
    if (!a || a->in_flight >= DB_ASYNC_MAX_IN_FLIGHT)
        return DB_BUSY;
    if (!a->conn.pg && connect_now(a) != DB_OK)
        return DB_UNAVAILABLE;
    if (PQstatus(a->conn.pg) != CONNECTION_OK) {
        lose(a);
        return DB_UNAVAILABLE;
    }
    int idx = -1;
    for (int i = 0; i < a->nstmts; i++)
        if (a->stmt_sql[i] == sql)
            idx = i;
    char name[16];
    if (idx < 0) {
        if (a->nstmts >= ASYNC_STMTS)
            return DB_BUSY;
        idx = a->nstmts;
        snprintf(name, sizeof name, "a%d", idx);
        /* queued ahead of the query in the same pipeline: PostgreSQL runs them in order */
        if (!PQsendPrepare(a->conn.pg, name, sql, n, NULL)) {
            lose(a);
            return DB_UNAVAILABLE;
        }
        a->stmt_sql[a->nstmts++] = sql;
    }
    snprintf(name, sizeof name, "a%d", idx);
    if (!PQsendQueryPrepared(a->conn.pg, name, n, params, NULL, NULL, 0) || !PQpipelineSync(a->conn.pg)) {
        lose(a);
        return DB_UNAVAILABLE;
    }
    struct query *q = calloc(1, sizeof *q);
    if (!q)
        abort();
    q->done = done;
    q->data = data;
    if (a->tail)
        a->tail->next = q;
    else
        a->head = q;
    a->tail = q;
    a->in_flight++;
    if (flush(a) < 0) {
        lose(a); /* the callback of this query runs too: it was queued */
        return DB_OK;
    }
    return DB_OK;
}

/* One query's results are complete (its Sync has answered): run its callback. */
static void finish_head(struct db_async *a)
{
    struct query *q = a->head;
    if (!(a->head = q->next))
        a->tail = NULL;
    a->in_flight--;
    struct db_result *r = NULL;
    int rc = q->result ? db_pg_finish(&a->conn, q->result, &r) : DB_ERR;
    if (rc != DB_OK) {
        log_warn("database: asynchronous query failed: %s", q->result ? a->conn.error : "no result");
        a->conn.broken = 1; /* start over on a fresh connection (a failed Parse would stay failed) */
    }
    q->done(r, rc, q->data);
    db_result_free(r);
    free(q);
}

void db_async_ready(struct db_async *a, int readable, int writable)
{
    if (!a || !a->conn.pg)
        return;
    if (writable && flush(a) < 0) {
        lose(a);
        return;
    }
    if (!readable)
        return;
    if (!PQconsumeInput(a->conn.pg)) {
        lose(a);
        return;
    }
    while (a->head && !PQisBusy(a->conn.pg)) {
        PGresult *r = PQgetResult(a->conn.pg);
        if (!r)
            continue; /* the end of one statement's results; the Sync comes next */
        ExecStatusType st = PQresultStatus(r);
        if (st == PGRES_PIPELINE_SYNC) {
            PQclear(r);
            finish_head(a);
            continue;
        }
        /* keep the first error, else the last result: a Parse sent with the query answers COMMAND_OK
         * first, then the statement itself answers */
        struct query *q = a->head;
        int kept_is_error = q->result && PQresultStatus(q->result) != PGRES_COMMAND_OK &&
                            PQresultStatus(q->result) != PGRES_TUPLES_OK;
        if (kept_is_error) {
            PQclear(r);
        } else {
            if (q->result)
                PQclear(q->result);
            q->result = r;
        }
    }
    if (a->conn.pg && (a->conn.broken || PQstatus(a->conn.pg) != CONNECTION_OK))
        lose(a); /* what is still in flight fails with DB_UNAVAILABLE: its callers go the blocking way */
}

int db_async_in_flight(const struct db_async *a)
{
    return a ? a->in_flight : 0;
}
