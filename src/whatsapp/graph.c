/* graph.c - the Cloud API sender: payload builders, retries with backoff, the circuit breaker, and the
 * outbound record. See graph.h.
 *
 * The breaker is a process singleton (one mutex): its state is about the API, not about a message. A send
 * that found the API down counts one failure however many retries it made; an answer that refuses our
 * message (a 4xx other than throttling) shows the API is up and counts as a success for the breaker. */
#include "graph.h"

#include "core/ids.h"
#include "core/log.h"
#include "core/metrics.h"
#include "net/http_client.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RETRY_DELAY_MAX_MS 10000
#define GRAPH_MAX_BODY (64 * 1024)

static struct metric *m_messages_out, *m_failures, *m_retries;
static int no_more_retries; /* set at shutdown: finish the call in flight, retry nothing */

static struct {
    pthread_mutex_t lock;
    int failures;   /* consecutive failed sends */
    int open;       /* 1: refusing sends */
    double open_at; /* monotonic seconds */
    int probing;    /* half open: one send is testing the API */
} breaker = {PTHREAD_MUTEX_INITIALIZER, 0, 0, 0, 0};

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double g_breaker_open(void)
{
    pthread_mutex_lock(&breaker.lock);
    int open = breaker.open;
    pthread_mutex_unlock(&breaker.lock);
    return open;
}

void wa_graph_init(void)
{
    static const char *out_labels[] = {"direction", "type", NULL};
    static const char *reason[] = {"reason", NULL};
    pthread_mutex_lock(&breaker.lock);
    breaker.failures = breaker.open = breaker.probing = 0;
    pthread_mutex_unlock(&breaker.lock);
    __atomic_store_n(&no_more_retries, 0, __ATOMIC_RELAXED);
    if (m_failures)
        return;
    m_messages_out =
        metrics_counter("whatsapp_messages_total", "WhatsApp messages by direction and type.", out_labels);
    m_failures = metrics_counter("whatsapp_send_failures_total",
                                 "WhatsApp sends that failed, by reason (after retries).", reason);
    m_retries = metrics_counter("whatsapp_send_retries_total",
                                "Graph API calls retried after 429/5xx/transport.", NULL);
    metrics_gauge_fn("whatsapp_circuit_open", "1 while the Graph API circuit breaker refuses sends.",
                     g_breaker_open);
}

void wa_graph_stop_retries(void)
{
    __atomic_store_n(&no_more_retries, 1, __ATOMIC_RELAXED);
}

json_t *wa_health_json(const struct config *cfg)
{
    json_t *missing = json_array();
    if (!cfg->wa_access_token[0])
        json_array_append_new(missing, json_string("WHATSAPP_ACCESS_TOKEN"));
    if (!config_wa_phone_id(cfg)[0])
        json_array_append_new(missing, json_string("WHATSAPP_PHONE_NUMBER_ID"));
    if (!cfg->wa_app_secret[0])
        json_array_append_new(missing, json_string("WHATSAPP_APP_SECRET"));
    if (!cfg->wa_verify_token[0])
        json_array_append_new(missing, json_string("WHATSAPP_VERIFY_TOKEN"));
    if (json_array_size(missing) > 0)
        return json_pack("{s:s, s:o}", "status", "disabled", "missing", missing);
    json_decref(missing);
    return json_pack("{s:s, s:s}", "status", "ok", "circuit", wa_breaker_state());
}

const char *wa_breaker_state(void)
{
    pthread_mutex_lock(&breaker.lock);
    const char *s = !breaker.open ? "closed" : breaker.probing ? "half_open" : "open";
    pthread_mutex_unlock(&breaker.lock);
    return s;
}

/* 1 when a send may go ahead; *probe set when it is the half-open probe. */
static int breaker_allow(const struct config *cfg, int *probe)
{
    int ok = 1;
    *probe = 0;
    pthread_mutex_lock(&breaker.lock);
    if (breaker.open) {
        if (!breaker.probing && mono() - breaker.open_at >= cfg->wa_breaker_seconds) {
            breaker.probing = 1;
            *probe = 1;
        } else {
            ok = 0;
        }
    }
    pthread_mutex_unlock(&breaker.lock);
    return ok;
}

static void breaker_report(const struct config *cfg, int api_up, int probe)
{
    pthread_mutex_lock(&breaker.lock);
    if (probe)
        breaker.probing = 0;
    if (api_up) {
        if (breaker.open)
            log_info("whatsapp: Graph API answers again; circuit closed");
        breaker.failures = 0;
        breaker.open = 0;
    } else {
        breaker.failures++;
        if (probe || breaker.failures >= cfg->wa_breaker_failures) {
            if (!breaker.open)
                log_warn("whatsapp: %d send(s) in a row failed; circuit open for %d s", breaker.failures,
                         cfg->wa_breaker_seconds);
            breaker.open = 1;
            breaker.open_at = mono();
        }
    }
    pthread_mutex_unlock(&breaker.lock);
}

/* ----------------------------------------------------------------------------------------- builders */

static size_t utf8_len(unsigned char c)
{
    return c < 0x80                 ? 1
           : c >= 0xc2 && c <= 0xdf ? 2
           : c >= 0xe0 && c <= 0xef ? 3
           : c >= 0xf0 && c <= 0xf4 ? 4
                                    : 0;
}

char *wa_clip(const char *s, size_t max_chars, char *out, size_t outlen)
{
    static const char ellipsis[] = "\xe2\x80\xa6"; /* … */
    size_t o = 0, chars = 0, i = 0;
    size_t total = 0;
    if (!outlen)
        return out;
    s = s ? s : "";
    /* count the characters first, to know whether the ellipsis is needed */
    for (size_t k = 0; s[k];) {
        size_t l = utf8_len((unsigned char)s[k]);
        int ok = l > 0;
        for (size_t j = 1; ok && j < l; j++)
            ok = ((unsigned char)s[k + j] & 0xc0) == 0x80;
        k += ok ? l : 1;
        total += ok;
    }
    size_t keep = total > max_chars ? (max_chars > 0 ? max_chars - 1 : 0) : max_chars;
    while (s[i] && chars < keep) {
        size_t l = utf8_len((unsigned char)s[i]);
        int ok = l > 0;
        for (size_t j = 1; ok && j < l; j++)
            ok = ((unsigned char)s[i + j] & 0xc0) == 0x80;
        if (!ok) {
            i++;
            continue;
        }
        if (o + l + 1 > outlen)
            break;
        memcpy(out + o, s + i, l);
        o += l;
        i += l;
        chars++;
    }
    if (total > max_chars && max_chars > 0 && o + sizeof ellipsis <= outlen) {
        memcpy(out + o, ellipsis, sizeof ellipsis - 1);
        o += sizeof ellipsis - 1;
    }
    out[o] = '\0';
    return out;
}

static json_t *clipped(const char *s, size_t max_chars)
{
    size_t cap = max_chars * 4 + 4;
    char *buf = malloc(cap);
    if (!buf)
        abort();
    json_t *j = json_string(wa_clip(s, max_chars, buf, cap));
    free(buf);
    return j ? j : json_string("");
}

static json_t *envelope(const char *to, const char *type)
{
    return json_pack("{s:s, s:s, s:s, s:s}", "messaging_product", "whatsapp", "recipient_type", "individual",
                     "to", to, "type", type);
}

json_t *wa_msg_text(const char *to, const char *body)
{
    json_t *m = envelope(to, "text");
    json_t *text = json_pack("{s:b}", "preview_url", 1);
    json_object_set_new(text, "body", clipped(body, WA_TEXT_MAX_CHARS));
    json_object_set_new(m, "text", text);
    return m;
}

json_t *wa_msg_list(const char *to, const char *body, const char *button, const struct wa_row *rows,
                    int nrows)
{
    if (nrows < 1 || nrows > WA_LIST_ROWS_MAX)
        return NULL;
    json_t *jrows = json_array();
    for (int i = 0; i < nrows; i++) {
        if (!rows[i].id || !*rows[i].id || strlen(rows[i].id) > WA_REPLY_ID_MAX) {
            json_decref(jrows);
            return NULL;
        }
        json_t *r = json_pack("{s:s}", "id", rows[i].id);
        json_object_set_new(r, "title", clipped(rows[i].title, WA_ROW_TITLE_MAX_CHARS));
        if (rows[i].description && *rows[i].description)
            json_object_set_new(r, "description", clipped(rows[i].description, WA_ROW_DESCRIPTION_MAX_CHARS));
        json_array_append_new(jrows, r);
    }
    json_t *section = json_pack("{s:o}", "rows", jrows);
    json_t *action =
        json_pack("{s:o, s:[o]}", "button", clipped(button, WA_LIST_BUTTON_MAX_CHARS), "sections", section);
    json_t *inter = json_pack("{s:s, s:{s:o}, s:o}", "type", "list", "body", "text",
                              clipped(body, WA_INTERACTIVE_BODY_MAX_CHARS), "action", action);
    json_t *m = envelope(to, "interactive");
    json_object_set_new(m, "interactive", inter);
    return m;
}

json_t *wa_msg_buttons(const char *to, const char *body, const struct wa_button *buttons, int nbuttons)
{
    if (nbuttons < 1 || nbuttons > WA_BUTTONS_MAX)
        return NULL;
    json_t *jb = json_array();
    for (int i = 0; i < nbuttons; i++) {
        if (!buttons[i].id || !*buttons[i].id || strlen(buttons[i].id) > WA_REPLY_ID_MAX) {
            json_decref(jb);
            return NULL;
        }
        json_t *reply = json_pack("{s:s}", "id", buttons[i].id);
        json_object_set_new(reply, "title", clipped(buttons[i].title, WA_BUTTON_TITLE_MAX_CHARS));
        json_array_append_new(jb, json_pack("{s:s, s:o}", "type", "reply", "reply", reply));
    }
    json_t *inter = json_pack("{s:s, s:{s:o}, s:{s:o}}", "type", "button", "body", "text",
                              clipped(body, WA_INTERACTIVE_BODY_MAX_CHARS), "action", "buttons", jb);
    json_t *m = envelope(to, "interactive");
    json_object_set_new(m, "interactive", inter);
    return m;
}

json_t *wa_msg_template(const char *to, const char *name, const char *language, const char *const *params,
                        int nparams)
{
    if (!name || !*name || nparams < 0 || nparams > WA_TEMPLATE_PARAMS_MAX)
        return NULL;
    json_t *tpl = json_pack("{s:s, s:{s:s}}", "name", name, "language", "code", language);
    if (nparams > 0) {
        json_t *jp = json_array();
        for (int i = 0; i < nparams; i++) {
            json_t *p = json_pack("{s:s}", "type", "text");
            json_object_set_new(p, "text", clipped(params[i], 1024));
            json_array_append_new(jp, p);
        }
        json_object_set_new(tpl, "components", json_pack("[{s:s, s:o}]", "type", "body", "parameters", jp));
    }
    json_t *m = envelope(to, "template");
    json_object_set_new(m, "template", tpl);
    return m;
}

/* --------------------------------------------------------------------------------------------- send */

static void set_err(struct wa_send_error *err, int rc, const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void set_err(struct wa_send_error *err, int rc, const char *reason, const char *fmt, ...)
{
    err->rc = rc;
    err->reason = reason;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->detail, sizeof err->detail, fmt, ap);
    va_end(ap);
}

/* Graph error codes that mean "slow down" rather than "no": retried like a 429. */
static int throttled(long code)
{
    return code == 4 || code == 80007 || code == 130429 || code == 131048 || code == 131056 || code == 133016;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

static long backoff_ms(const struct config *cfg, int attempt, const char *retry_after)
{
    long base = cfg->wa_retry_base_ms;
    long d = base;
    for (int i = 1; i < attempt && d < RETRY_DELAY_MAX_MS; i++)
        d *= 2;
    unsigned char r[2];
    ids_random_bytes(r, sizeof r);
    long jitter = d / 4 > 0 ? (long)((r[0] << 8 | r[1]) % (unsigned)(d / 4 + 1)) : 0;
    d += jitter; /* 100-125% of the exponential step: instances do not retry in lockstep */
    char *end;
    long ra = retry_after && *retry_after ? strtol(retry_after, &end, 10) : -1;
    if (ra > 0 && *end == '\0' && ra * 1000 > d)
        d = ra * 1000;
    return d > RETRY_DELAY_MAX_MS ? RETRY_DELAY_MAX_MS : d;
}

/* One POST with retries. WA_OK with wamid, or an error (err filled). *api_up tells the breaker. */
static int graph_post(struct app *app, const char *body, char wamid[WA_WAMID_MAX + 1],
                      struct wa_send_error *err, int *api_up)
{
    const struct config *cfg = app->cfg;
    char url[CONFIG_STR_MAX + 96];
    size_t bl = strlen(cfg->wa_api_base);
    while (bl > 0 && cfg->wa_api_base[bl - 1] == '/')
        bl--;
    snprintf(url, sizeof url, "%.*s/%s/messages", (int)bl, cfg->wa_api_base, config_wa_phone_id(cfg));
    char auth[sizeof cfg->wa_access_token + 32];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", cfg->wa_access_token);
    const char *headers[] = {auth, "Content-Type: application/json", "Accept: application/json", NULL};
    struct http_client_request req = {.method = "POST",
                                      .url = url,
                                      .headers = headers,
                                      .body = body,
                                      .body_len = strlen(body),
                                      .timeout_ms = cfg->wa_timeout_ms,
                                      .max_body = GRAPH_MAX_BODY};
    *api_up = 0;
    for (int attempt = 0; attempt <= cfg->wa_send_retries; attempt++) {
        struct http_client_response resp;
        int rc = http_client_fetch(&req, &resp);
        err->attempts = attempt + 1;
        err->http_status = resp.status;
        err->graph_code = 0;
        int retry = 0;
        json_t *j = NULL;
        if (rc == HTTP_CLIENT_OK && resp.body)
            j = json_loadb(resp.body, resp.body_len, 0, NULL);
        if (rc != HTTP_CLIENT_OK) {
            set_err(err, WA_ERR_UNAVAILABLE, "unavailable", "%s", resp.error);
            retry = rc != HTTP_CLIENT_BAD_URL;
        } else if (resp.status >= 200 && resp.status < 300) {
            const char *id =
                json_string_value(json_object_get(json_array_get(json_object_get(j, "messages"), 0), "id"));
            *api_up = 1;
            if (id && strlen(id) <= WA_WAMID_MAX) {
                snprintf(wamid, WA_WAMID_MAX + 1, "%s", id);
                err->rc = WA_OK; /* earlier attempts may have failed */
                err->reason = NULL;
                err->detail[0] = '\0';
                json_decref(j);
                http_client_response_free(&resp);
                return WA_OK;
            }
            /* sent or not, we cannot tell: do not send it twice */
            set_err(err, WA_ERR_INVALID, "invalid_response", "HTTP %ld without a message id", resp.status);
        } else {
            json_t *e = json_object_get(j, "error");
            err->graph_code = (long)json_integer_value(json_object_get(e, "code"));
            const char *msg = json_string_value(json_object_get(e, "message"));
            if (resp.status == 429 || resp.status >= 500 || throttled(err->graph_code)) {
                set_err(err, WA_ERR_UNAVAILABLE, "unavailable", "HTTP %ld (code %ld)", resp.status,
                        err->graph_code);
                retry = 1;
            } else if (err->graph_code == 131047) {
                *api_up = 1;
                set_err(err, WA_ERR_OUTSIDE_WINDOW, "outside_window", "HTTP %ld: %s", resp.status,
                        msg ? msg : "re-engagement message");
            } else {
                *api_up = 1;
                set_err(err, WA_ERR_REJECTED, "rejected", "HTTP %ld (code %ld): %.150s", resp.status,
                        err->graph_code, msg ? msg : "");
            }
        }
        char retry_after[sizeof resp.retry_after];
        memcpy(retry_after, resp.retry_after, sizeof retry_after);
        json_decref(j);
        http_client_response_free(&resp);
        if (!retry || attempt == cfg->wa_send_retries || __atomic_load_n(&no_more_retries, __ATOMIC_RELAXED))
            break;
        metrics_inc(m_retries, NULL, 1);
        long d = backoff_ms(cfg, attempt + 1, retry_after);
        log_info("whatsapp: send attempt %d failed (%s); retrying in %ld ms", attempt + 1, err->detail, d);
        sleep_ms(d);
    }
    return err->rc;
}

void wa_count_message(const char *direction, const char *type)
{
    const char *labels[] = {direction, type};
    metrics_inc(m_messages_out, labels, 1);
}

static void count_failure(const char *reason)
{
    const char *labels[] = {reason};
    metrics_inc(m_failures, labels, 1);
}

/* The kind of payload, for the metric and the record: text, list, buttons, template. */
static const char *payload_kind(const json_t *payload)
{
    const char *type = json_string_value(json_object_get(payload, "type"));
    if (type && strcmp(type, "interactive") == 0) {
        const char *it = json_string_value(json_object_get(json_object_get(payload, "interactive"), "type"));
        return it && strcmp(it, "list") == 0 ? "list" : "buttons";
    }
    if (type && strcmp(type, "template") == 0)
        return "template";
    return "text";
}

int wa_send(struct app *app, const json_t *payload, const char *summary, long long in_reply_to,
            char wamid[WA_WAMID_MAX + 1], struct wa_send_error *err)
{
    struct wa_send_error local;
    if (!err)
        err = &local;
    memset(err, 0, sizeof *err);
    wamid[0] = '\0';
    const char *to = json_string_value(json_object_get(payload, "to"));
    const char *kind = payload_kind(payload);
    long long now = (long long)time(NULL);
    if (!to || !*to) {
        set_err(err, WA_ERR_INVALID, "invalid", "payload without a recipient");
        count_failure(err->reason);
        return err->rc;
    }
    long long row = 0;
    int claimed = 0;
    char clipped_summary[WA_BODY_MAX + 1];
    wa_clip(summary ? summary : "", WA_BODY_MAX / 4, clipped_summary, sizeof clipped_summary);
    int rc = wa_store_outbound_begin(app->db, to, kind, clipped_summary, in_reply_to, now, &row, &claimed);
    if (rc != DB_OK) {
        set_err(err, WA_ERR_STORAGE, "storage", "cannot record the message (%s)", db_strerror(rc));
        count_failure(err->reason);
        return err->rc;
    }
    if (!claimed) {
        set_err(err, WA_ERR_ALREADY_REPLIED, "already_replied", "inbound message %lld already has a reply",
                in_reply_to);
        return err->rc;
    }
    int probe = 0;
    if (!config_wa_enabled(app->cfg)) {
        set_err(err, WA_ERR_DISABLED, "disabled",
                "WHATSAPP_ACCESS_TOKEN or WHATSAPP_PHONE_NUMBER_ID not set");
    } else if (!breaker_allow(app->cfg, &probe)) {
        set_err(err, WA_ERR_CIRCUIT_OPEN, "circuit_open", "Graph API circuit open");
    } else {
        char *body = json_dumps(payload, JSON_COMPACT);
        int api_up = 0;
        if (!body) {
            set_err(err, WA_ERR_INVALID, "invalid", "payload cannot be serialized");
            api_up = 1;
        } else {
            graph_post(app, body, wamid, err, &api_up);
            free(body);
        }
        breaker_report(app->cfg, api_up, probe);
    }
    now = (long long)time(NULL);
    if (err->rc == WA_OK) {
        wa_count_message("out", kind);
        wa_store_outbound_finish(app->db, row, wamid, "accepted", NULL, now);
        wa_store_conversation_outbound(app->db, to, now);
        return WA_OK;
    }
    count_failure(err->reason);
    log_warn("whatsapp: send of a %s message failed after %d attempt(s): %s (%s)", kind, err->attempts,
             err->reason, err->detail);
    wa_store_outbound_finish(app->db, row, NULL, "failed", err->reason, now);
    return err->rc;
}

int wa_send_text(struct app *app, const char *phone, const char *body, char wamid[WA_WAMID_MAX + 1],
                 struct wa_send_error *err)
{
    json_t *m = wa_msg_text(phone, body);
    int rc = wa_send(app, m, body, 0, wamid, err);
    json_decref(m);
    return rc;
}
