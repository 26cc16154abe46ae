/* outbox_api.c - the admin outbox routes. See outbox_api.h. */
#include "outbox_api.h"

#include "app.h"
#include "booking_api.h"
#include "core/log.h"
#include "input.h"
#include "notify/worker.h"
#include "present.h"
#include "store/journal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static json_t *text_or_null(const char *s)
{
    return s && *s ? json_string(s) : json_null();
}

json_t *present_outbox_message(const struct outbox_row *row)
{
    json_t *j = json_pack("{s:I, s:s, s:s, s:s, s:s, s:i}", "id", (json_int_t)row->id, "channel",
                          row->channel, "template", row->template_name, "recipient", row->recipient, "status",
                          row->status, "attempts", row->attempts);
    json_object_set_new(j, "reservation_code", text_or_null(row->reservation_code));
    json_object_set_new(j, "last_error", text_or_null(row->last_error));
    json_object_set_new(j, "provider_id", text_or_null(row->provider_id));
    json_object_set_new(j, "created_at", present_time(row->created_at));
    json_object_set_new(j, "updated_at", present_time(row->updated_at));
    json_object_set_new(j, "next_attempt_at",
                        strcmp(row->status, "pending") == 0 ? present_time(row->next_attempt_at)
                                                            : json_null());
    json_object_set_new(j, "sent_at", present_time(row->sent_at));
    json_t *payload = json_loads(row->payload, 0, NULL);
    json_object_set_new(j, "payload", json_is_object(payload) ? payload : json_object());
    if (payload && !json_is_object(payload))
        json_decref(payload);
    return j;
}

json_t *api_reservation_messages(struct app *app, const char *code)
{
    struct outbox_row *rows = NULL;
    int n = 0;
    if (outbox_list_for_reservation(app->db, code, &rows, &n) != DB_OK) {
        free(rows);
        return NULL;
    }
    json_t *list = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(list, present_outbox_message(&rows[i]));
    free(rows);
    return list;
}

static void db_problem(struct http_response *res, int rc)
{
    struct booking_error err;
    booking_error_from_db(rc, &err);
    api_booking_error(res, &err);
}

/* An optional query parameter that must be one of `allowed` (NULL-terminated); "" when absent. */
static int query_choice(struct http_request *req, const char *name, const char *const *allowed,
                        const char *what, const char **out, struct http_response *res)
{
    const char *v = http_request_query(req, name);
    *out = v ? v : "";
    if (!**out)
        return 0;
    for (int i = 0; allowed[i]; i++)
        if (strcmp(*out, allowed[i]) == 0)
            return 0;
    http_response_problem(res, 422, "invalid_field", "%s: one of %s", name, what);
    return -1;
}

void api_admin_outbox_list(struct http_request *req, struct http_response *res)
{
    static const char *const statuses[] = {"pending", "sending", "sent", "dead", "skipped", NULL};
    static const char *const channels[] = {"email", "whatsapp", "mercadopago", NULL};
    struct outbox_filter f = {0};
    long long limit = 50, offset = 0;
    if (query_choice(req, "status", statuses, "pending, sending, sent, dead, skipped", &f.status, res) < 0 ||
        query_choice(req, "channel", channels, "email, whatsapp, mercadopago", &f.channel, res) < 0 ||
        input_query_int(req, "limit", 1, OUTBOX_LIST_MAX, 50, &limit, res) < 0 ||
        input_query_int(req, "offset", 0, 1000000, 0, &offset, res) < 0)
        return;
    f.reservation_code = http_request_query(req, "reservation_code");
    if (!f.reservation_code)
        f.reservation_code = "";
    if (strlen(f.reservation_code) > OUTBOX_CODE_MAX) {
        http_response_problem(res, 422, "invalid_field", "reservation_code: at most %d characters",
                              OUTBOX_CODE_MAX);
        return;
    }
    f.limit = (int)limit;
    f.offset = (int)offset;
    struct outbox_row *rows = NULL;
    int n = 0, total = 0;
    int rc = outbox_list(req->app->db, &f, &rows, &n, &total);
    if (rc != DB_OK) {
        free(rows);
        db_problem(res, rc);
        return;
    }
    json_t *items = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(items, present_outbox_message(&rows[i]));
    free(rows);
    http_response_json(res, 200,
                       json_pack("{s:o, s:i, s:I, s:I}", "items", items, "total", total, "limit",
                                 (json_int_t)limit, "offset", (json_int_t)offset));
}

void api_admin_outbox_retry(struct http_request *req, struct http_response *res)
{
    long long id;
    json_t *body = input_body_object(req, res);
    if (!body || input_path_id(req, "id", "outbox_message_not_found", &id, res) < 0)
        return;
    if (json_object_size(body) > 0) {
        http_response_problem(res, 422, "invalid_field", "%s: unknown field (the body must be empty or {})",
                              json_object_iter_key(json_object_iter(body)));
        return;
    }
    char actor[JOURNAL_ACTOR_MAX];
    snprintf(actor, sizeof actor, "admin:%s", req->admin_email);
    struct outbox_row *row = malloc(sizeof *row);
    if (!row)
        abort();
    int rc = outbox_requeue(req->app->db, id, (long long)time(NULL), actor, row);
    if (rc == STORE_NOT_FOUND) {
        http_response_problem(res, 404, "outbox_message_not_found", "No outbox message with id %lld", id);
    } else if (rc == STORE_INVALID_STATE) {
        http_response_problem(res, 409, "invalid_state",
                              "Only a dead or skipped message can be sent again; message %lld is not", id);
    } else if (rc != DB_OK) {
        db_problem(res, rc);
    } else {
        log_info("outbox %lld: queued again by %s", id, req->admin_email);
        notify_worker_wake();
        http_response_json(res, 200, present_outbox_message(row));
    }
    free(row);
}
