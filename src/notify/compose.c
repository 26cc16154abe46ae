/* compose.c - rendering an outbox row at delivery time. See compose.h. */
#include "compose.h"

#include "booking/service.h"
#include "channels.h"
#include "store/booking_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int notify_compose(struct app *app, const struct outbox_row *row, int to_owner, struct template_output *out,
                   char *err, size_t errlen)
{
    const char *tpl = row->template_name;
    if (!template_known(tpl)) {
        snprintf(err, errlen, "unknown template '%s'", tpl);
        return OUTBOX_FAILED;
    }
    struct reservation *r = NULL;
    int result = OUTBOX_SENT;
    if (row->reservation_code[0]) {
        r = malloc(sizeof *r);
        if (!r)
            abort();
        int rc = store_reservation_get(app->db, row->reservation_code, r);
        if (rc == STORE_NOT_FOUND) {
            free(r);
            r = NULL;
        } else if (rc != DB_OK) {
            snprintf(err, errlen, "database: %s", db_strerror(rc));
            result = OUTBOX_RETRY;
            goto out;
        }
    }
    if (!r && template_needs_reservation(tpl)) {
        snprintf(err, errlen, "reservation '%s' not found", row->reservation_code);
        result = OUTBOX_FAILED;
        goto out;
    }
    long long now = (long long)time(NULL);
    if (r && strcmp(tpl, "hold_created") == 0) {
        const char *status = booking_effective_status(r, now);
        if (strcmp(status, "pre_reserved") != 0) {
            snprintf(err, errlen, "no longer applies: the reservation is %s", status);
            result = OUTBOX_SKIP;
            goto out;
        }
        if (app->cfg->mp_access_token[0] && !r->payment_url[0] &&
            now < row->created_at + app->cfg->outbox_payment_link_wait_s) {
            snprintf(err, errlen, "waiting for the payment link");
            result = OUTBOX_DEFER;
            goto out;
        }
    }
    json_t *payload = json_loads(row->payload, 0, NULL);
    struct template_input in = {.name = tpl,
                                .to_owner = to_owner,
                                .r = r,
                                .payload = json_is_object(payload) ? payload : NULL,
                                .payments_enabled = app->cfg->mp_access_token[0] != '\0',
                                .now = now};
    if (template_render(&in, out, err, errlen) < 0)
        result = OUTBOX_FAILED;
    json_decref(payload);
out:
    free(r);
    return result;
}
