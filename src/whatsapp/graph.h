/* graph.h - sending WhatsApp messages through the Cloud API (Meta's Graph API):
 * POST {WHATSAPP_API_BASE}/{WHATSAPP_PHONE_NUMBER_ID}/messages with Authorization: Bearer
 * WHATSAPP_ACCESS_TOKEN.
 *
 * Builders make the four payloads the assistant uses (text, interactive list, reply buttons, template),
 * clipping every text to the API's limits in characters (not bytes, never inside a UTF-8 sequence).
 * wa_send() posts one payload: 429, 5xx, the API's throttling codes and transport errors are retried
 * WHATSAPP_SEND_RETRIES times with exponential backoff and jitter (honouring Retry-After up to 10 s);
 * other 4xx answers are final. A circuit breaker opens after WHATSAPP_BREAKER_FAILURES sends in a row
 * failed that way and then refuses sends at once for WHATSAPP_BREAKER_SECONDS, after which one probe send
 * decides whether it closes again: during an outage the worker fails fast instead of piling up retries.
 *
 * Every send is recorded in whatsapp_messages (direction 'out') before it is made, so the statuses
 * WhatsApp reports later find it, and a reply to an inbound message is refused when one was already
 * written (at most one reply per inbound message). Thread-safe; call wa_graph_init() before threads start. */
#ifndef CABANAS_WA_GRAPH_H
#define CABANAS_WA_GRAPH_H

#include "api/app.h"
#include "store/whatsapp_store.h"

#include <jansson.h>

#define WA_TEXT_MAX_CHARS 4096 /* text message body */
#define WA_INTERACTIVE_BODY_MAX_CHARS 1024
#define WA_LIST_ROWS_MAX 10
#define WA_LIST_BUTTON_MAX_CHARS 20
#define WA_ROW_TITLE_MAX_CHARS 24
#define WA_ROW_DESCRIPTION_MAX_CHARS 72
#define WA_BUTTONS_MAX 3
#define WA_BUTTON_TITLE_MAX_CHARS 20
#define WA_TEMPLATE_PARAMS_MAX 8

/* wa_send() results */
#define WA_OK 0
#define WA_ERR_DISABLED (-1)        /* WHATSAPP_ACCESS_TOKEN or the phone number id is not set */
#define WA_ERR_CIRCUIT_OPEN (-2)    /* the breaker is open: not even tried */
#define WA_ERR_REJECTED (-3)        /* the API refused the message (4xx): retrying would not help */
#define WA_ERR_OUTSIDE_WINDOW (-4)  /* 131047: more than 24 h since the guest wrote; use a template */
#define WA_ERR_UNAVAILABLE (-5)     /* 429/5xx/transport after every retry */
#define WA_ERR_INVALID (-6)         /* our payload could not be built, or the answer had no message id */
#define WA_ERR_ALREADY_REPLIED (-7) /* that inbound message already has its reply */
#define WA_ERR_STORAGE (-8)         /* the outbound row could not be written: not sent */

struct wa_send_error {
    int rc;
    const char *reason; /* the label of whatsapp_send_failures_total: disabled, circuit_open, ... */
    long http_status;   /* 0 when no answer */
    long graph_code;    /* error.code of the API's answer, 0 when none */
    int attempts;
    char detail[256];
};

struct wa_row {
    const char *id;          /* up to 200 bytes, comes back in list_reply.id */
    const char *title;       /* clipped to 24 characters */
    const char *description; /* clipped to 72 characters; may be NULL */
};

struct wa_button {
    const char *id;    /* comes back in button_reply.id */
    const char *title; /* clipped to 20 characters */
};

/* Registers the metrics and resets the breaker. Before threads start. */
void wa_graph_init(void);

/* Payload builders; each returns a new reference, or NULL when the arguments break a hard limit (no rows,
 * more than 10 rows, more than 3 buttons, too many template parameters). */
json_t *wa_msg_text(const char *to, const char *body);
json_t *wa_msg_list(const char *to, const char *body, const char *button, const struct wa_row *rows,
                    int nrows);
json_t *wa_msg_buttons(const char *to, const char *body, const struct wa_button *buttons, int nbuttons);
json_t *wa_msg_template(const char *to, const char *name, const char *language, const char *const *params,
                        int nparams);

/* Sends `payload` (borrowed) to the phone in its "to" field, recording it first. `summary` is what the
 * admin sees as its body (the text; may be NULL). in_reply_to: the inbound message id it answers, or 0.
 * Returns WA_OK with the message id in wamid, or a WA_ERR_* with *err filled (err may be NULL).
 * Blocks for the retries; never longer than (retries + 1) x (WHATSAPP_TIMEOUT_MS + 10 s). */
int wa_send(struct app *app, const json_t *payload, const char *summary, long long in_reply_to,
            char wamid[WA_WAMID_MAX + 1], struct wa_send_error *err);

/* Sends a plain text message to `phone` (digits). For other modules (the outbox worker delivering guest
 * notifications): WA_OK with the wamid, or a WA_ERR_* (WA_ERR_OUTSIDE_WINDOW: fall back to a template or
 * to email). */
int wa_send_text(struct app *app, const char *phone, const char *body, char wamid[WA_WAMID_MAX + 1],
                 struct wa_send_error *err);

/* Counts one message in whatsapp_messages_total{direction,type}; `type` must come from a fixed set. */
void wa_count_message(const char *direction, const char *type);

/* At shutdown: sends in flight finish their current call but are not retried. */
void wa_graph_stop_retries(void);

/* The `whatsapp` entry of healthz: {"status":"ok","circuit":"closed"} when sending and the webhook are
 * configured, else {"status":"disabled","missing":[setting names]}. Never makes the server unhealthy. */
json_t *wa_health_json(const struct config *cfg);

/* "closed", "open" or "half_open", for health and logs. */
const char *wa_breaker_state(void);

/* Copies at most max_chars UTF-8 characters of s (invalid bytes dropped) into out (outlen bytes); when
 * s is longer, the last character kept is "…" (when out has room for it). Returns out. */
char *wa_clip(const char *s, size_t max_chars, char *out, size_t outlen);

#endif
