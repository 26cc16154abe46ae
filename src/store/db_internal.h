/* db_internal.h - what db.c (the pool) and the two engine files share. Not for other modules. */
#ifndef CABANAS_DB_INTERNAL_H
#define CABANAS_DB_INTERNAL_H

#include "db.h"

#include <libpq-fe.h>
#include <sqlite3.h>

#define DB_STMT_CACHE 512
#define DB_DEFER_MAX 16 /* statements queued on one PostgreSQL connection before a flush */

/* A statement whose result nobody reads, held until the next round trip (PostgreSQL only). */
struct db_deferred {
    const char *sql;
    int n;
    char *params[DB_MAX_PARAMS]; /* malloc()ed copies, NULL for SQL NULL */
};

struct stmt_entry {
    const char *sql; /* the caller's static string: the cache key */
    void *handle;    /* sqlite3_stmt*, or a malloc()ed statement name for libpq */
};

struct db_conn {
    enum db_engine engine;
    const struct config *cfg;
    struct db *db; /* the pool this slot belongs to */
    PGconn *pg;
    sqlite3 *lite;
    int in_tx;
    int tx_sent; /* PostgreSQL: the BEGIN of the open transaction has reached the server */
    int broken;  /* lost: reconnect before the next use */
    int ndeferred;
    struct db_deferred deferred[DB_DEFER_MAX];
    int nstmts;
    struct stmt_entry stmts[DB_STMT_CACHE];
    char error[512];
};

struct db_result {
    enum db_engine engine;
    PGresult *pg;
    int rows, cols;
    char **cells; /* SQLite: rows*cols, NULL for SQL NULL */
};

/* engine entry points; each returns a DB_* code */
int db_pg_connect(struct db_conn *c);
void db_pg_disconnect(struct db_conn *c);
int db_pg_exec(struct db_conn *c, const char *sql, int n, const char *const *params, struct db_result **out);
int db_pg_script(struct db_conn *c, const char *sql);
/* A result as a DB_* code: DB_OK wraps it into *out (when out is not NULL; else frees it), anything else
 * sets c's error, marks c broken when the connection is gone, and frees it. */
int db_pg_finish(struct db_conn *c, PGresult *r, struct db_result **out);
/* Reads what an idle connection has received without blocking: 0 when the server has closed it (a
 * restart or an idle timeout), so a statement that must not be retried is not sent into a dead socket. */
int db_pg_alive(struct db_conn *c);
/* Sends the deferred statements, then `sql`, then `tail` (a statement without parameters such as COMMIT;
 * each may be NULL) in one pipeline: one round trip. The server skips what follows an error; the result
 * is the first error. *out gets sql's result when sql succeeded, even if tail then failed. The deferred
 * queue is left for the caller. */
int db_pg_pipeline(struct db_conn *c, const char *sql, int n, const char *const *params, const char *tail,
                   struct db_result **out);

/* Frees the statements deferred on c (db_defer) without sending them. */
void db_conn_clear_deferred(struct db_conn *c);

/* The settings the pool was opened with (db.c). */
const struct config *db_config_of(const struct db *db);

int db_sqlite_connect(struct db_conn *c);
void db_sqlite_disconnect(struct db_conn *c);
int db_sqlite_exec(struct db_conn *c, const char *sql, int n, const char *const *params,
                   struct db_result **out);
int db_sqlite_script(struct db_conn *c, const char *sql);

#endif
