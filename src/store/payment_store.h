/* payment_store.h - the MercadoPago tables (migrations/postgres/0004_payments.sql): the notification
 * inbox, payments (one row per MercadoPago payment), the append-only payment_events, and the Checkout
 * preference of each hold.
 *
 * Every function borrows a pool connection for its duration and is thread-safe; changes that belong
 * together (a payment's new state, its event, the reservation's payment_status, the audit row and the
 * owner's message) are one transaction. Returns DB_OK, a DB_* code, or STORE_NOT_FOUND /
 * STORE_INVALID_STATE (booking_store.h). `now` is unix seconds. */
#ifndef CABANAS_PAYMENT_STORE_H
#define CABANAS_PAYMENT_STORE_H

#include "booking_store.h"
#include "db.h"

#include <stdint.h>

#define PAYMENT_ID_MAX 64
#define PAYMENT_TEXT_MAX 64
#define PAYMENT_NOTIFICATION_BODY_MAX 8192

/* --- inbox --- */

struct mp_notification {
    const char *topic;       /* "payment" */
    const char *resource_id; /* the payment id */
    const char *request_id;  /* x-request-id; may be NULL */
    const char *action;      /* may be NULL */
    const char *body;        /* the raw body; stored only up to PAYMENT_NOTIFICATION_BODY_MAX */
    size_t body_len;
};

/* Records an accepted notification and its `notification` event in one transaction; *id is the row. */
int store_mp_inbox_add(struct db *db, const struct mp_notification *n, long long now, long long *id);

struct mp_inbox_item {
    long long id;
    char topic[32];
    char resource_id[PAYMENT_ID_MAX + 1];
    int attempts; /* including this claim */
};

/* Claims up to `max` due rows (pending and due, or processing with an expired lease) for lease_s seconds.
 * PostgreSQL: FOR UPDATE SKIP LOCKED, so instances never claim the same row; SQLite: one UPDATE inside
 * BEGIN IMMEDIATE. *n is the count claimed. */
int store_mp_inbox_claim(struct db *db, long long now, int lease_s, int max, struct mp_inbox_item *out,
                         int *n);

/* Ends a claim: status "done" or "failed" (terminal), or "pending" again with next_attempt_at. `error`
 * may be NULL. */
int store_mp_inbox_finish(struct db *db, long long id, const char *status, long long next_attempt_at,
                          const char *error, long long now);

/* Rows waiting (pending or processing) and failed ones, for the gauges. */
int store_mp_inbox_counts(struct db *db, int *waiting, int *failed);

/* --- payments --- */

struct payment_record {
    long long id;
    char payment_id[PAYMENT_ID_MAX + 1];
    char reservation_code[PAYMENT_TEXT_MAX + 1];
    char status[32];
    char mp_status[32];
    char status_detail[PAYMENT_TEXT_MAX + 1];
    int64_t amount_cents;
    int has_amount;
    char currency[8];
    char outcome[32];
    int needs_refund;
    long long created_at, updated_at;
};

/* A state of a payment as MercadoPago reported it. */
struct payment_observation {
    const char *payment_id;
    const char *reservation_code; /* external_reference; "" when absent */
    const char *mp_status;
    const char *status_detail;
    int64_t amount_cents;
    int has_amount;
    const char *amount_text; /* as MercadoPago wrote it, for the event */
    const char *currency;
};

/* Records a fetched state in one transaction: the payment row (created on first sight), a `fetched`
 * event, and — unless its rank is below the stored one (mp_status_rank) or it is the stored state —
 * mp_status, status (= MercadoPago's, except a needs_refund payment keeps that status while MercadoPago
 * still says approved), amounts and detail. *changed is 1 when the row changed. *cur is the row after. */
int store_payment_record_state(struct db *db, const struct payment_observation *o, long long now,
                               struct payment_record *cur, int *changed);

/* An approved state: in one transaction, creates or locks the payment row and appends the `fetched`
 * event. When the row's outcome is already final (anything but "recorded" or "confirming"), nothing
 * else changes and *proceed is 0. Otherwise status and mp_status become approved and outcome becomes
 * `outcome`: "confirming" (the caller then confirms the hold, *proceed = 1) or a final outcome decided
 * by the caller (unknown_reservation, currency_mismatch, amount_below_deposit; *proceed = 0). *cur is the
 * row after; *changed is 1 when the outcome was written. */
int store_payment_approved_begin(struct db *db, const struct payment_observation *o, const char *outcome,
                                 long long now, struct payment_record *cur, int *proceed, int *changed);

/* Ends a "confirming" payment with `outcome` (confirmed, already_confirmed) in one transaction with an
 * `applied` event. *changed is 0 when another worker ended it first (the outcome was no longer
 * "confirming"). */
int store_payment_approved_finish(struct db *db, const char *payment_id, const char *outcome, long long now,
                                  int *changed);

/* An approved payment that cannot confirm its reservation (`reason`: nights_taken, reservation_cancelled,
 * duplicate_payment): status needs_refund and needs_refund = 1; when the reservation is not active, its
 * payment_status becomes needs_refund and paid_cents the amount (the guest's data is never touched); audit
 * rows; and the owner's email (outbox: channel email, template payment_needs_refund, recipient "owner",
 * one per payment). All in one transaction; *changed is 0 when the payment already was needs_refund. */
int store_payment_needs_refund(struct db *db, const char *payment_id, const char *reason, long long now,
                               int *changed);

/* A refunded or charged_back state: the payment row takes it (needs_refund cleared: the money went
 * back); when the payment had paid or was flagged on its reservation, the reservation's payment_status
 * becomes the same status (audit row); the owner is told (template payment_refunded, one per payment and
 * status). One transaction. *changed is 0 when the payment already was in that state. */
int store_payment_reversed(struct db *db, const struct payment_observation *o, long long now,
                           struct payment_record *cur, int *changed);

/* Appends one event outside any other change (e.g. a failed fetch). detail is JSON text or NULL. */
int store_payment_event_add(struct db *db, const char *payment_id, const char *reservation_code,
                            const char *kind, const char *status, const char *detail, long long now);

struct payment_filter {
    const char *code;   /* "" = any */
    const char *status; /* "" = any */
    int needs_refund;   /* -1 any, 0 or 1 */
    int limit, offset;
};

/* Newest first; *items malloc()ed (free() it); *total counts every match. */
int store_payment_list(struct db *db, const struct payment_filter *f, struct payment_record **items, int *n,
                       int *total);
int store_payment_get(struct db *db, const char *payment_id, struct payment_record *out);

struct payment_event {
    long long id;
    char kind[24];
    char status[32];
    char detail[1024];
    long long at;
};

/* The events of a payment, oldest first, at most STORE_LIST_MAX. */
int store_payment_events(struct db *db, const char *payment_id, struct payment_event **items, int *n);

/* --- Checkout preferences --- */

struct mp_preference_row {
    char reservation_code[RES_CODE_LEN + 1];
    int generation;
    char preference_id[256];
    char init_point[PAYMENT_URL_MAX + 1];
    char last_error[256];
};

/* STORE_NOT_FOUND when the hold never had a preference attempt. */
int store_mp_preference_get(struct db *db, const char *code, struct mp_preference_row *out);

/* Stores a created preference of `generation` and the reservation's payment_url, one transaction (with
 * an audit row). STORE_INVALID_STATE when the row has moved on to another generation meanwhile (an
 * admin's fresh link): then nothing is written. `whatsapp_phone` (may be NULL): a guest who booked on
 * WhatsApp and did not get this link in the bot's answer; the link is sent there (outbox, same
 * transaction). */
int store_mp_preference_saved(struct db *db, const char *code, int generation, const char *preference_id,
                              const char *init_point, const char *whatsapp_phone, long long now);

/* A failed attempt for `generation`: records the error and queues the retry in the outbox (channel
 * mercadopago, template preference, one message per hold and generation). One transaction. */
int store_mp_preference_failed(struct db *db, const char *code, int generation, const char *error,
                               long long now);

/* An admin's fresh link: generation `expected` -> expected + 1, the old preference forgotten and the
 * reservation's payment_url cleared, one transaction. STORE_INVALID_STATE when the generation is not
 * `expected` (a concurrent refresh). Creates the row (generation 1 -> 2) when `expected` is 0 and none
 * exists. */
int store_mp_preference_bump(struct db *db, const char *code, int expected, long long now, int *generation);

#endif
