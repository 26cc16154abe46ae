/* notify.h - WhatsApp messages about a reservation that the guest did not just ask for: payment
 * confirmed, hold expired, booking cancelled, a hold made elsewhere. For the outbox worker (channel
 * "whatsapp", the outbox row's template is the event and its recipient the phone).
 *
 * The 24-hour customer service window is respected: when the guest wrote within the last 24 hours (the
 * conversation's last_inbound_at) the message is a free text from replies.h; otherwise it is the approved
 * template named for the event in WHATSAPP_TEMPLATES ("booking_confirmed=reserva_confirmada,..."), with
 * the body parameters {{1}} code, {{2}} accommodation, {{3}} check-in, {{4}} check-out, in
 * WHATSAPP_TEMPLATE_LANGUAGE; and when no template is configured the call returns WA_ERR_OUTSIDE_WINDOW so
 * the caller sends an email instead. A text refused by the API as outside the window (131047) falls back
 * to the template the same way. Thread-safe. */
#ifndef CABANAS_WA_NOTIFY_H
#define CABANAS_WA_NOTIFY_H

#include "graph.h"

/* `phone` must be the reservation's guest phone (else WA_ERR_INVALID, nothing sent). Returns WA_OK with
 * the wamid, or a WA_ERR_* from graph.h (err may be NULL). Unknown event or reservation: WA_ERR_INVALID. */
int wa_notify_event(struct app *app, const char *event, const char *code, const char *phone,
                    char wamid[WA_WAMID_MAX + 1], struct wa_send_error *err);

/* The template configured for `event` in `templates` ("a=x,b=y"), copied into out; 0, or -1 when none. */
int wa_template_for(const char *templates, const char *event, char *out, size_t outlen);

#endif
