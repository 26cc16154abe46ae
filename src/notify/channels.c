/* channels.c - the channel table. See channels.h.
 *
 * Merge points (the lead connects these when the WhatsApp branch lands):
 *   - "whatsapp": replace whatsapp_enabled / whatsapp_deliver with the WhatsApp sender's functions.
 * "mercadopago" is payments/mercadopago.h's mp_preference_deliver (the hold's payment link, retried);
 * its 0 / 1 / -1 are OUTBOX_SENT / OUTBOX_RETRY / OUTBOX_FAILED. */
#include "channels.h"

#include "email.h"
#include "payments/mercadopago.h"

#include <stdio.h>
#include <string.h>

static int whatsapp_enabled(const struct config *cfg)
{
    (void)cfg;
    return 0; /* TODO(merge): the WhatsApp sender decides (WHATSAPP_ACCESS_TOKEN, WHATSAPP_PHONE_NUMBER_ID) */
}

static int whatsapp_deliver(struct app *app, const struct outbox_row *row, char *provider_id, size_t plen,
                            char *err, size_t errlen)
{
    (void)app;
    (void)row;
    (void)provider_id;
    (void)plen;
    snprintf(err, errlen, "whatsapp not configured");
    return OUTBOX_SKIP;
}

static int mercadopago_enabled(const struct config *cfg)
{
    return cfg->mp_access_token[0] != '\0';
}

static int mercadopago_deliver(struct app *app, const struct outbox_row *row, char *provider_id, size_t plen,
                               char *err, size_t errlen)
{
    (void)provider_id;
    (void)plen;
    if (!row->reservation_code[0]) {
        snprintf(err, errlen, "a mercadopago message names no reservation");
        return OUTBOX_FAILED;
    }
    int c = mp_preference_deliver(app, row->reservation_code, err, errlen);
    return c == 0 ? OUTBOX_SENT : c > 0 ? OUTBOX_RETRY : OUTBOX_FAILED;
}

static const struct outbox_channel channels[] = {
    {"email", email_channel_enabled, email_channel_deliver},
    {"whatsapp", whatsapp_enabled, whatsapp_deliver},
    {"mercadopago", mercadopago_enabled, mercadopago_deliver},
};

const struct outbox_channel *outbox_channel_find(const char *name)
{
    for (size_t i = 0; name && i < sizeof channels / sizeof *channels; i++)
        if (strcmp(channels[i].name, name) == 0)
            return &channels[i];
    return NULL;
}

const struct outbox_channel *outbox_channels(int *n)
{
    *n = (int)(sizeof channels / sizeof *channels);
    return channels;
}
