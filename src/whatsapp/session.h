/* session.h - the dialog state of one guest phone, and the per-phone reply limit.
 *
 * State lives in Redis (`wa:s:<phone>`, a JSON text with a TTL of WHATSAPP_SESSION_MINUTES, so every
 * instance sees it and an abandoned dialog forgets itself) or, without Redis or when a Redis call fails,
 * in a fixed in-process table (WA_LOCAL_SESSIONS entries; the entry closest to expiry is evicted when full).
 * The reply limit is a fixed one-minute window per phone, counted the same two ways.
 * Thread-safe; wa_session_init() before threads start. */
#ifndef CABANAS_WA_SESSION_H
#define CABANAS_WA_SESSION_H

#include "api/app.h"
#include "domain/booking.h"

#define WA_MAX_OFFERS 10
#define WA_LOCAL_SESSIONS 1024
#define WA_SESSION_JSON_MAX 1024

/* What the assistant last asked for: the next message is read in its light. */
enum wa_step {
    WA_STEP_NONE = 0,
    WA_STEP_DATES,       /* asked for the dates */
    WA_STEP_CHECKOUT,    /* has a check-in, asked until when */
    WA_STEP_GUESTS,      /* asked how many people */
    WA_STEP_OPTIONS,     /* sent the list of options */
    WA_STEP_SUMMARY,     /* sent the summary with Reservar / Cambiar fechas */
    WA_STEP_ALT,         /* no room: offered other dates */
    WA_STEP_CANCEL,      /* asked to confirm a cancellation */
    WA_STEP_PICK_CANCEL, /* several bookings: asked which one to cancel */
};

struct wa_offer {
    long long accommodation_id;
    long long total_cents;
};

struct wa_session {
    char check_in[11], check_out[11]; /* "" when unknown */
    int guests;                       /* 0 when unknown */
    int nights;                       /* a stated length waiting for a check-in */
    enum wa_step step;
    int noffers;
    struct wa_offer offers[WA_MAX_OFFERS];
    long long chosen; /* the accommodation of the summary */
    char cancel_code[RES_CODE_LEN + 1];
    char alt_in[11], alt_out[11]; /* the other dates offered */
};

void wa_session_init(void);

/* Loads the state of `phone` (a fresh one when there is none or it expired). */
void wa_session_load(struct app *app, const char *phone, struct wa_session *s);
/* Saves it for WHATSAPP_SESSION_MINUTES. */
void wa_session_save(struct app *app, const char *phone, const struct wa_session *s);
/* Forgets it. */
void wa_session_clear(struct app *app, const char *phone);

/* Counts one reply to `phone` in the current minute; 1 when it is within WHATSAPP_REPLIES_PER_MINUTE. */
int wa_session_reply_allowed(struct app *app, const char *phone);

/* The JSON text of a session and back (exposed for tests). 0 or -1. */
int wa_session_to_json(const struct wa_session *s, char *out, size_t outlen);
int wa_session_from_json(const char *text, struct wa_session *s);

#endif
