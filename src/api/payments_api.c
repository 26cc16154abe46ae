/* payments_api.c - the MercadoPago webhook and the admin payments API. See payments_api.h.
 *
 * The webhook trusts nothing in the notification except the payment id it names, and only after the
 * signature verified: the worker asks MercadoPago for the payment itself. It answers as soon as the
 * notification is durably in the inbox, so MercadoPago's short delivery timeout never causes a retry
 * storm, and a notification that arrives while the database is down gets 503 (MercadoPago retries). */
#include "payments_api.h"

#include "booking_api.h"
#include "input.h"
#include "payments/mercadopago.h"
#include "payments/mp_signature.h"
#include "payments/processor.h"
#include "present.h"
#include "store/payment_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define REQUEST_ID_HEADER_MAX 200
#define ACTION_MAX 64

static void db_problem(struct http_response *res, int rc)
{
    struct booking_error err;
    booking_error_from_db(rc, &err);
    api_booking_error(res, &err);
}

/* A short string member, or NULL. */
static const char *short_string(const json_t *o, const char *name, size_t max)
{
    const json_t *v = json_object_get(o, name);
    if (!json_is_string(v) || json_string_length(v) > max ||
        strlen(json_string_value(v)) != json_string_length(v))
        return NULL;
    return json_string_value(v);
}

/* data.id of the body: a string, or a non-negative integer written into buf. */
static const char *body_data_id(const json_t *body, char *buf, size_t buflen)
{
    const json_t *data = json_object_get(body, "data");
    const json_t *id = json_object_get(data, "id");
    if (json_is_string(id) && json_string_length(id) < buflen)
        return json_string_value(id);
    if (json_is_integer(id) && json_integer_value(id) >= 0) {
        snprintf(buf, buflen, "%lld", (long long)json_integer_value(id));
        return buf;
    }
    return NULL;
}

void payments_handle_webhook(struct http_request *req, struct http_response *res)
{
    const struct config *cfg = req->app->cfg;
    char idbuf[32];
    if (!cfg->mp_webhook_secret[0] || !mp_configured(cfg)) {
        mp_metric_webhook("not_configured");
        http_response_problem(res, 503, "not_configured",
                              "MercadoPago notifications are not configured on this server");
        return;
    }
    json_t *body = NULL;
    if (req->body_len > 0)
        body = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, NULL);
    if (body && !json_is_object(body)) {
        json_decref(body);
        body = NULL;
    }
    const char *topic = http_request_query(req, "type");
    if (!topic)
        topic = http_request_query(req, "topic");
    if (!topic)
        topic = short_string(body, "type", 64);
    if (!topic)
        topic = short_string(body, "topic", 64);
    const char *data_id = http_request_query(req, "data.id");
    if (!data_id)
        data_id = body_data_id(body, idbuf, sizeof idbuf);
    if (!data_id)
        data_id = http_request_query(req, "id"); /* the older form: ?topic=payment&id=… */
    if (!data_id)
        data_id = short_string(body, "resource", 64);
    if (!topic) {
        mp_metric_webhook("invalid");
        json_decref(body);
        http_response_problem(res, 400, "invalid_notification", "The notification names no type or topic");
        return;
    }
    if (strcmp(topic, "payment") != 0) {
        /* merchant_order, plans, ...: MercadoPago wants a 2xx or it retries; we act on payments only */
        mp_metric_webhook("ignored");
        json_decref(body);
        http_response_json(res, 200, json_pack("{s:s}", "status", "ignored"));
        return;
    }
    if (!mp_id_valid(data_id)) {
        mp_metric_webhook("invalid");
        json_decref(body);
        http_response_problem(res, 400, "invalid_notification", "The notification names no valid payment id");
        return;
    }
    const char *request_id = http_request_header(req, "x-request-id");
    if (request_id && strlen(request_id) > REQUEST_ID_HEADER_MAX)
        request_id = NULL; /* too long to be MercadoPago's; the manifest then cannot match */
    int sig = mp_signature_verify(cfg->mp_webhook_secret, http_request_header(req, "x-signature"), data_id,
                                  request_id, (long long)time(NULL), cfg->mp_signature_max_age_s);
    if (sig != MP_SIG_OK) {
        mp_metric_webhook("invalid_signature");
        json_decref(body);
        http_response_problem(res, 401, "invalid_signature", "The x-signature of this notification is %s",
                              mp_signature_strerror(sig));
        return;
    }
    struct mp_notification n = {.topic = "payment",
                                .resource_id = data_id,
                                .request_id = request_id,
                                .action = short_string(body, "action", ACTION_MAX),
                                .body = req->body,
                                .body_len = req->body_len};
    long long inbox_id = 0;
    int rc = store_mp_inbox_add(req->app->db, &n, (long long)time(NULL), &inbox_id);
    json_decref(body);
    if (rc != DB_OK) {
        mp_metric_webhook("unavailable");
        db_problem(res, rc);
        return;
    }
    mp_metric_webhook("accepted");
    payments_worker_wake();
    http_response_json(res, 200, json_pack("{s:s, s:I}", "status", "accepted", "id", (json_int_t)inbox_id));
}

static json_t *present_payment(const struct payment_record *p)
{
    json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:b}", "payment_id", p->payment_id, "provider",
                          "mercadopago", "status", p->status, "mp_status", p->mp_status, "outcome",
                          p->outcome, "needs_refund", p->needs_refund);
    json_object_set_new(j, "reservation_code",
                        p->reservation_code[0] ? json_string(p->reservation_code) : json_null());
    json_object_set_new(j, "status_detail",
                        p->status_detail[0] ? json_string(p->status_detail) : json_null());
    json_object_set_new(j, "amount", p->has_amount ? present_money(p->amount_cents) : json_null());
    json_object_set_new(j, "currency", p->currency[0] ? json_string(p->currency) : json_null());
    json_object_set_new(j, "created_at", present_time(p->created_at));
    json_object_set_new(j, "updated_at", present_time(p->updated_at));
    return j;
}

json_t *payments_api_for_reservation(struct app *app, const char *code)
{
    struct payment_filter f = {.code = code, .status = "", .needs_refund = -1, .limit = STORE_LIST_MAX};
    struct payment_record *items = NULL;
    int n = 0, total = 0;
    if (store_payment_list(app->db, &f, &items, &n, &total) != DB_OK)
        return json_null();
    json_t *list = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(list, present_payment(&items[i]));
    free(items);
    return list;
}

/* [a-z_]{1,31}: a status word (anything else cannot match a stored status). */
static int status_word(const char *s)
{
    size_t n = strlen(s);
    return n >= 1 && n <= 31 && strspn(s, "abcdefghijklmnopqrstuvwxyz_") == n;
}

void api_admin_payments_list(struct http_request *req, struct http_response *res)
{
    struct payment_filter f = {.needs_refund = -1};
    long long limit = 50, offset = 0;
    f.code = http_request_query(req, "code");
    f.status = http_request_query(req, "status");
    const char *nr = http_request_query(req, "needs_refund");
    if (!f.code)
        f.code = "";
    if (!f.status)
        f.status = "";
    if (strlen(f.code) > PAYMENT_TEXT_MAX) {
        http_response_problem(res, 422, "invalid_field", "code: at most %d characters", PAYMENT_TEXT_MAX);
        return;
    }
    if (*f.status && !status_word(f.status)) {
        http_response_problem(res, 422, "invalid_field", "status: a payment status such as approved");
        return;
    }
    if (nr) {
        if (strcmp(nr, "true") == 0 || strcmp(nr, "1") == 0)
            f.needs_refund = 1;
        else if (strcmp(nr, "false") == 0 || strcmp(nr, "0") == 0)
            f.needs_refund = 0;
        else {
            http_response_problem(res, 422, "invalid_field", "needs_refund: true or false");
            return;
        }
    }
    if (input_query_int(req, "limit", 1, STORE_LIST_MAX, 50, &limit, res) < 0 ||
        input_query_int(req, "offset", 0, 1000000, 0, &offset, res) < 0)
        return;
    f.limit = (int)limit;
    f.offset = (int)offset;
    struct payment_record *items = NULL;
    int n = 0, total = 0;
    int rc = store_payment_list(req->app->db, &f, &items, &n, &total);
    if (rc != DB_OK) {
        db_problem(res, rc);
        return;
    }
    json_t *list = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(list, present_payment(&items[i]));
    free(items);
    http_response_json(res, 200,
                       json_pack("{s:o, s:i, s:I, s:I}", "items", list, "total", total, "limit",
                                 (json_int_t)limit, "offset", (json_int_t)offset));
}

void api_admin_payment_get(struct http_request *req, struct http_response *res)
{
    const char *id = http_request_param(req, "payment_id");
    struct payment_record p;
    if (!mp_id_valid(id)) {
        http_response_problem(res, 404, "payment_not_found", "No payment with this id");
        return;
    }
    int rc = store_payment_get(req->app->db, id, &p);
    if (rc == STORE_NOT_FOUND) {
        http_response_problem(res, 404, "payment_not_found", "No payment with id %s", id);
        return;
    }
    if (rc != DB_OK) {
        db_problem(res, rc);
        return;
    }
    struct payment_event *events = NULL;
    int n = 0;
    if ((rc = store_payment_events(req->app->db, id, &events, &n)) != DB_OK) {
        db_problem(res, rc);
        return;
    }
    json_t *body = present_payment(&p);
    json_t *list = json_array();
    for (int i = 0; i < n; i++) {
        json_t *detail = json_loads(events[i].detail, 0, NULL);
        json_t *e = json_pack("{s:I, s:s, s:o}", "id", (json_int_t)events[i].id, "kind", events[i].kind, "at",
                              present_time(events[i].at));
        json_object_set_new(e, "status", events[i].status[0] ? json_string(events[i].status) : json_null());
        json_object_set_new(e, "detail", detail ? detail : json_object());
        json_array_append_new(list, e);
    }
    free(events);
    json_object_set_new(body, "events", list);
    http_response_json(res, 200, body);
}

void api_admin_reservation_payment_link(struct http_request *req, struct http_response *res)
{
    static const char *const fields[] = {NULL};
    const char *code;
    json_t *body = input_body_object(req, res);
    if (!body || input_known_fields(body, fields, res) < 0 || api_code_param(req, res, &code) < 0)
        return;
    struct reservation r;
    struct booking_error err;
    if (mp_payment_link_refresh(req->app, code, &r, &err) < 0) {
        api_booking_error(res, &err);
        return;
    }
    json_t *out = present_reservation(&r, (long long)time(NULL), 1);
    json_object_set_new(out, "payments", payments_api_for_reservation(req->app, code));
    http_response_json(res, 200, out);
}

void testing_handle_mp_preference(struct http_request *req, struct http_response *res)
{
    const char *code;
    char err[512] = "";
    if (api_code_param(req, res, &code) < 0)
        return;
    int c = mp_preference_deliver(req->app, code, err, sizeof err);
    json_t *body = json_pack("{s:i}", "result", c);
    json_object_set_new(body, "error", err[0] ? json_string(err) : json_null());
    http_response_json(res, 200, body);
}
