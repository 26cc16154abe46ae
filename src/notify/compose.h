/* compose.h - what a text message says, decided at delivery time: the outbox row's template rendered
 * from the reservation as it is now (a message delayed by an outage still shows the current payment
 * link and status) and the row's payload. Shared by the text channels (email, and WhatsApp when it
 * lands). */
#ifndef CABANAS_COMPOSE_H
#define CABANAS_COMPOSE_H

#include "api/app.h"
#include "store/outbox_store.h"
#include "templates.h"

/* OUTBOX_SENT (0) with *out filled (ready to send), or with a reason in err:
 *   OUTBOX_DEFER  hold_created while MercadoPago is configured, the payment link is not there yet and
 *                 the row is younger than OUTBOX_PAYMENT_LINK_WAIT_SECONDS;
 *   OUTBOX_SKIP   hold_created for a hold that is no longer pre_reserved (confirmed, expired, cancelled:
 *                 that event has its own message);
 *   OUTBOX_RETRY  the database did not answer;
 *   OUTBOX_FAILED unknown template, or the reservation does not exist.
 * `to_owner` picks the owner's text. */
int notify_compose(struct app *app, const struct outbox_row *row, int to_owner, struct template_output *out,
                   char *err, size_t errlen);

#endif
