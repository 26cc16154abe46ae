/* db_pg.c - the PostgreSQL engine: libpq, prepared statements cached per connection, SQLSTATE mapping. */
#include "db_internal.h"

#include "../core/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int map_sqlstate(const char *state)
{
    if (!state)
        return DB_ERR;
    if (strcmp(state, "23505") == 0 || strcmp(state, "23P01") == 0)
        return DB_CONFLICT; /* unique_violation, exclusion_violation */
    if (strcmp(state, "40P01") == 0 || strcmp(state, "40001") == 0 || strcmp(state, "55P03") == 0)
        return DB_BUSY; /* deadlock, serialization failure, lock not available */
    if (strncmp(state, "08", 2) == 0 || strcmp(state, "57P01") == 0 || strcmp(state, "57P03") == 0)
        return DB_UNAVAILABLE; /* connection exception, admin shutdown, cannot connect now */
    return DB_ERR;
}

static void set_error(struct db_conn *c, const char *msg)
{
    snprintf(c->error, sizeof c->error, "%s", msg ? msg : "unknown error");
    size_t n = strlen(c->error);
    while (n > 0 && (c->error[n - 1] == '\n' || c->error[n - 1] == ' '))
        c->error[--n] = '\0';
}

/* Server notices (e.g. "terminating connection") go to our log, not raw to stderr. */
static void on_notice(void *arg, const char *message)
{
    (void)arg;
    char msg[512];
    snprintf(msg, sizeof msg, "%s", message);
    size_t n = strlen(msg);
    while (n > 0 && msg[n - 1] == '\n')
        msg[--n] = '\0';
    log_info("postgresql: %s", msg);
}

int db_pg_connect(struct db_conn *c)
{
    char timeout[16];
    snprintf(timeout, sizeof timeout, "%d", c->cfg->db_connect_timeout_s);
    /* ISO dates and UTC, whatever the server's defaults: the store parses dates as YYYY-MM-DD text. */
    const char *keys[] = {"dbname", "connect_timeout", "application_name", "options", NULL};
    const char *vals[] = {c->cfg->database_url, timeout, "cabanas", "-c DateStyle=ISO,YMD -c TimeZone=UTC",
                          NULL};
    /* expand_dbname=1: the URL in "dbname" is parsed as a connection string; later keys fill the gaps */
    c->pg = PQconnectdbParams(keys, vals, 1);
    if (!c->pg)
        abort();
    if (PQstatus(c->pg) != CONNECTION_OK) {
        set_error(c, PQerrorMessage(c->pg));
        PQfinish(c->pg);
        c->pg = NULL;
        return DB_UNAVAILABLE;
    }
    PQsetNoticeProcessor(c->pg, on_notice, NULL);
    return DB_OK;
}

void db_pg_disconnect(struct db_conn *c)
{
    for (int i = 0; i < c->nstmts; i++)
        free(c->stmts[i].handle);
    c->nstmts = 0;
    if (c->pg)
        PQfinish(c->pg);
    c->pg = NULL;
}

/* The cached statement name for `sql`, preparing it on first use. NULL when the cache is full (the
 * statement then runs unprepared) or preparing failed (error set, *rc set). */
static const char *prepared_name(struct db_conn *c, const char *sql, int n, int *rc)
{
    for (int i = 0; i < c->nstmts; i++)
        if (c->stmts[i].sql == sql)
            return c->stmts[i].handle;
    if (c->nstmts >= DB_STMT_CACHE)
        return NULL;
    char *name = malloc(16);
    if (!name)
        abort();
    snprintf(name, 16, "s%d", c->nstmts);
    PGresult *r = PQprepare(c->pg, name, sql, n, NULL);
    if (!r || PQresultStatus(r) != PGRES_COMMAND_OK) {
        set_error(c, r ? PQresultErrorMessage(r) : PQerrorMessage(c->pg));
        *rc = r ? map_sqlstate(PQresultErrorField(r, PG_DIAG_SQLSTATE)) : DB_UNAVAILABLE;
        if (PQstatus(c->pg) != CONNECTION_OK)
            *rc = DB_UNAVAILABLE;
        PQclear(r);
        free(name);
        return NULL;
    }
    PQclear(r);
    c->stmts[c->nstmts].sql = sql;
    c->stmts[c->nstmts].handle = name;
    c->nstmts++;
    return name;
}

int db_pg_finish(struct db_conn *c, PGresult *r, struct db_result **out)
{
    ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
        if (out) {
            struct db_result *res = calloc(1, sizeof *res);
            if (!res)
                abort();
            res->engine = DB_ENGINE_POSTGRES;
            res->pg = r;
            *out = res;
        } else {
            PQclear(r);
        }
        return DB_OK;
    }
    set_error(c, r ? PQresultErrorMessage(r) : PQerrorMessage(c->pg));
    int rc = r ? map_sqlstate(PQresultErrorField(r, PG_DIAG_SQLSTATE)) : DB_UNAVAILABLE;
    if (PQstatus(c->pg) != CONNECTION_OK) {
        rc = DB_UNAVAILABLE;
        c->broken = 1;
    }
    PQclear(r);
    return rc;
}

int db_pg_exec(struct db_conn *c, const char *sql, int n, const char *const *params, struct db_result **out)
{
    if (!c->pg) {
        c->broken = 1;
        set_error(c, "not connected");
        return DB_UNAVAILABLE;
    }
    int rc = DB_OK;
    const char *name = prepared_name(c, sql, n, &rc);
    if (rc != DB_OK) {
        if (rc == DB_UNAVAILABLE)
            c->broken = 1;
        return rc;
    }
    PGresult *r = name ? PQexecPrepared(c->pg, name, n, params, NULL, NULL, 0)
                       : PQexecParams(c->pg, sql, n, NULL, params, NULL, NULL, 0);
    return db_pg_finish(c, r, out);
}

int db_pg_script(struct db_conn *c, const char *sql)
{
    if (!c->pg)
        return DB_UNAVAILABLE;
    return db_pg_finish(c, PQexec(c->pg, sql), NULL);
}

int db_pg_alive(struct db_conn *c)
{
    if (!c->pg || PQstatus(c->pg) != CONNECTION_OK)
        return 0;
    /* a closing server sends a FATAL message and then EOF: read, let libpq parse, read again */
    for (int i = 0; i < 2; i++) {
        if (!PQconsumeInput(c->pg))
            return 0;
        (void)PQisBusy(c->pg);
        PGresult *r;
        while ((r = PQgetResult(c->pg)) != NULL) /* nothing is expected on an idle connection */
            PQclear(r);
    }
    return PQstatus(c->pg) == CONNECTION_OK;
}

/* Queues one statement on the pipeline (prepared when the cache allows). 1 on success. */
static int send_one(struct db_conn *c, const char *sql, int n, const char *const *params, const char *name)
{
    return name ? PQsendQueryPrepared(c->pg, name, n, params, NULL, NULL, 0)
                : PQsendQueryParams(c->pg, sql, n, NULL, params, NULL, NULL, 0);
}

int db_pg_pipeline(struct db_conn *c, const char *sql, int n, const char *const *params, const char *tail,
                   struct db_result **out)
{
    if (!c->pg) {
        c->broken = 1;
        set_error(c, "not connected");
        return DB_UNAVAILABLE;
    }
    /* the statements in order: the deferred ones, then sql (index `mine`), then tail */
    int mine = sql ? c->ndeferred : -1;
    int total = c->ndeferred + (sql ? 1 : 0) + (tail ? 1 : 0);
    const char *names[DB_DEFER_MAX + 2];
    int rc = DB_OK;
    /* PQprepare is synchronous: prepare first uses outside the pipeline (once per connection) */
    for (int i = 0; i < total; i++) {
        const char *q = i < c->ndeferred ? c->deferred[i].sql : i == mine ? sql : tail;
        int np = i < c->ndeferred ? c->deferred[i].n : i == mine ? n : 0;
        names[i] = prepared_name(c, q, np, &rc);
        if (rc != DB_OK) {
            if (rc == DB_UNAVAILABLE)
                c->broken = 1;
            return rc;
        }
    }
    if (!PQenterPipelineMode(c->pg)) {
        set_error(c, PQerrorMessage(c->pg));
        c->broken = 1;
        return DB_UNAVAILABLE;
    }
    int sent = 1;
    for (int i = 0; i < total && sent; i++) {
        if (i < c->ndeferred)
            sent = send_one(c, c->deferred[i].sql, c->deferred[i].n,
                            (const char *const *)c->deferred[i].params, names[i]);
        else if (i == mine)
            sent = send_one(c, sql, n, params, names[i]);
        else
            sent = send_one(c, tail, 0, NULL, names[i]);
    }
    if (!sent || !PQpipelineSync(c->pg)) {
        set_error(c, PQerrorMessage(c->pg));
        c->broken = 1;
        return DB_UNAVAILABLE;
    }
    /* every statement answers with its result(s) and a NULL, then the sync point answers */
    for (int i = 0; i < total; i++) {
        PGresult *r, *first = NULL;
        while ((r = PQgetResult(c->pg)) != NULL) {
            if (!first)
                first = r;
            else
                PQclear(r);
        }
        if (!first) {
            set_error(c, PQerrorMessage(c->pg));
            c->broken = 1;
            return DB_UNAVAILABLE;
        }
        if (PQresultStatus(first) == PGRES_PIPELINE_ABORTED) {
            PQclear(first);
            continue; /* skipped after an earlier error, which rc already holds */
        }
        int src = db_pg_finish(c, first, i == mine ? out : NULL);
        if (rc == DB_OK)
            rc = src;
        if (c->broken)
            return DB_UNAVAILABLE;
    }
    PGresult *r = PQgetResult(c->pg);
    int synced = r && PQresultStatus(r) == PGRES_PIPELINE_SYNC;
    PQclear(r);
    if (!synced || !PQexitPipelineMode(c->pg)) {
        set_error(c, PQerrorMessage(c->pg));
        c->broken = 1;
        return DB_UNAVAILABLE;
    }
    return rc;
}
