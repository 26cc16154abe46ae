/* booking_api.c - the public booking API: accommodations, availability, holds.
 *
 * Handlers read and check input, call the booking service, and present the result; the rules live in
 * booking/service.c, the SQL in store/. */
#include "booking_api.h"

#include "booking/lock.h"
#include "booking/service.h"
#include "input.h"
#include "payments_api.h"
#include "outbox_api.h"
#include "present.h"
#include "store/booking_store.h"

#include "core/buf.h"
#include "core/clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void api_booking_error(struct http_response *res, const struct booking_error *err)
{
    http_response_problem(res, err->status, err->code, "%s", err->detail);
}

static void db_problem(struct http_response *res, int rc)
{
    struct booking_error err;
    booking_error_from_db(rc, &err);
    api_booking_error(res, &err);
}

void api_accommodations_show(struct http_request *req, struct http_response *res, int admin)
{
    struct accommodation *list = NULL;
    int n = 0;
    int rc = store_accommodation_list(req->app->db, admin, &list, &n);
    if (rc != DB_OK) {
        db_problem(res, rc);
        return;
    }
    json_t *items = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(items, present_accommodation(&list[i], admin));
    free(list);
    http_response_json(res, 200, json_pack("{s:o, s:i}", "items", items, "total", n));
}

void api_accommodations_list(struct http_request *req, struct http_response *res)
{
    api_accommodations_show(req, res, 0);
}

void api_accommodation_get(struct http_request *req, struct http_response *res)
{
    long long id;
    struct accommodation acc;
    if (input_path_id(req, "id", "accommodation_not_found", &id, res) < 0)
        return;
    int rc = store_accommodation_get(req->app->db, id, &acc);
    if (rc == STORE_NOT_FOUND || (rc == DB_OK && !acc.active)) {
        http_response_problem(res, 404, "accommodation_not_found", "No active accommodation with id %lld",
                              id);
        return;
    }
    if (rc != DB_OK) {
        db_problem(res, rc);
        return;
    }
    http_response_json(res, 200, present_accommodation(&acc, 0));
}

/* check_in, check_out and guests from the query string. */
static int stay_query(struct http_request *req, struct http_response *res, struct date *in, struct date *out,
                      long long *guests)
{
    struct booking_error err;
    if (booking_check_dates(req->app->cfg, http_request_query(req, "check_in"),
                            http_request_query(req, "check_out"), in, out, &err) < 0) {
        api_booking_error(res, &err);
        return -1;
    }
    /* the range is the accommodation's rule (capacity_exceeded), not a field error */
    return input_query_int(req, "guests", -1000000, 1000000, 1, guests, res);
}

/* What the availability answer needs once the row is read: the request, copied (an asynchronous
 * answer outlives the handler call). */
struct availability_ask {
    const struct config *cfg;
    struct db *db;
    long long id, guests;
    struct date in, out;
    char cin[DATES_FORMAT_LEN], cout[DATES_FORMAT_LEN];
    long long now;
};

static void availability_answer(const struct availability_ask *q, int rc, const struct accommodation *acc,
                                int taken, struct http_response *res)
{
    if (rc == STORE_NOT_FOUND || (rc == DB_OK && !acc->active)) {
        http_response_problem(res, 404, "accommodation_not_found", "No active accommodation with id %lld",
                              q->id);
        return;
    }
    if (rc != DB_OK) {
        db_problem(res, rc);
        return;
    }
    struct pricing_quote quote;
    struct booking_error err;
    const char *reason = NULL;
    if (booking_check_stay(q->cfg, acc, q->in, q->out, (int)q->guests, &quote, &err) < 0) {
        if (err.status != 422) {
            api_booking_error(res, &err);
            return;
        }
        reason = err.code; /* min_stay, max_stay, capacity_exceeded: not bookable as asked */
        /* still price the stay when only the guest count or stay length is off */
        struct pricing_rules rules = {acc->base_cents, acc->weekend_multiplier_bp, acc->weekend_mask,
                                      q->cfg->deposit_percent};
        if (pricing_quote(&rules, q->in, q->out, &quote) < 0)
            quote.nights = -1;
    } else if (taken) {
        reason = "date_overlap";
    }
    /* streamed, not a jansson tree: this is the benchmark's hottest answer (see core/json_write.h) */
    struct buf b;
    buf_init(&b, HTTP_JSON_BODY_MAX);
    struct json_out o;
    json_out_init(&o, &b);
    json_out_open_object(&o, NULL);
    json_out_int(&o, "accommodation_id", q->id);
    json_out_string(&o, "check_in", q->cin);
    json_out_string(&o, "check_out", q->cout);
    json_out_int(&o, "guests", q->guests);
    json_out_bool(&o, "available", reason == NULL);
    json_out_string(&o, "reason", reason);
    if (quote.nights >= 0)
        present_quote_out(&o, "quote", &quote, acc->currency);
    else
        json_out_null(&o, "quote");
    json_out_close(&o);
    http_response_json_out(res, 200, &o);
}

/* The blocking way: the pool, with its reconnect-and-retry. */
static void availability_blocking(const struct availability_ask *q, struct http_response *res)
{
    struct accommodation acc;
    int taken = 0;
    int rc = store_accommodation_availability(q->db, q->id, q->cin, q->cout, q->now, &acc, &taken, NULL);
    availability_answer(q, rc, &acc, taken, res);
}

/* http_query_async's continuation. A lost connection is retried the blocking way, which reconnects. */
static void availability_rows(struct http_async *h, struct db_result *r, int rc, void *data,
                              struct http_response *res)
{
    (void)h;
    struct availability_ask *q = data;
    if (rc == DB_UNAVAILABLE) {
        availability_blocking(q, res);
    } else {
        struct accommodation acc;
        int taken = 0;
        if (rc == DB_OK)
            rc = store_availability_read(r, &acc, &taken, NULL);
        availability_answer(q, rc, &acc, taken, res);
    }
    free(q);
}

void api_accommodation_availability(struct http_request *req, struct http_response *res)
{
    struct availability_ask *q = calloc(1, sizeof *q);
    if (!q)
        abort();
    q->cfg = req->app->cfg;
    q->db = req->app->db;
    q->now = (long long)time(NULL);
    if (input_path_id(req, "id", "accommodation_not_found", &q->id, res) < 0 ||
        stay_query(req, res, &q->in, &q->out, &q->guests) < 0) {
        free(q);
        return;
    }
    dates_format(q->in, q->cin);
    dates_format(q->out, q->cout);
    struct availability_params p;
    const char *const *params = store_availability_params(&p, q->id, q->cin, q->cout, q->now);
    if (http_query_async(req, store_availability_sql(q->db, 0), 4, params, availability_rows, q) == 0)
        return; /* answered by availability_rows */
    availability_blocking(q, res);
    free(q);
}

void api_availability_search(struct http_request *req, struct http_response *res)
{
    long long guests;
    struct date in, out;
    if (stay_query(req, res, &in, &out, &guests) < 0)
        return;
    char cin[DATES_FORMAT_LEN], cout[DATES_FORMAT_LEN];
    dates_format(in, cin);
    dates_format(out, cout);
    struct accommodation *list = NULL;
    int n = 0;
    int rc = store_accommodation_list(req->app->db, 0, &list, &n);
    if (rc != DB_OK) {
        db_problem(res, rc);
        return;
    }
    long long now = (long long)time(NULL);
    struct buf b;
    buf_init(&b, HTTP_JSON_BODY_MAX);
    struct json_out o;
    json_out_init(&o, &b);
    json_out_open_object(&o, NULL);
    json_out_string(&o, "check_in", cin);
    json_out_string(&o, "check_out", cout);
    json_out_int(&o, "guests", guests);
    json_out_open_array(&o, "items");
    struct pricing_quote *quote = malloc(sizeof *quote);
    if (!quote)
        abort();
    for (int i = 0; i < n; i++) {
        struct booking_error err;
        int taken = 0;
        if (booking_check_stay(req->app->cfg, &list[i], in, out, (int)guests, quote, &err) < 0)
            continue;
        rc = store_nights_taken(req->app->db, list[i].id, cin, cout, now, &taken);
        if (rc != DB_OK)
            break;
        if (taken)
            continue;
        json_out_open_object(&o, NULL);
        json_t *acc = present_accommodation(&list[i], 0);
        json_out_value(&o, "accommodation", acc);
        json_decref(acc);
        present_quote_out(&o, "quote", quote, list[i].currency);
        json_out_close(&o);
    }
    free(quote);
    free(list);
    if (rc != DB_OK) {
        buf_cleanup(&b);
        db_problem(res, rc);
        return;
    }
    json_out_close(&o);
    json_out_close(&o);
    http_response_json_out(res, 200, &o);
}

/* The first present of two field names (the older API's contact_* spellings). */
static int string_either(const json_t *body, const char *a, const char *b, int required, size_t max,
                         const char **out, struct http_response *res)
{
    if (json_object_get(body, a) || !json_object_get(body, b))
        return input_string(body, a, required, max, out, res);
    return input_string(body, b, required, max, out, res);
}

/* --- POST /api/v1/reservations on the event loop ---
 *
 * On PostgreSQL the hold waits for the database without blocking its loop: the pre-check
 * (http_query_async), the per-accommodation Redis lock (one SET NX per attempt; a busy lock is tried
 * again on a timer, never slept on), the transaction (http_async_tx), the release (sent, not waited
 * for), the answer. Whatever cannot go that way goes the blocking way from where it stands: SQLite, a
 * request with an Idempotency-Key (its wrapper needs the answer at once), stale holds to expire in the
 * transaction, no Redis (the lock is then the in-process mutex), a lost or busy asynchronous connection,
 * a code collision. */
struct hold_ask {
    struct app *app;
    struct hold_prep prep;
    struct hold_precheck pc;
    struct hold_request h;
    struct booking_lock lock;
    double lock_t0;
    int lock_attempts;
    struct hold_tx tx;
    struct reservation r;
};

static void hold_ask_free(struct hold_ask *q)
{
    booking_hold_prep_cleanup(&q->prep);
    free(q);
}

static void hold_created(const struct reservation *r, struct http_response *res)
{
    char location[64];
    snprintf(location, sizeof location, "/api/v1/reservations/%s", r->code);
    http_response_json(res, 201, present_reservation(r, (long long)time(NULL), 0));
    http_response_header(res, "Location", location);
}

/* After the pre-check, all the rest the blocking way (lock, transaction); frees q. */
static void hold_blocking(struct hold_ask *q, struct http_response *res)
{
    struct booking_error err;
    if (booking_hold_finish(q->app, &q->prep, &q->pc, &q->r, &err) < 0)
        api_booking_error(res, &err);
    else
        hold_created(&q->r, res);
    hold_ask_free(q);
}

/* The transaction's outcome (rc as store_hold_tx_result gives it), under the lock, which goes; frees q. */
static void hold_written(struct hold_ask *q, int rc, int expired, struct http_response *res)
{
    /* the release: on the loop's connection without waiting for its reply, else the blocking way (on
     * the copy, which still holds the key: release_argv forgets it) */
    const char *argv[5];
    struct booking_lock held = q->lock;
    if (booking_lock_release_argv(&q->lock, argv) && http_redis_send(5, argv) < 0)
        booking_lock_release(q->app->redis, &held);
    struct booking_error err;
    if (booking_hold_written(q->app, &q->prep, &q->pc, rc, expired, &q->r, &err) < 0)
        api_booking_error(res, &err);
    else
        hold_created(&q->r, res);
    hold_ask_free(q);
}

/* The transaction the blocking way, under the lock already held. */
static void hold_write_blocking(struct hold_ask *q, struct http_response *res)
{
    int expired = 0;
    int rc = store_hold_create(q->app->db, &q->h, q->prep.now, &q->r, &expired);
    hold_written(q, rc, expired, res);
}

static void hold_tx_done(struct http_async *h, struct db_result *r, int rc, void *data,
                         struct http_response *res)
{
    (void)h;
    struct hold_ask *q = data;
    rc = store_hold_tx_result(r, rc, &q->r);
    if (rc == STORE_RETRY)
        hold_write_blocking(q, res); /* nothing was written: again with another code */
    else
        hold_written(q, rc, 0, res);
}

/* Under the lock (or past its wait bound, or without Redis): the transaction. */
static void hold_write(struct http_async *h, struct hold_ask *q, struct http_response *res)
{
    struct db_conn *journal = http_async_journal(h);
    if (journal && store_hold_tx_build(journal, &q->h, q->prep.now, &q->tx, &q->r) == DB_OK &&
        http_async_tx(h, store_hold_tx_sql(), 16, q->tx.params, hold_tx_done, q) == 0)
        return; /* answered by hold_tx_done */
    hold_write_blocking(q, res);
}

static void hold_lock(struct http_async *h, void *data, struct http_response *res);

/* A lock attempt's outcome: the transaction, or another attempt later. */
static void hold_locked(struct http_async *h, struct hold_ask *q, int st, struct http_response *res)
{
    double waited = clock_mono_s() - q->lock_t0;
    if (st == LOCK_BUSY && waited <= BOOKING_LOCK_WAIT_MAX_S &&
        http_async_after(h, q->lock_attempts++ < 10 ? 1 : 5, hold_lock, q) == 0)
        return; /* tried again by the timer */
    booking_lock_waited(waited);
    hold_write(h, q, res);
}

static void hold_lock_reply(struct http_async *h, struct redisReply *reply, void *data,
                            struct http_response *res)
{
    struct hold_ask *q = data;
    hold_locked(h, q, booking_lock_reply(&q->lock, reply), res);
}

/* One attempt at the Redis lock: on the loop's asynchronous connection, else a blocking round trip. */
static void hold_lock(struct http_async *h, void *data, struct http_response *res)
{
    struct hold_ask *q = data;
    const char *argv[6];
    booking_lock_set_argv(q->h.accommodation_id, &q->lock, argv);
    if (http_async_redis(h, 6, argv, hold_lock_reply, q) == 0)
        return; /* answered by hold_lock_reply */
    hold_locked(h, q, booking_lock_try(q->app->redis, q->h.accommodation_id, &q->lock), res);
}

/* http_query_async's continuation for the pre-check. A lost connection is retried the blocking way. */
static void hold_rows(struct http_async *h, struct db_result *r, int rc, void *data,
                      struct http_response *res)
{
    struct hold_ask *q = data;
    if (rc == DB_UNAVAILABLE) {
        booking_hold_precheck(q->app, &q->prep, &q->pc);
    } else {
        q->pc.taken = q->pc.stale = 0;
        q->pc.rc = rc == DB_OK ? store_availability_read(r, &q->pc.acc, &q->pc.taken, &q->pc.stale) : rc;
    }
    struct booking_error err;
    if (booking_hold_plan(q->app, &q->prep, &q->pc, &q->h, &err) < 0) {
        api_booking_error(res, &err);
        hold_ask_free(q);
        return;
    }
    if (q->h.expire_stale || !q->app->redis) {
        hold_blocking(q, res);
        return;
    }
    q->lock_t0 = clock_mono_s();
    hold_lock(h, q, res);
}

void api_reservation_create(struct http_request *req, struct http_response *res)
{
    static const char *const fields[] = {"accommodation_id", "check_in",      "check_out",     "guests",
                                         "guest_name",       "guest_phone",   "guest_email",   "channel",
                                         "contact_name",     "contact_phone", "contact_email", NULL};
    json_t *body = input_body_object(req, res);
    if (!body || input_known_fields(body, fields, res) < 0)
        return;
    long long acc_id = 0, guests = 0;
    struct hold_input in = {0};
    if (input_int(body, "accommodation_id", 1, 1, 1LL << 53, &acc_id, NULL, res) < 0 ||
        input_string(body, "check_in", 1, 10, &in.check_in, res) < 0 ||
        input_string(body, "check_out", 1, 10, &in.check_out, res) < 0 ||
        input_int(body, "guests", 1, -1000000, 1000000, &guests, NULL, res) < 0 ||
        string_either(body, "guest_name", "contact_name", 1, GUEST_NAME_MAX, &in.guest_name, res) < 0 ||
        string_either(body, "guest_phone", "contact_phone", 1, 40, &in.guest_phone, res) < 0 ||
        string_either(body, "guest_email", "contact_email", 0, GUEST_EMAIL_MAX, &in.guest_email, res) < 0 ||
        input_string(body, "channel", 0, 15, &in.channel, res) < 0)
        return;
    in.accommodation_id = acc_id;
    in.guests = (int)guests;
    struct booking_error err;
    struct hold_ask *q = calloc(1, sizeof *q);
    if (!q)
        abort();
    q->app = req->app;
    if (booking_hold_prepare(req->app->cfg, &in, &q->prep, &err) < 0) {
        api_booking_error(res, &err);
        hold_ask_free(q);
        return;
    }
    struct availability_params p;
    const char *const *params =
        store_availability_params(&p, q->prep.accommodation_id, q->prep.cin, q->prep.cout, q->prep.now);
    if (http_query_async(req, store_availability_sql(req->app->db, 1), 4, params, hold_rows, q) == 0)
        return; /* answered by hold_rows and what follows it */
    booking_hold_precheck(q->app, &q->prep, &q->pc);
    hold_blocking(q, res);
}

/* Codes are "RES" + 10 Crockford characters; anything else cannot exist, so no lookup. */
static int code_param(struct http_request *req, struct http_response *res, const char **code)
{
    *code = http_request_param(req, "code");
    if (!*code || strlen(*code) != RES_CODE_LEN || strncmp(*code, "RES", 3) != 0 ||
        strspn(*code + 3, "0123456789ABCDEFGHJKMNPQRSTVWXYZ") != RES_CODE_LEN - 3) {
        http_response_problem(res, 404, "reservation_not_found", "No reservation with this code");
        return -1;
    }
    return 0;
}

int api_code_param(struct http_request *req, struct http_response *res, const char **code)
{
    return code_param(req, res, code);
}

void api_reservation_show(struct http_request *req, struct http_response *res, int admin)
{
    const char *code;
    struct reservation r;
    if (code_param(req, res, &code) < 0)
        return;
    int rc = store_reservation_get(req->app->db, code, &r);
    if (rc == STORE_NOT_FOUND) {
        http_response_problem(res, 404, "reservation_not_found", "No reservation with code %s", code);
        return;
    }
    if (rc != DB_OK) {
        db_problem(res, rc);
        return;
    }
    json_t *j = present_reservation(&r, (long long)time(NULL), admin);
    if (admin) {
        json_t *messages = api_reservation_messages(req->app, r.code);
        json_object_set_new(j, "messages", messages ? messages : json_null());
        json_object_set_new(j, "payments", payments_api_for_reservation(req->app, r.code));
    }
    http_response_json(res, 200, j);
}

void api_reservation_get(struct http_request *req, struct http_response *res)
{
    api_reservation_show(req, res, 0);
}

void api_reservation_cancel(struct http_request *req, struct http_response *res)
{
    static const char *const fields[] = {"reason", NULL};
    const char *code, *reason = NULL;
    json_t *body = input_body_object(req, res);
    if (!body || input_known_fields(body, fields, res) < 0 || code_param(req, res, &code) < 0 ||
        input_string(body, "reason", 0, REASON_MAX, &reason, res) < 0)
        return;
    struct reservation r;
    struct booking_error err;
    if (booking_cancel(req->app, code, reason, "api", &r, &err) < 0) {
        api_booking_error(res, &err);
        return;
    }
    http_response_json(res, 200, present_reservation(&r, (long long)time(NULL), 0));
}
