/* mercadopago.h - the MercadoPago API as cabanas uses it: Checkout Pro preferences (the guest's payment
 * link for a hold's deposit) and payment lookups, through net/http_client.h with hard time limits.
 * MercadoPago is enabled while MERCADOPAGO_ACCESS_TOKEN is set; every function here is then a no-op or a
 * clear "not configured" answer.
 *
 * Exactly one live preference per hold: the X-Idempotency-Key of a creation is derived from the
 * reservation code and a generation number (mp_preferences), so a retry after a timeout gets the
 * preference MercadoPago already made instead of a second one; an admin's fresh link expires the old
 * preference first and only then creates one under the next generation.
 *
 * All functions are thread-safe and block the calling thread for at most their timeout. */
#ifndef CABANAS_MERCADOPAGO_H
#define CABANAS_MERCADOPAGO_H

#include "api/app.h"
#include "booking/service.h"
#include "mp_payment.h"

#include <jansson.h>

#define MP_CREATE_TIMEOUT_MS 3000 /* on the hold's request path: the guest is waiting */
#define MP_RETRY_TIMEOUT_MS 10000 /* background retries and admin actions */

/* Registers the payment metrics (mp_webhooks_total, payments_total, payments_needs_refund_total, …).
 * Once, before threads start. */
void payments_init(void);

/* 1 when MERCADOPAGO_ACCESS_TOKEN is set. */
int mp_configured(const struct config *cfg);

/* The healthz check, from configuration only (no network call per probe):
 * {"status":"ok"|"disabled","webhooks":"enabled"|"disabled"}. New reference. */
json_t *mp_health_check(const struct config *cfg);

/* After a hold committed: creates its preference within MP_CREATE_TIMEOUT_MS and stores the link in
 * reservations.payment_url and r->payment_url. On failure or timeout the hold is untouched
 * (payment_url stays "") and an outbox message (channel "mercadopago", template "preference") asks the
 * delivery worker to retry through mp_preference_deliver(). Does nothing when MercadoPago is off. */
void mp_preference_after_hold(struct app *app, struct reservation *r);

/* The outbox delivery of channel "mercadopago": makes sure the hold `reservation_code` has its payment
 * link. Returns 0 done (created now, already there, or no longer needed because the hold is not active),
 * 1 retry later (MercadoPago or the database did not answer), -1 permanent failure (not configured, no
 * such reservation, MercadoPago refused the request); err says why for 1 and -1. */
int mp_preference_deliver(struct app *app, const char *reservation_code, char *err, size_t errlen);

/* POST /admin/reservations/{code}/payment-link: expires the hold's current preference, then creates a
 * new one. 0 with *out (the updated reservation), or -1 with *err: 503 `not_configured`, 404
 * `reservation_not_found`, 409 `invalid_state` (not an active hold) or `payment_link_busy` (a concurrent
 * refresh), 502 `mercadopago_unavailable` (the old link could not be expired, or the new one could not
 * be created: then it is retried in the background). */
int mp_payment_link_refresh(struct app *app, const char *code, struct reservation *out,
                            struct booking_error *err);

/* GET /v1/payments/{id} with the access token, up to 3 tries with backoff (250 ms, 750 ms) on timeouts,
 * connection errors, 429 and 5xx. Returns 0 with *out, 1 retry later (also 401/403/404: credentials being
 * fixed, or a payment MercadoPago does not show yet), -1 permanent (an answer that is not a payment, or a
 * different payment). err says why. */
int mp_payment_fetch(struct app *app, const char *payment_id, struct mp_payment *out, char *err,
                     size_t errlen);

/* Metric updates for the other payment modules. Result/status values must be bounded (fixed words). */
void mp_metric_webhook(const char *result);
void mp_metric_payment(const char *status);
void mp_metric_needs_refund(void);
void mp_metric_inbox(int waiting, int failed);

#endif
