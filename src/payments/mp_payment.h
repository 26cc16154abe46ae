/* mp_payment.h - reading MercadoPago's answers (pure, thread-safe): the payment resource of
 * GET /v1/payments/{id}, the preference of POST /checkout/preferences, and the rules about statuses.
 *
 * Amounts never pass through binary floating point: jansson would turn 43200.5 into a double, so the
 * amount is read from the raw JSON text of the member (mp_json_raw_member) and converted to centavos with
 * integer arithmetic (mp_amount_parse). */
#ifndef CABANAS_MP_PAYMENT_H
#define CABANAS_MP_PAYMENT_H

#include <stddef.h>
#include <stdint.h>

#define MP_ID_MAX 64 /* payment ids are decimal numbers; anything longer is not one */
#define MP_STATUS_MAX 31
#define MP_STATUS_DETAIL_MAX 63
#define MP_REFERENCE_MAX 64
#define MP_URL_MAX 1000

struct mp_payment {
    char id[MP_ID_MAX + 1];
    char status[MP_STATUS_MAX + 1];                /* approved, pending, in_process, rejected, ... */
    char status_detail[MP_STATUS_DETAIL_MAX + 1];  /* accredited, cc_rejected_..., "" when absent */
    char external_reference[MP_REFERENCE_MAX + 1]; /* our reservation code; "" when absent or null */
    char currency[8];                              /* currency_id */
    int64_t amount_cents;                          /* transaction_amount, truncated to the centavo */
    int has_amount;
    char amount_text[40]; /* transaction_amount as MercadoPago wrote it (for the events table) */
};

/* Parses the payment resource. Returns 0, or -1 with a reason in err: not a JSON object, no id, no
 * status, a field of the wrong type or too long, or a transaction_amount that is not a non-negative
 * decimal number. */
int mp_payment_parse(const char *body, size_t len, struct mp_payment *out, char *err, size_t errlen);

struct mp_preference {
    char id[256];
    char init_point[MP_URL_MAX + 1];
    char sandbox_init_point[MP_URL_MAX + 1];
};

/* Parses the answer to a preference creation: id and init_point (http/https URLs) are required. */
int mp_preference_parse(const char *body, size_t len, struct mp_preference *out, char *err, size_t errlen);

/* A JSON number (or the text of a JSON string holding one) to centavos: digits, optional fraction,
 * optional exponent; no sign other than a leading '-', which is refused. Digits past the centavo are
 * dropped (truncation, so a payment is never read as more than it is). Returns 0, or -1 when the text is
 * not such a number or the amount exceeds MONEY_MAX_CENTS. */
int mp_amount_parse(const char *text, size_t len, int64_t *cents);

/* Finds the member `key` of the top-level JSON object in `json` and points *val and *vlen at the raw text of
 * its value (a number's digits, a string with its quotes, ...). Keys are compared after decoding simple
 * escapes. Returns 0, or -1 when the text is not an object or has no such member. Bounded: nesting deeper
 * than 64 levels is refused. */
int mp_json_raw_member(const char *json, size_t len, const char *key, const char **val, size_t *vlen);

/* 1 when s is 1..MP_ID_MAX characters of [A-Za-z0-9_-] (safe in a URL path and in the manifest). */
int mp_id_valid(const char *s);

/* How far along a payment's life a MercadoPago status is: a state with a lower rank never overwrites a
 * higher one (a late "pending" after "approved"). pending, in_process, authorized: 1; rejected,
 * cancelled: 2; approved, in_mediation: 3; refunded, charged_back: 4; anything else: 1. */
int mp_status_rank(const char *status);

/* MercadoPago statuses that reverse an approved payment: refunded, charged_back. */
int mp_status_reversal(const char *status);

#endif
