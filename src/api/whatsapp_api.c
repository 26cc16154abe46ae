/* whatsapp_api.c - admin conversations list and resume; the test-only notification route. */
#include "whatsapp_api.h"

#include "api/app.h"
#include "booking/service.h"
#include "input.h"
#include "present.h"
#include "store/booking_store.h"
#include "store/whatsapp_store.h"
#include "whatsapp/conversation.h"
#include "whatsapp/notify.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static void db_problem(struct http_response *res, int rc)
{
    struct booking_error err;
    booking_error_from_db(rc, &err);
    http_response_problem(res, err.status, err.code, "%s", err.detail);
}

void api_admin_conversations_list(struct http_request *req, struct http_response *res)
{
    long long limit = 50, offset = 0;
    if (input_query_int(req, "limit", 1, STORE_LIST_MAX, 50, &limit, res) < 0 ||
        input_query_int(req, "offset", 0, 1000000, 0, &offset, res) < 0)
        return;
    struct wa_conversation *items = NULL;
    int n = 0, total = 0;
    int rc = wa_store_conversation_list(req->app->db, (int)limit, (int)offset, &items, &n, &total);
    if (rc != DB_OK) {
        db_problem(res, rc);
        return;
    }
    long long now = (long long)time(NULL);
    json_t *list = json_array();
    for (int i = 0; i < n; i++) {
        const struct wa_conversation *c = &items[i];
        int handoff = c->handoff_until > now;
        json_t *o =
            json_pack("{s:s, s:s, s:o, s:o, s:I, s:b, s:o}", "phone", c->phone, "name", c->contact_name,
                      "last_inbound_at", present_time(c->last_inbound_at), "last_outbound_at",
                      present_time(c->last_outbound_at), "messages_in", (json_int_t)c->messages_in, "handoff",
                      handoff, "handoff_until", handoff ? present_time(c->handoff_until) : json_null());
        json_array_append_new(list, o);
    }
    free(items);
    http_response_json(res, 200,
                       json_pack("{s:o, s:i, s:I, s:I}", "items", list, "total", total, "limit",
                                 (json_int_t)limit, "offset", (json_int_t)offset));
}

static int phone_param(struct http_request *req, const char **phone, struct http_response *res)
{
    const char *p = http_request_param(req, "phone");
    size_t n = p ? strlen(p) : 0;
    int ok = n >= GUEST_PHONE_MIN && n <= GUEST_PHONE_MAX;
    for (size_t i = 0; ok && i < n; i++)
        ok = p[i] >= '0' && p[i] <= '9';
    if (!ok) {
        http_response_problem(res, 404, "conversation_not_found", "No conversation with that phone");
        return -1;
    }
    *phone = p;
    return 0;
}

void api_admin_conversation_resume(struct http_request *req, struct http_response *res)
{
    const char *phone;
    if (phone_param(req, &phone, res) < 0)
        return;
    char actor[320];
    snprintf(actor, sizeof actor, "admin:%s", req->admin_email);
    int rc = wa_conversation_resume(req->app, phone, actor);
    if (rc == STORE_NOT_FOUND) {
        http_response_problem(res, 404, "conversation_not_found", "No conversation with that phone");
        return;
    }
    if (rc != DB_OK) {
        db_problem(res, rc);
        return;
    }
    http_response_json(res, 200, json_pack("{s:s, s:b}", "phone", phone, "handoff", 0));
}

void api_test_whatsapp_notify(struct http_request *req, struct http_response *res)
{
    json_t *body = input_body_object(req, res);
    const char *event = NULL, *code = NULL, *phone = NULL;
    if (!body || input_string(body, "event", 1, 64, &event, res) < 0 ||
        input_string(body, "code", 1, RES_CODE_LEN, &code, res) < 0 ||
        input_string(body, "phone", 1, GUEST_PHONE_MAX, &phone, res) < 0)
        return;
    char wamid[WA_WAMID_MAX + 1];
    struct wa_send_error err;
    int rc = wa_notify_event(req->app, event, code, phone, wamid, &err);
    http_response_json(res, 200,
                       json_pack("{s:b, s:s?, s:s}", "sent", rc == WA_OK, "reason",
                                 rc == WA_OK ? NULL : err.reason, "wamid", wamid));
}
