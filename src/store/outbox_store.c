/* outbox_store.c - claiming and finishing outbox messages, and the admin views. See outbox_store.h.
 *
 * The claim token is (id, status 'sending', attempts): claiming increments attempts, so a row taken over
 * after its lease ran out carries a higher count, and the late outcome of the first claim matches no
 * row. */
#include "outbox_store.h"

#include "journal.h"
#include "store_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OUTBOX_COLUMNS                                                                                       \
    "id, channel, template, recipient, reservation_code, payload, status, attempts, next_attempt_at, "       \
    "locked_until, last_error, provider_id, created_at, updated_at, sent_at"
#define OUTBOX_NCOLS 15

/* due: pending and due, or sending with a lease that ran out ($1 = now) */
#define OUTBOX_DUE                                                                                           \
    "(status = 'pending' AND next_attempt_at <= CAST($1 AS bigint)) OR "                                     \
    "(status = 'sending' AND locked_until <= CAST($1 AS bigint))"

static void read_row(const struct db_result *r, int row, void *out)
{
    struct outbox_row *x = out;
    memset(x, 0, sizeof *x);
    x->id = store_col_ll(r, row, 0);
    store_col_str(r, row, 1, x->channel, sizeof x->channel);
    store_col_str(r, row, 2, x->template_name, sizeof x->template_name);
    store_col_str(r, row, 3, x->recipient, sizeof x->recipient);
    store_col_str(r, row, 4, x->reservation_code, sizeof x->reservation_code);
    const char *payload = db_result_value(r, row, 5);
    if (!payload || strlen(payload) > OUTBOX_PAYLOAD_MAX)
        payload = "{}"; /* never hand out truncated JSON */
    memcpy(x->payload, payload, strlen(payload) + 1);
    store_col_str(r, row, 6, x->status, sizeof x->status);
    x->attempts = (int)store_col_ll(r, row, 7);
    x->next_attempt_at = store_col_ll(r, row, 8);
    x->locked_until = store_col_ll(r, row, 9);
    store_col_str(r, row, 10, x->last_error, sizeof x->last_error);
    store_col_str(r, row, 11, x->provider_id, sizeof x->provider_id);
    x->created_at = store_col_ll(r, row, 12);
    x->updated_at = store_col_ll(r, row, 13);
    x->sent_at = store_col_ll(r, row, 14);
}

int outbox_claim(struct db *db, long long now, long long lease_until, int limit, struct outbox_row **rows,
                 int *n)
{
    /* PostgreSQL: rows locked by another instance's claim are skipped, not waited for; a row another
     * instance claimed and committed meanwhile fails the re-checked WHERE and is left out. */
    static const char *pg_sql =
        "UPDATE outbox SET status = 'sending', attempts = attempts + 1, locked_until = CAST($2 AS bigint), "
        "updated_at = CAST($1 AS bigint) WHERE id IN (SELECT id FROM outbox WHERE " OUTBOX_DUE
        " ORDER BY next_attempt_at, id LIMIT CAST($3 AS integer) FOR UPDATE SKIP LOCKED) "
        "RETURNING " OUTBOX_COLUMNS;
    /* SQLite: one statement, and the database has one writer at a time */
    static const char *lite_sql =
        "UPDATE outbox SET status = 'sending', attempts = attempts + 1, locked_until = CAST($2 AS bigint), "
        "updated_at = CAST($1 AS bigint) WHERE id IN (SELECT id FROM outbox WHERE " OUTBOX_DUE
        " ORDER BY next_attempt_at, id LIMIT CAST($3 AS integer)) RETURNING " OUTBOX_COLUMNS;
    char nowb[24], lease[24], lim[24];
    const char *p[] = {store_ll_param(now, nowb), store_ll_param(lease_until, lease),
                       store_ll_param(limit, lim)};
    struct db_result *r = NULL;
    *rows = NULL;
    *n = 0;
    int rc = db_exec_once(db, db_engine_of(db) == DB_ENGINE_POSTGRES ? pg_sql : lite_sql, 3, p, &r);
    if (rc == DB_OK)
        *rows = store_rows_read(r, sizeof **rows, read_row, n);
    db_result_free(r);
    return rc;
}

/* Writes the outcome of the claim `row` came from: status, due time, attempts adjustment, error, and
 * (when sent) provider id and sent_at. */
static int finish(struct db *db, const struct outbox_row *row, long long now, const char *status,
                  long long next_at, int uncount, const char *error, const char *provider_id)
{
    static const char *sql =
        "UPDATE outbox SET status = $3, next_attempt_at = CAST($4 AS bigint), "
        "attempts = attempts - CAST($5 AS integer), last_error = $6, "
        "provider_id = COALESCE($7, provider_id), locked_until = NULL, updated_at = CAST($2 AS bigint), "
        "sent_at = CASE WHEN $3 = 'sent' THEN CAST($2 AS bigint) ELSE sent_at END "
        "WHERE id = CAST($1 AS bigint) AND status = 'sending' AND attempts = CAST($8 AS integer) "
        "RETURNING id";
    char id[24], nowb[24], next[24], un[24], att[24], errbuf[OUTBOX_ERROR_MAX + 1];
    if (error)
        snprintf(errbuf, sizeof errbuf, "%s", error); /* bounded: last_error is shown by the admin API */
    const char *p[] = {store_ll_param(row->id, id),
                       store_ll_param(now, nowb),
                       status,
                       store_ll_param(next_at, next),
                       store_ll_param(uncount, un),
                       error ? errbuf : NULL,
                       provider_id,
                       store_ll_param(row->attempts, att)};
    struct db_result *r = NULL;
    int rc = db_exec_once(db, sql, 8, p, &r);
    if (rc == DB_OK && db_result_rows(r) == 0)
        rc = STORE_INVALID_STATE;
    db_result_free(r);
    return rc;
}

int outbox_mark_sent(struct db *db, const struct outbox_row *row, long long now, const char *provider_id)
{
    return finish(db, row, now, "sent", row->next_attempt_at, 0, NULL,
                  provider_id && *provider_id ? provider_id : NULL);
}

int outbox_mark_retry(struct db *db, const struct outbox_row *row, long long now, long long next_at,
                      const char *error)
{
    return finish(db, row, now, "pending", next_at, 0, error, NULL);
}

int outbox_mark_deferred(struct db *db, const struct outbox_row *row, long long now, long long next_at,
                         const char *note)
{
    return finish(db, row, now, "pending", next_at, 1, note, NULL);
}

int outbox_mark_dead(struct db *db, const struct outbox_row *row, long long now, const char *error)
{
    return finish(db, row, now, "dead", row->next_attempt_at, 0, error, NULL);
}

int outbox_mark_skipped(struct db *db, const struct outbox_row *row, long long now, const char *reason)
{
    return finish(db, row, now, "skipped", row->next_attempt_at, 1, reason, NULL); /* not attempted */
}

int outbox_counts(struct db *db, int *pending, int *dead)
{
    /* two counts by status, each a range of the outbox_due index: sent and skipped rows, nearly all of
     * the table, are never read */
    static const char *sql = "SELECT (SELECT count(*) FROM outbox WHERE status IN ('pending', 'sending')), "
                             "(SELECT count(*) FROM outbox WHERE status = 'dead')";
    struct db_result *r = NULL;
    *pending = *dead = 0;
    int rc = db_exec_once(db, sql, 0, NULL, &r);
    if (rc == DB_OK && db_result_rows(r) == 1) {
        *pending = (int)store_col_ll(r, 0, 0);
        *dead = (int)store_col_ll(r, 0, 1);
    }
    db_result_free(r);
    return rc;
}

int outbox_list(struct db *db, const struct outbox_filter *f, struct outbox_row **items, int *n, int *total)
{
#define OUTBOX_FILTER                                                                                        \
    " FROM outbox WHERE ($1 = '' OR status = $1) AND ($2 = '' OR channel = $2) "                             \
    "AND ($3 = '' OR reservation_code = $3) "
    static const char *sql = "SELECT " OUTBOX_COLUMNS ", count(*) OVER ()" OUTBOX_FILTER
                             "ORDER BY id DESC LIMIT CAST($4 AS integer) OFFSET CAST($5 AS integer)";
    /* past the last page: count separately (the same 5 parameters, so one list serves both) */
    static const char *count_sql = "SELECT count(*)" OUTBOX_FILTER
                                   "AND CAST($4 AS integer) IS NOT NULL AND CAST($5 AS integer) IS NOT NULL";
    char lim[24], off[24];
    const char *p[] = {f->status, f->channel, f->reservation_code, store_ll_param(f->limit, lim),
                       store_ll_param(f->offset, off)};
    struct db_conn *c = NULL;
    struct db_result *r = NULL;
    *items = NULL;
    *n = *total = 0;
    int rc = db_acquire(db, &c);
    if (rc != DB_OK)
        return rc;
    rc = db_exec(c, sql, 5, p, &r);
    if (rc == DB_OK) {
        *items = store_rows_read(r, sizeof **items, read_row, n);
        *total = *n ? (int)store_col_ll(r, 0, OUTBOX_NCOLS) : 0;
        if (*n == 0 && f->offset > 0) {
            struct db_result *cr = NULL;
            if (db_exec(c, count_sql, 5, p, &cr) == DB_OK)
                *total = (int)store_col_ll(cr, 0, 0);
            db_result_free(cr);
        }
    }
    db_result_free(r);
    db_release(db, c);
    return rc;
}

int outbox_list_for_reservation(struct db *db, const char *code, struct outbox_row **items, int *n)
{
    static const char *sql =
        "SELECT " OUTBOX_COLUMNS " FROM outbox WHERE reservation_code = $1 ORDER BY id LIMIT 200";
    const char *p[] = {code};
    void *rows = NULL;
    int rc = store_read_rows(db, sql, 1, p, sizeof **items, read_row, &rows, n);
    *items = rows;
    return rc;
}

int outbox_requeue(struct db *db, long long id, long long now, const char *actor, struct outbox_row *out)
{
    static const char *get_sql = "SELECT status, attempts FROM outbox WHERE id = CAST($1 AS bigint)";
    static const char *sql = "UPDATE outbox SET status = 'pending', attempts = 0, next_attempt_at = "
                             "CAST($2 AS bigint), locked_until = NULL, updated_at = CAST($2 AS bigint) "
                             "WHERE id = CAST($1 AS bigint) AND status IN ('dead', 'skipped') "
                             "RETURNING " OUTBOX_COLUMNS;
    char idb[24], nowb[24], before[96];
    const char *p[] = {store_ll_param(id, idb), store_ll_param(now, nowb)};
    struct db_conn *c = NULL;
    struct db_result *g = NULL, *r = NULL;
    int rc = db_acquire(db, &c);
    if (rc != DB_OK)
        return rc;
    if ((rc = db_begin(c)) != DB_OK)
        goto out;
    rc = db_exec(c, get_sql, 1, p, &g);
    if (rc == DB_OK && db_result_rows(g) == 0)
        rc = STORE_NOT_FOUND;
    if (rc == DB_OK) {
        char status[16];
        store_col_str(g, 0, 0, status, sizeof status);
        snprintf(before, sizeof before, "{\"attempts\":%lld,\"status\":\"%s\"}", store_col_ll(g, 0, 1),
                 status);
        rc = db_exec(c, sql, 2, p, &r);
    }
    if (rc == DB_OK && db_result_rows(r) == 0)
        rc = STORE_INVALID_STATE; /* not dead or skipped (re-checked by the UPDATE itself) */
    if (rc == DB_OK) {
        read_row(r, 0, out);
        rc = audit_record(c, now, actor, "outbox.retried", "outbox", idb, before,
                          "{\"attempts\":0,\"status\":\"pending\"}");
    }
    if (rc == DB_OK)
        rc = db_commit(c);
    else
        db_rollback(c);
out:
    db_result_free(g);
    db_result_free(r);
    db_release(db, c);
    return rc;
}

int outbox_backoff_seconds(int attempts, int cap_s, uint32_t random)
{
    if (cap_s < 1)
        cap_s = 1;
    if (attempts < 1)
        attempts = 1;
    long long d = 2;
    for (int i = 1; i < attempts && d < cap_s; i++)
        d *= 2;
    if (d > cap_s)
        d = cap_s;
    long long low = (d + 1) / 2; /* ceil(d / 2) */
    return (int)(low + (long long)(random % (uint32_t)(d - low + 1)));
}
