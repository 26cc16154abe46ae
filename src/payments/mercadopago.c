/* mercadopago.c - Checkout Pro preferences and payment lookups. See mercadopago.h.
 *
 * Money goes out as decimal text ("43200.00", from integer centavos) and comes back through
 * mp_payment.c's integer parser, so no amount ever passes through a double. Errors are classified once
 * (classify()): no answer, 429 and 5xx are worth retrying; other 4xx mean our request is wrong. */
#include "mercadopago.h"

#include "core/log.h"
#include "core/metrics.h"
#include "domain/money.h"
#include "net/http_client.h"
#include "notify/worker.h"
#include "store/booking_store.h"
#include "store/payment_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MP_MAX_BODY (256 * 1024)
#define UNIT_PRICE_MARK "\"__cabanas_unit_price__\""

static struct metric *m_webhooks, *m_payments, *m_needs_refund, *m_preferences, *m_api, *m_inbox_waiting,
    *m_inbox_failed;

void payments_init(void)
{
    static const char *result[] = {"result", NULL};
    static const char *status[] = {"status", NULL};
    static const char *api[] = {"operation", "result", NULL};
    if (m_webhooks)
        return;
    m_webhooks = metrics_counter("mp_webhooks_total",
                                 "MercadoPago webhook notifications, by result (accepted, ignored, "
                                 "invalid_signature, not_configured, invalid, unavailable).",
                                 result);
    m_payments = metrics_counter("payments_total", "Payment state changes applied, by status.", status);
    m_needs_refund =
        metrics_counter("payments_needs_refund_total",
                        "Approved payments that could not confirm their hold and must be refunded.", NULL);
    m_preferences =
        metrics_counter("mp_preferences_total", "Checkout preferences (payment links), by result.", result);
    m_api = metrics_counter("mp_api_requests_total",
                            "Requests to the MercadoPago API, by operation and result.", api);
    m_inbox_waiting =
        metrics_gauge("mp_inbox_pending", "Webhook notifications recorded and not yet processed.", NULL);
    m_inbox_failed =
        metrics_gauge("mp_inbox_failed", "Webhook notifications given up on after every retry.", NULL);
}

void mp_metric_webhook(const char *result)
{
    const char *v[] = {result};
    metrics_inc(m_webhooks, v, 1);
}

void mp_metric_payment(const char *status)
{
    const char *v[] = {status};
    metrics_inc(m_payments, v, 1);
}

void mp_metric_needs_refund(void)
{
    metrics_inc(m_needs_refund, NULL, 1);
}

void mp_metric_inbox(int waiting, int failed)
{
    metrics_set(m_inbox_waiting, NULL, waiting);
    metrics_set(m_inbox_failed, NULL, failed);
}

static void count_api(const char *operation, const char *result)
{
    const char *v[] = {operation, result};
    metrics_inc(m_api, v, 1);
}

int mp_configured(const struct config *cfg)
{
    return cfg->mp_access_token[0] != '\0';
}

json_t *mp_health_check(const struct config *cfg)
{
    return json_pack("{s:s, s:s}", "status", mp_configured(cfg) ? "ok" : "disabled", "webhooks",
                     mp_configured(cfg) && cfg->mp_webhook_secret[0] ? "enabled" : "disabled");
}

/* {base}{path} without a doubled slash. */
static void api_url(const struct config *cfg, const char *path, char *out, size_t outlen)
{
    size_t n = strlen(cfg->mp_api_base);
    while (n > 0 && cfg->mp_api_base[n - 1] == '/')
        n--;
    snprintf(out, outlen, "%.*s%s", (int)n, cfg->mp_api_base, path);
}

/* 0 for a 2xx answer; 1 for what is worth retrying; -1 for a refusal. err describes it. */
static int classify(int rc, const struct http_client_response *resp, char *err, size_t errlen)
{
    if (rc != HTTP_CLIENT_OK) {
        snprintf(err, errlen, "MercadoPago did not answer (%s: %s)", http_client_strerror(rc), resp->error);
        return rc == HTTP_CLIENT_BAD_URL ? -1 : 1;
    }
    if (resp->status >= 200 && resp->status < 300)
        return 0;
    char snippet[160] = "";
    if (resp->body) {
        size_t k = 0;
        for (size_t i = 0; i < resp->body_len && k + 1 < sizeof snippet; i++) {
            unsigned char ch = (unsigned char)resp->body[i];
            snippet[k++] = ch >= 0x20 && ch < 0x7f ? (char)ch : ' ';
        }
        snippet[k] = '\0';
    }
    snprintf(err, errlen, "MercadoPago answered %ld: %s", resp->status, snippet);
    return resp->status == 429 || resp->status >= 500 ? 1 : -1;
}

static const char *result_word(int c)
{
    return c == 0 ? "ok" : c > 0 ? "retry" : "refused";
}

/* "2026-12-01T11:32:10.000-03:00": MercadoPago's date format, in the property's local time. */
static void iso_local(long long t, char out[40])
{
    struct tm tm;
    time_t tt = (time_t)t;
    char zone[8];
    localtime_r(&tt, &tm);
    strftime(out, 40, "%Y-%m-%dT%H:%M:%S.000", &tm);
    strftime(zone, sizeof zone, "%z", &tm); /* -0300 */
    size_t n = strlen(out);
    if (strlen(zone) == 5)
        snprintf(out + n, 40 - n, "%.3s:%.2s", zone, zone + 3);
    else
        snprintf(out + n, 40 - n, "Z");
}

/* The preference body for the hold's deposit. Caller free()s; NULL on allocation failure. */
static char *preference_body(const struct config *cfg, const struct reservation *r, long long now)
{
    char title[256], back[CONFIG_STR_MAX + 64], notify[CONFIG_STR_MAX + 64], from[40], to[40];
    char price[MONEY_FORMAT_LEN];
    size_t bl = strlen(cfg->public_base_url);
    while (bl > 0 && cfg->public_base_url[bl - 1] == '/')
        bl--;
    snprintf(title, sizeof title, "Seña - %s (%d %s)",
             r->accommodation_name[0] ? r->accommodation_name : "Reserva", r->nights,
             r->nights == 1 ? "noche" : "noches");
    snprintf(notify, sizeof notify, "%.*s/api/v1/webhooks/mercadopago", (int)bl, cfg->public_base_url);
    snprintf(back, sizeof back, "%.*s/api/v1/reservations/%s", (int)bl, cfg->public_base_url, r->code);
    iso_local(now, from);
    iso_local(r->expires_at, to);
    money_format(r->deposit_cents, price);
    json_t *item = json_pack("{s:s, s:s, s:i, s:s, s:s}", "id", r->code, "title", title, "quantity", 1,
                             "currency_id", r->currency, "unit_price", "__cabanas_unit_price__");
    json_t *body = json_pack("{s:[o], s:s, s:s, s:b, s:s, s:s, s:{s:s, s:s, s:s}, s:{s:s}}", "items", item,
                             "external_reference", r->code, "notification_url", notify, "expires", 1,
                             "expiration_date_from", from, "expiration_date_to", to, "back_urls", "success",
                             back, "pending", back, "failure", back, "metadata", "reservation_code", r->code);
    if (!body)
        return NULL;
    if (r->guest_email[0])
        json_object_set_new(body, "payer", json_pack("{s:s}", "email", r->guest_email));
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    if (!text)
        return NULL;
    /* unit_price is a JSON number written from integer centavos, never a double: replace the marker (a
     * string, so it cannot collide with escaped user text, whose quotes are escaped) */
    char *mark = strstr(text, UNIT_PRICE_MARK);
    if (!mark) {
        free(text);
        return NULL;
    }
    size_t pre = (size_t)(mark - text), ml = strlen(UNIT_PRICE_MARK), pl = strlen(price);
    char *out = malloc(strlen(text) - ml + pl + 1);
    if (!out)
        abort();
    memcpy(out, text, pre);
    memcpy(out + pre, price, pl);
    memcpy(out + pre + pl, mark + ml, strlen(mark + ml) + 1);
    free(text);
    return out;
}

/* POST {base}/checkout/preferences. 0 with *pref, 1 retry, -1 refused. */
static int preference_create(const struct config *cfg, const struct reservation *r, int generation,
                             long timeout_ms, struct mp_preference *pref, char *err, size_t errlen)
{
    char url[CONFIG_STR_MAX + 64], auth[600], idem[96];
    api_url(cfg, "/checkout/preferences", url, sizeof url);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", cfg->mp_access_token);
    snprintf(idem, sizeof idem, "X-Idempotency-Key: cabanas-preference-%s-%d", r->code, generation);
    const char *headers[] = {auth, "Content-Type: application/json", "Accept: application/json", idem, NULL};
    char *body = preference_body(cfg, r, (long long)time(NULL));
    if (!body) {
        snprintf(err, errlen, "cannot build the preference body");
        return -1;
    }
    struct http_client_request req = {.method = "POST",
                                      .url = url,
                                      .headers = headers,
                                      .body = body,
                                      .body_len = strlen(body),
                                      .timeout_ms = timeout_ms,
                                      .max_body = MP_MAX_BODY};
    struct http_client_response resp;
    int rc = http_client_fetch(&req, &resp);
    int c = classify(rc, &resp, err, errlen);
    if (c == 0 && mp_preference_parse(resp.body, resp.body_len, pref, err, errlen) < 0)
        c = -1;
    count_api("preference_create", result_word(c));
    http_client_response_free(&resp);
    free(body);
    return c;
}

/* PUT {base}/checkout/preferences/{id}: expire it now. 0, 1 retry, -1 refused. */
static int preference_expire(const struct config *cfg, const char *preference_id, char *err, size_t errlen)
{
    char url[CONFIG_STR_MAX + 320], auth[600], when[40], body[160];
    char path[300];
    snprintf(path, sizeof path, "/checkout/preferences/%s", preference_id);
    api_url(cfg, path, url, sizeof url);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", cfg->mp_access_token);
    iso_local((long long)time(NULL), when);
    snprintf(body, sizeof body, "{\"expires\":true,\"expiration_date_to\":\"%s\"}", when);
    const char *headers[] = {auth, "Content-Type: application/json", NULL};
    struct http_client_request req = {.method = "PUT",
                                      .url = url,
                                      .headers = headers,
                                      .body = body,
                                      .body_len = strlen(body),
                                      .timeout_ms = MP_RETRY_TIMEOUT_MS,
                                      .max_body = MP_MAX_BODY};
    struct http_client_response resp;
    int rc = http_client_fetch(&req, &resp);
    int c = classify(rc, &resp, err, errlen);
    count_api("preference_expire", result_word(c));
    http_client_response_free(&resp);
    return c;
}

/* The link the guest opens: sandbox_init_point with test credentials (TEST-…), else init_point. */
static const char *link_of(const struct config *cfg, const struct mp_preference *p)
{
    if (strncmp(cfg->mp_access_token, "TEST-", 5) == 0 && p->sandbox_init_point[0])
        return p->sandbox_init_point;
    return p->init_point;
}

static int hold_open(const struct reservation *r, long long now)
{
    return strcmp(booking_effective_status(r, now), "pre_reserved") == 0;
}

static void count_preference(const char *result)
{
    const char *v[] = {result};
    metrics_inc(m_preferences, v, 1);
}

void mp_preference_after_hold(struct app *app, struct reservation *r)
{
    const struct config *cfg = app->cfg;
    char err[512];
    struct mp_preference pref;
    if (!mp_configured(cfg))
        return;
    long long now = (long long)time(NULL);
    int c = preference_create(cfg, r, 1, MP_CREATE_TIMEOUT_MS, &pref, err, sizeof err);
    if (c == 0) {
        const char *url = link_of(cfg, &pref);
        int rc = store_mp_preference_saved(app->db, r->code, 1, pref.id, url, NULL, now);
        if (rc == DB_OK) {
            snprintf(r->payment_url, sizeof r->payment_url, "%s", url);
            count_preference("created");
            log_info("reservation %s: payment link created (preference %s)", r->code, pref.id);
            return;
        }
        snprintf(err, sizeof err, "the preference was created but could not be stored (%s)", db_strerror(rc));
    }
    count_preference("deferred");
    int rc = store_mp_preference_failed(app->db, r->code, 1, err, now);
    if (rc == DB_OK)
        notify_worker_wake();
    if (rc == DB_OK)
        log_warn("reservation %s: no payment link yet (%s); the outbox retries it", r->code, err);
    else
        log_error("reservation %s: no payment link (%s) and the retry could not be queued (%s); an admin can "
                  "make one with POST /api/v1/admin/reservations/%s/payment-link",
                  r->code, err, db_strerror(rc), r->code);
}

/* The phone of a guest who booked on WhatsApp: a link made after the bot's answer must be sent there
 * (journal_plan leaves a WhatsApp hold's notice to the bot, which answered before the link existed). */
static const char *whatsapp_guest(const struct reservation *r)
{
    return strcmp(r->channel, "whatsapp") == 0 && r->guest_phone[0] ? r->guest_phone : NULL;
}

int mp_preference_deliver(struct app *app, const char *reservation_code, char *err, size_t errlen)
{
    const struct config *cfg = app->cfg;
    struct reservation r;
    struct mp_preference_row row;
    struct mp_preference pref;
    if (!mp_configured(cfg)) {
        snprintf(err, errlen, "MercadoPago is not configured (MERCADOPAGO_ACCESS_TOKEN)");
        return -1;
    }
    int rc = store_reservation_get(app->db, reservation_code, &r);
    if (rc == STORE_NOT_FOUND) {
        snprintf(err, errlen, "no reservation %s", reservation_code);
        return -1;
    }
    if (rc != DB_OK) {
        snprintf(err, errlen, "database: %s", db_strerror(rc));
        return 1;
    }
    long long now = (long long)time(NULL);
    if (!hold_open(&r, now) || r.payment_url[0])
        return 0; /* no longer a hold, or the link is there: nothing to do */
    int generation = 1;
    rc = store_mp_preference_get(app->db, reservation_code, &row);
    if (rc == DB_OK)
        generation = row.generation;
    else if (rc != STORE_NOT_FOUND) {
        snprintf(err, errlen, "database: %s", db_strerror(rc));
        return 1;
    }
    int c = preference_create(cfg, &r, generation, MP_RETRY_TIMEOUT_MS, &pref, err, errlen);
    if (c != 0) {
        count_preference(c > 0 ? "deferred" : "failed");
        return c;
    }
    rc = store_mp_preference_saved(app->db, reservation_code, generation, pref.id, link_of(cfg, &pref),
                                   whatsapp_guest(&r), now);
    if (rc == STORE_INVALID_STATE)
        return 0; /* an admin made a fresh link meanwhile: that generation has its own delivery */
    if (rc != DB_OK) {
        snprintf(err, errlen, "database: %s", db_strerror(rc));
        return 1;
    }
    count_preference("created");
    log_info("reservation %s: payment link created on retry (preference %s)", reservation_code, pref.id);
    return 0;
}

static int link_fail(struct booking_error *err, int status, const char *code, const char *detail)
{
    err->status = status;
    err->code = code;
    snprintf(err->detail, sizeof err->detail, "%s", detail);
    return -1;
}

int mp_payment_link_refresh(struct app *app, const char *code, struct reservation *out,
                            struct booking_error *err)
{
    const struct config *cfg = app->cfg;
    struct mp_preference_row row;
    struct mp_preference pref;
    char why[512];
    if (!mp_configured(cfg))
        return link_fail(err, 503, "not_configured",
                         "MercadoPago is not configured (MERCADOPAGO_ACCESS_TOKEN)");
    int rc = store_reservation_get(app->db, code, out);
    if (rc == STORE_NOT_FOUND)
        return link_fail(err, 404, "reservation_not_found", "No reservation with this code");
    if (rc != DB_OK) {
        booking_error_from_db(rc, err);
        return -1;
    }
    long long now = (long long)time(NULL);
    if (!hold_open(out, now))
        return link_fail(err, 409, "invalid_state", "Only an active hold gets a payment link");
    int expected = 0;
    rc = store_mp_preference_get(app->db, code, &row);
    if (rc == DB_OK) {
        expected = row.generation;
        if (row.preference_id[0] && preference_expire(cfg, row.preference_id, why, sizeof why) != 0) {
            log_warn("reservation %s: cannot expire preference %s: %s", code, row.preference_id, why);
            return link_fail(err, 502, "mercadopago_unavailable",
                             "The current link could not be expired at MercadoPago; nothing was changed");
        }
    } else if (rc != STORE_NOT_FOUND) {
        booking_error_from_db(rc, err);
        return -1;
    }
    int generation = 0;
    rc = store_mp_preference_bump(app->db, code, expected, now, &generation);
    if (rc == STORE_INVALID_STATE)
        return link_fail(err, 409, "payment_link_busy", "Another fresh link is being made for this hold");
    if (rc != DB_OK) {
        booking_error_from_db(rc, err);
        return -1;
    }
    out->payment_url[0] = '\0';
    int c = preference_create(cfg, out, generation, MP_RETRY_TIMEOUT_MS, &pref, why, sizeof why);
    if (c == 0)
        rc = store_mp_preference_saved(app->db, code, generation, pref.id, link_of(cfg, &pref),
                                       whatsapp_guest(out), now);
    if (c != 0 || rc != DB_OK) {
        if (c == 0)
            snprintf(why, sizeof why, "database: %s", db_strerror(rc));
        count_preference("deferred");
        if (store_mp_preference_failed(app->db, code, generation, why, now) == DB_OK)
            notify_worker_wake();
        log_warn("reservation %s: fresh payment link failed (%s); retried in the background", code, why);
        return link_fail(err, 502, "mercadopago_unavailable",
                         "MercadoPago did not create the link; it is retried in the background");
    }
    count_preference("created");
    log_info("reservation %s: fresh payment link (generation %d, preference %s)", code, generation, pref.id);
    rc = store_reservation_get(app->db, code, out);
    if (rc != DB_OK) {
        booking_error_from_db(rc, err);
        return -1;
    }
    return 0;
}

int mp_payment_fetch(struct app *app, const char *payment_id, struct mp_payment *out, char *err,
                     size_t errlen)
{
    const struct config *cfg = app->cfg;
    static const long backoff_ms[] = {250, 750};
    char url[CONFIG_STR_MAX + 128], path[96], auth[600];
    if (!mp_id_valid(payment_id)) {
        snprintf(err, errlen, "not a payment id");
        return -1;
    }
    snprintf(path, sizeof path, "/v1/payments/%s", payment_id);
    api_url(cfg, path, url, sizeof url);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", cfg->mp_access_token);
    const char *headers[] = {auth, "Accept: application/json", NULL};
    struct http_client_request req = {.method = "GET",
                                      .url = url,
                                      .headers = headers,
                                      .timeout_ms = MP_RETRY_TIMEOUT_MS,
                                      .max_body = MP_MAX_BODY};
    int c = 1;
    for (int attempt = 0; attempt < 3; attempt++) {
        if (attempt > 0) {
            long ms = backoff_ms[attempt - 1];
            struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
            while (nanosleep(&ts, &ts) != 0)
                ;
        }
        struct http_client_response resp;
        int rc = http_client_fetch(&req, &resp);
        c = classify(rc, &resp, err, errlen);
        int status = (int)resp.status;
        if (c == 0) {
            if (mp_payment_parse(resp.body, resp.body_len, out, err, errlen) < 0)
                c = -1;
            else if (strcmp(out->id, payment_id) != 0) {
                snprintf(err, errlen, "asked for payment %s, MercadoPago answered payment %s", payment_id,
                         out->id);
                c = -1;
            }
        } else if (c < 0 && (status == 401 || status == 403 || status == 404)) {
            c = 1; /* credentials being fixed, or a payment not visible yet: later, not never */
            http_client_response_free(&resp);
            break;
        }
        http_client_response_free(&resp);
        if (c <= 0)
            break;
    }
    count_api("payment_get", result_word(c));
    return c;
}
