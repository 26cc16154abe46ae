/* email.c - the email channel. See email.h. */
#include "email.h"

#include "compose.h"
#include "smtp.h"
#include "worker.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int email_channel_enabled(const struct config *cfg)
{
    return cfg->smtp_url[0] != '\0';
}

int email_channel_deliver(struct app *app, const struct outbox_row *row, char *provider_id, size_t plen,
                          char *err, size_t errlen)
{
    const struct config *cfg = app->cfg;
    int owner = strcmp(row->recipient, "owner") == 0;
    const char *to = owner ? cfg->owner_email : row->recipient;
    if (!*to) {
        snprintf(err, errlen, "%s", owner ? "OWNER_EMAIL not configured" : "no recipient address");
        return OUTBOX_SKIP;
    }
    if (!smtp_address_valid(to)) {
        snprintf(err, errlen, "invalid recipient address%s", owner ? " (OWNER_EMAIL)" : "");
        return OUTBOX_FAILED;
    }
    struct template_output *msg = malloc(sizeof *msg);
    if (!msg)
        abort();
    int rc = notify_compose(app, row, owner, msg, err, errlen);
    if (rc == OUTBOX_SENT) {
        struct smtp_settings s = {.url = cfg->smtp_url,
                                  .username = cfg->smtp_username,
                                  .password = cfg->smtp_password,
                                  .timeout_ms = cfg->smtp_timeout_s * 1000L};
        struct smtp_message m = {
            .from = cfg->smtp_from, .to = to, .subject = msg->subject, .body = msg->body};
        int src = smtp_send(&s, &m, notify_worker_abort_flag(), provider_id, plen, err, errlen);
        rc = src == SMTP_OK ? OUTBOX_SENT : src == SMTP_TEMPORARY ? OUTBOX_RETRY : OUTBOX_FAILED;
    }
    free(msg);
    return rc;
}
