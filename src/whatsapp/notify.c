/* notify.c - reservation events to the guest on WhatsApp, inside or outside the 24-hour window. See
 * notify.h. */
#include "notify.h"

#include "core/log.h"
#include "replies.h"
#include "store/booking_store.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#define WINDOW_S (24 * 3600)

int wa_template_for(const char *templates, const char *event, char *out, size_t outlen)
{
    size_t el = strlen(event);
    const char *p = templates;
    while (p && *p) {
        while (*p == ' ' || *p == ',')
            p++;
        size_t n = strcspn(p, ",");
        const char *eq = memchr(p, '=', n);
        if (eq && (size_t)(eq - p) == el && strncmp(p, event, el) == 0) {
            const char *v = eq + 1;
            size_t vl = n - (size_t)(v - p);
            while (vl > 0 && v[vl - 1] == ' ')
                vl--;
            int ok = vl > 0 && vl < outlen;
            for (size_t i = 0; ok && i < vl; i++)
                ok = (v[i] >= 'a' && v[i] <= 'z') || (v[i] >= '0' && v[i] <= '9') || v[i] == '_';
            if (!ok)
                return -1;
            memcpy(out, v, vl);
            out[vl] = '\0';
            return 0;
        }
        p += n;
    }
    return -1;
}

static int send_template(struct app *app, const char *event, const struct reservation *r,
                         char wamid[WA_WAMID_MAX + 1], struct wa_send_error *err)
{
    char name[128];
    if (wa_template_for(app->cfg->wa_templates, event, name, sizeof name) < 0) {
        err->rc = WA_ERR_OUTSIDE_WINDOW;
        err->reason = "outside_window";
        snprintf(err->detail, sizeof err->detail, "no template configured for %s outside the 24-hour window",
                 event);
        return err->rc;
    }
    char in[16], out[16];
    snprintf(in, sizeof in, "%.2s/%.2s/%.4s", r->check_in + 8, r->check_in + 5, r->check_in);
    snprintf(out, sizeof out, "%.2s/%.2s/%.4s", r->check_out + 8, r->check_out + 5, r->check_out);
    const char *params[] = {r->code, r->accommodation_name, in, out};
    json_t *m = wa_msg_template(r->guest_phone, name, app->cfg->wa_template_language, params, 4);
    char summary[200];
    snprintf(summary, sizeof summary, "[template %s] %s", name, r->code);
    int rc = m ? wa_send(app, m, summary, 0, wamid, err) : WA_ERR_INVALID;
    json_decref(m);
    return rc;
}

int wa_notify_event(struct app *app, const char *event, const char *code, const char *phone,
                    char wamid[WA_WAMID_MAX + 1], struct wa_send_error *err)
{
    struct wa_send_error local;
    if (!err)
        err = &local;
    memset(err, 0, sizeof *err);
    wamid[0] = '\0';
    struct reservation r;
    if (!event || !code || !phone || store_reservation_get(app->db, code, &r) != DB_OK ||
        strcmp(r.guest_phone, phone) != 0) {
        err->rc = WA_ERR_INVALID;
        err->reason = "invalid";
        snprintf(err->detail, sizeof err->detail, "no reservation %s for that phone", code ? code : "");
        return err->rc;
    }
    struct date today;
    if (dates_today(&today) < 0)
        today.y = 0;
    struct buf text;
    buf_init(&text, 2048);
    if (wa_txt_event(&text, event, &r, today.y) < 0) {
        buf_cleanup(&text);
        err->rc = WA_ERR_INVALID;
        err->reason = "invalid";
        snprintf(err->detail, sizeof err->detail, "no WhatsApp message for event %s", event);
        return err->rc;
    }
    long long now = (long long)time(NULL);
    struct wa_conversation conv;
    int inside = wa_store_conversation_get(app->db, phone, &conv) == DB_OK && conv.last_inbound_at > 0 &&
                 now - conv.last_inbound_at < WINDOW_S;
    int rc;
    if (inside) {
        rc = wa_send_text(app, phone, text.data, wamid, err);
        if (rc == WA_ERR_OUTSIDE_WINDOW) /* the API's clock decides: our record may be off */
            rc = send_template(app, event, &r, wamid, err);
    } else {
        rc = send_template(app, event, &r, wamid, err);
    }
    buf_cleanup(&text);
    if (rc == WA_OK)
        log_info("whatsapp: %s notification for %s sent (%s)", event, r.code, inside ? "text" : "template");
    return rc;
}
