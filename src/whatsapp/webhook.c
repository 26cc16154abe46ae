/* webhook.c - the WhatsApp webhook and the answering worker. See webhook.h.
 *
 * Order of work for a POST: configuration, signature (over req->body exactly as received: this route has
 * no ROUTE_JSON flag, so nothing is parsed or re-encoded before the HMAC), JSON, then one INSERT per
 * message and one UPDATE per status. Only after every item is durable does the handler answer 200 and
 * wake the worker, which answers the guests on its own thread. */
#include "webhook.h"

#include "api/app.h"
#include "conversation.h"
#include "core/log.h"
#include "core/metrics.h"
#include "graph.h"
#include "jobs/periodic.h"
#include "nlu.h"
#include "store/whatsapp_store.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CHALLENGE_MAX 256
#define INBOX_BATCH 200       /* messages per worker run; the next run follows at once when woken */
#define INBOX_INTERVAL_S 5    /* also picks up what another instance recorded */
#define INBOX_MAX_AGE_S 86400 /* older unanswered messages (an outage) are not answered any more */

static struct metric *m_duplicates, *m_statuses, *m_rejected;
static struct periodic *inbox;
static int inbox_stopping;

void wa_webhook_init(void)
{
    static const char *status[] = {"status", NULL};
    static const char *reason[] = {"reason", NULL};
    if (m_duplicates)
        return;
    m_duplicates =
        metrics_counter("whatsapp_duplicates_total",
                        "Inbound messages delivered again by WhatsApp (same wamid), ignored.", NULL);
    m_statuses = metrics_counter(
        "whatsapp_statuses_total",
        "Status callbacks for messages we sent, by status (unmatched: unknown wamid).", status);
    m_rejected = metrics_counter("whatsapp_webhook_rejected_total",
                                 "Webhook POSTs refused before reading them, by reason.", reason);
}

static void rejected(const char *reason)
{
    const char *labels[] = {reason};
    metrics_inc(m_rejected, labels, 1);
}

/* ------------------------------------------------------------------------------------------ verify */

/* Constant time for equal lengths; a length mismatch returns at once (it only tells the length). */
static int secret_equal(const char *given, const char *expected)
{
    size_t n = strlen(expected);
    if (!given || strlen(given) != n || n == 0)
        return 0;
    return sodium_memcmp(given, expected, n) == 0;
}

void wa_handle_verify(struct http_request *req, struct http_response *res)
{
    const char *mode = http_request_query(req, "hub.mode");
    const char *token = http_request_query(req, "hub.verify_token");
    const char *challenge = http_request_query(req, "hub.challenge");
    int ok = mode && strcmp(mode, "subscribe") == 0 && secret_equal(token, req->app->cfg->wa_verify_token) &&
             challenge && *challenge && strlen(challenge) <= CHALLENGE_MAX;
    for (const char *p = challenge; ok && *p; p++)
        ok = *p > 0x20 && *p < 0x7f;
    if (!ok) {
        http_response_problem(res, 403, "forbidden", "Webhook verification failed");
        return;
    }
    http_response_body(res, 200, "text/plain; charset=utf-8", challenge, strlen(challenge));
}

/* ----------------------------------------------------------------------------------------- signature */

int wa_signature_valid(const char *secret, const char *header, const char *body, size_t len)
{
    if (!secret || !*secret || !header)
        return 0;
    while (*header == ' ')
        header++;
    if (strncmp(header, "sha256=", 7) != 0)
        return 0;
    const char *hex = header + 7;
    size_t hl = strlen(hex);
    while (hl > 0 && hex[hl - 1] == ' ')
        hl--;
    if (hl != 2 * crypto_auth_hmacsha256_BYTES)
        return 0;
    unsigned char given[crypto_auth_hmacsha256_BYTES], mac[crypto_auth_hmacsha256_BYTES];
    size_t bl = 0;
    const char *end = NULL;
    if (sodium_hex2bin(given, sizeof given, hex, hl, NULL, &bl, &end) != 0 || bl != sizeof given ||
        end != hex + hl)
        return 0;
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret, strlen(secret));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, len);
    crypto_auth_hmacsha256_final(&st, mac);
    sodium_memzero(&st, sizeof st);
    return sodium_memcmp(mac, given, sizeof mac) == 0;
}

/* -------------------------------------------------------------------------------------------- items */

static int all_digits(const char *s, size_t min, size_t max)
{
    size_t n = s ? strlen(s) : 0;
    if (n < min || n > max)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

static int printable_id(const char *s, size_t max)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > max)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
            return 0;
    return 1;
}

static void digits_of(const char *s, char *out, size_t outlen)
{
    size_t o = 0;
    for (; s && *s && o + 1 < outlen; s++)
        if (*s >= '0' && *s <= '9')
            out[o++] = *s;
    out[o] = '\0';
}

/* The metric label of a message type: a fixed set, so a hostile type cannot grow the series. */
static const char *type_label(const char *type)
{
    static const char *const known[] = {"text",     "interactive", "button",   "audio",
                                        "image",    "video",       "document", "sticker",
                                        "location", "contacts",    "reaction", NULL};
    for (const char *const *k = known; *k; k++)
        if (strcmp(type, *k) == 0)
            return *k;
    return "other";
}

static const char *profile_name(const json_t *contacts, const char *wa_id)
{
    size_t i;
    json_t *c;
    json_array_foreach(contacts, i, c)
    {
        const char *id = json_string_value(json_object_get(c, "wa_id"));
        if (id && strcmp(id, wa_id) == 0)
            return json_string_value(json_object_get(json_object_get(c, "profile"), "name"));
    }
    return NULL;
}

/* Reads one message into *m. 0, or -1 when it lacks a sender or an id we can key it by. */
static int read_message(const json_t *msg, const json_t *contacts, struct wa_message *m)
{
    memset(m, 0, sizeof *m);
    const char *from = json_string_value(json_object_get(msg, "from"));
    const char *id = json_string_value(json_object_get(msg, "id"));
    const char *type = json_string_value(json_object_get(msg, "type"));
    const char *ts = json_string_value(json_object_get(msg, "timestamp"));
    if (!all_digits(from, GUEST_PHONE_MIN, GUEST_PHONE_MAX) || !printable_id(id, WA_WAMID_MAX))
        return -1;
    memcpy(m->phone, from, strlen(from) + 1);
    memcpy(m->wamid, id, strlen(id) + 1);
    int type_ok = type && *type && strlen(type) <= WA_TYPE_MAX;
    for (const char *p = type; type_ok && *p; p++)
        type_ok = (*p >= 'a' && *p <= 'z') || *p == '_';
    snprintf(m->type, sizeof m->type, "%s", type_ok ? type : "unknown");
    m->wa_timestamp = all_digits(ts, 1, 12) ? strtoll(ts, NULL, 10) : 0;
    const char *name = profile_name(contacts, from);
    if (name)
        nlu_utf8_truncate(name, GUEST_NAME_MAX, m->contact_name, sizeof m->contact_name);
    const char *text = NULL, *reply = NULL;
    if (strcmp(m->type, "text") == 0) {
        text = json_string_value(json_object_get(json_object_get(msg, "text"), "body"));
    } else if (strcmp(m->type, "interactive") == 0) {
        const json_t *it = json_object_get(msg, "interactive");
        const json_t *r = json_object_get(it, "button_reply");
        if (!r)
            r = json_object_get(it, "list_reply");
        reply = json_string_value(json_object_get(r, "id"));
        text = json_string_value(json_object_get(r, "title"));
    } else if (strcmp(m->type, "button") == 0) { /* a quick-reply button of a template */
        const json_t *b = json_object_get(msg, "button");
        reply = json_string_value(json_object_get(b, "payload"));
        text = json_string_value(json_object_get(b, "text"));
    }
    if (text)
        nlu_utf8_truncate(text, NLU_MAX_TEXT, m->body, sizeof m->body);
    if (reply && strlen(reply) <= WA_REPLY_ID_MAX)
        memcpy(m->reply_id, reply, strlen(reply) + 1);
    return 0;
}

struct batch {
    int messages, duplicates, statuses, skipped;
    int rc; /* first storage error */
};

static void record_message(struct app *app, const json_t *msg, const json_t *contacts, const char *own,
                           long long now, struct batch *b)
{
    struct wa_message m;
    if (read_message(msg, contacts, &m) < 0) {
        b->skipped++;
        return;
    }
    /* our own number writing to us (an echo, a test from the business app) is never answered */
    int ours = own[0] && strcmp(m.phone, own) == 0;
    int inserted = 0;
    int rc = wa_store_inbound_insert(app->db, &m, ours ? WA_IN_SILENT : WA_IN_RECEIVED, now, &inserted);
    if (rc != DB_OK) {
        if (b->rc == DB_OK)
            b->rc = rc;
        return;
    }
    if (!inserted) {
        metrics_inc(m_duplicates, NULL, 1);
        b->duplicates++;
        return;
    }
    wa_count_message("in", type_label(m.type));
    b->messages++;
    if (!ours && (rc = wa_store_conversation_inbound(app->db, m.phone, m.contact_name, now)) != DB_OK &&
        b->rc == DB_OK)
        b->rc = rc;
}

static void record_status(struct app *app, const json_t *st, long long now, struct batch *b)
{
    static const char *const known[] = {"sent", "delivered", "read", "failed", NULL};
    const char *id = json_string_value(json_object_get(st, "id"));
    const char *status = json_string_value(json_object_get(st, "status"));
    const char *ts = json_string_value(json_object_get(st, "timestamp"));
    const char *label = NULL;
    for (const char *const *k = known; status && *k && !label; k++)
        if (strcmp(status, *k) == 0)
            label = *k;
    if (!printable_id(id, WA_WAMID_MAX) || !label) {
        b->skipped++;
        return;
    }
    char error[160] = "";
    const json_t *e = json_array_get(json_object_get(st, "errors"), 0);
    if (e) {
        const char *title = json_string_value(json_object_get(e, "title"));
        snprintf(error, sizeof error, "%lld %.120s",
                 (long long)json_integer_value(json_object_get(e, "code")), title ? title : "");
    }
    int matched = 0;
    int rc = wa_store_status_update(app->db, id, label, all_digits(ts, 1, 12) ? strtoll(ts, NULL, 10) : now,
                                    error[0] ? error : NULL, now, &matched);
    if (rc != DB_OK) {
        if (b->rc == DB_OK)
            b->rc = rc;
        return;
    }
    const char *labels[] = {matched ? label : "unmatched"};
    metrics_inc(m_statuses, labels, 1);
    b->statuses++;
}

void wa_handle_webhook(struct http_request *req, struct http_response *res)
{
    struct app *app = req->app;
    if (!app->cfg->wa_app_secret[0]) {
        http_response_problem(res, 503, "not_configured", "WHATSAPP_APP_SECRET is not set");
        return;
    }
    const char *sig = http_request_header(req, "X-Hub-Signature-256");
    if (!sig) {
        rejected("signature_missing");
        http_response_problem(res, 401, "invalid_signature", "X-Hub-Signature-256 is missing");
        return;
    }
    if (!wa_signature_valid(app->cfg->wa_app_secret, sig, req->body, req->body_len)) {
        rejected("signature_invalid");
        http_response_problem(res, 401, "invalid_signature", "X-Hub-Signature-256 does not match the body");
        return;
    }
    json_error_t jerr;
    json_t *root = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(root)) {
        json_decref(root);
        http_response_problem(res, 400, "invalid_json", "Expected a JSON object");
        return;
    }
    struct batch b = {0};
    long long now = (long long)time(NULL);
    int items = 0;
    const char *object = json_string_value(json_object_get(root, "object"));
    if (object && strcmp(object, "whatsapp_business_account") == 0) {
        size_t i, j, k;
        json_t *entry, *change, *item;
        json_array_foreach(json_object_get(root, "entry"), i, entry)
        {
            json_array_foreach(json_object_get(entry, "changes"), j, change)
            {
                const json_t *value = json_object_get(change, "value");
                char own[32];
                digits_of(json_string_value(
                              json_object_get(json_object_get(value, "metadata"), "display_phone_number")),
                          own, sizeof own);
                const json_t *contacts = json_object_get(value, "contacts");
                json_array_foreach(json_object_get(value, "messages"), k, item)
                {
                    if (++items > 2 * WA_WEBHOOK_MAX_ITEMS)
                        break;
                    record_message(app, item, contacts, own, now, &b);
                }
                json_array_foreach(json_object_get(value, "statuses"), k, item)
                {
                    if (++items > 2 * WA_WEBHOOK_MAX_ITEMS)
                        break;
                    record_status(app, item, now, &b);
                }
            }
        }
    }
    json_decref(root);
    if (items > 2 * WA_WEBHOOK_MAX_ITEMS)
        log_warn("whatsapp: webhook with more than %d items; the rest was ignored", 2 * WA_WEBHOOK_MAX_ITEMS);
    if (b.skipped)
        log_info("whatsapp: %d webhook item(s) without a usable sender, id or status skipped", b.skipped);
    if (b.messages)
        wa_inbox_wake();
    if (b.rc != DB_OK) {
        /* what was recorded stays recorded; WhatsApp delivers the batch again and duplicates are dropped */
        http_response_problem(res, 503, "database_unavailable", "Could not record the notification");
        return;
    }
    http_response_json(res, 200,
                       json_pack("{s:i, s:i, s:i}", "messages", b.messages, "duplicates", b.duplicates,
                                 "statuses", b.statuses));
}

/* -------------------------------------------------------------------------------------------- inbox */

static void inbox_run(struct app *app, void *arg)
{
    (void)arg;
    for (int i = 0; i < INBOX_BATCH && !__atomic_load_n(&inbox_stopping, __ATOMIC_RELAXED); i++) {
        struct wa_message m;
        int found = 0;
        long long now = (long long)time(NULL);
        int rc = wa_store_inbound_claim(app->db, now, now - INBOX_MAX_AGE_S, &m, &found);
        if (rc != DB_OK) {
            log_warn("whatsapp: cannot read pending messages (%s); retrying in %d s", db_strerror(rc),
                     INBOX_INTERVAL_S);
            return;
        }
        if (!found)
            return;
        char why[64];
        const char *status = wa_conversation_handle(app, &m, why, sizeof why);
        rc = wa_store_inbound_finish(app->db, m.id, status, why[0] ? why : NULL, (long long)time(NULL));
        if (rc != DB_OK)
            log_warn("whatsapp: cannot record the outcome of message %lld (%s)", m.id, db_strerror(rc));
    }
    if (!__atomic_load_n(&inbox_stopping, __ATOMIC_RELAXED))
        wa_inbox_wake(); /* a full batch: more may be waiting */
}

void wa_inbox_start(struct app *app)
{
    const struct config *cfg = app->cfg;
    if (!config_wa_enabled(cfg) || !cfg->wa_app_secret[0])
        log_info("whatsapp: %s%s (see docs/whatsapp.md)",
                 config_wa_enabled(cfg)
                     ? ""
                     : "sending disabled (WHATSAPP_ACCESS_TOKEN or WHATSAPP_PHONE_NUMBER_ID "
                       "not set)",
                 cfg->wa_app_secret[0] ? "" : "; webhook POSTs answer 503 until WHATSAPP_APP_SECRET is set");
    __atomic_store_n(&inbox_stopping, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&inbox, periodic_start("whatsapp-inbox", INBOX_INTERVAL_S, inbox_run, app, NULL),
                     __ATOMIC_RELEASE);
}

void wa_inbox_wake(void)
{
    periodic_wake(__atomic_load_n(&inbox, __ATOMIC_ACQUIRE));
}

void wa_inbox_stop(void)
{
    __atomic_store_n(&inbox_stopping, 1, __ATOMIC_RELAXED);
    wa_graph_stop_retries();
    periodic_stop(__atomic_exchange_n(&inbox, NULL, __ATOMIC_ACQ_REL));
}
