/* db.c - the connection pool and the engine-neutral entry points.
 *
 * The pool holds DB_POOL_SIZE connection slots, opened on first use. A slot whose connection was lost is
 * reopened when next acquired; while the database is down, reconnects are attempted at most once per
 * second per process and callers get DB_UNAVAILABLE at once instead of waiting on connect timeouts. */
#include "db_internal.h"

#include "../core/clock.h"

#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define ACQUIRE_TIMEOUT_MS 5000

struct db {
    const struct config *cfg;
    enum db_engine engine;
    /* the free list and the counters; held for a few instructions, never while waiting */
    pthread_mutex_t lock;
    sem_t free_slots; /* counts the free list: a borrower sleeps here, not on the lock */
    int size;
    int in_use;
    int open;
    int nfree;
    struct db_conn **free_list;
    struct db_conn *slots;
    double last_connect_fail; /* monotonic seconds */
};

/* sqlite://var/cabanas.db: create ./var if it is missing, so `make run` works on a fresh checkout. */
static int ensure_parent_dir(const char *path, char *err, size_t errlen)
{
    char dir[CONFIG_STR_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir)
        return 0;
    *slash = '\0';
    struct stat st;
    if (stat(dir, &st) == 0)
        return 0;
    if (mkdir(dir, 0750) < 0 && errno != EEXIST) {
        snprintf(err, errlen, "cannot create directory %s: %s", dir, strerror(errno));
        return -1;
    }
    return 0;
}

int db_open(const struct config *cfg, struct db **out, char *err, size_t errlen)
{
    struct db *db = calloc(1, sizeof *db);
    if (!db)
        abort();
    db->cfg = cfg;
    db->engine = cfg->db_engine;
    db->size = cfg->db_pool_size;
    db->slots = calloc((size_t)db->size, sizeof *db->slots);
    db->free_list = calloc((size_t)db->size, sizeof *db->free_list);
    if (!db->slots || !db->free_list)
        abort();
    for (int i = 0; i < db->size; i++) {
        db->slots[i].engine = db->engine;
        db->slots[i].cfg = cfg;
        db->slots[i].db = db;
        db->slots[i].broken = 1; /* not yet open */
        db->free_list[db->nfree++] = &db->slots[i];
    }
    pthread_mutex_init(&db->lock, NULL);
    sem_init(&db->free_slots, 0, (unsigned)db->size);
    if (db->engine == DB_ENGINE_SQLITE && ensure_parent_dir(cfg->sqlite_path, err, errlen) < 0) {
        db_close(db);
        return DB_ERR;
    }
    *out = db;
    return DB_OK;
}

void db_conn_clear_deferred(struct db_conn *c)
{
    for (int i = 0; i < c->ndeferred; i++)
        for (int k = 0; k < c->deferred[i].n; k++)
            free(c->deferred[i].params[k]);
    c->ndeferred = 0;
}

static void conn_disconnect(struct db *db, struct db_conn *c)
{
    if (c->pg || c->lite)
        __atomic_sub_fetch(&db->open, 1, __ATOMIC_RELAXED);
    if (c->engine == DB_ENGINE_POSTGRES)
        db_pg_disconnect(c);
    else
        db_sqlite_disconnect(c);
    c->nstmts = 0;
    c->in_tx = 0;
    c->tx_sent = 0; /* the deferred queue is kept: pg_flush() retries it on the new connection */
}

void db_close(struct db *db)
{
    if (!db)
        return;
    for (int i = 0; i < db->size; i++)
        conn_disconnect(db, &db->slots[i]);
    pthread_mutex_destroy(&db->lock);
    sem_destroy(&db->free_slots);
    free(db->slots);
    free(db->free_list);
    free(db);
}

const struct config *db_config_of(const struct db *db)
{
    return db->cfg;
}

enum db_engine db_engine_of(const struct db *db)
{
    return db->engine;
}

enum db_engine db_conn_engine(const struct db_conn *conn)
{
    return conn->engine;
}

static int conn_connect(struct db *db, struct db_conn *c)
{
    conn_disconnect(db, c);
    int rc = c->engine == DB_ENGINE_POSTGRES ? db_pg_connect(c) : db_sqlite_connect(c);
    pthread_mutex_lock(&db->lock);
    if (rc == DB_OK) {
        c->broken = 0;
        __atomic_add_fetch(&db->open, 1, __ATOMIC_RELAXED);
        db->last_connect_fail = 0;
    } else {
        c->broken = 1;
        db->last_connect_fail = clock_mono_s();
    }
    pthread_mutex_unlock(&db->lock);
    return rc;
}

int db_acquire(struct db *db, struct db_conn **out)
{
    /* With more handler threads than connections, borrowers wait. A semaphore wakes exactly one of them per
     * release, with no lock to re-take: a mutex and condition variable cost 4-5 futex calls per request
     * under the availability benchmark (HTTP_THREADS 8, DB_POOL_SIZE 4 then), nearly all of cabanas' futex
     * calls. A free slot is taken without a system call. */
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += ACQUIRE_TIMEOUT_MS / 1000;
    while (sem_clockwait(&db->free_slots, CLOCK_MONOTONIC, &deadline) != 0) {
        if (errno != EINTR)
            return DB_TIMEOUT;
    }
    pthread_mutex_lock(&db->lock);
    struct db_conn *c = db->free_list[--db->nfree];
    db->in_use++;
    double last_fail = db->last_connect_fail;
    pthread_mutex_unlock(&db->lock);

    if (c->broken) {
        if (last_fail > 0 && clock_mono_s() - last_fail < 1.0) {
            db_release(db, c);
            return DB_UNAVAILABLE;
        }
        if (conn_connect(db, c) != DB_OK) {
            db_release(db, c);
            return DB_UNAVAILABLE;
        }
    }
    *out = c;
    return DB_OK;
}

void db_release(struct db *db, struct db_conn *c)
{
    if (!c)
        return;
    if (c->in_tx && !c->broken) {
        /* A caller that forgot to finish its transaction must not hand it to the next one. */
        db_rollback(c);
    }
    db_conn_clear_deferred(c);
    if (c->broken)
        conn_disconnect(db, c);
    pthread_mutex_lock(&db->lock);
    db->free_list[db->nfree++] = c;
    db->in_use--;
    pthread_mutex_unlock(&db->lock);
    sem_post(&db->free_slots);
}

static int queue(struct db_conn *c, const char *sql, int n, const char *const *params)
{
    struct db_deferred *d = &c->deferred[c->ndeferred++];
    d->sql = sql;
    d->n = n;
    for (int k = 0; k < n; k++) {
        d->params[k] = params[k] ? strdup(params[k]) : NULL;
        if (params[k] && !d->params[k])
            abort();
    }
    return DB_OK;
}

/* PostgreSQL: the deferred statements, then `sql`, in one round trip. A transaction whose BEGIN had not
 * reached the server yet is retried once on a fresh connection after a lost one: nothing of it ran. */
static int pg_flush(struct db_conn *c, const char *sql, int n, const char *const *params, const char *tail,
                    struct db_result **out)
{
    int begins = c->in_tx && !c->tx_sent;
    if (begins && tail && !db_pg_alive(c) && conn_connect(c->db, c) == DB_OK)
        c->in_tx = 1; /* a server that closed this connection while it idled: start on a fresh one */
    int rc = db_pg_pipeline(c, sql, n, params, tail, out);
    /* Nothing of a transaction whose BEGIN had not been sent ran when the connection turns out lost, so it
     * can be sent again on a fresh one; unless it ends with its COMMIT, which may have run. */
    if (rc == DB_UNAVAILABLE && begins && !tail && conn_connect(c->db, c) == DB_OK) {
        c->in_tx = 1;
        rc = db_pg_pipeline(c, sql, n, params, tail, out);
    }
    if (rc != DB_UNAVAILABLE && begins)
        c->tx_sent = 1;
    db_conn_clear_deferred(c);
    return rc;
}

int db_exec(struct db_conn *c, const char *sql, int n, const char *const *params, struct db_result **out)
{
    if (out)
        *out = NULL;
    if (n > DB_MAX_PARAMS)
        return DB_ERR;
    if (c->engine == DB_ENGINE_SQLITE)
        return db_sqlite_exec(c, sql, n, params, out);
    if (c->ndeferred)
        return pg_flush(c, sql, n, params, NULL, out);
    int rc = db_pg_exec(c, sql, n, params, out);
    if (rc == DB_UNAVAILABLE && !c->in_tx) {
        /* The server restarted under us: reconnect once and retry, invisible to the caller. */
        if (conn_connect(c->db, c) == DB_OK)
            rc = db_pg_exec(c, sql, n, params, out);
    }
    return rc;
}

int db_defer(struct db_conn *c, const char *sql, int n, const char *const *params)
{
    if (n > DB_MAX_PARAMS)
        return DB_ERR;
    if (c->engine == DB_ENGINE_SQLITE || !c->in_tx)
        return db_exec(c, sql, n, params, NULL);
    if (c->ndeferred == DB_DEFER_MAX) {
        int rc = pg_flush(c, NULL, 0, NULL, NULL, NULL);
        if (rc != DB_OK)
            return rc;
    }
    return queue(c, sql, n, params);
}

int db_exec_once(struct db *db, const char *sql, int n, const char *const *params, struct db_result **out)
{
    struct db_conn *c = NULL;
    if (out)
        *out = NULL;
    int rc = db_acquire(db, &c);
    if (rc != DB_OK)
        return rc;
    rc = db_exec(c, sql, n, params, out);
    db_release(db, c);
    return rc;
}

int db_exec_script(struct db_conn *c, const char *sql)
{
    return c->engine == DB_ENGINE_SQLITE ? db_sqlite_script(c, sql) : db_pg_script(c, sql);
}

static const char *pg_rollback = "ROLLBACK";

int db_begin(struct db_conn *c)
{
    static const char *pg_begin = "BEGIN", *lite_begin = "BEGIN IMMEDIATE";
    if (c->engine == DB_ENGINE_POSTGRES) {
        /* sent with the transaction's first statement, not in a round trip of its own */
        db_conn_clear_deferred(c);
        c->in_tx = 1;
        c->tx_sent = 0;
        return queue(c, pg_begin, 0, NULL);
    }
    int rc = db_exec(c, lite_begin, 0, NULL, NULL);
    if (rc == DB_OK)
        c->in_tx = 1;
    return rc;
}

/* PostgreSQL: ends the transaction after its COMMIT round trip answered rc. When a statement sent with it
 * failed, the server skipped the COMMIT and the aborted transaction is still open: roll it back (when the
 * COMMIT itself failed the transaction is already over, and this only draws a warning). */
static int pg_end_tx(struct db_conn *c, int rc)
{
    if (rc != DB_OK && !c->broken && c->tx_sent)
        db_pg_exec(c, pg_rollback, 0, NULL, NULL);
    c->in_tx = 0;
    c->tx_sent = 0;
    return rc;
}

int db_commit(struct db_conn *c)
{
    static const char *sql = "COMMIT";
    if (c->engine == DB_ENGINE_SQLITE) {
        int rc = db_exec(c, sql, 0, NULL, NULL);
        if (rc == DB_OK)
            c->in_tx = 0; /* a busy SQLite COMMIT leaves the transaction open */
        return rc;
    }
    return pg_end_tx(c, db_exec(c, sql, 0, NULL, NULL)); /* with the deferred statements, if any */
}

int db_exec_commit(struct db_conn *c, const char *sql, int n, const char *const *params,
                   struct db_result **out)
{
    if (out)
        *out = NULL;
    if (n > DB_MAX_PARAMS || !c->in_tx) {
        db_rollback(c);
        return DB_ERR;
    }
    if (c->engine == DB_ENGINE_SQLITE) {
        int rc = db_exec(c, sql, n, params, out);
        if (rc == DB_OK)
            rc = db_commit(c);
        if (rc != DB_OK && c->in_tx)
            db_rollback(c);
        return rc;
    }
    return pg_end_tx(c, pg_flush(c, sql, n, params, "COMMIT", out));
}

int db_rollback(struct db_conn *c)
{
    static const char *lite_rollback = "ROLLBACK";
    int was_sent = c->tx_sent;
    db_conn_clear_deferred(c);
    c->in_tx = 0;
    c->tx_sent = 0;
    if (c->engine == DB_ENGINE_SQLITE)
        return db_exec(c, lite_rollback, 0, NULL, NULL);
    if (!was_sent)
        return DB_OK; /* nothing of it reached the server */
    return db_exec(c, pg_rollback, 0, NULL, NULL);
}

const char *db_conn_error(const struct db_conn *c)
{
    return c->error;
}

int db_result_rows(const struct db_result *r)
{
    if (!r)
        return 0;
    return r->engine == DB_ENGINE_POSTGRES ? PQntuples(r->pg) : r->rows;
}

int db_result_cols(const struct db_result *r)
{
    if (!r)
        return 0;
    return r->engine == DB_ENGINE_POSTGRES ? PQnfields(r->pg) : r->cols;
}

const char *db_result_value(const struct db_result *r, int row, int col)
{
    if (!r || row < 0 || col < 0 || row >= db_result_rows(r) || col >= db_result_cols(r))
        return NULL;
    if (r->engine == DB_ENGINE_POSTGRES)
        return PQgetisnull(r->pg, row, col) ? NULL : PQgetvalue(r->pg, row, col);
    return r->cells[row * r->cols + col];
}

void db_result_free(struct db_result *r)
{
    if (!r)
        return;
    if (r->pg)
        PQclear(r->pg);
    if (r->cells) {
        for (int i = 0; i < r->rows * r->cols; i++)
            free(r->cells[i]);
        free(r->cells);
    }
    free(r);
}

int db_ping(struct db *db, double *latency_ms)
{
    static const char *sql = "SELECT 1";
    struct db_conn *c = NULL;
    double t0 = clock_mono_s();
    int rc = db_acquire(db, &c);
    if (rc != DB_OK)
        return rc;
    rc = db_exec(c, sql, 0, NULL, NULL);
    db_release(db, c);
    if (latency_ms)
        *latency_ms = (clock_mono_s() - t0) * 1000.0;
    return rc;
}

int db_pool_size(const struct db *db)
{
    return db->size;
}

int db_pool_in_use(const struct db *db)
{
    return __atomic_load_n(&db->in_use, __ATOMIC_RELAXED);
}

int db_pool_open(const struct db *db)
{
    return __atomic_load_n(&db->open, __ATOMIC_RELAXED);
}

const char *db_strerror(int rc)
{
    switch (rc) {
    case DB_OK:
        return "ok";
    case DB_CONFLICT:
        return "conflict";
    case DB_UNAVAILABLE:
        return "unavailable";
    case DB_BUSY:
        return "busy";
    case DB_TIMEOUT:
        return "pool timeout";
    default:
        return "error";
    }
}
