/* conversation.h - the booking dialog: one inbound message in, at most one reply out.
 *
 * For each message the engine loads the phone's session (session.h), reads the message (nlu.h for text,
 * the row or button id for interactive replies), merges what it learned (dates, guests) into the session,
 * asks only for what is still missing, and otherwise answers with real availability and prices from the
 * booking core, a summary with Reservar / Cambiar fechas, the hold (booking_create_hold, channel
 * "whatsapp"), the guest's own reservations, or a cancellation after a confirmation button. Every reply
 * text comes from replies.h. Nothing is sent to a phone in handoff, over its reply limit, or for a
 * message type that needs no answer (reactions).
 *
 * Thread-safe; wa_conversation_init() before threads start. */
#ifndef CABANAS_WA_CONVERSATION_H
#define CABANAS_WA_CONVERSATION_H

#include "api/app.h"
#include "store/whatsapp_store.h"

void wa_conversation_init(void);

/* Handles one claimed inbound message: decides the reply and sends it (in reply to m->id). Returns the
 * message's final status (WA_IN_ANSWERED, WA_IN_SILENT or WA_IN_FAILED) and, when not answered, a short
 * reason in `why` (the silent reason or the send failure). */
const char *wa_conversation_handle(struct app *app, const struct wa_message *m, char *why, size_t whylen);

/* Hands the phone over to a person: silent for WHATSAPP_HANDOFF_HOURS, the owner told by email (an outbox
 * message "handoff" to "owner"), audited. 0 or a DB_* code. */
int wa_conversation_handoff(struct app *app, const char *phone, const char *name, long long now);

/* Ends a handoff (admin "resume") and forgets the dialog state. STORE_NOT_FOUND when the phone has no
 * conversation. `actor` is "admin:<email>". */
int wa_conversation_resume(struct app *app, const char *phone, const char *actor);

#endif
