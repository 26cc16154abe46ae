/* db.h - one SQL interface, two engines (PostgreSQL through libpq, SQLite) behind it, and a pool.
 *
 * SQL is written once with $1..$N placeholders (SQLite statements are rewritten to ?N). Values travel as
 * text both ways. Statements passed as string literals are prepared once per connection and cached by
 * pointer, so pass only static strings to db_exec(). A connection is used by one thread at a time:
 * db_acquire() hands it out, db_release() returns it. The domain stores (src/store/) are the only callers;
 * handlers never see SQL. */
#ifndef CABANAS_DB_H
#define CABANAS_DB_H

#include "../core/config.h"

#include <stddef.h>

#define DB_OK 0
#define DB_ERR (-1)         /* SQL error or constraint other than below */
#define DB_CONFLICT (-2)    /* unique or exclusion (no-overlap) violation */
#define DB_UNAVAILABLE (-3) /* cannot connect, or the connection was lost */
#define DB_BUSY (-4)        /* deadlock, serialization failure, lock timeout: safe to retry */
#define DB_TIMEOUT (-5)     /* no pool connection became free in time */

#define DB_MAX_PARAMS 24

struct db;
struct db_conn;
struct db_result;

/* Creates the pool (connections are opened lazily). Returns DB_OK or DB_ERR with a message. */
int db_open(const struct config *cfg, struct db **out, char *err, size_t errlen);
void db_close(struct db *db);
enum db_engine db_engine_of(const struct db *db);

/* Borrows a connection, opening or reconnecting it if needed. DB_OK, DB_UNAVAILABLE or DB_TIMEOUT. */
int db_acquire(struct db *db, struct db_conn **out);
void db_release(struct db *db, struct db_conn *conn);
enum db_engine db_conn_engine(const struct db_conn *conn);

/* Borrows a pool connection for one statement (db_acquire, db_exec, db_release). */
int db_exec_once(struct db *db, const char *sql, int nparams, const char *const *params,
                 struct db_result **out);

/* Runs one statement. `out` may be NULL; otherwise the caller frees it with db_result_free(). Outside a
 * transaction a lost PostgreSQL connection is re-established and the statement retried once. */
int db_exec(struct db_conn *conn, const char *sql, int nparams, const char *const *params,
            struct db_result **out);
/* Inside a transaction on PostgreSQL: queues a statement whose result nobody reads (an audit row, an
 * outbox message) and sends it with the next round trip: the next db_exec() or the COMMIT. Its error, if
 * any, is reported by that call. BEGIN is sent the same way, with the first statement. Elsewhere (SQLite,
 * or outside a transaction) it simply runs the statement. Parameters are copied. */
int db_defer(struct db_conn *conn, const char *sql, int nparams, const char *const *params);
/* Runs a multi-statement script without parameters (migrations). */
int db_exec_script(struct db_conn *conn, const char *sql);
/* BEGIN (SQLite: BEGIN IMMEDIATE, so the write lock is taken up front), COMMIT, ROLLBACK. */
int db_begin(struct db_conn *conn);
int db_commit(struct db_conn *conn);
int db_rollback(struct db_conn *conn);
/* Runs `sql` and then COMMIT (PostgreSQL: with the deferred statements, in one round trip). The
 * transaction is over afterwards: committed when DB_OK, rolled back otherwise. *out gets sql's result
 * whenever sql itself succeeded, even when COMMIT then failed (a deferred constraint), so the caller can
 * tell why. */
int db_exec_commit(struct db_conn *conn, const char *sql, int nparams, const char *const *params,
                   struct db_result **out);
/* The last error message of this connection (never NULL, borrowed). */
const char *db_conn_error(const struct db_conn *conn);

int db_result_rows(const struct db_result *r);
int db_result_cols(const struct db_result *r);
/* Borrowed text value, or NULL for SQL NULL. */
const char *db_result_value(const struct db_result *r, int row, int col);
void db_result_free(struct db_result *r);

/* SELECT 1 on a pooled connection; the round trip in milliseconds. */
int db_ping(struct db *db, double *latency_ms);

/* Pool gauges, safe to read from any thread. */
int db_pool_size(const struct db *db);
int db_pool_in_use(const struct db *db);
int db_pool_open(const struct db *db);

/* Short engine-level name of an error code, for logs. */
const char *db_strerror(int rc);

#endif
