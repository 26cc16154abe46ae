/* ical_api.c - the published calendars and the admin routes for feeds and conflicts. See ical_api.h.
 *
 * The public calendar URL carries its own credential (the HMAC token), because the channels that poll it
 * (Airbnb, Booking.com, Google Calendar) cannot send a header. So every way a URL can be wrong answers the
 * same 404, and the token is compared in constant time. */
#include "ical_api.h"

#include "booking/service.h"
#include "booking_api.h"
#include "core/buf.h"
#include "core/log.h"
#include "ical/ical_export.h"
#include "ical/ical_sync.h"
#include "input.h"
#include "present.h"
#include "store/ical_store.h"
#include "store/journal.h"

#include <sodium.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define EXPORT_MAX_BYTES (16 * 1024 * 1024)
#define EXPORT_PAST_DAYS 30 /* stays that ended longer ago are left out of the published calendar */

static void db_problem(struct http_response *res, int rc)
{
    struct booking_error err;
    booking_error_from_db(rc, &err);
    api_booking_error(res, &err);
}

static void not_found(struct http_response *res)
{
    http_response_problem(res, 404, "not_found", "No such calendar");
}

/* A positive decimal id (at most 15 digits, no sign, no leading zero), else 0. */
static long long plain_id(const char *s)
{
    if (!s || !*s || *s == '0' || strlen(s) > 15)
        return 0;
    long long v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return 0;
        v = v * 10 + (*s - '0');
    }
    return v;
}

/* 1 when If-None-Match names `etag` (a list, weak forms and "*" included). */
static int etag_matches(const char *header, const char *etag)
{
    if (!header)
        return 0;
    size_t el = strlen(etag);
    const char *p = header;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        size_t n = strcspn(p, ",");
        size_t t = n;
        while (t > 0 && (p[t - 1] == ' ' || p[t - 1] == '\t'))
            t--;
        const char *v = p;
        if (t == 1 && *v == '*')
            return 1;
        if (t > 2 && v[0] == 'W' && v[1] == '/')
            v += 2, t -= 2;
        if (t == el && memcmp(v, etag, el) == 0)
            return 1;
        p += n;
    }
    return 0;
}

static void export_calendar(struct http_request *req, struct http_response *res, int per_feed)
{
    const struct config *cfg = req->app->cfg;
    long long acc = plain_id(http_request_param(req, "id"));
    long long feed = per_feed ? plain_id(http_request_param(req, "feed_id")) : 0;
    const char *file = http_request_param(req, "file");
    char token[ICAL_TOKEN_LEN + 1];
    if (!cfg->ics_salt[0] || !acc || (per_feed && !feed) || !file || strlen(file) != ICAL_TOKEN_LEN + 4 ||
        strcmp(file + ICAL_TOKEN_LEN, ".ics") != 0) {
        not_found(res);
        return;
    }
    memcpy(token, file, ICAL_TOKEN_LEN);
    token[ICAL_TOKEN_LEN] = '\0';
    if (!ical_export_token_ok(cfg->ics_salt, acc, feed, token)) {
        not_found(res);
        return;
    }
    struct accommodation *a = malloc(sizeof *a);
    struct ical_feed_info *f = per_feed ? malloc(sizeof *f) : NULL;
    struct ical_export_row *rows = NULL;
    struct ical_export_item *items = NULL;
    struct buf out;
    buf_init(&out, EXPORT_MAX_BYTES);
    if (!a || (per_feed && !f))
        abort();
    int n = 0;
    int rc = store_accommodation_get(req->app->db, acc, a);
    if (rc == DB_OK && per_feed)
        rc = store_ical_feed_get(req->app->db, acc, feed, f);
    if (rc == STORE_NOT_FOUND) {
        not_found(res); /* a deleted feed's URL dies with it */
        goto out;
    }
    if (rc != DB_OK) {
        db_problem(res, rc);
        goto out;
    }
    struct date today;
    char since[DATES_FORMAT_LEN];
    if (dates_today(&today) < 0) {
        http_response_problem(res, 500, "internal_error", "Cannot read the clock");
        goto out;
    }
    dates_format(dates_add_days(today, -EXPORT_PAST_DAYS), since);
    long long now = (long long)time(NULL);
    if ((rc = store_ical_export_rows(req->app->db, acc, feed, now, since, &rows, &n)) != DB_OK) {
        db_problem(res, rc);
        goto out;
    }
    items = calloc(n ? (size_t)n : 1, sizeof *items);
    if (!items)
        abort();
    for (int i = 0; i < n; i++) {
        const struct ical_export_row *r = &rows[i];
        struct ical_export_item *it = &items[i];
        snprintf(it->uid, sizeof it->uid, "%c%lld@%s", r->kind, r->id, ical_export_uid_host());
        memcpy(it->start, r->start, sizeof it->start);
        memcpy(it->end, r->end, sizeof it->end);
        it->summary = r->kind == 'b'                        ? "Not available"
                      : strcmp(r->status, "confirmed") == 0 ? "Reserved"
                                                            : "On hold";
        it->stamp = r->stamp;
    }
    if (ical_export_write(&out, a->name, items, n) < 0) {
        http_response_problem(res, 500, "internal_error", "The calendar is too large to publish");
        goto out;
    }
    /* a strong validator from the bytes themselves: unchanged calendar, unchanged ETag, on every instance */
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(digest, (const unsigned char *)out.data, out.len);
    char etag[2 + 32 + 1];
    static const char hex[] = "0123456789abcdef";
    etag[0] = '"';
    for (int i = 0; i < 16; i++) {
        etag[1 + 2 * i] = hex[digest[i] >> 4];
        etag[2 + 2 * i] = hex[digest[i] & 15];
    }
    etag[33] = '"';
    etag[34] = '\0';
    if (etag_matches(http_request_header(req, "If-None-Match"), etag)) {
        res->status = 304;
    } else {
        size_t len;
        char *body = buf_steal(&out, &len);
        res->status = 200;
        res->content_type = "text/calendar; charset=utf-8";
        res->body = body;
        res->body_len = len;
        char disp[64];
        snprintf(disp, sizeof disp, "inline; filename=\"cabanas-%lld.ics\"", acc);
        http_response_header(res, "Content-Disposition", disp);
    }
    http_response_header(res, "ETag", etag);
    http_response_header(res, "Cache-Control", "no-cache");
out:
    buf_cleanup(&out);
    free(items);
    free(rows);
    free(f);
    free(a);
}

void api_ical_export(struct http_request *req, struct http_response *res)
{
    export_calendar(req, res, 0);
}

void api_ical_feed_export(struct http_request *req, struct http_response *res)
{
    export_calendar(req, res, 1);
}

/* --- admin --- */

static json_t *present_feed(const struct ical_feed_info *f)
{
    json_t *q = json_loads(f->quarantine, 0, NULL);
    if (!json_is_array(q)) {
        json_decref(q);
        q = json_array();
    }
    json_t *j = json_pack(
        "{s:I, s:I, s:s, s:s, s:o, s:o, s:o, s:s, s:i, s:i, s:o, s:i, s:i}", "id", (json_int_t)f->id,
        "accommodation_id", (json_int_t)f->accommodation_id, "name", f->name, "url", f->url, "created_at",
        present_time(f->created_at), "last_sync_at", present_time(f->last_sync_at), "last_success_at",
        present_time(f->last_success_at), "last_status", f->last_status, "event_count", f->event_count,
        "quarantined", f->quarantined, "quarantine", q, "conflicts", f->conflicts, "failures", f->failures);
    json_object_set_new(j, "last_error", f->last_error[0] ? json_string(f->last_error) : json_null());
    json_object_set_new(j, "next_attempt_at", present_time(f->next_attempt_at));
    json_object_set_new(j, "export_url", ical_export_url_json(f->accommodation_id, f->id));
    return j;
}

static const char *actor_of(const struct http_request *req, char buf[JOURNAL_ACTOR_MAX])
{
    snprintf(buf, JOURNAL_ACTOR_MAX, "admin:%s", req->admin_email);
    return buf;
}

/* The accommodation of the path (inactive ones too); 0 after a 404/503. */
static long long path_accommodation(struct http_request *req, struct http_response *res)
{
    long long id;
    if (input_path_id(req, "id", "accommodation_not_found", &id, res) < 0)
        return 0;
    struct accommodation *a = malloc(sizeof *a);
    if (!a)
        abort();
    int rc = store_accommodation_get(req->app->db, id, a);
    free(a);
    if (rc == STORE_NOT_FOUND) {
        http_response_problem(res, 404, "accommodation_not_found", "No accommodation with id %lld", id);
        return 0;
    }
    if (rc != DB_OK) {
        db_problem(res, rc);
        return 0;
    }
    return id;
}

void api_admin_ical_feeds_list(struct http_request *req, struct http_response *res)
{
    long long acc = path_accommodation(req, res);
    if (!acc)
        return;
    struct ical_feed_info *list = NULL;
    int n = 0;
    int rc = store_ical_feed_list(req->app->db, acc, &list, &n);
    if (rc != DB_OK) {
        free(list);
        db_problem(res, rc);
        return;
    }
    json_t *items = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(items, present_feed(&list[i]));
    free(list);
    http_response_json(res, 200, json_pack("{s:o, s:i}", "items", items, "total", n));
}

/* http(s)://host... without spaces or control characters. */
static int feed_url_valid(const char *url)
{
    const char *rest;
    if (strncmp(url, "https://", 8) == 0)
        rest = url + 8;
    else if (strncmp(url, "http://", 7) == 0)
        rest = url + 7;
    else
        return 0;
    if (!*rest || *rest == '/' || *rest == ':' || *rest == '?' || *rest == '#')
        return 0;
    for (const unsigned char *p = (const unsigned char *)url; *p; p++)
        if (*p <= 0x20 || *p >= 0x7F)
            return 0;
    return 1;
}

/* A feed that is this accommodation's own published calendar would import our own stays as conflicts. */
static int own_calendar(const struct config *cfg, const char *url, long long acc)
{
    char mine[CONFIG_STR_MAX + 64];
    size_t bl = strlen(cfg->public_base_url);
    while (bl > 0 && cfg->public_base_url[bl - 1] == '/')
        bl--;
    snprintf(mine, sizeof mine, "%.*s/api/v1/ical/%lld/", (int)bl, cfg->public_base_url, acc);
    return strncmp(url, mine, strlen(mine)) == 0;
}

void api_admin_ical_feed_create(struct http_request *req, struct http_response *res)
{
    static const char *const fields[] = {"name", "url", NULL};
    const char *name, *url;
    json_t *body = input_body_object(req, res);
    if (!body || input_known_fields(body, fields, res) < 0 ||
        input_string(body, "name", 1, ICAL_FEED_NAME_MAX, &name, res) < 0 ||
        input_string(body, "url", 1, ICAL_FEED_URL_MAX, &url, res) < 0)
        return;
    if (!booking_text_valid(name, ICAL_FEED_NAME_MAX)) {
        http_response_problem(res, 422, "invalid_field", "name: 1 to %d characters of text",
                              ICAL_FEED_NAME_MAX);
        return;
    }
    if (!feed_url_valid(url)) {
        http_response_problem(res, 422, "invalid_field", "url: an http:// or https:// URL without spaces");
        return;
    }
    long long acc = path_accommodation(req, res);
    if (!acc)
        return;
    if (own_calendar(req->app->cfg, url, acc)) {
        http_response_problem(res, 422, "feed_loop",
                              "url: this is the accommodation's own published calendar; importing it would "
                              "turn every stay into a conflict");
        return;
    }
    struct ical_feed_info *f = calloc(1, sizeof *f);
    if (!f)
        abort();
    f->accommodation_id = acc;
    snprintf(f->name, sizeof f->name, "%s", name);
    snprintf(f->url, sizeof f->url, "%s", url);
    char actor[JOURNAL_ACTOR_MAX];
    int rc = store_ical_feed_create(req->app->db, f, (long long)time(NULL), actor_of(req, actor));
    if (rc == DB_CONFLICT) {
        http_response_problem(res, 409, "feed_exists", "This accommodation already imports that URL");
    } else if (rc == STORE_ICAL_TOO_MANY_FEEDS) {
        http_response_problem(res, 409, "too_many_feeds", "An accommodation takes at most %d calendar feeds",
                              ICAL_FEEDS_PER_ACCOMMODATION);
    } else if (rc != DB_OK) {
        db_problem(res, rc);
    } else {
        char location[128];
        snprintf(location, sizeof location, "/api/v1/admin/accommodations/%lld/ical-feeds/%lld", acc, f->id);
        log_info("ical: feed %lld (%s) added to accommodation %lld by %s", f->id, f->name, acc,
                 req->admin_email);
        ical_sync_refresh_gauges(req->app);
        http_response_json(res, 201, present_feed(f));
        http_response_header(res, "Location", location);
    }
    free(f);
}

void api_admin_ical_feed_delete(struct http_request *req, struct http_response *res)
{
    long long acc, feed;
    if (input_path_id(req, "id", "accommodation_not_found", &acc, res) < 0 ||
        input_path_id(req, "feed_id", "feed_not_found", &feed, res) < 0)
        return;
    char actor[JOURNAL_ACTOR_MAX];
    int rc = store_ical_feed_delete(req->app->db, acc, feed, actor_of(req, actor), (long long)time(NULL));
    if (rc == STORE_NOT_FOUND) {
        http_response_problem(res, 404, "feed_not_found", "No feed %lld on accommodation %lld", feed, acc);
        return;
    }
    if (rc != DB_OK) {
        db_problem(res, rc);
        return;
    }
    log_info("ical: feed %lld of accommodation %lld deleted by %s; its blocks are freed", feed, acc,
             req->admin_email);
    ical_sync_refresh_gauges(req->app);
    res->status = 204;
}

static json_t *present_sync(const struct ical_sync_result *s)
{
    json_t *q = json_array();
    for (int i = 0; i < s->quarantined && i < ICAL_QUARANTINE_SHOWN; i++)
        json_array_append_new(q, json_pack("{s:s, s:s, s:s}", "uid", s->quarantine[i].uid, "reason",
                                           s->quarantine[i].reason, "detail", s->quarantine[i].detail));
    json_t *nc = json_array();
    for (int i = 0; i < s->apply.new_conflicts && i < ICAL_NEW_CONFLICTS_MAX; i++) {
        const struct ical_new_conflict *c = &s->apply.new_list[i];
        json_array_append_new(nc, json_pack("{s:I, s:s, s:{s:s, s:s}, s:{s:s, s:s, s:s, s:s}}", "id",
                                            (json_int_t)c->id, "uid", c->uid, "nights", "start", c->start,
                                            "end", c->end, "reservation", "code", c->code, "check_in",
                                            c->check_in, "check_out", c->check_out, "status", c->status));
    }
    json_t *j = json_pack("{s:s, s:i, s:i, s:i, s:i, s:i, s:i, s:o, s:i, s:o, s:i}", "result", s->result,
                          "events", s->apply.events, "parsed_events", s->parsed_events, "cancelled",
                          s->cancelled, "removed", s->apply.removed, "placed", s->apply.placed, "quarantined",
                          s->quarantined, "quarantine", q, "new_conflict_count", s->apply.new_conflicts,
                          "new_conflicts", nc, "conflicts", s->apply.conflicts);
    json_object_set_new(j, "error", s->error[0] ? json_string(s->error) : json_null());
    json_object_set_new(j, "http_status", s->http_status ? json_integer(s->http_status) : json_null());
    return j;
}

void api_admin_ical_feed_sync(struct http_request *req, struct http_response *res)
{
    static const char *const fields[] = {"force", NULL};
    long long acc, feed;
    json_t *body = input_body_object(req, res);
    if (!body || input_known_fields(body, fields, res) < 0 ||
        input_path_id(req, "id", "accommodation_not_found", &acc, res) < 0 ||
        input_path_id(req, "feed_id", "feed_not_found", &feed, res) < 0)
        return;
    json_t *force = json_object_get(body, "force");
    if (force && !json_is_boolean(force)) {
        http_response_problem(res, 422, "invalid_field", "force: true or false");
        return;
    }
    struct ical_feed_info *f = malloc(sizeof *f);
    struct ical_sync_result *s = malloc(sizeof *s);
    if (!f || !s)
        abort();
    int rc = store_ical_feed_get(req->app->db, acc, feed, f);
    if (rc == DB_OK) {
        char actor[JOURNAL_ACTOR_MAX];
        long long now = (long long)time(NULL);
        rc = ical_sync_feed(req->app, acc, feed, force && json_is_true(force),
                            now + (long long)req->app->cfg->job_ical_interval_s * 9 / 10,
                            actor_of(req, actor), s);
    }
    if (rc == STORE_NOT_FOUND) {
        http_response_problem(res, 404, "feed_not_found", "No feed %lld on accommodation %lld", feed, acc);
    } else if (rc != DB_OK) {
        db_problem(res, rc);
    } else {
        json_t *j = present_sync(s);
        if (store_ical_feed_get(req->app->db, acc, feed, f) == DB_OK)
            json_object_set_new(j, "feed", present_feed(f));
        http_response_json(res, 200, j);
    }
    free(s);
    free(f);
}

void api_admin_ical_conflicts(struct http_request *req, struct http_response *res)
{
    long long acc = 0;
    if (input_query_int(req, "accommodation_id", 1, 1LL << 53, 0, &acc, res) < 0)
        return;
    struct ical_conflict_info *list = NULL;
    int n = 0;
    int rc = store_ical_conflict_list(req->app->db, acc, &list, &n);
    if (rc != DB_OK) {
        free(list);
        db_problem(res, rc);
        return;
    }
    long long now = (long long)time(NULL);
    json_t *items = json_array();
    for (int i = 0; i < n; i++) {
        const struct ical_conflict_info *c = &list[i];
        const char *status = strcmp(c->status, "pre_reserved") == 0 && c->expires_at && c->expires_at <= now
                                 ? "expired"
                                 : c->status;
        json_array_append_new(
            items,
            json_pack("{s:I, s:I, s:{s:I, s:s}, s:{s:s, s:s, s:s, s:s}, s:{s:s, s:s}, s:{s:s, s:s, "
                      "s:s, s:s}, s:o}",
                      "id", (json_int_t)c->id, "accommodation_id", (json_int_t)c->accommodation_id, "feed",
                      "id", (json_int_t)c->feed_id, "name", c->feed_name, "event", "uid", c->uid, "start",
                      c->event_start, "end", c->event_end, "summary", c->summary, "nights", "start", c->start,
                      "end", c->end, "reservation", "code", c->code, "check_in", c->check_in, "check_out",
                      c->check_out, "status", status, "detected_at", present_time(c->detected_at)));
    }
    free(list);
    http_response_json(res, 200, json_pack("{s:o, s:i}", "items", items, "total", n));
}
