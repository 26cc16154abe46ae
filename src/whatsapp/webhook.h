/* webhook.h - GET/POST /api/v1/webhooks/whatsapp and the worker that answers what they recorded.
 *
 * GET: the subscription handshake. hub.mode=subscribe with hub.verify_token equal to
 * WHATSAPP_VERIFY_TOKEN (compared in constant time) answers 200 with hub.challenge as text/plain; anything
 * else (or no token configured) 403.
 *
 * POST: 503 `not_configured` without WHATSAPP_APP_SECRET; 401 `invalid_signature` when
 * X-Hub-Signature-256 is missing or is not "sha256=" + the hex HMAC-SHA256 of the exact raw body under the
 * app secret (constant-time comparison; the route is not a JSON route, so the server hands the body over
 * untouched and the signature is checked before the body is parsed). Then every message of every change of
 * every entry is recorded (wamid UNIQUE: a redelivery is counted in whatsapp_duplicates_total and
 * dropped), every status is recorded against the message we sent, and the answer is 200 at once; a
 * database failure answers 503 so WhatsApp delivers again. At most WA_WEBHOOK_MAX_ITEMS messages and as
 * many statuses are read from one request.
 *
 * Answers are made by one worker thread per instance (wa_inbox_*), which claims recorded messages in
 * arrival order from the database: an answer never delays the webhook's 200, a restart loses nothing
 * received, and two instances never answer the same message. */
#ifndef CABANAS_WA_WEBHOOK_H
#define CABANAS_WA_WEBHOOK_H

#include "http/http.h"

#define WA_WEBHOOK_MAX_ITEMS 100

/* Metrics; before threads start. */
void wa_webhook_init(void);

void wa_handle_verify(struct http_request *req, struct http_response *res);
void wa_handle_webhook(struct http_request *req, struct http_response *res);

/* The answering worker: start before the HTTP server, stop after it. */
void wa_inbox_start(struct app *app);
void wa_inbox_wake(void);
void wa_inbox_stop(void);

/* 1 when the signature header matches the body under `secret` (exposed for tests). */
int wa_signature_valid(const char *secret, const char *header, const char *body, size_t len);

#endif
