/* admin_api.c - the owner's booking API (every route is ROUTE_ADMIN): accommodations, reservations,
 * blocks. Prices and multipliers are read as decimal strings or JSON numbers through domain/money.c, never
 * through binary floating point arithmetic. */
#include "booking_api.h"

#include "core/log.h"
#include "domain/money.h"
#include "input.h"
#include "present.h"
#include "store/booking_store.h"
#include "store/journal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The audit actor of an admin request: "admin:<email>". */
static const char *admin_actor(const struct http_request *req, char buf[JOURNAL_ACTOR_MAX])
{
    snprintf(buf, JOURNAL_ACTOR_MAX, "admin:%s", req->admin_email);
    return buf;
}

static void db_problem(struct http_response *res, int rc)
{
    struct booking_error err;
    booking_error_from_db(rc, &err);
    api_booking_error(res, &err);
}

static int invalid(struct http_response *res, const char *field, const char *what)
{
    http_response_problem(res, 422, "invalid_field", "%s: %s", field, what);
    return -1;
}

/* A JSON array or object field, stored as compact JSON text of at most ACC_JSON_MAX bytes. */
static int json_field(const json_t *body, const char *name, int want_object, char *dst, size_t dstlen,
                      struct http_response *res)
{
    json_t *v = json_object_get(body, name);
    if (!v)
        return 0;
    if (want_object ? !json_is_object(v) : !json_is_array(v))
        return invalid(res, name, want_object ? "expected a JSON object" : "expected a JSON array");
    char *text = json_dumps(v, JSON_COMPACT);
    if (!text)
        return invalid(res, name, "cannot be stored");
    size_t n = strlen(text);
    if (n >= dstlen) {
        free(text);
        return invalid(res, name, "too large");
    }
    memcpy(dst, text, n + 1);
    free(text);
    return 0;
}

static int text_field(const json_t *body, const char *name, int required, size_t max, int allow_empty,
                      char *dst, size_t dstlen, struct http_response *res)
{
    const char *s = NULL;
    if (input_string(body, name, required, max, &s, res) < 0)
        return -1;
    if (!s)
        return 0;
    if (!(allow_empty && !*s) && !booking_text_valid(s, max))
        return invalid(res, name, "must be non-empty text without control characters");
    snprintf(dst, dstlen, "%s", s);
    return 0;
}

/* Applies the fields present in `body` to `a`. `creating` makes name, capacity and base_price required. */
static int read_accommodation(const json_t *body, struct accommodation *a, int creating,
                              struct http_response *res)
{
    static const char *const fields[] = {
        "name",       "type",       "capacity", "base_price",  "weekend_multiplier", "weekend_nights",
        "min_nights", "max_nights", "currency", "description", "amenities",          "photos",
        "location",   "policies",   "active",   NULL};
    long long v;
    int present;
    json_t *j;
    if (input_known_fields(body, fields, res) < 0)
        return -1;
    if (text_field(body, "name", creating, ACC_NAME_MAX, 0, a->name, sizeof a->name, res) < 0)
        return -1;
    if ((j = json_object_get(body, "type"))) {
        if (!json_is_string(j) || !booking_type_valid(json_string_value(j)))
            return invalid(res, "type", "one of cabin, apartment, house, room");
        snprintf(a->type, sizeof a->type, "%s", json_string_value(j));
    }
    if (input_int(body, "capacity", creating, 1, 100, &v, &present, res) < 0)
        return -1;
    if (present)
        a->capacity = (int)v;
    if ((j = json_object_get(body, "base_price"))) {
        if (money_parse_json(j, &a->base_cents) < 0)
            return invalid(res, "base_price", "an amount such as \"15000.00\" (at most 2 decimals)");
    } else if (creating) {
        return invalid(res, "base_price", "required");
    }
    if ((j = json_object_get(body, "weekend_multiplier")) &&
        money_parse_multiplier_json(j, &a->weekend_multiplier_bp) < 0)
        return invalid(res, "weekend_multiplier", "a factor such as \"1.20\" from 0.0001 to 10");
    if ((j = json_object_get(body, "weekend_nights"))) {
        char csv[128] = "";
        if (json_is_string(j) && json_string_length(j) < sizeof csv) {
            snprintf(csv, sizeof csv, "%s", json_string_value(j));
        } else if (json_is_array(j) && json_array_size(j) <= 7) {
            size_t i;
            json_t *d;
            json_array_foreach(j, i, d)
            {
                if (!json_is_string(d) || json_string_length(d) > 12)
                    return invalid(res, "weekend_nights", "weekday names such as [\"fri\",\"sat\"]");
                size_t used = strlen(csv);
                snprintf(csv + used, sizeof csv - used, "%s%s", i ? "," : "", json_string_value(d));
            }
        } else {
            return invalid(res, "weekend_nights", "weekday names such as \"fri,sat\"");
        }
        if (pricing_parse_weekend_nights(csv, &a->weekend_mask) < 0)
            return invalid(res, "weekend_nights", "weekday names such as \"fri,sat\"");
    }
    if (input_int(body, "min_nights", 0, 1, 365, &v, &present, res) < 0)
        return -1;
    if (present)
        a->min_nights = (int)v;
    if (input_int(body, "max_nights", 0, 1, 365, &v, &present, res) < 0)
        return -1;
    if (present)
        a->max_nights = (int)v;
    if (a->max_nights < a->min_nights)
        return invalid(res, "max_nights", "must not be below min_nights");
    if ((j = json_object_get(body, "currency"))) {
        const char *c = json_is_string(j) ? json_string_value(j) : "";
        if (strlen(c) != 3 || strspn(c, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != 3)
            return invalid(res, "currency", "a 3-letter ISO 4217 code such as ARS");
        memcpy(a->currency, c, 4);
    }
    if (text_field(body, "description", 0, ACC_DESCRIPTION_MAX, 1, a->description, sizeof a->description,
                   res) < 0 ||
        text_field(body, "location", 0, ACC_LOCATION_MAX, 1, a->location, sizeof a->location, res) < 0 ||
        json_field(body, "amenities", 0, a->amenities, sizeof a->amenities, res) < 0 ||
        json_field(body, "photos", 0, a->photos, sizeof a->photos, res) < 0 ||
        json_field(body, "policies", 1, a->policies, sizeof a->policies, res) < 0)
        return -1;
    if ((j = json_object_get(body, "active"))) {
        if (!json_is_boolean(j))
            return invalid(res, "active", "true or false");
        a->active = json_is_true(j);
    }
    return 0;
}

static void accommodation_defaults(struct accommodation *a)
{
    memset(a, 0, sizeof *a);
    snprintf(a->type, sizeof a->type, "cabin");
    a->weekend_multiplier_bp = 12000;
    a->weekend_mask = PRICING_DEFAULT_WEEKEND_NIGHTS;
    a->min_nights = 1;
    a->max_nights = 30;
    snprintf(a->currency, sizeof a->currency, "ARS");
    snprintf(a->amenities, sizeof a->amenities, "[]");
    snprintf(a->photos, sizeof a->photos, "[]");
    snprintf(a->policies, sizeof a->policies, "{}");
    a->active = 1;
}

void api_admin_accommodations_list(struct http_request *req, struct http_response *res)
{
    api_accommodations_show(req, res, 1);
}

void api_admin_accommodation_create(struct http_request *req, struct http_response *res)
{
    json_t *body = input_body_object(req, res);
    struct accommodation *a = malloc(sizeof *a);
    if (!a)
        abort();
    accommodation_defaults(a);
    if (body && read_accommodation(body, a, 1, res) == 0) {
        char actor[JOURNAL_ACTOR_MAX];
        int rc = store_accommodation_create(req->app->db, a, (long long)time(NULL), admin_actor(req, actor));
        if (rc != DB_OK) {
            db_problem(res, rc);
        } else {
            char location[64];
            snprintf(location, sizeof location, "/api/v1/admin/accommodations/%lld", a->id);
            log_info("accommodation %lld: created by %s", a->id, req->admin_email);
            http_response_json(res, 201, present_accommodation(a, 1));
            http_response_header(res, "Location", location);
        }
    }
    free(a);
}

/* Loads the accommodation named by the path (inactive too) into a heap copy; NULL after a 404/503. */
static struct accommodation *load_path_accommodation(struct http_request *req, struct http_response *res)
{
    long long id;
    if (input_path_id(req, "id", "accommodation_not_found", &id, res) < 0)
        return NULL;
    struct accommodation *a = malloc(sizeof *a);
    if (!a)
        abort();
    int rc = store_accommodation_get(req->app->db, id, a);
    if (rc == DB_OK)
        return a;
    if (rc == STORE_NOT_FOUND)
        http_response_problem(res, 404, "accommodation_not_found", "No accommodation with id %lld", id);
    else
        db_problem(res, rc);
    free(a);
    return NULL;
}

void api_admin_accommodation_get(struct http_request *req, struct http_response *res)
{
    struct accommodation *a = load_path_accommodation(req, res);
    if (!a)
        return;
    http_response_json(res, 200, present_accommodation(a, 1));
    free(a);
}

void api_admin_accommodation_patch(struct http_request *req, struct http_response *res)
{
    json_t *body = input_body_object(req, res);
    struct accommodation *a = body ? load_path_accommodation(req, res) : NULL;
    if (!a)
        return;
    if (read_accommodation(body, a, 0, res) == 0) {
        char actor[JOURNAL_ACTOR_MAX];
        int rc = store_accommodation_update(req->app->db, a, (long long)time(NULL), admin_actor(req, actor),
                                            "accommodation.updated");
        if (rc != DB_OK) {
            db_problem(res, rc);
        } else {
            log_info("accommodation %lld: updated by %s", a->id, req->admin_email);
            http_response_json(res, 200, present_accommodation(a, 1));
        }
    }
    free(a);
}

void api_admin_accommodation_delete(struct http_request *req, struct http_response *res)
{
    struct accommodation *a = load_path_accommodation(req, res);
    if (!a)
        return;
    a->active = 0; /* deactivate: the history of its reservations stays */
    char actor[JOURNAL_ACTOR_MAX];
    int rc = store_accommodation_update(req->app->db, a, (long long)time(NULL), admin_actor(req, actor),
                                        "accommodation.deactivated");
    if (rc != DB_OK) {
        db_problem(res, rc);
    } else {
        log_info("accommodation %lld: deactivated by %s", a->id, req->admin_email);
        http_response_json(res, 200, present_accommodation(a, 1));
    }
    free(a);
}

static int query_date(struct http_request *req, const char *name, const char **out, struct http_response *res)
{
    struct date d;
    *out = http_request_query(req, name);
    if (!*out || !**out) {
        *out = "";
        return 0;
    }
    if (dates_parse(*out, &d) < 0) {
        http_response_problem(res, 422, "invalid_date", "%s must be a real date as YYYY-MM-DD", name);
        return -1;
    }
    return 0;
}

int api_reservation_filter(struct http_request *req, struct reservation_filter *f, struct http_response *res)
{
    static const char *const statuses[] = {"pre_reserved", "confirmed", "cancelled", "expired", NULL};
    long long acc = 0, limit = 50, offset = 0;
    memset(f, 0, sizeof *f);
    f->status = http_request_query(req, "status");
    if (!f->status)
        f->status = "";
    int ok = !*f->status;
    for (int i = 0; statuses[i] && !ok; i++)
        ok = strcmp(f->status, statuses[i]) == 0;
    if (!ok) {
        http_response_problem(res, 422, "invalid_field",
                              "status: one of pre_reserved, confirmed, cancelled, expired");
        return -1;
    }
    f->q = http_request_query(req, "q");
    if (!f->q)
        f->q = "";
    if (strlen(f->q) > 100) {
        http_response_problem(res, 422, "invalid_field", "q: at most 100 characters");
        return -1;
    }
    if (input_query_int(req, "accommodation_id", 1, 1LL << 53, 0, &acc, res) < 0 ||
        input_query_int(req, "limit", 1, STORE_LIST_MAX, 50, &limit, res) < 0 ||
        input_query_int(req, "offset", 0, 1000000, 0, &offset, res) < 0 ||
        query_date(req, "from", &f->from, res) < 0 || query_date(req, "to", &f->to, res) < 0)
        return -1;
    f->accommodation_id = acc;
    f->now = (long long)time(NULL);
    f->limit = (int)limit;
    f->offset = (int)offset;
    return 0;
}

void api_admin_reservations_list(struct http_request *req, struct http_response *res)
{
    struct reservation_filter f;
    if (api_reservation_filter(req, &f, res) < 0)
        return;
    long long limit = f.limit, offset = f.offset;
    struct reservation *items = NULL;
    int n = 0, total = 0;
    int rc = store_reservation_list(req->app->db, &f, &items, &n, &total);
    if (rc != DB_OK) {
        db_problem(res, rc);
        return;
    }
    long long now = (long long)time(NULL);
    json_t *list = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(list, present_reservation(&items[i], now, 1));
    free(items);
    http_response_json(res, 200,
                       json_pack("{s:o, s:i, s:I, s:I}", "items", list, "total", total, "limit",
                                 (json_int_t)limit, "offset", (json_int_t)offset));
}

void api_admin_reservation_get(struct http_request *req, struct http_response *res)
{
    api_reservation_show(req, res, 1);
}

void api_admin_reservation_confirm(struct http_request *req, struct http_response *res)
{
    static const char *const fields[] = {"amount", "note", NULL};
    const char *code, *note = NULL;
    int64_t paid = -1;
    json_t *body = input_body_object(req, res);
    if (!body || input_known_fields(body, fields, res) < 0 || api_code_param(req, res, &code) < 0 ||
        input_string(body, "note", 0, REASON_MAX, &note, res) < 0)
        return;
    json_t *amount = json_object_get(body, "amount");
    if (amount && !json_is_null(amount) && money_parse_json(amount, &paid) < 0) {
        http_response_problem(res, 422, "invalid_field", "amount: an amount such as \"12960.00\"");
        return;
    }
    if (note && *note && !booking_text_valid(note, REASON_MAX)) {
        http_response_problem(res, 422, "invalid_field", "note: must be text");
        return;
    }
    struct reservation r;
    struct booking_error err;
    char actor[JOURNAL_ACTOR_MAX];
    if (booking_confirm(req->app, code, paid, note && *note ? note : NULL, "admin", admin_actor(req, actor),
                        &r, &err) < 0) {
        api_booking_error(res, &err);
        return;
    }
    log_info("reservation %s: payment confirmed by %s", r.code, req->admin_email);
    http_response_json(res, 200, present_reservation(&r, (long long)time(NULL), 1));
}

void api_admin_reservation_cancel(struct http_request *req, struct http_response *res)
{
    static const char *const fields[] = {"reason", NULL};
    const char *code, *reason = NULL;
    json_t *body = input_body_object(req, res);
    if (!body || input_known_fields(body, fields, res) < 0 || api_code_param(req, res, &code) < 0 ||
        input_string(body, "reason", 0, REASON_MAX, &reason, res) < 0)
        return;
    struct reservation r;
    struct booking_error err;
    char actor[JOURNAL_ACTOR_MAX];
    if (booking_cancel(req->app, code, reason, admin_actor(req, actor), &r, &err) < 0) {
        api_booking_error(res, &err);
        return;
    }
    log_info("reservation %s: cancelled by %s", r.code, req->admin_email);
    http_response_json(res, 200, present_reservation(&r, (long long)time(NULL), 1));
}

void api_admin_blocks_list(struct http_request *req, struct http_response *res)
{
    struct accommodation *a = load_path_accommodation(req, res);
    if (!a)
        return;
    struct block *items = NULL;
    int n = 0;
    int rc = store_block_list(req->app->db, a->id, &items, &n);
    free(a);
    if (rc != DB_OK) {
        db_problem(res, rc);
        return;
    }
    json_t *list = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(list, present_block(&items[i]));
    free(items);
    http_response_json(res, 200, json_pack("{s:o, s:i}", "items", list, "total", n));
}

void api_admin_block_create(struct http_request *req, struct http_response *res)
{
    static const char *const fields[] = {"start", "end", "reason", NULL};
    const char *start, *end, *reason = NULL;
    json_t *body = input_body_object(req, res);
    if (!body || input_known_fields(body, fields, res) < 0 ||
        input_string(body, "start", 1, 10, &start, res) < 0 ||
        input_string(body, "end", 1, 10, &end, res) < 0 ||
        input_string(body, "reason", 0, REASON_MAX, &reason, res) < 0)
        return;
    long long acc;
    if (input_path_id(req, "id", "accommodation_not_found", &acc, res) < 0)
        return;
    struct block b = {0};
    struct booking_error err;
    b.accommodation_id = acc;
    snprintf(b.start, sizeof b.start, "%s", start);
    snprintf(b.end, sizeof b.end, "%s", end);
    snprintf(b.reason, sizeof b.reason, "%s", reason ? reason : "");
    snprintf(b.source, sizeof b.source, "manual");
    snprintf(b.created_by, sizeof b.created_by, "%s", req->admin_email);
    char actor[JOURNAL_ACTOR_MAX];
    if (booking_create_block(req->app, &b, admin_actor(req, actor), &err) < 0) {
        api_booking_error(res, &err);
        return;
    }
    char location[96];
    snprintf(location, sizeof location, "/api/v1/admin/accommodations/%lld/blocks/%lld", b.accommodation_id,
             b.id);
    http_response_json(res, 201, present_block(&b));
    http_response_header(res, "Location", location);
}

void api_admin_block_delete(struct http_request *req, struct http_response *res)
{
    long long acc, id;
    if (input_path_id(req, "id", "accommodation_not_found", &acc, res) < 0 ||
        input_path_id(req, "block_id", "block_not_found", &id, res) < 0)
        return;
    struct booking_error err;
    char actor[JOURNAL_ACTOR_MAX];
    if (booking_delete_block(req->app, acc, id, admin_actor(req, actor), &err) < 0) {
        api_booking_error(res, &err);
        return;
    }
    res->status = 204;
}
