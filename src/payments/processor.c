/* processor.c - the inbox worker and the payment rules. See processor.h. */
#include "processor.h"

#include "booking/service.h"
#include "core/log.h"
#include "jobs/periodic.h"
#include "mercadopago.h"
#include "store/payment_store.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CLAIM_BATCH 10
#define MAX_ROWS_PER_RUN 200
#define NOTE_PREFIX "MercadoPago payment "

static struct periodic *worker; /* written before/after the server runs; read by handlers (atomic) */
static int stop_requested;      /* set by payments_worker_stop() before it joins the worker (atomic) */

static int stopping(void)
{
    return __atomic_load_n(&stop_requested, __ATOMIC_ACQUIRE);
}

/* A metric label for a MercadoPago status: its own name when known, else "other" (bounded labels). */
static const char *status_label(const char *status)
{
    static const char *const known[] = {"pending",   "in_process", "authorized",   "approved",     "rejected",
                                        "cancelled", "refunded",   "charged_back", "in_mediation", NULL};
    for (int i = 0; known[i]; i++)
        if (strcmp(status, known[i]) == 0)
            return known[i];
    return "other";
}

static void observation_of(const struct mp_payment *p, struct payment_observation *o)
{
    memset(o, 0, sizeof *o);
    o->payment_id = p->id;
    o->reservation_code = p->external_reference;
    o->mp_status = p->status;
    o->status_detail = p->status_detail;
    o->amount_cents = p->amount_cents;
    o->has_amount = p->has_amount;
    o->amount_text = p->amount_text;
    o->currency = p->currency;
}

static int db_retry(int rc, char *err, size_t errlen)
{
    snprintf(err, errlen, "database: %s", db_strerror(rc));
    return 1;
}

/* booking_confirm said no: find out why and end the payment accordingly. */
static int after_refused_confirm(struct app *app, const struct mp_payment *p, const char *note,
                                 const struct booking_error *berr, char *err, size_t errlen)
{
    const char *reason = NULL, *final = NULL;
    struct reservation r;
    if (berr->status == 409 && strcmp(berr->code, "date_overlap") == 0) {
        reason = "nights_taken";
    } else if (berr->status == 409 && strcmp(berr->code, "invalid_state") == 0) {
        int rc = store_reservation_get(app->db, p->external_reference, &r);
        if (rc != DB_OK)
            return db_retry(rc, err, errlen);
        if (strcmp(r.status, "confirmed") == 0) {
            if (strcmp(r.notes, note) == 0)
                final = "confirmed"; /* this payment's own confirmation (an earlier or concurrent run) */
            else if (strncmp(r.notes, NOTE_PREFIX, strlen(NOTE_PREFIX)) == 0)
                reason = "duplicate_payment"; /* another MercadoPago payment already paid this hold */
            else
                final = "already_confirmed"; /* an admin confirmed it (a manual payment) */
        } else if (strcmp(r.status, "cancelled") == 0) {
            reason = "reservation_cancelled";
        } else {
            snprintf(err, errlen, "reservation %s is %s; trying again", r.code, r.status);
            return 1;
        }
    } else {
        snprintf(err, errlen, "confirm failed: %s (%s)", berr->code, berr->detail);
        return 1; /* the database: the payment stays "confirming" and the next attempt resumes */
    }
    int changed = 0, rc;
    if (final) {
        rc = store_payment_approved_finish(app->db, p->id, final, (long long)time(NULL), &changed);
        if (rc != DB_OK)
            return db_retry(rc, err, errlen);
        if (changed) {
            mp_metric_payment("approved");
            if (strcmp(final, "already_confirmed") == 0)
                log_warn("payment %s: approved for %s, which an admin had already confirmed; recorded", p->id,
                         p->external_reference);
        }
        return 0;
    }
    rc = store_payment_needs_refund(app->db, p->id, reason, (long long)time(NULL), &changed);
    if (rc != DB_OK && rc != STORE_NOT_FOUND)
        return db_retry(rc, err, errlen);
    if (changed) {
        mp_metric_payment("needs_refund");
        mp_metric_needs_refund();
        log_error(
            "payment %s: approved for %s but the hold cannot be confirmed (%s): NEEDS REFUND; the owner "
            "is emailed",
            p->id, p->external_reference, reason);
    }
    return 0;
}

static int apply_approved(struct app *app, const struct mp_payment *p, char *err, size_t errlen)
{
    struct payment_observation o;
    struct payment_record cur;
    struct reservation r;
    const char *outcome = "confirming";
    observation_of(p, &o);
    if (!p->external_reference[0]) {
        outcome = "unknown_reservation";
    } else {
        int rc = store_reservation_get(app->db, p->external_reference, &r);
        if (rc == STORE_NOT_FOUND)
            outcome = "unknown_reservation";
        else if (rc != DB_OK)
            return db_retry(rc, err, errlen);
        else if (strcmp(p->currency, r.currency) != 0)
            outcome = "currency_mismatch";
        else if (!p->has_amount || p->amount_cents < r.deposit_cents)
            outcome = "amount_below_deposit";
    }
    int proceed = 0, changed = 0;
    int rc =
        store_payment_approved_begin(app->db, &o, outcome, (long long)time(NULL), &cur, &proceed, &changed);
    if (rc != DB_OK)
        return db_retry(rc, err, errlen);
    if (!proceed) {
        if (changed) {
            mp_metric_payment("approved");
            log_warn("payment %s: approved but not applied to %s: %s", p->id,
                     p->external_reference[0] ? p->external_reference : "(no external_reference)", outcome);
        }
        return 0;
    }
    char note[sizeof NOTE_PREFIX + MP_ID_MAX];
    snprintf(note, sizeof note, NOTE_PREFIX "%s", p->id);
    struct reservation confirmed;
    struct booking_error berr;
    if (booking_confirm(app, p->external_reference, p->amount_cents, note, "mercadopago",
                        "webhook:mercadopago", &confirmed, &berr) < 0)
        return after_refused_confirm(app, p, note, &berr, err, errlen);
    rc = store_payment_approved_finish(app->db, p->id, "confirmed", (long long)time(NULL), &changed);
    if (rc != DB_OK)
        return db_retry(rc, err, errlen); /* the next attempt finds the hold confirmed with our note */
    if (changed)
        mp_metric_payment("approved");
    log_info("payment %s: approved, reservation %s confirmed", p->id, p->external_reference);
    return 0;
}

int payments_process_payment(struct app *app, const char *payment_id, char *err, size_t errlen)
{
    struct mp_payment p;
    struct payment_observation o;
    struct payment_record cur;
    int changed = 0;
    int c = mp_payment_fetch(app, payment_id, &p, err, errlen);
    long long now = (long long)time(NULL);
    if (c != 0) {
        json_t *d = json_pack("{s:s, s:b}", "error", err, "retry", c > 0);
        char *detail = d ? json_dumps(d, JSON_COMPACT) : NULL;
        json_decref(d);
        store_payment_event_add(app->db, payment_id, NULL, "fetch_failed", NULL, detail, now);
        free(detail);
        return c;
    }
    if (strcmp(p.status, "approved") == 0)
        return apply_approved(app, &p, err, errlen);
    observation_of(&p, &o);
    int rc = mp_status_reversal(p.status) ? store_payment_reversed(app->db, &o, now, &cur, &changed)
                                          : store_payment_record_state(app->db, &o, now, &cur, &changed);
    if (rc != DB_OK)
        return db_retry(rc, err, errlen);
    if (changed) {
        mp_metric_payment(status_label(p.status));
        log_info("payment %s: %s (reservation %s)", p.id, p.status,
                 p.external_reference[0] ? p.external_reference : "none");
    }
    return 0;
}

static long long backoff_s(int attempts)
{
    long long d = 2;
    for (int i = 1; i < attempts && d < MP_INBOX_MAX_BACKOFF_SECONDS; i++)
        d *= 2;
    return d < MP_INBOX_MAX_BACKOFF_SECONDS ? d : MP_INBOX_MAX_BACKOFF_SECONDS;
}

int payments_process_inbox(struct app *app)
{
    struct mp_inbox_item items[CLAIM_BATCH];
    int handled = 0;
    while (handled < MAX_ROWS_PER_RUN) {
        int n = 0;
        long long now = (long long)time(NULL);
        int rc = store_mp_inbox_claim(app->db, now, MP_INBOX_LEASE_SECONDS, CLAIM_BATCH, items, &n);
        if (rc != DB_OK) {
            log_warn("payments: cannot claim notifications (%s); retrying next run", db_strerror(rc));
            break;
        }
        if (n == 0)
            break;
        for (int i = 0; i < n; i++) {
            char err[512] = "";
            const char *status = "done";
            long long next = 0;
            if (stopping()) {
                /* shutting down: hand the rest back at once instead of waiting for the lease */
                store_mp_inbox_finish(app->db, items[i].id, "pending", (long long)time(NULL), NULL,
                                      (long long)time(NULL));
                continue;
            }
            int c = strcmp(items[i].topic, "payment") == 0
                        ? payments_process_payment(app, items[i].resource_id, err, sizeof err)
                        : 0;
            now = (long long)time(NULL);
            if (c > 0 && items[i].attempts < MP_INBOX_MAX_ATTEMPTS) {
                status = "pending";
                next = now + backoff_s(items[i].attempts);
                log_warn("payments: notification %lld (payment %s) attempt %d: %s; retrying in %lld s",
                         items[i].id, items[i].resource_id, items[i].attempts, err, next - now);
            } else if (c != 0) {
                status = "failed";
                log_error("payments: notification %lld (payment %s) given up after %d attempt(s): %s",
                          items[i].id, items[i].resource_id, items[i].attempts, err);
            }
            rc = store_mp_inbox_finish(app->db, items[i].id, status, next, err[0] ? err : NULL, now);
            if (rc != DB_OK)
                log_warn("payments: cannot finish notification %lld (%s); its lease will expire", items[i].id,
                         db_strerror(rc));
            handled++;
        }
        if (stopping())
            break;
    }
    int waiting = 0, failed = 0;
    if (store_mp_inbox_counts(app->db, &waiting, &failed) == DB_OK)
        mp_metric_inbox(waiting, failed);
    return handled;
}

static void run(struct app *app, void *arg)
{
    (void)arg;
    payments_process_inbox(app);
}

void payments_worker_start(struct app *app)
{
    if (!mp_configured(app->cfg))
        return;
    __atomic_store_n(&stop_requested, 0, __ATOMIC_RELEASE);
    struct periodic *p = periodic_start("payments", app->cfg->job_payments_interval_s, run, app, NULL);
    __atomic_store_n(&worker, p, __ATOMIC_RELEASE);
}

void payments_worker_wake(void)
{
    periodic_wake(__atomic_load_n(&worker, __ATOMIC_ACQUIRE));
}

void payments_worker_stop(void)
{
    /* the HTTP server has stopped, so no handler wakes the worker any more */
    struct periodic *p = __atomic_load_n(&worker, __ATOMIC_ACQUIRE);
    __atomic_store_n(&stop_requested, 1, __ATOMIC_RELEASE);
    periodic_stop(p);
    __atomic_store_n(&worker, NULL, __ATOMIC_RELEASE);
}
