/* journal.h - what a change leaves behind, written on the caller's connection inside the caller's
 * transaction: an audit row (who, what, before, after) and the messages people must get (the outbox).
 * A committed change therefore always has both, and a rolled-back one has neither.
 *
 * Actors: "admin:<email>", "api", "webhook:mercadopago", "bot:whatsapp", "job:<name>", "cli:<command>". */
#ifndef CABANAS_JOURNAL_H
#define CABANAS_JOURNAL_H

#include "db.h"
#include "domain/booking.h"

#define JOURNAL_ACTOR_MAX 300

/* One audit row. before/after are JSON text or NULL (created / deleted). */
int audit_record(struct db_conn *c, long long now, const char *actor, const char *action, const char *entity,
                 const char *entity_id, const char *before, const char *after);

struct outbox_message {
    const char *channel;          /* "email", "whatsapp", "mercadopago" */
    const char *template_name;    /* "booking_confirmed", "ical_conflict", ... */
    const char *recipient;        /* address or phone; "owner" = OWNER_EMAIL at delivery; "" none */
    const char *reservation_code; /* NULL when the message is about no reservation */
    const char *payload;          /* JSON object text with extra slots; NULL = "{}" */
    const char *dedupe_key;       /* NULL = none; a second message with the same key is dropped */
    long long not_before;         /* 0 = deliver now */
};

/* Queues one message. A duplicate dedupe_key is not an error: the first message stands. A message the
 * channel check refuses is not written (the check counts it as skipped); DB_OK. */
int outbox_enqueue(struct db_conn *c, long long now, const struct outbox_message *m);

/* Whether this process can deliver a message on `channel` to `recipient` (its configuration: SMTP_URL,
 * OWNER_EMAIL, the WhatsApp settings). 0 with a short reason in `why` when it cannot. The notification
 * module sets it at start-up (notify_plan_for); without one (command-line tools) every message is
 * written, pending. `why` is for the check's own log or metric. */
#define OUTBOX_SKIP_REASON_MAX 96
typedef int (*journal_channel_check)(const char *channel, const char *template_name, const char *recipient,
                                     char *why, size_t whylen);
void journal_set_channel_check(journal_channel_check fn);

/* How many pending messages this thread has queued since the last call (then 0 again): after a commit,
 * whether the delivery worker has anything to do. A rolled-back change may leave a count behind; the
 * only cost is one needless wake. */
int journal_take_pending(void);

/* A reservation's state change: the audit row (before: the previous status and payment status, or
 * NULL for a new hold; after: the whole reservation) and the messages for `event`, planned by
 * journal_plan(). `before_status` / `before_payment` may be NULL. */
int journal_reservation(struct db_conn *c, long long now, const char *actor, const char *event,
                        const char *before_status, const char *before_payment,
                        const struct reservation *after);

/* The messages of a reservation event: which channel goes to whom. Pure. Events: hold_created,
 * booking_confirmed, hold_expired, booking_cancelled, payment_needs_refund, payment_refunded. The guest gets
 * email when an address is known and WhatsApp when a phone is (except what the bot answers itself: a hold
 * made on WhatsApp, and whatever the guest did through the bot, actor "bot:whatsapp"); the owner ("owner") is
 * told of confirmations, cancellations and payment trouble. Messages for channels that are not configured
 * are dropped by outbox_enqueue(), so planning needs no configuration. Returns the count. */
struct journal_recipient {
    const char *channel;
    const char *recipient;
};
#define JOURNAL_MAX_RECIPIENTS 4
int journal_plan(const char *event, const struct reservation *r, const char *actor,
                 struct journal_recipient out[JOURNAL_MAX_RECIPIENTS]);

/* The reservation as the JSON the audit log stores (money in centavos, as in the database). Caller
 * free()s. NULL on allocation failure. */
char *journal_reservation_json(const struct reservation *r);

/* The accommodation and the block as the audit log stores them (database units: centavos, basis points;
 * amenities, photos and policies as JSON). Caller free()s; NULL on allocation failure. */
char *journal_accommodation_json(const struct accommodation *a);
char *journal_block_json(const struct block *b);

/* An accommodation or block change: one audit row, entity "accommodation" / "block", entity_id the id,
 * before/after the JSON above (NULL for a creation / a deletion). */
int journal_accommodation(struct db_conn *c, long long now, const char *actor, const char *action,
                          const struct accommodation *before, const struct accommodation *after);
int journal_block(struct db_conn *c, long long now, const char *actor, const char *action,
                  const struct block *before, const struct block *after);

#endif
