/* db_async.c - a pipelined, non-blocking PostgreSQL connection per event-loop thread. See db_async.h.
 *
 * The connection stays in pipeline mode. A query is [Parse] Bind Execute; the queries sent in one loop
 * iteration share one Sync (a batch, db_async_sync; at most DB_ASYNC_BATCH_MAX), because PostgreSQL
 * ends a transaction and writes its socket once per Sync, not once per query: measured, this took a
 * third of PostgreSQL's system time and a quarter of ours off the availability benchmark. A query's
 * results end with its last command's, so it is answered before the Sync's PGRES_PIPELINE_SYNC
 * arrives. The batch runs as one implicit transaction, each statement with its own snapshot (READ
 * COMMITTED), so reads see what they would alone. A failing query makes PostgreSQL skip the rest of
 * its batch up to the Sync: it gets its own error, the skipped ones DB_UNAVAILABLE (their callers go
 * the blocking way), and the connection goes on unless a skipped query carried a Parse.
 * A transaction is BEGIN, its statements (each [Parse] Bind Execute) and COMMIT before a Sync of its
 * own (an open batch is closed first), so a neighbour's error never fails it, nor its error them. An
 * error inside it leaves the session in a failed transaction after the Sync (PostgreSQL's rule for an
 * explicit transaction in a pipeline), and whatever was sent behind it would fail too: the connection is
 * then dropped, which rolls the transaction back, and the queries behind it go the blocking way. A COMMIT
 * that fails (the deferred claim trigger) ends its transaction, so the connection goes on.
 * The connection is opened by db_pg_connect, with the same settings as the pool's. */
#include "db_async.h"

#include "../core/clock.h"
#include "../core/log.h"
#include "db_internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ASYNC_STMTS 16    /* distinct statements prepared on one connection */
#define ASYNC_COMMANDS 64 /* commands (Parse or statement) in one query or transaction */

struct query {
    db_async_done done;
    void *data;
    int mine;          /* the command whose result the caller gets */
    int ncommands;     /* commands sent before the Sync */
    int seen;          /* commands whose results are complete */
    uint64_t prepares; /* bit k: command k is a Parse */
    int error_at;      /* the command that failed first, -1: none */
    int synced;        /* a Sync of its own follows (else it shares the batch's, see db_async_sync) */
    int aborted;       /* skipped by PostgreSQL after an earlier query's error in its batch */
    PGresult *result;  /* command `mine`'s result */
    PGresult *error;   /* the first error */
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
    int unsynced;                      /* queries sent since the last Sync (the open batch) */
    const char *stmt_sql[ASYNC_STMTS]; /* prepared statements "a0".. by sql pointer */
    int nstmts;
    double last_connect_attempt; /* monotonic seconds; 0: never */
};

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
    a->in_flight = a->unsynced = 0;
    while (q) {
        struct query *next = q->next;
        if (q->result)
            PQclear(q->result);
        if (q->error)
            PQclear(q->error);
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
    double now = clock_mono_s();
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

/* Ready to send: connected (or connecting now) and in a sane state. */
static int usable(struct db_async *a)
{
    if (!a->conn.pg && connect_now(a) != DB_OK)
        return 0;
    if (PQstatus(a->conn.pg) != CONNECTION_OK) {
        lose(a);
        return 0;
    }
    return 1;
}

/* Queues [Parse] Bind Execute of one statement on q; 0, or -1 when libpq refused (the connection is
 * then lost by the caller) or a limit was reached (*full set, nothing sent). */
static int send_statement(struct db_async *a, struct query *q, const char *sql, int n,
                          const char *const *params, int *full)
{
    int idx = -1;
    for (int i = 0; i < a->nstmts; i++)
        if (a->stmt_sql[i] == sql)
            idx = i;
    char name[16];
    if (q->ncommands + 2 > ASYNC_COMMANDS || (idx < 0 && a->nstmts >= ASYNC_STMTS)) {
        *full = 1;
        return -1;
    }
    if (idx < 0) {
        idx = a->nstmts;
        snprintf(name, sizeof name, "a%d", idx);
        /* queued ahead of the statement in the same pipeline: PostgreSQL runs them in order */
        if (!PQsendPrepare(a->conn.pg, name, sql, n, NULL))
            return -1;
        a->stmt_sql[a->nstmts++] = sql;
        q->prepares |= (uint64_t)1 << q->ncommands;
        q->ncommands++;
    }
    snprintf(name, sizeof name, "a%d", idx);
    if (!PQsendQueryPrepared(a->conn.pg, name, n, params, NULL, NULL, 0))
        return -1;
    q->ncommands++;
    return 0;
}

static struct query *new_query(db_async_done done, void *data)
{
    struct query *q = calloc(1, sizeof *q);
    if (!q)
        abort();
    q->done = done;
    q->data = data;
    q->error_at = -1;
    return q;
}

/* Ends the open batch with its Sync. 0, or -1 when libpq refused (the caller loses the connection). */
static int close_batch(struct db_async *a)
{
    if (!a->unsynced)
        return 0;
    a->unsynced = 0;
    /* the batch's last query is still queued: its results cannot come before its bytes are sent */
    if (!a->tail || !PQpipelineSync(a->conn.pg))
        return -1;
    a->tail->synced = 1;
    return 0;
}

void db_async_sync(struct db_async *a)
{
    if (!a || !a->conn.pg || !a->unsynced)
        return;
    if (close_batch(a) < 0 || flush(a) < 0)
        lose(a);
}

static void append(struct db_async *a, struct query *q)
{
    if (a->tail)
        a->tail->next = q;
    else
        a->head = q;
    a->tail = q;
    a->in_flight++;
}

/* The commands of transaction q are queued: add its Sync, append q, and push the bytes out. */
static int enqueue(struct db_async *a, struct query *q)
{
    if (!PQpipelineSync(a->conn.pg)) {
        free(q);
        lose(a);
        return DB_UNAVAILABLE;
    }
    q->synced = 1;
    append(a, q);
    if (flush(a) < 0)
        lose(a); /* the callback of this query runs too: it was queued */
    return DB_OK;
}

int db_async_query(struct db_async *a, const char *sql, int n, const char *const *params, db_async_done done,
                   void *data)
{
    if (!a || a->in_flight >= DB_ASYNC_MAX_IN_FLIGHT)
        return DB_BUSY;
    if (!usable(a))
        return DB_UNAVAILABLE;
    struct query *q = new_query(done, data);
    int full = 0;
    if (send_statement(a, q, sql, n, params, &full) < 0) {
        free(q);
        if (full)
            return DB_BUSY;
        lose(a);
        return DB_UNAVAILABLE;
    }
    q->mine = q->ncommands - 1;
    append(a, q);
    if (++a->unsynced >= DB_ASYNC_BATCH_MAX)
        db_async_sync(a);
    return DB_OK;
}

struct db_conn *db_async_journal(struct db_async *a)
{
    db_conn_clear_deferred(&a->conn);
    a->conn.in_tx = 1; /* db_defer queues, and never sends: only db_async_tx does */
    return &a->conn;
}

int db_async_tx(struct db_async *a, const char *sql, int n, const char *const *params, db_async_done done,
                void *data)
{
    static const char *begin = "BEGIN", *commit = "COMMIT";
    int rc = DB_OK;
    struct query *q = NULL;
    if (!a || a->in_flight >= DB_ASYNC_MAX_IN_FLIGHT)
        rc = DB_BUSY;
    else if (!usable(a))
        rc = DB_UNAVAILABLE;
    if (rc != DB_OK)
        goto out;
    if (close_batch(a) < 0) {
        lose(a);
        rc = DB_UNAVAILABLE;
        goto out;
    }
    q = new_query(done, data);
    int full = 0, failed = !PQsendQueryParams(a->conn.pg, begin, 0, NULL, NULL, NULL, NULL, 0);
    q->ncommands++;
    for (int i = 0; i < a->conn.ndeferred && !failed; i++) {
        const struct db_deferred *d = &a->conn.deferred[i];
        failed = send_statement(a, q, d->sql, d->n, (const char *const *)d->params, &full) < 0;
    }
    failed = failed || send_statement(a, q, sql, n, params, &full) < 0;
    q->mine = q->ncommands - 1;
    failed = failed || !PQsendQueryParams(a->conn.pg, commit, 0, NULL, NULL, NULL, NULL, 0);
    q->ncommands++;
    if (failed) {
        /* commands may be queued in libpq already: this connection cannot be trusted any more */
        free(q);
        lose(a);
        rc = DB_UNAVAILABLE;
        goto out;
    }
    rc = enqueue(a, q);
out:
    db_conn_clear_deferred(&a->conn);
    a->conn.in_tx = 0;
    return rc;
}

/* One query's results are complete (its own Sync has answered, or, in a batch, its last command's
 * results have ended): run its callback. */
static void finish_head(struct db_async *a)
{
    struct query *q = a->head;
    if (!(a->head = q->next))
        a->tail = NULL;
    a->in_flight--;
    struct db_result *r = NULL;
    int rc = DB_OK;
    if (q->aborted) {
        /* an earlier query of the batch failed: this one did not run; its caller goes the blocking
         * way, and a Parse it carried was skipped, which the statement cache cannot tell */
        if (q->result)
            PQclear(q->result);
        q->result = NULL;
        rc = DB_UNAVAILABLE;
        if (q->prepares)
            a->conn.broken = 1;
    } else if (q->error) {
        rc = db_pg_finish(&a->conn, q->error, NULL); /* frees it; sets the error text */
        if (q->error_at < 0 || q->error_at >= ASYNC_COMMANDS || (q->prepares >> q->error_at) != 0) {
            /* a Parse of this query failed, or was skipped after the error, and the statement cache
             * cannot tell: start over on a fresh connection (a failed COMMIT after them is fine) */
            log_warn("database: asynchronous query failed while preparing: %s", a->conn.error);
            a->conn.broken = 1;
        }
    }
    if (q->aborted) {
    } else if (q->result) {
        int src = db_pg_finish(&a->conn, q->result, &r);
        if (rc == DB_OK)
            rc = src;
    } else if (rc == DB_OK) {
        rc = DB_ERR; /* no result and no error: out of step */
        a->conn.broken = 1;
    }
    q->result = q->error = NULL;
    if (PQtransactionStatus(a->conn.pg) == PQTRANS_INERROR)
        a->conn.broken = 1; /* a failed transaction: what was sent behind it would fail (see the top) */
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
    while (a->head && a->conn.pg && !a->conn.broken && !PQisBusy(a->conn.pg)) {
        PGresult *r = PQgetResult(a->conn.pg);
        struct query *q = a->head;
        if (!r) {
            q->seen++; /* the end of one command's results */
            if (!q->synced && q->seen == q->ncommands)
                finish_head(a); /* its batch's Sync comes after a later query */
            continue;
        }
        ExecStatusType st = PQresultStatus(r);
        if (st == PGRES_PIPELINE_SYNC) {
            PQclear(r);
            if (!q->synced) {
                a->conn.broken = 1; /* out of step: a Sync before its query's results ended */
                break;
            }
            finish_head(a);
            continue;
        }
        if (st == PGRES_PIPELINE_ABORTED) {
            PQclear(r); /* skipped after an earlier error: q->error holds it, or an earlier query's did */
            if (!q->error)
                q->aborted = 1;
        } else if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
            if (!q->error) {
                q->error = r;
                q->error_at = q->seen;
            } else {
                PQclear(r);
            }
        } else if (q->seen == q->mine && !q->result) {
            q->result = r;
        } else {
            PQclear(r);
        }
    }
    if (a->conn.pg && (a->conn.broken || PQstatus(a->conn.pg) != CONNECTION_OK))
        lose(a); /* what is still in flight fails with DB_UNAVAILABLE: its callers go the blocking way */
}
