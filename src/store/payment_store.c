/* payment_store.c - the MercadoPago inbox, payments, payment events and preferences. See
 * payment_store.h.
 *
 * Lock order inside a transaction: the payment row first (created if missing, then locked with SELECT …
 * FOR UPDATE on PostgreSQL; SQLite's BEGIN IMMEDIATE already holds the only write lock), the reservation
 * row second. Two workers applying the same payment therefore serialize on its row, and the second one
 * finds the state already applied and changes nothing. */
#include "payment_store.h"

#include "journal.h"
#include "payments/mp_payment.h"
#include "store_util.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ACTOR "webhook:mercadopago"
#define PAY_COLUMNS                                                                                          \
    "id, payment_id, reservation_code, status, mp_status, status_detail, amount_cents, currency, outcome, "  \
    "needs_refund, created_at, updated_at"

/* --- helpers --- */

/* JSON text of `o` (stolen); "{}" when it cannot be built. Caller free()s. */
static char *json_text(json_t *o)
{
    char *s = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(o);
    if (!s) {
        s = strdup("{}");
        if (!s)
            abort();
    }
    return s;
}

static int event_add(struct db_conn *c, const char *payment_id, const char *code, const char *kind,
                     const char *status, const char *detail, long long now)
{
    static const char *sql =
        "INSERT INTO payment_events (payment_id, reservation_code, kind, status, detail, "
        "at) VALUES ($1, $2, $3, $4, $5, CAST($6 AS bigint))";
    char at[24];
    const char *p[] = {payment_id, code && *code ? code : NULL, kind,
                       status,     detail ? detail : "{}",      store_ll_param(now, at)};
    return db_exec(c, sql, 6, p, NULL);
}

static void read_payment(const struct db_result *r, int row, struct payment_record *x)
{
    memset(x, 0, sizeof *x);
    x->id = store_col_ll(r, row, 0);
    store_col_str(r, row, 1, x->payment_id, sizeof x->payment_id);
    store_col_str(r, row, 2, x->reservation_code, sizeof x->reservation_code);
    store_col_str(r, row, 3, x->status, sizeof x->status);
    store_col_str(r, row, 4, x->mp_status, sizeof x->mp_status);
    store_col_str(r, row, 5, x->status_detail, sizeof x->status_detail);
    x->has_amount = db_result_value(r, row, 6) != NULL;
    x->amount_cents = store_col_ll(r, row, 6);
    store_col_str(r, row, 7, x->currency, sizeof x->currency);
    store_col_str(r, row, 8, x->outcome, sizeof x->outcome);
    x->needs_refund = (int)store_col_ll(r, row, 9);
    x->created_at = store_col_ll(r, row, 10);
    x->updated_at = store_col_ll(r, row, 11);
}

static void read_any_payment(const struct db_result *r, int row, void *x)
{
    read_payment(r, row, x);
}

/* Reads the payment row; with `lock` (inside a transaction) FOR UPDATE on PostgreSQL. */
static int payment_get_on(struct db_conn *c, const char *payment_id, int lock, struct payment_record *out)
{
    static const char *plain =
        "SELECT " PAY_COLUMNS " FROM payments WHERE provider = 'mercadopago' AND payment_id = $1";
    static const char *locked =
        "SELECT " PAY_COLUMNS " FROM payments WHERE provider = 'mercadopago' AND payment_id = $1 FOR UPDATE";
    const char *sql = lock && db_conn_engine(c) == DB_ENGINE_POSTGRES ? locked : plain;
    const char *p[] = {payment_id};
    struct db_result *r = NULL;
    int rc = db_exec(c, sql, 1, p, &r);
    if (rc == DB_OK && db_result_rows(r) == 0)
        rc = STORE_NOT_FOUND;
    if (rc == DB_OK)
        read_payment(r, 0, out);
    db_result_free(r);
    return rc;
}

/* Inside a transaction: creates the row on first sight ("new", outcome "recorded"), locks it, reads it,
 * and appends the `fetched` event for this observation. */
static int observe_on(struct db_conn *c, const struct payment_observation *o, long long now,
                      struct payment_record *cur)
{
    static const char *insert =
        "INSERT INTO payments (provider, payment_id, reservation_code, status, mp_status, outcome, "
        "needs_refund, created_at, updated_at) VALUES ('mercadopago', $1, $2, 'new', 'new', 'recorded', 0, "
        "CAST($3 AS bigint), CAST($3 AS bigint)) ON CONFLICT (provider, payment_id) DO NOTHING";
    char at[24];
    const char *p[] = {o->payment_id,
                       o->reservation_code && *o->reservation_code ? o->reservation_code : NULL,
                       store_ll_param(now, at)};
    int rc = db_exec(c, insert, 3, p, NULL);
    if (rc == DB_OK)
        rc = payment_get_on(c, o->payment_id, 1, cur);
    if (rc != DB_OK)
        return rc;
    json_t *d =
        json_pack("{s:s, s:s, s:s, s:s}", "status_detail", o->status_detail ? o->status_detail : "", "amount",
                  o->amount_text ? o->amount_text : "", "currency", o->currency ? o->currency : "",
                  "external_reference", o->reservation_code ? o->reservation_code : "");
    char *detail = json_text(d);
    rc = event_add(c, o->payment_id, o->reservation_code, "fetched", o->mp_status, detail, now);
    free(detail);
    return rc;
}

/* Writes MercadoPago's fields of the observation onto the row and sets status to `status`, except that
 * with keep_flagged a needs_refund status stays (MercadoPago still reports the money as received). */
static int write_state(struct db_conn *c, const struct payment_observation *o, const char *status,
                       int keep_flagged, long long now)
{
    static const char *sql =
        "UPDATE payments SET mp_status = $2, status = CASE WHEN status = 'needs_refund' AND $3 = 'keep' "
        "THEN status ELSE $4 END, status_detail = $5, amount_cents = COALESCE(CAST($6 AS bigint), "
        "amount_cents), currency = COALESCE($7, currency), reservation_code = COALESCE($8, "
        "reservation_code), updated_at = CAST($9 AS bigint) WHERE provider = 'mercadopago' AND payment_id = "
        "$1";
    char amount[24], at[24];
    const char *keep = keep_flagged ? "keep" : "set";
    const char *p[] = {o->payment_id,
                       o->mp_status,
                       keep,
                       status,
                       o->status_detail && *o->status_detail ? o->status_detail : NULL,
                       o->has_amount ? store_ll_param(o->amount_cents, amount) : NULL,
                       o->currency && *o->currency ? o->currency : NULL,
                       o->reservation_code && *o->reservation_code ? o->reservation_code : NULL,
                       store_ll_param(now, at)};
    return db_exec(c, sql, 9, p, NULL);
}

static int applied_event(struct db_conn *c, const char *payment_id, const char *code, const char *status,
                         const char *outcome, const char *reason, long long now)
{
    json_t *d = json_pack("{s:s}", "outcome", outcome);
    if (d && reason)
        json_object_set_new(d, "reason", json_string(reason));
    char *detail = json_text(d);
    int rc = event_add(c, payment_id, code, "applied", status, detail, now);
    free(detail);
    return rc;
}

/* Ends a transaction: COMMIT when rc is DB_OK, ROLLBACK otherwise. Returns the final code. */
static int finish_tx(struct db_conn *c, int rc)
{
    if (rc != DB_OK) {
        db_rollback(c);
        return rc;
    }
    return db_commit(c);
}

/* The reservation's status and payment_status, locked on PostgreSQL. STORE_NOT_FOUND when absent. */
static int reservation_state_on(struct db_conn *c, const char *code, char status[16], char payment[16])
{
    static const char *plain = "SELECT status, payment_status FROM reservations WHERE code = $1";
    static const char *locked = "SELECT status, payment_status FROM reservations WHERE code = $1 FOR UPDATE";
    const char *p[] = {code};
    struct db_result *r = NULL;
    int rc = db_exec(c, db_conn_engine(c) == DB_ENGINE_POSTGRES ? locked : plain, 1, p, &r);
    if (rc == DB_OK && db_result_rows(r) == 0)
        rc = STORE_NOT_FOUND;
    if (rc == DB_OK) {
        store_col_str(r, 0, 0, status, 16);
        store_col_str(r, 0, 1, payment, 16);
    }
    db_result_free(r);
    return rc;
}

/* Sets the reservation's payment_status (and paid_cents when >= 0) with its audit row. */
static int reservation_payment_status_on(struct db_conn *c, const char *code, const char *before_status,
                                         const char *before_payment, const char *payment_status,
                                         int64_t paid_cents, const char *payment_id, long long now)
{
    static const char *sql = "UPDATE reservations SET payment_status = $2, paid_cents = CASE WHEN CAST($3 AS "
                             "bigint) < 0 THEN paid_cents ELSE CAST($3 AS bigint) END, updated_at = CAST($4 "
                             "AS bigint) WHERE code = $1";
    char paid[24], at[24], action[64];
    const char *p[] = {code, payment_status, store_ll_param(paid_cents, paid), store_ll_param(now, at)};
    int rc = db_exec(c, sql, 4, p, NULL);
    if (rc != DB_OK)
        return rc;
    char *before =
        json_text(json_pack("{s:s, s:s}", "status", before_status, "payment_status", before_payment));
    char *after = json_text(json_pack("{s:s, s:s, s:s}", "status", before_status, "payment_status",
                                      payment_status, "payment_id", payment_id));
    snprintf(action, sizeof action, "reservation.payment_%s", payment_status);
    rc = audit_record(c, now, ACTOR, action, "reservation", code, before, after);
    free(before);
    free(after);
    return rc;
}

/* The owner's email about a payment, one per payment and `what`. */
static int owner_message_on(struct db_conn *c, const char *template_name, const char *what,
                            const struct payment_record *p, const char *reason, long long now)
{
    char key[160], amount[24];
    snprintf(key, sizeof key, "%s:%s:%s", template_name, p->payment_id, what);
    snprintf(amount, sizeof amount, "%lld", (long long)p->amount_cents);
    json_t *payload = json_pack("{s:s, s:s, s:s, s:s}", "payment_id", p->payment_id, "status", what,
                                "currency", p->currency, "provider", "mercadopago");
    if (payload) {
        json_object_set_new(payload, "amount_cents",
                            p->has_amount ? json_integer(p->amount_cents) : json_null());
        if (reason)
            json_object_set_new(payload, "reason", json_string(reason));
    }
    char *text = json_text(payload);
    struct outbox_message m = {.channel = "email",
                               .template_name = template_name,
                               .recipient = "owner",
                               .reservation_code = p->reservation_code[0] ? p->reservation_code : NULL,
                               .payload = text,
                               .dedupe_key = key};
    int rc = outbox_enqueue(c, now, &m);
    free(text);
    return rc;
}

static int payment_audit_on(struct db_conn *c, const struct payment_record *before, const char *status,
                            const char *outcome, long long now)
{
    char action[64];
    snprintf(action, sizeof action, "payment.%s", status);
    char *b = json_text(json_pack("{s:s, s:s, s:s}", "status", before->status, "mp_status", before->mp_status,
                                  "outcome", before->outcome));
    char *a = json_text(json_pack("{s:s, s:s, s:s}", "status", status, "outcome", outcome, "reservation_code",
                                  before->reservation_code));
    int rc = audit_record(c, now, ACTOR, action, "payment", before->payment_id, b, a);
    free(b);
    free(a);
    return rc;
}

/* --- inbox --- */

int store_mp_inbox_add(struct db *db, const struct mp_notification *n, long long now, long long *id)
{
    static const char *sql =
        "INSERT INTO mp_inbox (topic, resource_id, request_id, action, body, status, attempts, "
        "next_attempt_at, received_at) VALUES ($1, $2, $3, $4, $5, 'pending', 0, CAST($6 AS bigint), "
        "CAST($6 AS bigint)) RETURNING id";
    char at[24];
    char *body = NULL;
    size_t blen = n->body && n->body_len <= PAYMENT_NOTIFICATION_BODY_MAX ? n->body_len : 0;
    body = malloc(blen + 1);
    if (!body)
        abort();
    if (blen)
        memcpy(body, n->body, blen);
    body[blen] = '\0';
    if (strlen(body) != blen)
        body[0] = '\0'; /* an embedded NUL: not text, not kept */
    const char *p[] = {n->topic, n->resource_id, n->request_id, n->action, body, store_ll_param(now, at)};
    struct db_conn *c = NULL;
    struct db_result *r = NULL;
    int rc = db_acquire(db, &c);
    if (rc != DB_OK) {
        free(body);
        return rc;
    }
    if ((rc = db_begin(c)) != DB_OK)
        goto out;
    rc = db_exec(c, sql, 6, p, &r);
    if (rc == DB_OK) {
        *id = store_col_ll(r, 0, 0);
        json_t *d = json_pack("{s:I, s:s, s:s?, s:s?}", "inbox_id", (json_int_t)*id, "topic", n->topic,
                              "action", n->action, "request_id", n->request_id);
        char *detail = json_text(d);
        rc = event_add(c, n->resource_id, NULL, "notification", NULL, detail, now);
        free(detail);
    }
    rc = finish_tx(c, rc);
out:
    free(body);
    db_result_free(r);
    db_release(db, c);
    return rc;
}

int store_mp_inbox_claim(struct db *db, long long now, int lease_s, int max, struct mp_inbox_item *out,
                         int *n)
{
#define CLAIM_HEAD                                                                                           \
    "UPDATE mp_inbox SET status = 'processing', attempts = attempts + 1, locked_until = CAST($2 AS bigint) " \
    "WHERE id IN (SELECT id FROM mp_inbox WHERE (status = 'pending' AND next_attempt_at <= CAST($1 AS "      \
    "bigint)) OR (status = 'processing' AND locked_until <= CAST($1 AS bigint)) ORDER BY id LIMIT CAST($3 "  \
    "AS integer)"
    static const char *pg = CLAIM_HEAD " FOR UPDATE SKIP LOCKED) RETURNING id, topic, resource_id, attempts";
    static const char *lite = CLAIM_HEAD ") RETURNING id, topic, resource_id, attempts";
#undef CLAIM_HEAD
    char at[24], until[24], lim[24];
    const char *p[] = {store_ll_param(now, at), store_ll_param(now + lease_s, until),
                       store_ll_param(max, lim)};
    struct db_result *r = NULL;
    *n = 0;
    int rc = db_exec_once(db, db_engine_of(db) == DB_ENGINE_POSTGRES ? pg : lite, 3, p, &r);
    if (rc == DB_OK) {
        int rows = db_result_rows(r);
        for (int i = 0; i < rows && i < max; i++) {
            memset(&out[i], 0, sizeof out[i]);
            out[i].id = store_col_ll(r, i, 0);
            store_col_str(r, i, 1, out[i].topic, sizeof out[i].topic);
            store_col_str(r, i, 2, out[i].resource_id, sizeof out[i].resource_id);
            out[i].attempts = (int)store_col_ll(r, i, 3);
            (*n)++;
        }
    }
    db_result_free(r);
    return rc;
}

int store_mp_inbox_finish(struct db *db, long long id, const char *status, long long next_attempt_at,
                          const char *error, long long now)
{
    static const char *sql =
        "UPDATE mp_inbox SET status = $2, next_attempt_at = CAST($3 AS bigint), last_error = $4, "
        "locked_until = NULL, processed_at = CASE WHEN $2 = 'pending' THEN processed_at ELSE CAST($5 AS "
        "bigint) END WHERE id = CAST($1 AS bigint)";
    char idb[24], next[24], at[24];
    const char *p[] = {store_ll_param(id, idb), status, store_ll_param(next_attempt_at, next), error,
                       store_ll_param(now, at)};
    return db_exec_once(db, sql, 5, p, NULL);
}

int store_mp_inbox_counts(struct db *db, int *waiting, int *failed)
{
    static const char *sql = "SELECT status, count(*) FROM mp_inbox WHERE status IN ('pending', "
                             "'processing', 'failed') GROUP BY status";
    struct db_result *r = NULL;
    *waiting = *failed = 0;
    int rc = db_exec_once(db, sql, 0, NULL, &r);
    for (int i = 0; rc == DB_OK && i < db_result_rows(r); i++) {
        const char *s = db_result_value(r, i, 0);
        int k = (int)store_col_ll(r, i, 1);
        if (s && strcmp(s, "failed") == 0)
            *failed += k;
        else
            *waiting += k;
    }
    db_result_free(r);
    return rc;
}

/* --- payments --- */

/* A stored mp_status of "new" (the row was just created) is below every real status. */
static int stored_rank(const struct payment_record *p)
{
    return strcmp(p->mp_status, "new") == 0 ? 0 : mp_status_rank(p->mp_status);
}

int store_payment_record_state(struct db *db, const struct payment_observation *o, long long now,
                               struct payment_record *cur, int *changed)
{
    struct db_conn *c = NULL;
    *changed = 0;
    int rc = db_acquire(db, &c);
    if (rc != DB_OK)
        return rc;
    if ((rc = db_begin(c)) != DB_OK)
        goto out;
    rc = observe_on(c, o, now, cur);
    if (rc == DB_OK && strcmp(o->mp_status, cur->mp_status) != 0 &&
        mp_status_rank(o->mp_status) >= stored_rank(cur)) {
        rc = write_state(c, o, o->mp_status, 1, now);
        if (rc == DB_OK)
            rc = applied_event(c, o->payment_id, o->reservation_code, o->mp_status, cur->outcome, NULL, now);
        if (rc == DB_OK)
            rc = payment_get_on(c, o->payment_id, 0, cur);
        *changed = rc == DB_OK;
    }
    rc = finish_tx(c, rc);
    if (rc != DB_OK)
        *changed = 0;
out:
    db_release(db, c);
    return rc;
}

static int outcome_final(const char *outcome)
{
    return strcmp(outcome, "recorded") != 0 && strcmp(outcome, "confirming") != 0;
}

int store_payment_approved_begin(struct db *db, const struct payment_observation *o, const char *outcome,
                                 long long now, struct payment_record *cur, int *proceed, int *changed)
{
    static const char *set_outcome = "UPDATE payments SET outcome = $2, updated_at = CAST($3 AS bigint) "
                                     "WHERE provider = 'mercadopago' AND payment_id = $1";
    struct db_conn *c = NULL;
    char at[24];
    *proceed = *changed = 0;
    int rc = db_acquire(db, &c);
    if (rc != DB_OK)
        return rc;
    if ((rc = db_begin(c)) != DB_OK)
        goto out;
    rc = observe_on(c, o, now, cur);
    /* final already, or a later state (refunded) is stored: a late "approved" changes nothing */
    if (rc == DB_OK && !outcome_final(cur->outcome) && stored_rank(cur) <= mp_status_rank("approved")) {
        const char *p[] = {o->payment_id, outcome, store_ll_param(now, at)};
        int was_confirming = strcmp(cur->outcome, "confirming") == 0;
        rc = write_state(c, o, "approved", 1, now);
        if (rc == DB_OK)
            rc = db_exec(c, set_outcome, 3, p, NULL);
        if (rc == DB_OK && !(was_confirming && strcmp(outcome, "confirming") == 0))
            rc = applied_event(c, o->payment_id, o->reservation_code, "approved", outcome, NULL, now);
        if (rc == DB_OK)
            rc = payment_get_on(c, o->payment_id, 0, cur);
        *changed = !was_confirming || strcmp(outcome, "confirming") != 0;
        *proceed = strcmp(outcome, "confirming") == 0;
    }
    rc = finish_tx(c, rc);
    if (rc != DB_OK)
        *proceed = *changed = 0;
out:
    db_release(db, c);
    return rc;
}

int store_payment_approved_finish(struct db *db, const char *payment_id, const char *outcome, long long now,
                                  int *changed)
{
    static const char *sql = "UPDATE payments SET outcome = $2, updated_at = CAST($3 AS bigint) "
                             "WHERE provider = 'mercadopago' AND payment_id = $1 AND outcome = 'confirming' "
                             "RETURNING reservation_code";
    char at[24];
    const char *p[] = {payment_id, outcome, store_ll_param(now, at)};
    struct db_conn *c = NULL;
    struct db_result *r = NULL;
    *changed = 0;
    int rc = db_acquire(db, &c);
    if (rc != DB_OK)
        return rc;
    if ((rc = db_begin(c)) != DB_OK)
        goto out;
    rc = db_exec(c, sql, 3, p, &r);
    if (rc == DB_OK && db_result_rows(r) == 1) {
        *changed = 1;
        rc = applied_event(c, payment_id, db_result_value(r, 0, 0), "approved", outcome, NULL, now);
    }
    rc = finish_tx(c, rc);
    if (rc != DB_OK)
        *changed = 0;
out:
    db_result_free(r);
    db_release(db, c);
    return rc;
}

int store_payment_needs_refund(struct db *db, const char *payment_id, const char *reason, long long now,
                               int *changed)
{
    static const char *flag = "UPDATE payments SET status = 'needs_refund', needs_refund = 1, outcome = $2, "
                              "updated_at = CAST($3 AS bigint) WHERE provider = 'mercadopago' AND payment_id "
                              "= $1 AND outcome = 'confirming'";
    char at[24];
    struct payment_record before;
    struct db_conn *c = NULL;
    *changed = 0;
    int rc = db_acquire(db, &c);
    if (rc != DB_OK)
        return rc;
    if ((rc = db_begin(c)) != DB_OK)
        goto out;
    if ((rc = payment_get_on(c, payment_id, 1, &before)) != DB_OK ||
        strcmp(before.outcome, "confirming") != 0) {
        rc = finish_tx(c, rc); /* someone else ended it (or it is gone): nothing to do */
        goto out;
    }
    const char *p[] = {payment_id, reason, store_ll_param(now, at)};
    rc = db_exec(c, flag, 3, p, NULL);
    if (rc == DB_OK)
        rc = payment_audit_on(c, &before, "needs_refund", reason, now);
    if (rc == DB_OK && before.reservation_code[0]) {
        char status[16], payment[16];
        int r2 = reservation_state_on(c, before.reservation_code, status, payment);
        if (r2 == DB_OK && !booking_status_active(status))
            rc = reservation_payment_status_on(c, before.reservation_code, status, payment, "needs_refund",
                                               before.has_amount ? before.amount_cents : -1, payment_id, now);
        else if (r2 != DB_OK && r2 != STORE_NOT_FOUND)
            rc = r2;
    }
    if (rc == DB_OK)
        rc = owner_message_on(c, "payment_needs_refund", "needs_refund", &before, reason, now);
    if (rc == DB_OK)
        rc = applied_event(c, payment_id, before.reservation_code, "needs_refund", "needs_refund", reason,
                           now);
    rc = finish_tx(c, rc);
    *changed = rc == DB_OK;
out:
    db_release(db, c);
    return rc;
}

int store_payment_reversed(struct db *db, const struct payment_observation *o, long long now,
                           struct payment_record *cur, int *changed)
{
    static const char *clear = "UPDATE payments SET needs_refund = 0, updated_at = CAST($2 AS bigint) "
                               "WHERE provider = 'mercadopago' AND payment_id = $1";
    char at[24];
    struct db_conn *c = NULL;
    *changed = 0;
    int rc = db_acquire(db, &c);
    if (rc != DB_OK)
        return rc;
    if ((rc = db_begin(c)) != DB_OK)
        goto out;
    struct payment_record before;
    rc = observe_on(c, o, now, &before);
    if (rc != DB_OK || strcmp(before.mp_status, o->mp_status) == 0) {
        if (rc == DB_OK)
            *cur = before;
        rc = finish_tx(c, rc);
        goto out;
    }
    const char *p[] = {o->payment_id, store_ll_param(now, at)};
    rc = write_state(c, o, o->mp_status, 0, now);
    if (rc == DB_OK)
        rc = db_exec(c, clear, 2, p, NULL);
    if (rc == DB_OK)
        rc = payment_audit_on(c, &before, o->mp_status, before.outcome, now);
    /* the reservation follows only a payment that paid it or was flagged on it */
    int paid_it = strcmp(before.outcome, "confirmed") == 0 || strcmp(before.status, "needs_refund") == 0;
    const char *code = before.reservation_code[0] ? before.reservation_code : o->reservation_code;
    if (rc == DB_OK && paid_it && code && *code) {
        char status[16], payment[16];
        int r2 = reservation_state_on(c, code, status, payment);
        if (r2 == DB_OK)
            rc =
                reservation_payment_status_on(c, code, status, payment, o->mp_status, -1, o->payment_id, now);
        else if (r2 != STORE_NOT_FOUND)
            rc = r2;
    }
    if (rc == DB_OK)
        rc = payment_get_on(c, o->payment_id, 0, cur);
    if (rc == DB_OK)
        rc = owner_message_on(c, "payment_refunded", o->mp_status, cur, NULL, now);
    if (rc == DB_OK)
        rc = applied_event(c, o->payment_id, code, o->mp_status, cur->outcome, NULL, now);
    rc = finish_tx(c, rc);
    *changed = rc == DB_OK;
out:
    db_release(db, c);
    return rc;
}

int store_payment_event_add(struct db *db, const char *payment_id, const char *reservation_code,
                            const char *kind, const char *status, const char *detail, long long now)
{
    struct db_conn *c = NULL;
    int rc = db_acquire(db, &c);
    if (rc != DB_OK)
        return rc;
    rc = event_add(c, payment_id, reservation_code, kind, status, detail, now);
    db_release(db, c);
    return rc;
}

int store_payment_list(struct db *db, const struct payment_filter *f, struct payment_record **items, int *n,
                       int *total)
{
#define PAY_FILTER                                                                                           \
    " FROM payments WHERE ($1 = '' OR reservation_code = $1) AND ($2 = '' OR status = $2) AND (CAST($3 AS "  \
    "integer) < 0 OR needs_refund = CAST($3 AS integer))"
    static const char *sql = "SELECT " PAY_COLUMNS PAY_FILTER " ORDER BY updated_at DESC, id DESC "
                             "LIMIT CAST($4 AS integer) OFFSET CAST($5 AS integer)";
    static const char *count_sql = "SELECT count(*)" PAY_FILTER;
#undef PAY_FILTER
    char nr[24], lim[24], off[24];
    const char *p[] = {f->code ? f->code : "", f->status ? f->status : "",
                       store_ll_param(f->needs_refund, nr), store_ll_param(f->limit, lim),
                       store_ll_param(f->offset, off)};
    struct db_conn *c = NULL;
    struct db_result *r = NULL;
    *items = NULL;
    *n = *total = 0;
    int rc = db_acquire(db, &c);
    if (rc != DB_OK)
        return rc;
    rc = db_exec(c, sql, 5, p, &r);
    if (rc == DB_OK)
        *items = store_rows_read(r, sizeof **items, read_any_payment, n);
    db_result_free(r);
    r = NULL;
    if (rc == DB_OK && (rc = db_exec(c, count_sql, 3, p, &r)) == DB_OK)
        *total = (int)store_col_ll(r, 0, 0);
    if (rc != DB_OK) {
        free(*items);
        *items = NULL;
        *n = 0;
    }
    db_result_free(r);
    db_release(db, c);
    return rc;
}

int store_payment_get(struct db *db, const char *payment_id, struct payment_record *out)
{
    struct db_conn *c = NULL;
    int rc = db_acquire(db, &c);
    if (rc != DB_OK)
        return rc;
    rc = payment_get_on(c, payment_id, 0, out);
    db_release(db, c);
    return rc;
}

static void read_any_event(const struct db_result *r, int row, void *v)
{
    struct payment_event *e = v;
    e->id = store_col_ll(r, row, 0);
    store_col_str(r, row, 1, e->kind, sizeof e->kind);
    store_col_str(r, row, 2, e->status, sizeof e->status);
    store_col_str(r, row, 3, e->detail, sizeof e->detail);
    e->at = store_col_ll(r, row, 4);
}

int store_payment_events(struct db *db, const char *payment_id, struct payment_event **items, int *n)
{
    static const char *sql = "SELECT id, kind, status, detail, at FROM payment_events WHERE payment_id = $1 "
                             "ORDER BY id LIMIT 200";
    const char *p[] = {payment_id};
    void *rows = NULL;
    int rc = store_read_rows(db, sql, 1, p, sizeof **items, read_any_event, &rows, n);
    *items = rows;
    return rc;
}

/* --- Checkout preferences --- */

int store_mp_preference_get(struct db *db, const char *code, struct mp_preference_row *out)
{
    static const char *sql = "SELECT reservation_code, generation, preference_id, init_point, last_error "
                             "FROM mp_preferences WHERE reservation_code = $1";
    const char *p[] = {code};
    struct db_result *r = NULL;
    int rc = db_exec_once(db, sql, 1, p, &r);
    if (rc == DB_OK && db_result_rows(r) == 0)
        rc = STORE_NOT_FOUND;
    if (rc == DB_OK) {
        memset(out, 0, sizeof *out);
        store_col_str(r, 0, 0, out->reservation_code, sizeof out->reservation_code);
        out->generation = (int)store_col_ll(r, 0, 1);
        store_col_str(r, 0, 2, out->preference_id, sizeof out->preference_id);
        store_col_str(r, 0, 3, out->init_point, sizeof out->init_point);
        store_col_str(r, 0, 4, out->last_error, sizeof out->last_error);
    }
    db_result_free(r);
    return rc;
}

int store_mp_preference_saved(struct db *db, const char *code, int generation, const char *preference_id,
                              const char *init_point, const char *whatsapp_phone, long long now)
{
    static const char *upsert =
        "INSERT INTO mp_preferences (reservation_code, generation, preference_id, init_point, last_error, "
        "created_at, updated_at) VALUES ($1, CAST($2 AS integer), $3, $4, NULL, CAST($5 AS bigint), CAST($5 "
        "AS bigint)) ON CONFLICT (reservation_code) DO UPDATE SET preference_id = excluded.preference_id, "
        "init_point = excluded.init_point, last_error = NULL, updated_at = excluded.updated_at "
        "WHERE mp_preferences.generation = excluded.generation RETURNING reservation_code";
    static const char *link = "UPDATE reservations SET payment_url = $2, updated_at = CAST($3 AS bigint) "
                              "WHERE code = $1";
    char gen[24], at[24];
    const char *p[] = {code, store_ll_param(generation, gen), preference_id, init_point,
                       store_ll_param(now, at)};
    const char *lp[] = {code, init_point, at};
    struct db_conn *c = NULL;
    struct db_result *r = NULL;
    int rc = db_acquire(db, &c);
    if (rc != DB_OK)
        return rc;
    if ((rc = db_begin(c)) != DB_OK)
        goto out;
    rc = db_exec(c, upsert, 5, p, &r);
    if (rc == DB_OK && db_result_rows(r) == 0)
        rc = STORE_INVALID_STATE;
    if (rc == DB_OK)
        rc = db_exec(c, link, 3, lp, NULL);
    if (rc == DB_OK) {
        char *after = json_text(json_pack("{s:s, s:s, s:i}", "payment_url", init_point, "preference_id",
                                          preference_id, "generation", generation));
        rc = audit_record(c, now, ACTOR, "reservation.payment_link", "reservation", code, NULL, after);
        free(after);
    }
    if (rc == DB_OK && whatsapp_phone && *whatsapp_phone) {
        /* the hold's WhatsApp notice carries the link: "Tenés una reserva pendiente … Pagala acá: …" */
        char key[96];
        snprintf(key, sizeof key, "payment_link:%s:%d:whatsapp", code, generation);
        struct outbox_message m = {.channel = "whatsapp",
                                   .template_name = "hold_created",
                                   .recipient = whatsapp_phone,
                                   .reservation_code = code,
                                   .dedupe_key = key};
        rc = outbox_enqueue(c, now, &m);
    }
    rc = finish_tx(c, rc);
out:
    db_result_free(r);
    db_release(db, c);
    return rc;
}

int store_mp_preference_failed(struct db *db, const char *code, int generation, const char *error,
                               long long now)
{
    static const char *upsert =
        "INSERT INTO mp_preferences (reservation_code, generation, last_error, created_at, updated_at) "
        "VALUES ($1, CAST($2 AS integer), $3, CAST($4 AS bigint), CAST($4 AS bigint)) ON CONFLICT "
        "(reservation_code) DO UPDATE SET last_error = excluded.last_error, updated_at = excluded.updated_at "
        "WHERE mp_preferences.generation = excluded.generation";
    char gen[24], at[24], key[96], payload[64];
    const char *p[] = {code, store_ll_param(generation, gen), error, store_ll_param(now, at)};
    snprintf(key, sizeof key, "mercadopago:preference:%s:%d", code, generation);
    snprintf(payload, sizeof payload, "{\"generation\":%d}", generation);
    struct outbox_message m = {.channel = "mercadopago",
                               .template_name = "preference",
                               .recipient = "",
                               .reservation_code = code,
                               .payload = payload,
                               .dedupe_key = key};
    struct db_conn *c = NULL;
    int rc = db_acquire(db, &c);
    if (rc != DB_OK)
        return rc;
    if ((rc = db_begin(c)) != DB_OK)
        goto out;
    rc = db_exec(c, upsert, 4, p, NULL);
    if (rc == DB_OK)
        rc = outbox_enqueue(c, now, &m);
    rc = finish_tx(c, rc);
out:
    db_release(db, c);
    return rc;
}

int store_mp_preference_bump(struct db *db, const char *code, int expected, long long now, int *generation)
{
    static const char *bump =
        "UPDATE mp_preferences SET generation = generation + 1, preference_id = NULL, init_point = NULL, "
        "last_error = NULL, updated_at = CAST($3 AS bigint) WHERE reservation_code = $1 AND generation = "
        "CAST($2 AS integer) RETURNING generation";
    static const char *first =
        "INSERT INTO mp_preferences (reservation_code, generation, created_at, updated_at) VALUES ($1, 2, "
        "CAST($2 AS bigint), CAST($2 AS bigint)) ON CONFLICT (reservation_code) DO NOTHING RETURNING "
        "generation";
    static const char *unlink = "UPDATE reservations SET payment_url = NULL, updated_at = CAST($2 AS bigint) "
                                "WHERE code = $1";
    char exp[24], at[24];
    const char *p[] = {code, store_ll_param(expected, exp), store_ll_param(now, at)};
    const char *up[] = {code, at};
    struct db_conn *c = NULL;
    struct db_result *r = NULL;
    int rc = db_acquire(db, &c);
    if (rc != DB_OK)
        return rc;
    if ((rc = db_begin(c)) != DB_OK)
        goto out;
    rc = expected > 0 ? db_exec(c, bump, 3, p, &r) : db_exec(c, first, 2, up, &r);
    if (rc == DB_OK && db_result_rows(r) == 0)
        rc = STORE_INVALID_STATE;
    if (rc == DB_OK) {
        *generation = (int)store_col_ll(r, 0, 0);
        rc = db_exec(c, unlink, 2, up, NULL);
    }
    if (rc == DB_OK) {
        char *after = json_text(json_pack("{s:i}", "generation", *generation));
        rc = audit_record(c, now, ACTOR, "reservation.payment_link_reset", "reservation", code, NULL, after);
        free(after);
    }
    rc = finish_tx(c, rc);
out:
    db_result_free(r);
    db_release(db, c);
    return rc;
}
