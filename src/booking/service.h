/* service.h - the booking operations every channel uses (web API, admin, later WhatsApp and payments):
 * validate a stay, price it, create a hold, cancel, confirm. Handlers turn the outcome into HTTP; the
 * rules live here once.
 *
 * Each operation returns 0 on success or -1 with *err filled: the HTTP status that fits, a machine code
 * (`date_overlap`, `min_stay`, …) and a human detail. Thread-safe. */
#ifndef CABANAS_BOOKING_SERVICE_H
#define CABANAS_BOOKING_SERVICE_H

#include "api/app.h"
#include "domain/booking.h"
#include "domain/pricing.h"
#include "store/booking_store.h"

struct booking_error {
    int status;
    const char *code;
    char detail[256];
};

/* Registers the booking metrics; call once before threads start. */
void booking_init(void);

/* Checks the dates of a stay: format and reality (`invalid_date`), order (`invalid_dates`), not before
 * today in PROPERTY_TIMEZONE (`check_in_in_past`), within BOOKING_HORIZON_DAYS (`too_far_ahead`). */
int booking_check_dates(const struct config *cfg, const char *check_in, const char *check_out,
                        struct date *in, struct date *out, struct booking_error *err);

/* Checks the stay against the accommodation's rules (`min_stay`, `max_stay`, `capacity_exceeded`) and
 * prices it with DEPOSIT_PERCENT. `quote` may be NULL. */
int booking_check_stay(const struct config *cfg, const struct accommodation *acc, struct date in,
                       struct date out, int guests, struct pricing_quote *quote, struct booking_error *err);

struct hold_input {
    long long accommodation_id;
    const char *check_in, *check_out;
    int guests;
    const char *guest_name, *guest_phone, *guest_email; /* email may be NULL or "" */
    const char *channel;                                /* NULL = "web" */
    const char *actor;                                  /* audit: NULL = "api" */
};

/* Actors in the audit log: "admin:<email>", "api", "webhook:mercadopago", "bot:whatsapp", "job:<name>". */

/* Validates everything, then creates the hold (409 `date_overlap` when the nights are taken). */
int booking_create_hold(struct app *app, const struct hold_input *in, struct reservation *out,
                        struct booking_error *err);

/* The same operation in steps, for an event loop that waits for PostgreSQL without blocking
 * (api/booking_api.c). booking_hold_prepare validates what needs no database and copies the input (an
 * asynchronous answer outlives the request body). The pre-check comes next (booking_hold_precheck
 * blocks; or store_availability_sql with stale holds, $1 accommodation_id, $2 cin, $3 cout, $4 now).
 * booking_hold_plan checks the stay against the accommodation and fills the row to write (-1 with err:
 * 404, 422, or 409 when the pre-check saw the nights taken). The transaction comes next, under the lock
 * (store_hold_create blocks; or store_hold_tx_*), and booking_hold_written turns its outcome into the
 * answer: metrics, notifications, the deposit link, the log line. booking_hold_finish is plan, lock,
 * transaction and written, the blocking way. booking_hold_prep_cleanup frees the copies. */
struct hold_prep {
    long long accommodation_id;
    int guests;
    struct date in, out;
    char cin[DATES_FORMAT_LEN], cout[DATES_FORMAT_LEN];
    char phone[GUEST_PHONE_MAX + 1];
    char *guest_name, *guest_email, *channel, *actor; /* copies; email and actor may be NULL */
    long long now;
};
struct hold_precheck {
    int rc; /* DB_OK, STORE_NOT_FOUND or a database error */
    struct accommodation acc;
    int taken, stale;
};
int booking_hold_prepare(const struct config *cfg, const struct hold_input *in, struct hold_prep *p,
                         struct booking_error *err);
void booking_hold_precheck(struct app *app, const struct hold_prep *p, struct hold_precheck *pc);
int booking_hold_plan(struct app *app, const struct hold_prep *p, const struct hold_precheck *pc,
                      struct hold_request *h, struct booking_error *err);
int booking_hold_written(struct app *app, const struct hold_prep *p, const struct hold_precheck *pc, int rc,
                         int expired, struct reservation *out, struct booking_error *err);
int booking_hold_finish(struct app *app, const struct hold_prep *p, const struct hold_precheck *pc,
                        struct reservation *out, struct booking_error *err);
void booking_hold_prep_cleanup(struct hold_prep *p);
/* Observes a wait for the per-accommodation lock (booking_lock_wait_seconds). */
void booking_lock_waited(double seconds);

/* Cancels a hold or booking (409 `invalid_state`, 404 `reservation_not_found`). */
int booking_cancel(struct app *app, const char *code, const char *reason, const char *actor,
                   struct reservation *out, struct booking_error *err);

/* Confirms a hold as paid; `source` labels the metric ("admin", "mercadopago"), `actor` the audit row
 * ("admin:<email>", "webhook:mercadopago"). paid_cents < 0: the deposit. 409 `invalid_state` or
 * `date_overlap` (an expired hold whose nights were taken meanwhile). */
int booking_confirm(struct app *app, const char *code, int64_t paid_cents, const char *note,
                    const char *source, const char *actor, struct reservation *out,
                    struct booking_error *err);

/* Validates and creates a block (b->accommodation_id, start, end, reason, source, created_by set by the
 * caller): 404 `accommodation_not_found`, 409 `date_overlap`, date errors as for stays. Fills b->id. The
 * audit row names `actor`. */
int booking_create_block(struct app *app, struct block *b, const char *actor, struct booking_error *err);

/* Deletes a block, freeing its nights at once: 404 `block_not_found`. The audit row names `actor`. */
int booking_delete_block(struct app *app, long long accommodation_id, long long block_id, const char *actor,
                         struct booking_error *err);

/* The sweeper's work: expire due holds, refresh the holds_active gauge. */
int booking_expire_due(struct app *app, int *expired);

/* Maps a store/db code to an error: 503 `database_unavailable` for outages, 500 otherwise. */
void booking_error_from_db(int rc, struct booking_error *err);

/* The reservation as the effective status: a pre_reserved hold past its expiry reads as expired. */
const char *booking_effective_status(const struct reservation *r, long long now);

#endif
