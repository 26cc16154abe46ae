/* outbox_store.h - the delivery side of the outbox (migrations/postgres/0003_journal.sql): claiming due
 * messages, recording each attempt's outcome, and the admin views. Messages are written by
 * outbox_enqueue() (journal.h) inside the transaction of the change they describe.
 *
 * Life of a row: pending -> sending (claimed, attempts + 1, leased until locked_until) -> sent | pending
 * again with a later next_attempt_at (retry) | dead (too many attempts, or a permanent failure) | skipped
 * (its channel is not configured, or the message no longer applies; the attempt is not counted). A row
 * left in `sending` past its
 * lease (an instance crashed mid-send) is claimed again.
 *
 * Claiming is safe with several instances on one database: PostgreSQL claims with
 * `UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED)`, SQLite with one UPDATE under its single
 * writer. Every outcome is written only if the row is still in the claim that produced it (status
 * `sending` with the same attempt count), so an instance whose lease ran out cannot overwrite the outcome
 * of the instance that took the row over.
 *
 * All functions take the pool, borrow a connection and are thread-safe. They return DB_OK, a DB_* code,
 * or STORE_NOT_FOUND / STORE_INVALID_STATE (booking_store.h). */
#ifndef CABANAS_OUTBOX_STORE_H
#define CABANAS_OUTBOX_STORE_H

#include "booking_store.h"
#include "db.h"

#include <stdint.h>

#define OUTBOX_CHANNEL_MAX 31
#define OUTBOX_TEMPLATE_MAX 63
#define OUTBOX_RECIPIENT_MAX 254
#define OUTBOX_CODE_MAX 63
#define OUTBOX_PAYLOAD_MAX 8191 /* a longer stored payload reads as "{}" (never truncated JSON) */
#define OUTBOX_ERROR_MAX 500
#define OUTBOX_PROVIDER_ID_MAX 255
#define OUTBOX_LIST_MAX 200

struct outbox_row {
    long long id;
    char channel[OUTBOX_CHANNEL_MAX + 1];
    char template_name[OUTBOX_TEMPLATE_MAX + 1];
    char recipient[OUTBOX_RECIPIENT_MAX + 1];   /* address, phone, "owner", or "" */
    char reservation_code[OUTBOX_CODE_MAX + 1]; /* "" when about no reservation */
    char payload[OUTBOX_PAYLOAD_MAX + 1];       /* JSON object text */
    char status[16];
    int attempts;
    long long next_attempt_at;
    long long locked_until; /* 0 = not leased */
    char last_error[OUTBOX_ERROR_MAX + 1];
    char provider_id[OUTBOX_PROVIDER_ID_MAX + 1];
    long long created_at;
    long long updated_at;
    long long sent_at; /* 0 = not sent */
};

/* Claims up to `limit` due messages (pending with next_attempt_at <= now, or sending with a lease that
 * ran out), oldest due first: each becomes `sending` with attempts + 1 and locked_until = lease_until.
 * *rows is calloc()ed (free() it, never NULL); *n is how many were claimed (0 when nothing is due). */
int outbox_claim(struct db *db, long long now, long long lease_until, int limit, struct outbox_row **rows,
                 int *n);

/* The outcome of one claimed attempt (`row` as outbox_claim returned it). STORE_INVALID_STATE when the
 * row is no longer in that claim (its lease ran out and another instance took it): nothing is written. */
int outbox_mark_sent(struct db *db, const struct outbox_row *row, long long now, const char *provider_id);
/* Back to pending, due at next_at, with the error of this attempt. */
int outbox_mark_retry(struct db *db, const struct outbox_row *row, long long now, long long next_at,
                      const char *error);
/* Back to pending, due at next_at, and this attempt is not counted (the message was not ready). */
int outbox_mark_deferred(struct db *db, const struct outbox_row *row, long long now, long long next_at,
                         const char *note);
int outbox_mark_dead(struct db *db, const struct outbox_row *row, long long now, const char *error);
/* Skipped: nothing was attempted, so attempts goes back to what it was before the claim. */
int outbox_mark_skipped(struct db *db, const struct outbox_row *row, long long now, const char *reason);

/* Messages waiting (pending + sending) and dead ones. */
int outbox_counts(struct db *db, int *pending, int *dead);

struct outbox_filter {
    const char *status;           /* "" = any */
    const char *channel;          /* "" = any */
    const char *reservation_code; /* "" = any */
    int limit, offset;
};

/* Newest first. *items calloc()ed (free() it); *total counts every match regardless of limit/offset. */
int outbox_list(struct db *db, const struct outbox_filter *f, struct outbox_row **items, int *n, int *total);

/* Every message of one reservation, oldest first (at most OUTBOX_LIST_MAX). */
int outbox_list_for_reservation(struct db *db, const char *code, struct outbox_row **items, int *n);

/* An admin's "send it again": a dead or skipped message becomes pending, due now, attempts 0, with an
 * audit row (actor, "outbox.retried") in the same transaction. STORE_NOT_FOUND, or STORE_INVALID_STATE
 * for any other status. *out is the row after the change. */
int outbox_requeue(struct db *db, long long id, long long now, const char *actor, struct outbox_row *out);

/* The delay before retrying after the `attempts`-th failed attempt (attempts >= 1): 2 s doubled per
 * attempt and capped at cap_s, then jittered down by up to half ("equal jitter": uniformly in
 * [ceil(d/2), d]) with `random`, so a burst of failures does not retry in lockstep. Always >= 1 and
 * <= max(cap_s, 1). Pure. */
int outbox_backoff_seconds(int attempts, int cap_s, uint32_t random);

#endif
