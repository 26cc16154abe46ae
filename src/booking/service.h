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
