/* console_api.c - what the admin console reads (every route is ROUTE_ADMIN): the dashboard's numbers, the
 * month calendar, the CSV export of the reservation list and the audit trail.
 *
 * Dates are the property's (PROPERTY_TIMEZONE, set as the process's TZ at startup): "tonight" is today's
 * date there, "this month" runs from its first midnight there to the next month's. */
#include "console_api.h"

#include "booking_api.h"
#include "core/buf.h"
#include "core/csv.h"
#include "domain/calendar.h"
#include "domain/money.h"
#include "input.h"
#include "present.h"
#include "store/booking_store.h"
#include "store/console_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define OCCUPANCY_NIGHTS 30
#define CONVERSION_DAYS 30
#define EXPIRING_WITHIN_S 3600
#define CSV_MAX_ROWS 20000
#define CSV_MAX_BYTES (32u * 1024 * 1024)

static void db_problem(struct http_response *res, int rc)
{
    struct booking_error err;
    booking_error_from_db(rc, &err);
    api_booking_error(res, &err);
}

static json_t *rate(int num, int den)
{
    return den > 0 ? json_real((double)num / (double)den) : json_null();
}

static json_t *day_json(struct date d)
{
    char s[DATES_FORMAT_LEN];
    dates_format(d, s);
    return json_string(s);
}

/* --- dashboard ------------------------------------------------------------------------------------- */

/* Occupancy of [today, today + OCCUPANCY_NIGHTS) per active accommodation and overall. NULL after a
 * problem written into res. */
static json_t *occupancy_json(struct http_request *req, struct date today, long long now,
                              struct http_response *res)
{
    struct date end = dates_add_days(today, OCCUPANCY_NIGHTS);
    char from[DATES_FORMAT_LEN], to[DATES_FORMAT_LEN];
    dates_format(today, from);
    dates_format(end, to);
    struct accommodation *accs = NULL;
    struct calendar_entry *entries = NULL;
    int nacc = 0, n = 0, truncated = 0;
    int rc = store_accommodation_list(req->app->db, 0, &accs, &nacc);
    if (rc == DB_OK)
        rc = store_calendar_entries(req->app->db, from, to, 0, now, &entries, &n, &truncated);
    if (rc != DB_OK) {
        free(accs);
        free(entries);
        db_problem(res, rc);
        return NULL;
    }
    json_t *list = json_array();
    int all_confirmed = 0, all_sellable = 0, all_blocked = 0;
    struct calendar_night nights[OCCUPANCY_NIGHTS];
    for (int i = 0; i < nacc; i++) {
        /* entries are ordered by accommodation: find this one's run */
        int first = 0;
        while (first < n && entries[first].accommodation_id != accs[i].id)
            first++;
        int last = first;
        while (last < n && entries[last].accommodation_id == accs[i].id)
            last++;
        int confirmed = 0, blocked = 0;
        calendar_nights(today, OCCUPANCY_NIGHTS, entries + first, last - first, nights);
        calendar_occupancy(nights, OCCUPANCY_NIGHTS, entries + first, &confirmed, &blocked);
        int sellable = OCCUPANCY_NIGHTS - blocked;
        all_confirmed += confirmed;
        all_blocked += blocked;
        all_sellable += sellable;
        json_array_append_new(list, json_pack("{s:I, s:s, s:i, s:i, s:i, s:o}", "id", (json_int_t)accs[i].id,
                                              "name", accs[i].name, "confirmed_nights", confirmed,
                                              "blocked_nights", blocked, "sellable_nights", sellable, "rate",
                                              rate(confirmed, sellable)));
    }
    free(accs);
    free(entries);
    json_t *overall =
        json_pack("{s:i, s:i, s:i, s:o}", "confirmed_nights", all_confirmed, "blocked_nights", all_blocked,
                  "sellable_nights", all_sellable, "rate", rate(all_confirmed, all_sellable));
    return json_pack("{s:s, s:s, s:i, s:o, s:o}", "from", from, "to", to, "nights", OCCUPANCY_NIGHTS,
                     "overall", overall, "accommodations", list);
}

void api_admin_dashboard_stats(struct http_request *req, struct http_response *res)
{
    struct db *db = req->app->db;
    long long now = (long long)time(NULL);
    struct date today;
    if (dates_today(&today) < 0) {
        http_response_problem(res, 500, "internal_error", "Cannot read the clock");
        return;
    }
    struct date month_start = {today.y, today.m, 1};
    struct date next_month =
        today.m == 12 ? (struct date){today.y + 1, 1, 1} : (struct date){today.y, today.m + 1, 1};
    long long month_from, month_to;
    if (dates_local_midnight(month_start, &month_from) < 0 ||
        dates_local_midnight(next_month, &month_to) < 0) {
        http_response_problem(res, 500, "internal_error", "Cannot compute this month's boundaries");
        return;
    }

    struct status_counts counts;
    struct revenue revenue[REVENUE_MAX_CURRENCIES];
    int nrev = 0, active = 0, expiring = 0, created = 0, converted = 0, dead = 0;
    int refunds = 0, failing = 0, stale = 0, waiting = 0;
    int rc = store_reservation_status_counts(db, now, &counts);
    if (rc == DB_OK)
        rc = store_revenue(db, month_from, month_to, revenue, &nrev);
    if (rc == DB_OK)
        rc = store_holds_live(db, now, EXPIRING_WITHIN_S, &active, &expiring);
    if (rc == DB_OK)
        rc = store_conversion(db, now - CONVERSION_DAYS * 86400LL, now, &created, &converted);
    if (rc == DB_OK)
        rc = store_outbox_dead_count(db, &dead);
    if (rc == DB_OK)
        rc = store_payments_needing_refund(db, &refunds);
    if (rc == DB_OK)
        rc = store_ical_feed_health(db, now, (long long)req->app->cfg->ical_sync_max_age_minutes * 60,
                                    &failing, &stale);
    if (rc == DB_OK)
        rc = store_whatsapp_waiting(db, now, &waiting);
    if (rc != DB_OK) {
        db_problem(res, rc);
        return;
    }

    json_t *occupancy = occupancy_json(req, today, now, res);
    if (!occupancy)
        return;

    json_t *by_currency = json_array();
    for (int i = 0; i < nrev; i++)
        json_array_append_new(by_currency,
                              json_pack("{s:s, s:o, s:o}", "currency", revenue[i].currency, "confirmed_total",
                                        present_money(revenue[i].confirmed_total_cents), "deposits_received",
                                        present_money(revenue[i].deposits_cents)));
    char month[8];
    snprintf(month, sizeof month, "%04d-%02d", today.y, today.m);

    json_t *j = json_object();
    json_object_set_new(j, "generated_at", present_time(now));
    json_object_set_new(j, "timezone", json_string(req->app->cfg->property_timezone));
    json_object_set_new(j, "today", day_json(today));
    json_object_set_new(
        j, "reservations",
        json_pack("{s:{s:i, s:i, s:i, s:i}, s:i}", "by_status", "pre_reserved", counts.pre_reserved,
                  "confirmed", counts.confirmed, "cancelled", counts.cancelled, "expired", counts.expired,
                  "total", counts.pre_reserved + counts.confirmed + counts.cancelled + counts.expired));
    json_object_set_new(j, "occupancy", occupancy);
    json_object_set_new(j, "revenue",
                        json_pack("{s:s, s:o, s:o, s:o}", "month", month, "from", day_json(month_start), "to",
                                  day_json(next_month), "by_currency", by_currency));
    json_object_set_new(j, "holds",
                        json_pack("{s:i, s:i}", "active", active, "expiring_within_hour", expiring));
    json_object_set_new(j, "conversion",
                        json_pack("{s:i, s:i, s:i, s:o}", "days", CONVERSION_DAYS, "holds_created", created,
                                  "converted", converted, "rate", rate(converted, created)));
    json_object_set_new(j, "payments_needing_refund", json_integer(refunds));
    json_object_set_new(j, "ical_feeds", json_pack("{s:i, s:i}", "failing", failing, "stale", stale));
    json_object_set_new(j, "outbox", json_pack("{s:i}", "dead", dead));
    json_object_set_new(j, "whatsapp_waiting_for_person", json_integer(waiting));
    /* kept for clients written when these were optional features: all part of this build */
    json_object_set_new(j, "features", json_pack("{s:b, s:b, s:b}", "payments", 1, "ical", 1, "whatsapp", 1));
    http_response_json(res, 200, j);
}

/* --- calendar -------------------------------------------------------------------------------------- */

/* "YYYY-MM" (year 1900..9999). */
static int parse_month(const char *s, struct date *first)
{
    char buf[DATES_FORMAT_LEN];
    if (!s || strlen(s) != 7 || s[4] != '-')
        return -1;
    snprintf(buf, sizeof buf, "%s-01", s);
    return dates_parse(buf, first);
}

/* The fields of one entry; `with_kind` adds "kind" (inside a conflict's list). */
static json_t *entry_json(const struct calendar_entry *e, int with_kind)
{
    json_t *o = json_object();
    if (with_kind)
        json_object_set_new(o, "kind", json_string(calendar_state_name((enum calendar_state)e->kind)));
    if (e->kind == CALENDAR_BLOCK) {
        json_object_set_new(o, "block_id", json_integer(e->block_id));
        json_object_set_new(o, "reason", json_string(e->reason));
        json_object_set_new(o, "source", json_string(e->source));
        json_object_set_new(o, "start", json_string(e->start));
        json_object_set_new(o, "end", json_string(e->end));
        return o;
    }
    json_object_set_new(o, "code", json_string(e->code));
    json_object_set_new(o, "channel", json_string(e->channel));
    json_object_set_new(o, "guest_name", json_string(e->guest_name));
    json_object_set_new(o, "guests", json_integer(e->guests));
    json_object_set_new(o, "check_in", json_string(e->start));
    json_object_set_new(o, "check_out", json_string(e->end));
    if (e->kind == CALENDAR_HOLD)
        json_object_set_new(o, "expires_at", present_time(e->expires_at));
    return o;
}

static json_t *nights_json(struct date first, int count, const struct calendar_entry *entries, int n)
{
    struct calendar_night nights[CALENDAR_MAX_NIGHTS];
    calendar_nights(first, count, entries, n, nights);
    json_t *list = json_array();
    for (int k = 0; k < count; k++) {
        const struct calendar_night *c = &nights[k];
        json_t *o;
        if (c->state == CALENDAR_FREE) {
            o = json_object();
        } else if (c->state == CALENDAR_CONFLICT) {
            o = json_object();
            json_t *lst = json_array();
            int listed = c->count < CALENDAR_MAX_OVERLAP ? c->count : CALENDAR_MAX_OVERLAP;
            for (int i = 0; i < listed; i++)
                json_array_append_new(lst, entry_json(&entries[c->entry[i]], 1));
            json_object_set_new(o, "entries", lst);
            json_object_set_new(o, "count", json_integer(c->count));
        } else {
            o = entry_json(&entries[c->entry[0]], 0);
        }
        json_object_set_new(o, "date", day_json(dates_add_days(first, k)));
        json_object_set_new(o, "state", json_string(calendar_state_name(c->state)));
        json_array_append_new(list, o);
    }
    return list;
}

void api_admin_calendar(struct http_request *req, struct http_response *res)
{
    struct date first;
    if (parse_month(http_request_query(req, "month"), &first) < 0) {
        http_response_problem(res, 422, "invalid_field", "month: a month as YYYY-MM, such as 2027-01");
        return;
    }
    long long acc_id = 0;
    if (input_query_int(req, "accommodation_id", 1, 1LL << 53, 0, &acc_id, res) < 0)
        return;
    int count = dates_days_in_month(first.y, first.m);
    struct date end = dates_add_days(first, count);
    char from[DATES_FORMAT_LEN], to[DATES_FORMAT_LEN];
    dates_format(first, from);
    dates_format(end, to);
    long long now = (long long)time(NULL);

    struct accommodation *accs = NULL;
    int nacc = 0, rc;
    if (acc_id) {
        accs = malloc(sizeof *accs);
        if (!accs)
            abort();
        rc = store_accommodation_get(req->app->db, acc_id, accs);
        if (rc == STORE_NOT_FOUND) {
            free(accs);
            http_response_problem(res, 404, "accommodation_not_found", "No accommodation with id %lld",
                                  acc_id);
            return;
        }
        nacc = 1;
    } else {
        rc = store_accommodation_list(req->app->db, 1, &accs, &nacc);
    }
    struct calendar_entry *entries = NULL;
    int n = 0, truncated = 0;
    if (rc == DB_OK)
        rc = store_calendar_entries(req->app->db, from, to, acc_id, now, &entries, &n, &truncated);
    if (rc != DB_OK) {
        free(accs);
        free(entries);
        db_problem(res, rc);
        return;
    }
    json_t *list = json_array();
    for (int i = 0; i < nacc; i++) {
        int lo = 0;
        while (lo < n && entries[lo].accommodation_id != accs[i].id)
            lo++;
        int hi = lo;
        while (hi < n && entries[hi].accommodation_id == accs[i].id)
            hi++;
        json_array_append_new(list, json_pack("{s:I, s:s, s:b, s:o}", "id", (json_int_t)accs[i].id, "name",
                                              accs[i].name, "active", accs[i].active, "nights",
                                              nights_json(first, count, entries + lo, hi - lo)));
    }
    free(accs);
    free(entries);
    struct date today;
    json_t *j = json_pack("{s:s#, s:s, s:s, s:i, s:o, s:b}", "month", from, (int)7, "from", from, "to", to,
                          "nights", count, "accommodations", list, "truncated", truncated);
    if (dates_today(&today) == 0)
        json_object_set_new(j, "today", day_json(today));
    http_response_json(res, 200, j);
}

/* --- CSV export ------------------------------------------------------------------------------------ */

static const char *const csv_header[] = {
    "code",        "status",        "payment_status", "accommodation_id", "accommodation_name",
    "check_in",    "check_out",     "nights",         "guests",           "guest_name",
    "guest_phone", "guest_email",   "channel",        "total_price",      "deposit_amount",
    "paid_amount", "currency",      "created_at",     "confirmed_at",     "cancelled_at",
    "expires_at",  "cancel_reason", "notes"};
#define CSV_COLUMNS ((int)(sizeof csv_header / sizeof *csv_header))

static void csv_time(long long t, char out[32])
{
    out[0] = '\0';
    if (t <= 0)
        return;
    struct tm tm;
    time_t tt = (time_t)t;
    gmtime_r(&tt, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int csv_reservation(struct buf *b, const struct reservation *r, long long now)
{
    char acc[24], nights[16], guests[16], total[MONEY_FORMAT_LEN], deposit[MONEY_FORMAT_LEN],
        paid[MONEY_FORMAT_LEN], created[32], confirmed[32], cancelled[32], expires[32];
    const char *status = booking_effective_status(r, now);
    snprintf(acc, sizeof acc, "%lld", r->accommodation_id);
    snprintf(nights, sizeof nights, "%d", r->nights);
    snprintf(guests, sizeof guests, "%d", r->guests);
    money_format(r->total_cents, total);
    money_format(r->deposit_cents, deposit);
    money_format(r->paid_cents, paid);
    csv_time(r->created_at, created);
    csv_time(r->confirmed_at, confirmed);
    csv_time(r->cancelled_at, cancelled);
    csv_time(strcmp(status, "pre_reserved") == 0 ? r->expires_at : 0, expires);
    const char *cells[] = {r->code,
                           status,
                           r->payment_status,
                           acc,
                           r->accommodation_name,
                           r->check_in,
                           r->check_out,
                           nights,
                           guests,
                           r->guest_name,
                           r->guest_phone,
                           r->guest_email,
                           r->channel,
                           total,
                           deposit,
                           paid,
                           r->currency,
                           created,
                           confirmed,
                           cancelled,
                           expires,
                           r->cancel_reason,
                           r->notes};
    _Static_assert(sizeof cells / sizeof *cells == sizeof csv_header / sizeof *csv_header,
                   "one cell a column");
    return csv_row(b, cells, CSV_COLUMNS);
}

void api_admin_reservations_csv(struct http_request *req, struct http_response *res)
{
    struct reservation_filter f;
    if (api_reservation_filter(req, &f, res) < 0)
        return;
    if (http_request_query(req, "limit") || http_request_query(req, "offset")) {
        http_response_problem(res, 422, "invalid_field", "limit, offset: the export has every matching row");
        return;
    }
    /* keyset pages, so rows created meanwhile never shift a page */
    f.limit = STORE_LIST_MAX;
    f.offset = 0;
    struct buf b;
    buf_init(&b, CSV_MAX_BYTES);
    int rc = csv_row(&b, csv_header, CSV_COLUMNS), rows = 0;
    for (;;) {
        struct reservation *items = NULL;
        int n = 0, total = 0;
        int drc = store_reservation_list(req->app->db, &f, &items, &n, &total);
        if (drc != DB_OK) {
            buf_cleanup(&b);
            db_problem(res, drc);
            return;
        }
        if (f.after_id == 0 && total > CSV_MAX_ROWS) {
            free(items);
            buf_cleanup(&b);
            http_response_problem(res, 422, "export_too_large",
                                  "%d reservations match; the export takes at most %d: narrow the filters",
                                  total, CSV_MAX_ROWS);
            return;
        }
        for (int i = 0; i < n && rc == 0; i++)
            rc = csv_reservation(&b, &items[i], f.now);
        rows += n;
        if (n > 0) {
            f.after_created_at = items[n - 1].created_at;
            f.after_id = items[n - 1].id;
        }
        free(items);
        if (rc != 0 || n < STORE_LIST_MAX || rows >= CSV_MAX_ROWS)
            break;
    }
    if (rc != 0) {
        buf_cleanup(&b);
        http_response_problem(res, 422, "export_too_large",
                              "The export is larger than %u bytes: narrow the filters", CSV_MAX_BYTES);
        return;
    }
    size_t len = 0;
    char *body = buf_steal(&b, &len);
    http_response_body_take(res, 200, "text/csv; charset=utf-8; header=present", body, len);
    struct date today;
    char disposition[96] = "attachment; filename=\"reservas.csv\"";
    if (dates_today(&today) == 0)
        snprintf(disposition, sizeof disposition, "attachment; filename=\"reservas-%04d-%02d-%02d.csv\"",
                 today.y, today.m, today.d);
    http_response_header(res, "Content-Disposition", disposition);
}

/* --- audit trail ----------------------------------------------------------------------------------- */

static int token_valid(const char *s, size_t max, const char *allowed)
{
    size_t n = strlen(s);
    return n >= 1 && n <= max && strspn(s, allowed) == n;
}

/* Stored JSON text back to JSON; a text that does not parse is shown as a string. */
static json_t *stored_json(const char *text)
{
    if (!text)
        return json_null();
    json_t *j = json_loads(text, JSON_DECODE_ANY, NULL);
    return j ? j : json_string(text);
}

void api_admin_audit(struct http_request *req, struct http_response *res)
{
    static const char lower[] = "abcdefghijklmnopqrstuvwxyz_";
    static const char idchars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.:@+-";
    struct audit_filter f = {0};
    long long limit = 50, before = 0;
    f.entity = http_request_query(req, "entity");
    f.entity_id = http_request_query(req, "id");
    if (!f.entity)
        f.entity = "";
    if (!f.entity_id)
        f.entity_id = "";
    if (*f.entity && !token_valid(f.entity, 31, lower)) {
        http_response_problem(res, 422, "invalid_field", "entity: such as reservation, accommodation, block");
        return;
    }
    if (*f.entity_id && !token_valid(f.entity_id, 63, idchars)) {
        http_response_problem(res, 422, "invalid_field", "id: a reservation code or a numeric id");
        return;
    }
    if (*f.entity_id && !*f.entity) {
        http_response_problem(res, 422, "invalid_field", "id: needs entity");
        return;
    }
    if (input_query_int(req, "limit", 1, AUDIT_LIST_MAX, 50, &limit, res) < 0 ||
        input_query_int(req, "before", 1, 1LL << 62, 0, &before, res) < 0)
        return;
    f.limit = (int)limit + 1; /* one more tells whether there is a next page */
    f.before = before;
    struct audit_entry *items = NULL;
    int n = 0;
    int rc = store_audit_list(req->app->db, &f, &items, &n);
    if (rc != DB_OK) {
        db_problem(res, rc);
        return;
    }
    int shown = n > limit ? (int)limit : n;
    json_t *list = json_array();
    for (int i = 0; i < shown; i++) {
        const struct audit_entry *e = &items[i];
        json_t *o =
            json_pack("{s:I, s:o, s:s, s:s, s:s, s:s}", "id", (json_int_t)e->id, "at", present_time(e->at),
                      "actor", e->actor, "action", e->action, "entity", e->entity, "entity_id", e->entity_id);
        if (!o) /* not UTF-8: cannot happen for what the server wrote */
            continue;
        json_object_set_new(o, "before", stored_json(e->before));
        json_object_set_new(o, "after", stored_json(e->after));
        json_array_append_new(list, o);
    }
    json_t *next = n > limit && shown > 0 ? json_integer(items[shown - 1].id) : json_null();
    audit_entries_free(items, n);
    http_response_json(
        res, 200,
        json_pack("{s:o, s:o, s:I}", "items", list, "next_before", next, "limit", (json_int_t)limit));
}
