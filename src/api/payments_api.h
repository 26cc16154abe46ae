/* payments_api.h - the MercadoPago webhook, the admin payments API and the payment link action. */
#ifndef CABANAS_PAYMENTS_API_H
#define CABANAS_PAYMENTS_API_H

#include "app.h"
#include "http/http.h"

#include <jansson.h>

/* POST /api/v1/webhooks/mercadopago and the older /api/v1/mercadopago/webhook: verifies x-signature,
 * records a payment notification in the inbox and answers 200 at once; other topics are acknowledged
 * and ignored. 401 invalid_signature, 503 not_configured (no secret or no access token), 400
 * invalid_notification, 503 database_unavailable (MercadoPago retries). */
void payments_handle_webhook(struct http_request *req, struct http_response *res);

/* GET /api/v1/admin/payments?code=&status=&needs_refund=&limit=&offset= */
void api_admin_payments_list(struct http_request *req, struct http_response *res);
/* GET /api/v1/admin/payments/{payment_id}: the payment and its events. */
void api_admin_payment_get(struct http_request *req, struct http_response *res);
/* POST /api/v1/admin/reservations/{code}/payment-link: a fresh link for an active hold. */
void api_admin_reservation_payment_link(struct http_request *req, struct http_response *res);

/* The payments of a reservation for its admin view: a new array, or JSON null when the database does
 * not answer. */
json_t *payments_api_for_reservation(struct app *app, const char *code);

/* Test-only (CABANAS_TEST_ENDPOINTS=1): POST /api/v1/_test/mercadopago/preference/{code} runs
 * mp_preference_deliver() as the outbox worker would: {"result":0|1|-1,"error":…}. */
void testing_handle_mp_preference(struct http_request *req, struct http_response *res);

#endif
