/* channels.c - the channel table. See channels.h.
 *
 * Both merge points are connected: "whatsapp" is the WhatsApp sender (whatsapp/notify.h), and
 * "mercadopago" is payments/mercadopago.h's mp_preference_deliver (the hold's payment link, retried),
 * whose 0 / 1 / -1 are OUTBOX_SENT / OUTBOX_RETRY / OUTBOX_FAILED. */
#include "channels.h"

#include "email.h"
#include "payments/mercadopago.h"
#include "whatsapp/notify.h"

#include <stdio.h>
#include <string.h>

static int whatsapp_enabled(const struct config *cfg)
{
    return config_wa_enabled(cfg);
}

/* WhatsApp notifications go through the assistant's sender, which keeps the 24-hour window (a template
 * outside it). No template configured outside the window: nothing to send on WhatsApp; the guest still
 * gets the email journal_plan() queued when an address is known. */
static int whatsapp_deliver(struct app *app, const struct outbox_row *row, char *provider_id, size_t plen,
                            char *err, size_t errlen)
{
    char wamid[WA_WAMID_MAX + 1] = "";
    struct wa_send_error e;
    memset(&e, 0, sizeof e);
    int rc = wa_notify_event(app, row->template_name, row->reservation_code, row->recipient, wamid, &e);
    switch (rc) {
    case WA_OK:
        snprintf(provider_id, plen, "%s", wamid);
        return OUTBOX_SENT;
    case WA_ERR_DISABLED:
        snprintf(err, errlen, "whatsapp not configured");
        return OUTBOX_SKIP;
    case WA_ERR_OUTSIDE_WINDOW:
        snprintf(err, errlen, "outside the 24-hour window and no template configured for %s",
                 row->template_name);
        return OUTBOX_SKIP;
    case WA_ERR_CIRCUIT_OPEN:
    case WA_ERR_UNAVAILABLE:
    case WA_ERR_STORAGE:
        snprintf(err, errlen, "whatsapp: %s (http %ld)", e.reason ? e.reason : "unavailable", e.http_status);
        return OUTBOX_RETRY;
    default:
        snprintf(err, errlen, "whatsapp: %s (http %ld, code %ld)", e.reason ? e.reason : "rejected",
                 e.http_status, e.graph_code);
        return OUTBOX_FAILED;
    }
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
