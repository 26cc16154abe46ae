/* reservation_store.c - holds, bookings, blocks and their claims on nights. See booking_store.h.
 *
 * Lock order inside every transaction: the reservation row first (UPDATE … RETURNING), then its claim.
 * Two writers on one reservation therefore serialize on the row, and whichever commits second re-checks
 * the status in its WHERE clause and changes nothing. Claims are inserted with ON CONFLICT DO NOTHING:
 * PostgreSQL then answers a clash with the exclusion constraint as "no row" instead of an error, which
 * does not deadlock under contention; SQLite's trigger raises, which db_exec reports as DB_CONFLICT. */
#include "booking_store.h"

#include "journal.h"
#include "store_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RES_COLUMNS                                                                                          \
    "r.id, r.code, r.accommodation_id, a.name, r.check_in, r.check_out, r.guests, r.guest_name, "            \
    "r.guest_phone, "                                                                                        \
    "r.guest_email, r.channel, r.status, r.payment_status, r.nights, r.total_cents, r.deposit_percent, "     \
    "r.deposit_cents, r.paid_cents, r.currency, r.expires_at, r.confirmed_at, r.cancelled_at, "              \
    "r.cancel_reason, "                                                                                      \
    "r.notes, r.created_at, r.updated_at, r.payment_url"
#define RES_FROM " FROM reservations r JOIN accommodations a ON a.id = r.accommodation_id"
#define RES_NCOLS 27
/* what the API shows: a hold past its expiry is expired even before the sweeper has run ($9 = now) */
#define EFFECTIVE_STATUS                                                                                     \
    "(CASE WHEN r.status = 'pre_reserved' AND r.expires_at <= CAST($9 AS bigint) THEN 'expired' ELSE "       \
    "r.status END)"

static void read_row(const struct db_result *r, int row, struct reservation *x)
{
    memset(x, 0, sizeof *x);
    x->id = store_col_ll(r, row, 0);
    store_col_str(r, row, 1, x->code, sizeof x->code);
    x->accommodation_id = store_col_ll(r, row, 2);
    store_col_str(r, row, 3, x->accommodation_name, sizeof x->accommodation_name);
    store_col_str(r, row, 4, x->check_in, sizeof x->check_in);
    store_col_str(r, row, 5, x->check_out, sizeof x->check_out);
    x->guests = (int)store_col_ll(r, row, 6);
    store_col_str(r, row, 7, x->guest_name, sizeof x->guest_name);
    store_col_str(r, row, 8, x->guest_phone, sizeof x->guest_phone);
    store_col_str(r, row, 9, x->guest_email, sizeof x->guest_email);
    store_col_str(r, row, 10, x->channel, sizeof x->channel);
    store_col_str(r, row, 11, x->status, sizeof x->status);
    store_col_str(r, row, 12, x->payment_status, sizeof x->payment_status);
    x->nights = (int)store_col_ll(r, row, 13);
    x->total_cents = store_col_ll(r, row, 14);
    x->deposit_percent = (int)store_col_ll(r, row, 15);
    x->deposit_cents = store_col_ll(r, row, 16);
    x->paid_cents = store_col_ll(r, row, 17);
    store_col_str(r, row, 18, x->currency, sizeof x->currency);
    x->expires_at = store_col_ll(r, row, 19);
    x->confirmed_at = store_col_ll(r, row, 20);
    x->cancelled_at = store_col_ll(r, row, 21);
    store_col_str(r, row, 22, x->cancel_reason, sizeof x->cancel_reason);
    store_col_str(r, row, 23, x->notes, sizeof x->notes);
    x->created_at = store_col_ll(r, row, 24);
    x->updated_at = store_col_ll(r, row, 25);
    store_col_str(r, row, 26, x->payment_url, sizeof x->payment_url);
}

static void read_any_reservation(const struct db_result *r, int row, void *x)
{
    read_row(r, row, x);
}

static int get_on(struct db_conn *c, const char *code, struct reservation *out)
{
    static const char *sql = "SELECT " RES_COLUMNS RES_FROM " WHERE r.code = $1";
    const char *params[] = {code};
    struct db_result *r = NULL;
    int rc = db_exec(c, sql, 1, params, &r);
    if (rc == DB_OK && db_result_rows(r) == 0)
        rc = STORE_NOT_FOUND;
    if (rc == DB_OK && out)
        read_row(r, 0, out);
    db_result_free(r);
    return rc;
}

int store_reservation_get(struct db *db, const char *code, struct reservation *out)
{
    struct db_conn *c = NULL;
    int rc = db_acquire(db, &c);
    if (rc != DB_OK)
        return rc;
    rc = get_on(c, code, out);
    db_release(db, c);
    return rc;
}

/* Deletes the claim of each reservation id in `r` (column 0). */
static int release_claims(struct db_conn *c, const struct db_result *r)
{
    static const char *sql = "DELETE FROM stay_claims WHERE reservation_id = CAST($1 AS bigint)";
    for (int i = 0; i < db_result_rows(r); i++) {
        const char *params[] = {db_result_value(r, i, 0)};
        int rc = db_exec(c, sql, 1, params, NULL);
        if (rc != DB_OK)
            return rc;
    }
    return DB_OK;
}

/* Journals each hold of `r` (column 1: its code) as expired by the clock. */
static int journal_expired(struct db_conn *c, const struct db_result *r, long long now)
{
    for (int i = 0; i < db_result_rows(r); i++) {
        struct reservation x;
        int rc = get_on(c, db_result_value(r, i, 1), &x);
        if (rc == DB_OK)
            rc = journal_reservation(c, now, "job:expiry", "hold_expired", "pre_reserved", x.payment_status,
                                     &x);
        if (rc != DB_OK)
            return rc;
    }
    return DB_OK;
}

/* Inside a transaction: stale holds sharing a night of [in, out) become expired and free their nights. */
static int expire_stale_overlapping(struct db_conn *c, const char *acc, const char *in, const char *out,
                                    const char *now, int *expired)
{
    static const char *sql = "UPDATE reservations SET status = 'expired', updated_at = CAST($2 AS bigint) "
                             "WHERE accommodation_id = CAST($1 AS bigint) AND status = 'pre_reserved' "
                             "AND expires_at <= CAST($2 AS bigint) AND check_in < $4 AND $3 < check_out "
                             "RETURNING id, code";
    const char *params[] = {acc, now, in, out};
    struct db_result *r = NULL;
    int rc = db_exec(c, sql, 4, params, &r);
    if (rc == DB_OK) {
        *expired += db_result_rows(r);
        rc = release_claims(c, r);
    }
    if (rc == DB_OK)
        rc = journal_expired(c, r, strtoll(now, NULL, 10));
    db_result_free(r);
    return rc;
}

int store_holds_expire_stale_on(struct db_conn *c, long long accommodation_id, const char *check_in,
                                const char *check_out, long long now, int *expired)
{
    char acc[24], nowb[24];
    return expire_stale_overlapping(c, store_ll_param(accommodation_id, acc), check_in, check_out,
                                    store_ll_param(now, nowb), expired);
}

/* Inserts a claim; DB_CONFLICT when the nights are taken (both engines). */
static int claim_nights(struct db_conn *c, const char *sql, int n, const char *const *params)
{
    struct db_result *r = NULL;
    int rc = db_exec(c, sql, n, params, &r);
    if (rc == DB_OK && db_result_rows(r) == 0)
        rc = DB_CONFLICT;
    db_result_free(r);
    return rc;
}

static void fill_hold(struct reservation *x, const struct hold_request *h, const char *code, long long id,
                      long long now)
{
    memset(x, 0, sizeof *x);
    x->id = id;
    snprintf(x->code, sizeof x->code, "%s", code);
    x->accommodation_id = h->accommodation_id;
    snprintf(x->check_in, sizeof x->check_in, "%s", h->check_in);
    snprintf(x->check_out, sizeof x->check_out, "%s", h->check_out);
    x->guests = h->guests;
    snprintf(x->guest_name, sizeof x->guest_name, "%s", h->guest_name);
    snprintf(x->guest_phone, sizeof x->guest_phone, "%s", h->guest_phone);
    snprintf(x->guest_email, sizeof x->guest_email, "%s", h->guest_email ? h->guest_email : "");
    snprintf(x->channel, sizeof x->channel, "%s", h->channel);
    snprintf(x->status, sizeof x->status, "pre_reserved");
    snprintf(x->payment_status, sizeof x->payment_status, "pending");
    x->nights = h->nights;
    x->total_cents = h->total_cents;
    x->deposit_percent = h->deposit_percent;
    x->deposit_cents = h->deposit_cents;
    snprintf(x->currency, sizeof x->currency, "%s", h->currency);
    x->expires_at = h->expires_at;
    x->created_at = x->updated_at = now;
}

/* PostgreSQL: the reservation and its claim in one statement, sent with BEGIN, the journal rows and
 * COMMIT in one round trip. When the nights are taken the claim inserts nothing (its id is NULL) and
 * the deferred claim trigger makes COMMIT fail, which rolls the reservation back. */
static const char *const insert_with_claim =
    "WITH r AS (INSERT INTO reservations (code, accommodation_id, check_in, check_out, guests, "
    "guest_name, guest_phone, guest_email, channel, status, payment_status, nights, total_cents, "
    "deposit_percent, deposit_cents, paid_cents, currency, expires_at, created_at, updated_at) VALUES "
    "($1, "
    "CAST($2 AS bigint), CAST($3 AS date), CAST($4 AS date), CAST($5 AS integer), $6, $7, $8, $9, "
    "'pre_reserved', 'pending', CAST($10 AS integer), CAST($11 AS bigint), CAST($12 AS integer), "
    "CAST($13 AS bigint), 0, $14, CAST($15 AS bigint), CAST($16 AS bigint), CAST($16 AS bigint)) "
    "RETURNING id, accommodation_id, check_in, check_out), "
    "c AS (INSERT INTO stay_claims (accommodation_id, check_in, check_out, reservation_id) "
    "SELECT accommodation_id, check_in, check_out, id FROM r ON CONFLICT DO NOTHING RETURNING id) "
    "SELECT r.id, (SELECT id FROM c) FROM r";

const char *store_hold_tx_sql(void)
{
    return insert_with_claim;
}

/* A new code and the 16 parameters of the hold's INSERT (insert_res, insert_with_claim). */
static void hold_params(const struct hold_request *h, long long now, struct hold_tx *tx)
{
    booking_code_new(tx->code);
    store_ll_param(h->accommodation_id, tx->acc);
    store_ll_param(now, tx->now);
    const char *p[] = {tx->code,
                       tx->acc,
                       h->check_in,
                       h->check_out,
                       store_ll_param(h->guests, tx->guests),
                       h->guest_name,
                       h->guest_phone,
                       h->guest_email,
                       h->channel,
                       store_ll_param(h->nights, tx->nights),
                       store_ll_param(h->total_cents, tx->total),
                       store_ll_param(h->deposit_percent, tx->pct),
                       store_ll_param(h->deposit_cents, tx->dep),
                       h->currency,
                       store_ll_param(h->expires_at, tx->exp),
                       tx->now};
    memcpy(tx->params, p, sizeof p);
}

/* PostgreSQL: fills *out and queues the journal rows, which travel ahead of insert_with_claim. */
static int hold_journal_pg(struct db_conn *c, const struct hold_request *h, long long now,
                           const struct hold_tx *tx, struct reservation *out)
{
    fill_hold(out, h, tx->code, 0, now); /* the journal needs no id */
    return journal_reservation(c, now, h->actor ? h->actor : "api", "hold_created", NULL, NULL, out);
}

int store_hold_tx_build(struct db_conn *c, const struct hold_request *h, long long now, struct hold_tx *tx,
                        struct reservation *out)
{
    hold_params(h, now, tx);
    return hold_journal_pg(c, h, now, tx, out);
}

int store_hold_tx_result(const struct db_result *r, int rc, struct reservation *out)
{
    if (r && db_result_value(r, 0, 1) == NULL)
        return DB_CONFLICT; /* the nights were taken: COMMIT refused the claimless hold */
    if (!r && rc == DB_CONFLICT)
        return STORE_RETRY; /* a code collision rolled everything back: another code */
    if (rc != DB_OK)
        return rc;
    out->id = store_col_ll(r, 0, 0);
    return DB_OK;
}

int store_hold_create(struct db *db, const struct hold_request *h, long long now, struct reservation *out,
                      int *expired)
{
    static const char *insert_res =
        "INSERT INTO reservations (code, accommodation_id, check_in, check_out, guests, guest_name, "
        "guest_phone, "
        "guest_email, channel, status, payment_status, nights, total_cents, deposit_percent, deposit_cents, "
        "paid_cents, currency, expires_at, created_at, updated_at) VALUES ($1, CAST($2 AS bigint), $3, $4, "
        "CAST($5 AS integer), $6, $7, $8, $9, 'pre_reserved', 'pending', CAST($10 AS integer), CAST($11 AS "
        "bigint), "
        "CAST($12 AS integer), CAST($13 AS bigint), 0, $14, CAST($15 AS bigint), CAST($16 AS bigint), "
        "CAST($16 AS bigint)) RETURNING id";
    static const char *claim =
        "INSERT INTO stay_claims (accommodation_id, check_in, check_out, reservation_id) "
        "VALUES (CAST($1 AS bigint), $2, $3, CAST($4 AS bigint)) ON CONFLICT DO NOTHING "
        "RETURNING id";
    struct db_conn *c = NULL;
    struct db_result *r = NULL;
    *expired = 0;
    int rc = db_acquire(db, &c);
    if (rc != DB_OK)
        return rc;
    int pg = db_conn_engine(c) == DB_ENGINE_POSTGRES;
    for (int attempt = 0; attempt < 3; attempt++) {
        struct hold_tx tx;
        hold_params(h, now, &tx);
        if ((rc = db_begin(c)) != DB_OK)
            break;
        if (h->expire_stale &&
            (rc = expire_stale_overlapping(c, tx.acc, h->check_in, h->check_out, tx.now, expired)) != DB_OK)
            goto rollback;
        if (pg) {
            if ((rc = hold_journal_pg(c, h, now, &tx, out)) != DB_OK)
                goto rollback;
            db_result_free(r);
            r = NULL;
            rc = db_exec_commit(c, insert_with_claim, 16, tx.params,
                                &r); /* the transaction is over either way */
            rc = store_hold_tx_result(r, rc, out);
            if (rc != DB_OK)
                *expired = 0; /* rolled back with it */
            if (rc == STORE_RETRY)
                continue;
            break;
        }
        rc = db_exec(c, insert_res, 16, tx.params, &r);
        if (rc == DB_CONFLICT) {
            /* a code collision (50 random bits: practically never): try another code */
            db_rollback(c);
            *expired = 0;
            continue;
        }
        if (rc != DB_OK)
            goto rollback;
        const char *cp[] = {tx.acc, h->check_in, h->check_out, db_result_value(r, 0, 0)};
        if ((rc = claim_nights(c, claim, 4, cp)) != DB_OK)
            goto rollback;
        long long id = store_col_ll(r, 0, 0);
        fill_hold(out, h, tx.code, id, now); /* what was just written: no read-back round trip */
        if ((rc = journal_reservation(c, now, h->actor ? h->actor : "api", "hold_created", NULL, NULL,
                                      out)) != DB_OK)
            goto rollback;
        if ((rc = db_commit(c)) != DB_OK) {
            *expired = 0;
            break;
        }
        break;
    rollback:
        db_rollback(c);
        *expired = 0; /* rolled back with the rest */
        break;
    }
    if (rc == STORE_RETRY)
        rc = DB_ERR; /* three code collisions in a row: something else is wrong */
    db_result_free(r);
    db_release(db, c);
    return rc;
}

/* Why a status change did not apply: the row is missing, or its status does not allow it. */
static int explain_miss(struct db_conn *c, const char *code)
{
    int rc = get_on(c, code, NULL);
    return rc == DB_OK ? STORE_INVALID_STATE : rc;
}

int store_reservation_cancel(struct db *db, const char *code, const char *reason, long long now,
                             const char *actor, struct reservation *out)
{
    static const char *sql =
        "UPDATE reservations SET status = 'cancelled', cancelled_at = CAST($2 AS bigint), "
        "cancel_reason = $3, updated_at = CAST($2 AS bigint) WHERE code = $1 "
        "AND (status = 'confirmed' OR (status = 'pre_reserved' AND expires_at > CAST($2 AS "
        "bigint))) RETURNING id";
    char nowb[24];
    const char *params[] = {code, store_ll_param(now, nowb), reason};
    struct db_conn *c = NULL;
    struct db_result *r = NULL;
    int rc = db_acquire(db, &c);
    if (rc != DB_OK)
        return rc;
    struct reservation before;
    if ((rc = db_begin(c)) != DB_OK)
        goto out;
    if ((rc = get_on(c, code, &before)) != DB_OK) {
        db_rollback(c);
        goto out;
    }
    rc = db_exec(c, sql, 3, params, &r);
    if (rc == DB_OK && db_result_rows(r) == 0) {
        db_rollback(c);
        rc = explain_miss(c, code);
        goto out;
    }
    if (rc == DB_OK)
        rc = release_claims(c, r);
    if (rc == DB_OK)
        rc = get_on(c, code, out);
    if (rc == DB_OK)
        rc = journal_reservation(c, now, actor, "booking_cancelled", before.status, before.payment_status,
                                 out);
    if (rc != DB_OK) {
        db_rollback(c);
        goto out;
    }
    rc = db_commit(c);
out:
    db_result_free(r);
    db_release(db, c);
    return rc;
}

int store_reservation_confirm(struct db *db, const char *code, int64_t paid_cents, const char *note,
                              long long now, const char *actor, struct reservation *out, int *expired)
{
    /* A hold that is still pre_reserved owns its claim even past its expiry: anyone who wanted those nights
     * would have expired it first. An expired hold must win its nights back. */
    static const char *confirm =
        "UPDATE reservations SET status = 'confirmed', payment_status = 'paid', "
        "paid_cents = CASE WHEN CAST($2 AS bigint) < 0 THEN deposit_cents "
        "ELSE CAST($2 AS bigint) END, "
        "confirmed_at = CAST($3 AS bigint), notes = COALESCE($4, notes), "
        "updated_at = CAST($3 AS bigint) WHERE code = $1 AND status = $5 RETURNING id";
    static const char *reclaim =
        "INSERT INTO stay_claims (accommodation_id, check_in, check_out, reservation_id) "
        "SELECT accommodation_id, check_in, check_out, id FROM reservations "
        "WHERE code = $1 AND status = 'expired' ON CONFLICT DO NOTHING RETURNING id";
    char paid[24], nowb[24];
    struct db_conn *c = NULL;
    struct db_result *r = NULL;
    int rc = db_acquire(db, &c);
    if (rc != DB_OK)
        return rc;
    const char *p_pre[] = {code, store_ll_param(paid_cents, paid), store_ll_param(now, nowb), note,
                           "pre_reserved"};
    *expired = 0;
    int from_expired = 0;
    if ((rc = db_begin(c)) != DB_OK)
        goto out;
    rc = db_exec(c, confirm, 5, p_pre, &r);
    if (rc == DB_OK && db_result_rows(r) == 0) {
        from_expired = 1;
        db_result_free(r);
        r = NULL;
        /* An expired hold wins its nights back only if they are free; stale holds on them do not count. */
        struct reservation cur;
        rc = get_on(c, code, &cur);
        if (rc == DB_OK && strcmp(cur.status, "expired") == 0) {
            char acc[24];
            rc = expire_stale_overlapping(c, store_ll_param(cur.accommodation_id, acc), cur.check_in,
                                          cur.check_out, nowb, expired);
        }
        const char *p_code[] = {code};
        if (rc == DB_OK)
            rc = claim_nights(c, reclaim, 1, p_code);
        if (rc == DB_CONFLICT) {
            /* either not expired (then explain) or its nights were taken meanwhile */
            db_rollback(c);
            *expired = 0;
            rc = strcmp(cur.status, "expired") == 0 ? DB_CONFLICT : STORE_INVALID_STATE;
            goto out;
        }
        if (rc == DB_OK) {
            const char *p_exp[] = {code, paid, nowb, note, "expired"};
            rc = db_exec(c, confirm, 5, p_exp, &r);
            if (rc == DB_OK && db_result_rows(r) == 0)
                rc = STORE_INVALID_STATE;
        }
    }
    if (rc == DB_OK)
        rc = get_on(c, code, out);
    if (rc == DB_OK)
        rc = journal_reservation(c, now, actor, "booking_confirmed",
                                 from_expired ? "expired" : "pre_reserved", "pending", out);
    if (rc != DB_OK) {
        db_rollback(c);
        *expired = 0;
        goto out;
    }
    if ((rc = db_commit(c)) != DB_OK)
        *expired = 0;
out:
    db_result_free(r);
    db_release(db, c);
    return rc;
}

int store_reservation_list(struct db *db, const struct reservation_filter *f, struct reservation **items,
                           int *n, int *total)
{
    /* $1 status, $2 accommodation, $3..$4 dates, $5 q, $6 its LIKE pattern, $9 now, $10..$11 the keyset
     * cursor (created_at, id) of the last row already read (0 = none) */
#define LIST_FILTER                                                                                          \
    " WHERE ($1 = '' OR " EFFECTIVE_STATUS " = $1) "                                                         \
    "AND (CAST($10 AS bigint) = 0 OR r.created_at < CAST($10 AS bigint) OR (r.created_at = CAST($10 AS "     \
    "bigint) AND r.id < CAST($11 AS bigint))) "                                                              \
    "AND (CAST($2 AS bigint) = 0 OR r.accommodation_id = CAST($2 AS bigint)) "                               \
    "AND r.check_out > $3 AND r.check_in < $4 "                                                              \
    "AND ($5 = '' OR lower(r.code) LIKE $6 OR lower(r.guest_name) LIKE $6 OR r.guest_phone LIKE $6 "         \
    "OR lower(COALESCE(r.guest_email, '')) LIKE $6) "
    static const char *sql = "SELECT " RES_COLUMNS ", count(*) OVER ()" RES_FROM LIST_FILTER
                             "ORDER BY r.created_at DESC, r.id DESC LIMIT CAST($7 AS integer) "
                             "OFFSET CAST($8 AS integer)";
    char acc[24], lim[24], off[24], nowb[24], cur_at[24], cur_id[24], like[300];
    size_t ql = strlen(f->q);
    size_t k = 0;
    like[k++] = '%';
    for (size_t i = 0; i < ql && k + 3 < sizeof like; i++) {
        char ch = f->q[i];
        if (ch == '%' || ch == '_')
            continue; /* searched literally would need ESCAPE; wildcards are simply dropped */
        like[k++] = (ch >= 'A' && ch <= 'Z') ? (char)(ch - 'A' + 'a') : ch;
    }
    like[k++] = '%';
    like[k] = '\0';
    const char *params[] = {f->status,
                            store_ll_param(f->accommodation_id, acc),
                            *f->from ? f->from : "0001-01-01",
                            *f->to ? f->to : "9999-12-31",
                            f->q,
                            like,
                            store_ll_param(f->limit, lim),
                            store_ll_param(f->offset, off),
                            store_ll_param(f->now, nowb),
                            store_ll_param(f->after_created_at, cur_at),
                            store_ll_param(f->after_id, cur_id)};
    struct db_conn *c = NULL;
    struct db_result *r = NULL;
    *items = NULL;
    *n = *total = 0;
    int rc = db_acquire(db, &c);
    if (rc != DB_OK)
        return rc;
    rc = db_exec(c, sql, 11, params, &r);
    if (rc == DB_OK) {
        *items = store_rows_read(r, sizeof **items, read_any_reservation, n);
        int rows = *n;
        *total = rows ? (int)store_col_ll(r, 0, RES_NCOLS) : 0;
        if (rows == 0 && f->offset > 0) {
            /* past the end: count separately so the client still learns the total */
            /* the same 11 parameters: $7 and $8 are referenced so both statements take one list */
            static const char *count_sql =
                "SELECT count(*)" RES_FROM LIST_FILTER
                "AND CAST($7 AS integer) IS NOT NULL AND CAST($8 AS integer) IS NOT NULL";
            struct db_result *cr = NULL;
            if (db_exec(c, count_sql, 11, params, &cr) == DB_OK)
                *total = (int)store_col_ll(cr, 0, 0);
            db_result_free(cr);
        }
    }
    db_result_free(r);
    db_release(db, c);
    return rc;
}

int store_holds_expire(struct db *db, long long now, int *expired)
{
    static const char *sql =
        "UPDATE reservations SET status = 'expired', updated_at = CAST($1 AS bigint) "
        "WHERE status = 'pre_reserved' AND expires_at <= CAST($1 AS bigint) RETURNING id, code";
    char nowb[24];
    const char *params[] = {store_ll_param(now, nowb)};
    struct db_conn *c = NULL;
    struct db_result *r = NULL;
    *expired = 0;
    int rc = db_acquire(db, &c);
    if (rc != DB_OK)
        return rc;
    if ((rc = db_begin(c)) != DB_OK)
        goto out;
    rc = db_exec(c, sql, 1, params, &r);
    if (rc == DB_OK)
        rc = release_claims(c, r);
    if (rc == DB_OK)
        rc = journal_expired(c, r, now);
    if (rc != DB_OK) {
        db_rollback(c);
        goto out;
    }
    rc = db_commit(c);
    if (rc == DB_OK)
        *expired = db_result_rows(r);
out:
    db_result_free(r);
    db_release(db, c);
    return rc;
}

int store_holds_active_count(struct db *db, long long now, int *count)
{
    static const char *sql = "SELECT count(*) FROM reservations WHERE status = 'pre_reserved' "
                             "AND expires_at > CAST($1 AS bigint)";
    char nowb[24];
    const char *params[] = {store_ll_param(now, nowb)};
    struct db_result *r = NULL;
    int rc = db_exec_once(db, sql, 1, params, &r);
    if (rc == DB_OK)
        *count = (int)store_col_ll(r, 0, 0);
    db_result_free(r);
    return rc;
}

/* --- blocks --- */

#define BLOCK_COLUMNS "id, accommodation_id, start_date, end_date, reason, source, created_by, created_at"

static void read_block(const struct db_result *r, int row, struct block *b)
{
    memset(b, 0, sizeof *b);
    b->id = store_col_ll(r, row, 0);
    b->accommodation_id = store_col_ll(r, row, 1);
    store_col_str(r, row, 2, b->start, sizeof b->start);
    store_col_str(r, row, 3, b->end, sizeof b->end);
    store_col_str(r, row, 4, b->reason, sizeof b->reason);
    store_col_str(r, row, 5, b->source, sizeof b->source);
    store_col_str(r, row, 6, b->created_by, sizeof b->created_by);
    b->created_at = store_col_ll(r, row, 7);
}

static void read_any_block(const struct db_result *r, int row, void *b)
{
    read_block(r, row, b);
}

int store_block_create(struct db *db, struct block *b, long long now, const char *actor, int *expired)
{
    static const char *insert = "INSERT INTO blocks (accommodation_id, start_date, end_date, reason, source, "
                                "created_by, created_at) VALUES (CAST($1 AS bigint), $2, $3, $4, $5, $6, "
                                "CAST($7 AS bigint)) RETURNING id";
    static const char *claim =
        "INSERT INTO stay_claims (accommodation_id, check_in, check_out, block_id) "
        "VALUES (CAST($1 AS bigint), $2, $3, CAST($4 AS bigint)) ON CONFLICT DO NOTHING "
        "RETURNING id";
    char acc[24], nowb[24];
    struct db_conn *c = NULL;
    struct db_result *r = NULL;
    *expired = 0;
    int rc = db_acquire(db, &c);
    if (rc != DB_OK)
        return rc;
    store_ll_param(b->accommodation_id, acc);
    store_ll_param(now, nowb);
    if ((rc = db_begin(c)) != DB_OK)
        goto out;
    if ((rc = expire_stale_overlapping(c, acc, b->start, b->end, nowb, expired)) != DB_OK)
        goto rollback;
    const char *p[] = {acc,           b->start, b->end, b->reason, b->source[0] ? b->source : "manual",
                       b->created_by, nowb};
    if ((rc = db_exec(c, insert, 7, p, &r)) != DB_OK)
        goto rollback;
    b->id = store_col_ll(r, 0, 0);
    b->created_at = now;
    const char *cp[] = {acc, b->start, b->end, db_result_value(r, 0, 0)};
    if ((rc = claim_nights(c, claim, 4, cp)) != DB_OK)
        goto rollback;
    if ((rc = journal_block(c, now, actor, "block.created", NULL, b)) != DB_OK)
        goto rollback;
    if ((rc = db_commit(c)) != DB_OK)
        *expired = 0;
    goto out;
rollback:
    db_rollback(c);
    *expired = 0;
out:
    db_result_free(r);
    db_release(db, c);
    return rc;
}

int store_block_list(struct db *db, long long accommodation_id, struct block **items, int *n)
{
    static const char *sql =
        "SELECT " BLOCK_COLUMNS " FROM blocks WHERE accommodation_id = CAST($1 AS bigint) "
        "ORDER BY start_date, id LIMIT 1000";
    char acc[24];
    const char *params[] = {store_ll_param(accommodation_id, acc)};
    struct db_result *r = NULL;
    *items = NULL;
    *n = 0;
    int rc = db_exec_once(db, sql, 1, params, &r);
    if (rc == DB_OK) {
        *items = store_rows_read(r, sizeof **items, read_any_block, n);
    }
    db_result_free(r);
    return rc;
}

int store_block_delete(struct db *db, long long accommodation_id, long long block_id, long long now,
                       const char *actor)
{
    static const char *unclaim = "DELETE FROM stay_claims WHERE block_id = CAST($2 AS bigint) "
                                 "AND accommodation_id = CAST($1 AS bigint)";
    static const char *del = "DELETE FROM blocks WHERE id = CAST($2 AS bigint) "
                             "AND accommodation_id = CAST($1 AS bigint) RETURNING " BLOCK_COLUMNS;
    char acc[24], id[24];
    const char *params[] = {store_ll_param(accommodation_id, acc), store_ll_param(block_id, id)};
    struct db_conn *c = NULL;
    struct db_result *r = NULL;
    int rc = db_acquire(db, &c);
    if (rc != DB_OK)
        return rc;
    if ((rc = db_begin(c)) != DB_OK)
        goto out;
    if ((rc = db_exec(c, unclaim, 2, params, NULL)) != DB_OK ||
        (rc = db_exec(c, del, 2, params, &r)) != DB_OK) {
        db_rollback(c);
        goto out;
    }
    if (db_result_rows(r) == 0) {
        db_rollback(c);
        rc = STORE_NOT_FOUND;
        goto out;
    }
    struct block before;
    read_block(r, 0, &before);
    if ((rc = journal_block(c, now, actor, "block.deleted", &before, NULL)) != DB_OK) {
        db_rollback(c);
        goto out;
    }
    rc = db_commit(c);
out:
    db_result_free(r);
    db_release(db, c);
    return rc;
}
