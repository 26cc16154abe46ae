/* processor.h - turning MercadoPago notifications into booking changes.
 *
 * The webhook only records a verified notification in the inbox (store_mp_inbox_add) and wakes the
 * worker; the worker claims inbox rows, asks MercadoPago for the payment itself (the notification's body
 * is never trusted), and applies the payment's state:
 *
 *   approved, for a hold, amount >= deposit, same currency  -> the hold is confirmed (booking_confirm,
 *                                                              source "mercadopago"); also an expired
 *                                                              hold whose nights are still free
 *   approved, but the nights were taken / the reservation was cancelled / another payment already paid
 *                                                           -> the payment is needs_refund, the owner is
 *                                                              emailed, the guest's data is kept
 *   approved for an unknown code, another currency, or less than the deposit -> recorded, nothing else
 *   pending, in_process, rejected, cancelled, ...            -> recorded, the hold is unchanged
 *   refunded, charged_back                                   -> recorded, the reservation's payment_status
 *                                                              follows, the owner is emailed
 *
 * A state older than the stored one (a late "pending" after "approved") is recorded as an event and
 * changes nothing; the same state twice changes nothing. The confirmation itself is exactly-once: the
 * payment row is marked "confirming" before booking_confirm runs, booking_confirm only moves a hold that is
 * still a hold, and a worker that finds the hold already confirmed tells its own earlier confirmation
 * (the note "MercadoPago payment <id>") from someone else's. */
#ifndef CABANAS_PAYMENTS_PROCESSOR_H
#define CABANAS_PAYMENTS_PROCESSOR_H

#include "api/app.h"

#include <stddef.h>

#define MP_INBOX_LEASE_SECONDS 60
#define MP_INBOX_MAX_ATTEMPTS 30
#define MP_INBOX_MAX_BACKOFF_SECONDS 300

/* Fetches payment `payment_id` from MercadoPago and applies its state. Returns 0 done, 1 retry later
 * (MercadoPago or the database did not answer), -1 permanent (err says why). Thread-safe. */
int payments_process_payment(struct app *app, const char *payment_id, char *err, size_t errlen);

/* One pass over the due inbox rows (what the worker runs). Returns how many rows it handled. */
int payments_process_inbox(struct app *app);

/* The inbox worker (jobs/periodic.h, every JOB_PAYMENTS_INTERVAL_SECONDS and whenever woken). Start it
 * before serving; stop it after the HTTP server stopped (handlers wake it). No-op when MercadoPago is off. */
void payments_worker_start(struct app *app);
/* Wakes the worker (a new inbox row). Thread-safe; a no-op when it is not running. */
void payments_worker_wake(void);
void payments_worker_stop(void);

#endif
