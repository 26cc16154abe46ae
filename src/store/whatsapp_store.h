/* whatsapp_store.h - the WhatsApp tables (migrations/postgres/0008_whatsapp.sql): messages in and out,
 * and one conversation row per guest phone.
 *
 * Functions taking the pool borrow a connection for their duration; the _on variants run on the caller's
 * connection (inside its transaction). All return DB_OK or a DB_* code (STORE_NOT_FOUND from
 * booking_store.h where noted). Thread-safe. */
#ifndef CABANAS_WHATSAPP_STORE_H
#define CABANAS_WHATSAPP_STORE_H

#include "db.h"
#include "domain/booking.h"

#define WA_WAMID_MAX 255    /* longest message id accepted from WhatsApp */
#define WA_TYPE_MAX 31      /* message type ("text", "interactive", ...) */
#define WA_REPLY_ID_MAX 200 /* interactive row/button id (Graph API limit) */
#define WA_BODY_MAX 4096    /* stored body text (inbound text is capped at 1000 bytes before) */

/* Inbound statuses */
#define WA_IN_RECEIVED "received"
#define WA_IN_PROCESSING "processing"
#define WA_IN_ANSWERED "answered"
#define WA_IN_SILENT "silent"   /* nothing to say: handoff, our own number, rate limit */
#define WA_IN_FAILED "failed"   /* the reply could not be sent */
#define WA_IN_EXPIRED "expired" /* waited too long (a server outage) to be worth answering */

struct wa_message {
    long long id;
    char wamid[WA_WAMID_MAX + 1];
    char phone[GUEST_PHONE_MAX + 1];
    char contact_name[GUEST_NAME_MAX + 1];
    char type[WA_TYPE_MAX + 1];
    char body[WA_BODY_MAX + 1];
    char reply_id[WA_REPLY_ID_MAX + 1];
    char status[16];
    long long wa_timestamp;
    long long created_at;
};

/* Records an inbound message as `status` (received, or silent for one that must not be answered).
 * *inserted is 0 when a message with that wamid already exists (a redelivery). */
int wa_store_inbound_insert(struct db *db, const struct wa_message *m, const char *status, long long now,
                            int *inserted);

/* Claims the oldest received inbound message (received -> processing). *found 0 when none. Messages
 * received before `stale_before` are marked expired instead of returned. */
int wa_store_inbound_claim(struct db *db, long long now, long long stale_before, struct wa_message *out,
                           int *found);

/* Sets an inbound message's final status (answered, silent, failed) with an optional error. */
int wa_store_inbound_finish(struct db *db, long long id, const char *status, const char *error,
                            long long now);

/* Writes the outbound row for a reply before it is sent (status "sending"). in_reply_to 0 = not a reply.
 * *claimed 0 when that inbound message already has a reply (nothing was written: do not send). */
int wa_store_outbound_begin(struct db *db, const char *phone, const char *type, const char *body,
                            long long in_reply_to, long long now, long long *id, int *claimed);

/* The send's outcome: status "sent" with the wamid, or "failed" with an error. */
int wa_store_outbound_finish(struct db *db, long long id, const char *wamid, const char *status,
                             const char *error, long long now);

/* A status callback for a message we sent. Statuses only move forward (sent < delivered < read;
 * failed from any; an older status arriving late changes nothing). *matched 0 when no message of ours
 * has that wamid. */
int wa_store_status_update(struct db *db, const char *wamid, const char *status, long long at,
                           const char *error, long long now, int *matched);

/* Counts inbound messages with this status (tests and metrics). */
int wa_store_count(struct db *db, const char *direction, const char *status, long long *count);

/* --- conversations --- */

struct wa_conversation {
    char phone[GUEST_PHONE_MAX + 1];
    char contact_name[GUEST_NAME_MAX + 1];
    long long last_inbound_at, last_outbound_at, handoff_until;
    long long messages_in;
    long long created_at, updated_at;
};

/* An inbound message arrived from `phone` (upsert: name, last_inbound_at, messages_in + 1). */
int wa_store_conversation_inbound(struct db *db, const char *phone, const char *name, long long now);
/* A message was sent to `phone` (upsert: last_outbound_at). */
int wa_store_conversation_outbound(struct db *db, const char *phone, long long now);
/* STORE_NOT_FOUND when there is no row. */
int wa_store_conversation_get(struct db *db, const char *phone, struct wa_conversation *out);
/* Sets (until > 0) or clears (until = 0) the handoff, on the caller's connection. STORE_NOT_FOUND when
 * there is no conversation with that phone. */
int wa_store_conversation_handoff_on(struct db_conn *c, const char *phone, long long until, long long now);
/* Most recently active first. *items malloc()ed (free() it); *total counts all rows. */
int wa_store_conversation_list(struct db *db, int limit, int offset, struct wa_conversation **items, int *n,
                               int *total);

#endif
