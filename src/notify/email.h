/* email.h - the "email" outbox channel: the Spanish template rendered from the reservation as it is at
 * delivery time, sent over SMTP (SMTP_URL, SMTP_USERNAME, SMTP_PASSWORD, SMTP_FROM, SMTP_TIMEOUT_SECONDS).
 * The recipient "owner" is OWNER_EMAIL at delivery time. */
#ifndef CABANAS_EMAIL_H
#define CABANAS_EMAIL_H

#include "channels.h"

/* 1 when SMTP_URL is set. */
int email_channel_enabled(const struct config *cfg);

/* See struct outbox_channel. The Message-ID is the provider id. */
int email_channel_deliver(struct app *app, const struct outbox_row *row, char *provider_id, size_t plen,
                          char *err, size_t errlen);

#endif
