/* booking_store.h - accommodations, reservations, blocks and their claims on nights, on both engines.
 *
 * The no-overlap guarantee is the database's (see migrations/postgres/0002_booking.sql): every active stay or
 * block owns one row of stay_claims, and the engine refuses a claim that shares a night with another
 * claim of the same accommodation. Functions that change a stay's status do it in one transaction with
 * its claim, reservation row first (so concurrent writers serialize on it), claim second.
 *
 * All functions take the pool, borrow a connection for their duration and are thread-safe. They return
 * DB_OK or a DB_* code from db.h, or STORE_NOT_FOUND / STORE_INVALID_STATE below. `now` is unix seconds,
 * passed in so expiry is decided by one clock per request. Every status change also writes its audit row
 * and its outbox messages in the same transaction (journal.h); `actor` names who made it. */
#ifndef CABANAS_BOOKING_STORE_H
#define CABANAS_BOOKING_STORE_H

#include "db.h"
#include "domain/booking.h"

#define STORE_NOT_FOUND (-10)
#define STORE_INVALID_STATE (-11)
#define STORE_RETRY (-12) /* a hold's random code was taken (50 bits: practically never): try again */

#define STORE_LIST_MAX 200

/* --- accommodations --- */

/* Active ones only unless include_inactive. *out is malloc()ed (free() it), at most STORE_LIST_MAX. */
int store_accommodation_list(struct db *db, int include_inactive, struct accommodation **out, int *n);
int store_accommodation_get(struct db *db, long long id, struct accommodation *out);
/* Inserts `a` (id, created_at, updated_at are set from the database and `now`) with its audit row
 * "accommodation.created" by `actor`, in one transaction. */
int store_accommodation_create(struct db *db, struct accommodation *a, long long now, const char *actor);
/* Writes every field of `a` (by a->id); STORE_NOT_FOUND when there is no such row. In the same transaction
 * the row as it was is read (locked on PostgreSQL) and the audit row `action` ("accommodation.updated",
 * "accommodation.deactivated") by `actor` stores it with the new one. */
int store_accommodation_update(struct db *db, struct accommodation *a, long long now, const char *actor,
                               const char *action);
/* 1 in *found when an accommodation with this exact name exists. */
int store_accommodation_exists_named(struct db *db, const char *name, long long *id, int *found);

/* The accommodation and whether any claim other than a stale hold shares a night of [check_in,
 * check_out) (*taken), and whether only stale holds do (*stale, may be NULL). One round trip. */
int store_accommodation_availability(struct db *db, long long id, const char *check_in, const char *check_out,
                                     long long now, struct accommodation *acc, int *taken, int *stale);
/* The same query in two halves, for the event loop (http_query_async): its SQL ($1 id, $2 check_in,
 * $3 check_out, $4 now; with_stale: also tell stale holds apart, for *stale) and the reading of its
 * result (STORE_NOT_FOUND without a row). */
const char *store_availability_sql(const struct db *db, int with_stale);
/* Its four parameters, formatted into p (which must outlive their use). */
struct availability_params {
    char id[24], now[24];
    const char *v[4];
};
const char *const *store_availability_params(struct availability_params *p, long long id,
                                             const char *check_in, const char *check_out, long long now);
int store_availability_read(const struct db_result *r, struct accommodation *acc, int *taken, int *stale);

/* --- holds and reservations --- */

struct hold_request {
    long long accommodation_id;
    char check_in[11], check_out[11];
    int guests;
    const char *guest_name, *guest_phone, *guest_email; /* email may be NULL */
    const char *channel;
    int nights;
    int64_t total_cents, deposit_cents;
    int deposit_percent;
    const char *currency;
    long long expires_at;
    const char *actor; /* for the audit log; NULL = "api" */
    int expire_stale;  /* stale holds overlap (the pre-check saw them): expire them in the transaction */
};

/* Read-only: 1 in *taken when an active claim (not a stale hold) shares a night. */
int store_nights_taken(struct db *db, long long accommodation_id, const char *check_in, const char *check_out,
                       long long now, int *taken);

/* In one transaction: expires stale holds on those nights, inserts the hold and claims its nights.
 * DB_CONFLICT when the nights are taken. Fills *out from what it wrote (accommodation_name is left empty
 * for the caller); *expired counts the stale holds it expired. */
int store_hold_create(struct db *db, const struct hold_request *h, long long now, struct reservation *out,
                      int *expired);

/* The PostgreSQL half of store_hold_create without stale holds, for an asynchronous connection
 * (db_async_tx): store_hold_tx_build picks the code, fills *out and *tx's 16 parameters of
 * store_hold_tx_sql(), and queues the journal rows on c (in a transaction); after BEGIN, those rows,
 * the statement and COMMIT, store_hold_tx_result reads the outcome (what db_exec_commit returned): DB_OK
 * with out->id, DB_CONFLICT when the nights were taken, STORE_RETRY after a code collision (nothing was
 * written), or the error. */
struct hold_tx {
    char code[RES_CODE_LEN + 1];
    char acc[24], guests[24], nights[24], total[24], pct[24], dep[24], exp[24], now[24];
    const char *params[16];
};
const char *store_hold_tx_sql(void);
int store_hold_tx_build(struct db_conn *c, const struct hold_request *h, long long now, struct hold_tx *tx,
                        struct reservation *out);
int store_hold_tx_result(const struct db_result *r, int rc, struct reservation *out);

int store_reservation_get(struct db *db, const char *code, struct reservation *out);

/* pre_reserved (not yet expired) or confirmed -> cancelled, nights freed. STORE_INVALID_STATE otherwise. */
int store_reservation_cancel(struct db *db, const char *code, const char *reason, long long now,
                             const char *actor, struct reservation *out);

/* pre_reserved -> confirmed; expired -> confirmed only if its nights are still free (DB_CONFLICT if not).
 * paid_cents < 0 means "the deposit". STORE_INVALID_STATE for confirmed or cancelled. Stale holds on the
 * nights are expired first (*expired counts them, 0 unless committed). */
int store_reservation_confirm(struct db *db, const char *code, int64_t paid_cents, const char *note,
                              long long now, const char *actor, struct reservation *out, int *expired);

struct reservation_filter {
    const char *status;         /* "" = any */
    long long accommodation_id; /* 0 = any */
    const char *from, *to;      /* stays overlapping [from, to); "" = open */
    const char *q;              /* "" = any; searched in code, name, phone, email (case-insensitive) */
    int limit, offset;
    long long now; /* decides the effective status of holds past their expiry */
    /* keyset paging (the CSV export): only rows after this one in the list's order (created_at DESC, id
     * DESC); 0 = from the first */
    long long after_created_at, after_id;
};

/* *items malloc()ed (free() it). *total counts every match, regardless of limit/offset. */
int store_reservation_list(struct db *db, const struct reservation_filter *f, struct reservation **items,
                           int *n, int *total);

/* The sweeper: every pre_reserved hold with expires_at <= now becomes expired and frees its nights. */
int store_holds_expire(struct db *db, long long now, int *expired);

/* For other stores, inside their own transaction on `c`: stale holds sharing a night of [check_in,
 * check_out) become expired and free their nights; *expired is increased by their number. */
int store_holds_expire_stale_on(struct db_conn *c, long long accommodation_id, const char *check_in,
                                const char *check_out, long long now, int *expired);

/* Holds still active (not yet at their expiry). */
int store_holds_active_count(struct db *db, long long now, int *count);

/* --- blocks --- */

/* Inserts the block and claims its nights (stale holds on them are expired first and counted in
 * *expired), with its audit row "block.created" by `actor`. DB_CONFLICT if taken. */
int store_block_create(struct db *db, struct block *b, long long now, const char *actor, int *expired);
int store_block_list(struct db *db, long long accommodation_id, struct block **items, int *n);
/* Deletes the block and frees its nights, with its audit row "block.deleted" (before: the block) by
 * `actor`. STORE_NOT_FOUND when the block does not exist for that accommodation. */
int store_block_delete(struct db *db, long long accommodation_id, long long block_id, long long now,
                       const char *actor);

#endif
