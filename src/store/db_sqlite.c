/* db_sqlite.c - the SQLite engine: WAL, busy timeout, $N placeholders rewritten to ?N, statements
 * cached per connection, results copied out so the statement can be reset at once. */
#include "db_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUSY_TIMEOUT_MS 5000
#define MAX_RESULT_CELLS 1000000

static void set_error(struct db_conn *c)
{
    snprintf(c->error, sizeof c->error, "%s", c->lite ? sqlite3_errmsg(c->lite) : "not open");
}

static int map_rc(struct db_conn *c, int rc)
{
    switch (rc & 0xff) {
    case SQLITE_OK:
    case SQLITE_DONE:
    case SQLITE_ROW:
        return DB_OK;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        set_error(c);
        return DB_BUSY;
    case SQLITE_CONSTRAINT:
        set_error(c);
        /* the no-overlap triggers RAISE(ABORT) -> SQLITE_CONSTRAINT_TRIGGER */
        if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY ||
            rc == SQLITE_CONSTRAINT_TRIGGER)
            return DB_CONFLICT;
        return DB_ERR;
    case SQLITE_CANTOPEN:
    case SQLITE_IOERR:
    case SQLITE_FULL:
        set_error(c);
        return DB_UNAVAILABLE;
    default:
        set_error(c);
        return DB_ERR;
    }
}

int db_sqlite_connect(struct db_conn *c)
{
    int rc = sqlite3_open_v2(c->cfg->sqlite_path, &c->lite,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        set_error(c);
        sqlite3_close(c->lite);
        c->lite = NULL;
        return DB_UNAVAILABLE;
    }
    sqlite3_extended_result_codes(c->lite, 1);
    sqlite3_busy_timeout(c->lite, BUSY_TIMEOUT_MS);
    rc = sqlite3_exec(c->lite, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
                      NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        set_error(c);
        sqlite3_close(c->lite);
        c->lite = NULL;
        return DB_UNAVAILABLE;
    }
    return DB_OK;
}

void db_sqlite_disconnect(struct db_conn *c)
{
    for (int i = 0; i < c->nstmts; i++)
        sqlite3_finalize(c->stmts[i].handle);
    c->nstmts = 0;
    if (c->lite)
        sqlite3_close(c->lite);
    c->lite = NULL;
}

/* $N outside quotes -> ?N, so one SQL text serves both engines. Returns a malloc()ed string. */
static char *rewrite_placeholders(const char *sql)
{
    size_t n = strlen(sql);
    char *out = malloc(n + 1);
    if (!out)
        abort();
    char quote = 0;
    for (size_t i = 0; i <= n; i++) {
        char ch = sql[i];
        if (quote) {
            if (ch == quote)
                quote = 0;
        } else if (ch == '\'' || ch == '"') {
            quote = ch;
        } else if (ch == '$' && sql[i + 1] >= '0' && sql[i + 1] <= '9') {
            ch = '?';
        }
        out[i] = ch;
    }
    return out;
}

static sqlite3_stmt *prepared(struct db_conn *c, const char *sql, int *rc)
{
    for (int i = 0; i < c->nstmts; i++)
        if (c->stmts[i].sql == sql)
            return c->stmts[i].handle;
    char *text = rewrite_placeholders(sql);
    sqlite3_stmt *st = NULL;
    int r = sqlite3_prepare_v3(c->lite, text, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL);
    free(text);
    if (r != SQLITE_OK) {
        *rc = map_rc(c, r);
        if (*rc == DB_OK)
            *rc = DB_ERR;
        return NULL;
    }
    if (c->nstmts < DB_STMT_CACHE) {
        c->stmts[c->nstmts].sql = sql;
        c->stmts[c->nstmts].handle = st;
        c->nstmts++;
    }
    return st;
}

static int cached(struct db_conn *c, sqlite3_stmt *st)
{
    for (int i = 0; i < c->nstmts; i++)
        if (c->stmts[i].handle == st)
            return 1;
    return 0;
}

int db_sqlite_exec(struct db_conn *c, const char *sql, int n, const char *const *params,
                   struct db_result **out)
{
    if (!c->lite) {
        c->broken = 1;
        return DB_UNAVAILABLE;
    }
    int rc = DB_OK;
    sqlite3_stmt *st = prepared(c, sql, &rc);
    if (!st)
        return rc;
    for (int i = 0; i < n; i++) {
        int br = params[i] ? sqlite3_bind_text(st, i + 1, params[i], -1, SQLITE_TRANSIENT)
                           : sqlite3_bind_null(st, i + 1);
        if (br != SQLITE_OK && br != SQLITE_RANGE) {
            rc = map_rc(c, br);
            goto out;
        }
    }
    struct db_result *res = NULL;
    int cols = sqlite3_column_count(st);
    size_t cap = 0;
    if (out) {
        res = calloc(1, sizeof *res);
        if (!res)
            abort();
        res->engine = DB_ENGINE_SQLITE;
        res->cols = cols;
    }
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        if (!res)
            continue;
        size_t need = (size_t)(res->rows + 1) * (size_t)cols;
        if (need > MAX_RESULT_CELLS) {
            snprintf(c->error, sizeof c->error, "result larger than %d cells", MAX_RESULT_CELLS);
            db_result_free(res);
            res = NULL;
            rc = DB_ERR;
            goto out;
        }
        if (need > cap) {
            cap = cap ? cap * 2 : (size_t)cols * 16;
            if (cap < need)
                cap = need;
            char **cells = realloc(res->cells, cap * sizeof *cells);
            if (!cells)
                abort();
            res->cells = cells;
        }
        for (int col = 0; col < cols; col++) {
            const unsigned char *v = sqlite3_column_text(st, col);
            char *copy = NULL;
            if (v) {
                copy = strdup((const char *)v);
                if (!copy)
                    abort();
            }
            res->cells[res->rows * cols + col] = copy;
        }
        res->rows++;
    }
    rc = map_rc(c, step);
    if (rc != DB_OK) {
        db_result_free(res);
        res = NULL;
    }
    if (out)
        *out = res;
out:
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (!cached(c, st))
        sqlite3_finalize(st);
    return rc;
}

int db_sqlite_script(struct db_conn *c, const char *sql)
{
    if (!c->lite)
        return DB_UNAVAILABLE;
    return map_rc(c, sqlite3_exec(c->lite, sql, NULL, NULL, NULL));
}
