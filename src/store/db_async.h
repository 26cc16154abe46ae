/* db_async.h - one non-blocking, pipelined PostgreSQL connection for an event-loop thread.
 *
 * Each HTTP loop thread (http/server.c) owns one. A query is queued without waiting and sent, with the
 * others of the same loop iteration, by db_async_sync: several can be in flight on the connection
 * (libpq pipeline mode), PostgreSQL answers them in order, and each query's callback runs on the owning
 * thread when its rows have arrived. Nothing here blocks except
 * (re)connecting, which happens on a query when the connection is missing, at most once a second.
 *
 * PostgreSQL only: with SQLite db_async_new returns NULL, and callers use the blocking pool (db.h). A
 * lost connection fails every query in flight (their callbacks run with DB_UNAVAILABLE) and the next
 * query connects again. Not thread-safe: one thread per db_async. */
#ifndef CABANAS_DB_ASYNC_H
#define CABANAS_DB_ASYNC_H

#include "db.h"

#define DB_ASYNC_MAX_IN_FLIGHT 256 /* queries queued on one connection; past it, callers go blocking */
#define DB_ASYNC_BATCH_MAX 16      /* queries sharing one Sync at most */

struct db_async;

/* A query's outcome: rc DB_OK with its rows in r, or an error code (r NULL). r is freed after the
 * callback returns: copy what must outlive it. */
typedef void (*db_async_done)(struct db_result *r, int rc, void *data);

/* Tells the owner which socket to wait on (fd -1: none) and whether to wait for writability too; called
 * whenever either changes, old_fd being the socket it replaces (-1: none). */
typedef void (*db_async_watch)(void *ctx, int old_fd, int fd, int want_write);

/* NULL when db is not PostgreSQL. Does not connect yet. */
struct db_async *db_async_new(struct db *db, db_async_watch watch, void *ctx);
/* Fails what is in flight (callbacks run), closes the connection, frees. NULL is fine. */
void db_async_free(struct db_async *a);

/* Queues `sql` (prepared on first use, $1.. from params) for the next db_async_sync and returns DB_OK:
 * `done` will run later, with DB_UNAVAILABLE when an earlier query of its batch failed (see db_async.c).
 * Anything else (no connection, the queue full, a send failure) means nothing was sent and `done` will
 * not run: the caller answers another way. `sql` must be a string with static storage (the key of the
 * prepared-statement cache); params are copied by libpq before this returns. */
int db_async_query(struct db_async *a, const char *sql, int n, const char *const *params, db_async_done done,
                   void *data);

/* A transaction: BEGIN, the statements queued on db_async_journal()'s connection since (db_defer, as
 * the store's journal functions do), `sql`, COMMIT, in one round trip. `done` gets sql's result when sql
 * succeeded, even if COMMIT then failed (rc says so), as db_exec_commit does; a connection lost after
 * sending means the COMMIT may have run. The queued statements are consumed either way; anything but
 * DB_OK means nothing was sent and `done` will not run. */
struct db_conn *db_async_journal(struct db_async *a);
int db_async_tx(struct db_async *a, const char *sql, int n, const char *const *params, db_async_done done,
                void *data);

/* Sends the queries queued since the last call, behind one Sync. The owner calls it once per loop
 * iteration, after the handlers have run. */
void db_async_sync(struct db_async *a);

/* The socket is readable and/or writable: send what is pending, read what arrived, run callbacks. */
void db_async_ready(struct db_async *a, int readable, int writable);

#endif
