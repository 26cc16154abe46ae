/* console_store.c - read models of the admin console: audit trail, dashboard numbers, calendar entries.
 * See console_store.h. */
#include "console_store.h"

#include "../core/buf.h"
#include "booking_store.h"
#include "store_util.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- audit trail --- */

int store_audit_list(struct db *db, const struct audit_filter *f, struct audit_entry **items, int *n)
{
    static const char *sql = "SELECT id, at, actor, action, entity, entity_id, before, after FROM audit_log "
                             "WHERE ($1 = '' OR entity = $1) AND ($2 = '' OR entity_id = $2) "
                             "AND id < CAST($3 AS bigint) ORDER BY id DESC LIMIT CAST($4 AS integer)";
    char before[24], limit[24];
    const char *p[] = {f->entity, f->entity_id, store_ll_param(f->before > 0 ? f->before : LLONG_MAX, before),
                       store_ll_param(f->limit, limit)};
    struct db_result *r = NULL;
    *items = NULL;
    *n = 0;
    int rc = db_exec_once(db, sql, 4, p, &r);
    if (rc != DB_OK)
        return rc;
    int rows = db_result_rows(r);
    struct audit_entry *list = calloc(rows ? (size_t)rows : 1, sizeof *list);
    if (!list)
        abort();
    for (int i = 0; i < rows; i++) {
        struct audit_entry *e = &list[i];
        e->id = store_col_ll(r, i, 0);
        e->at = store_col_ll(r, i, 1);
        store_col_str(r, i, 2, e->actor, sizeof e->actor);
        store_col_str(r, i, 3, e->action, sizeof e->action);
        store_col_str(r, i, 4, e->entity, sizeof e->entity);
        store_col_str(r, i, 5, e->entity_id, sizeof e->entity_id);
        e->before = str_dup_or_null(db_result_value(r, i, 6));
        e->after = str_dup_or_null(db_result_value(r, i, 7));
    }
    db_result_free(r);
    *items = list;
    *n = rows;
    return DB_OK;
}

void audit_entries_free(struct audit_entry *items, int n)
{
    if (!items)
        return;
    for (int i = 0; i < n; i++) {
        free(items[i].before);
        free(items[i].after);
    }
    free(items);
}

/* --- dashboard --- */

int store_reservation_status_counts(struct db *db, long long now, struct status_counts *out)
{
    static const char *sql = "SELECT (CASE WHEN status = 'pre_reserved' AND expires_at <= CAST($1 AS bigint) "
                             "THEN 'expired' ELSE status END), count(*) FROM reservations GROUP BY 1";
    char nowb[24];
    const char *p[] = {store_ll_param(now, nowb)};
    struct db_result *r = NULL;
    memset(out, 0, sizeof *out);
    int rc = db_exec_once(db, sql, 1, p, &r);
    for (int i = 0; rc == DB_OK && i < db_result_rows(r); i++) {
        const char *s = db_result_value(r, i, 0);
        int count = (int)store_col_ll(r, i, 1);
        if (!s)
            continue;
        if (strcmp(s, "pre_reserved") == 0)
            out->pre_reserved += count;
        else if (strcmp(s, "confirmed") == 0)
            out->confirmed += count;
        else if (strcmp(s, "cancelled") == 0)
            out->cancelled += count;
        else if (strcmp(s, "expired") == 0)
            out->expired += count;
    }
    db_result_free(r);
    return rc;
}

int store_holds_live(struct db *db, long long now, long long within_s, int *active, int *expiring)
{
    static const char *sql =
        "SELECT count(*), COALESCE(sum(CASE WHEN expires_at <= CAST($2 AS bigint) THEN 1 ELSE 0 END), 0) "
        "FROM reservations WHERE status = 'pre_reserved' AND expires_at > CAST($1 AS bigint)";
    char nowb[24], until[24];
    const char *p[] = {store_ll_param(now, nowb), store_ll_param(now + within_s, until)};
    struct db_result *r = NULL;
    int rc = db_exec_once(db, sql, 2, p, &r);
    if (rc == DB_OK) {
        *active = (int)store_col_ll(r, 0, 0);
        *expiring = (int)store_col_ll(r, 0, 1);
    }
    db_result_free(r);
    return rc;
}

int store_conversion(struct db *db, long long since, long long now, int *created, int *converted)
{
    static const char *sql =
        "SELECT count(*), COALESCE(sum(CASE WHEN confirmed_at IS NOT NULL THEN 1 ELSE 0 END), 0) "
        "FROM reservations WHERE created_at >= CAST($1 AS bigint) AND created_at <= CAST($2 AS bigint)";
    char from[24], to[24];
    const char *p[] = {store_ll_param(since, from), store_ll_param(now, to)};
    struct db_result *r = NULL;
    int rc = db_exec_once(db, sql, 2, p, &r);
    if (rc == DB_OK) {
        *created = (int)store_col_ll(r, 0, 0);
        *converted = (int)store_col_ll(r, 0, 1);
    }
    db_result_free(r);
    return rc;
}

int store_revenue(struct db *db, long long from, long long to, struct revenue out[REVENUE_MAX_CURRENCIES],
                  int *n)
{
    static const char *sql =
        "SELECT currency, COALESCE(sum(CASE WHEN status = 'confirmed' THEN total_cents ELSE 0 END), 0), "
        "COALESCE(sum(paid_cents), 0) FROM reservations WHERE confirmed_at >= CAST($1 AS bigint) "
        "AND confirmed_at < CAST($2 AS bigint) GROUP BY currency ORDER BY currency LIMIT 8";
    _Static_assert(REVENUE_MAX_CURRENCIES == 8, "the LIMIT above");
    char a[24], b[24];
    const char *p[] = {store_ll_param(from, a), store_ll_param(to, b)};
    struct db_result *r = NULL;
    *n = 0;
    int rc = db_exec_once(db, sql, 2, p, &r);
    for (int i = 0; rc == DB_OK && i < db_result_rows(r) && i < REVENUE_MAX_CURRENCIES; i++) {
        store_col_str(r, i, 0, out[i].currency, sizeof out[i].currency);
        out[i].confirmed_total_cents = store_col_ll(r, i, 1);
        out[i].deposits_cents = store_col_ll(r, i, 2);
        *n = i + 1;
    }
    db_result_free(r);
    return rc;
}

/* One count(*) with at most one bigint parameter ($1 = arg when the statement uses it). */
static int count_one(struct db *db, const char *sql, long long arg, int *count)
{
    char buf[24];
    const char *params[] = {store_ll_param(arg, buf)};
    struct db_result *r = NULL;
    int rc = db_exec_once(db, sql, strstr(sql, "$1") ? 1 : 0, params, &r);
    if (rc == DB_OK)
        *count = (int)store_col_ll(r, 0, 0);
    db_result_free(r);
    return rc;
}

int store_outbox_dead_count(struct db *db, int *dead)
{
    static const char *sql = "SELECT count(*) FROM outbox WHERE status = 'dead'";
    return count_one(db, sql, 0, dead);
}

int store_payments_needing_refund(struct db *db, int *count)
{
    /* approved payments for holds whose nights were taken meanwhile (or already paid / cancelled), not
     * refunded yet: the processor sets needs_refund and a refund clears it */
    static const char *sql = "SELECT count(*) FROM payments WHERE needs_refund = 1";
    return count_one(db, sql, 0, count);
}

int store_ical_feed_health(struct db *db, long long now, long long max_age_s, int *failing, int *stale)
{
    /* feeds of active accommodations. failing: the last sync failed (the previous blocks were kept);
     * stale: no successful sync (for a feed never synced: since it was added) within max_age_s, the rule
     * of the `ical` health check (store_ical_freshness) */
    static const char *sql =
        "SELECT COALESCE(SUM(CASE WHEN f.last_status = 'failed' THEN 1 ELSE 0 END), 0), "
        "COALESCE(SUM(CASE WHEN COALESCE(f.last_success_at, f.created_at) < CAST($1 AS bigint) THEN 1 ELSE 0 "
        "END), 0) FROM ical_feeds f JOIN accommodations a ON a.id = f.accommodation_id WHERE a.active = 1";
    char since[24];
    const char *params[] = {store_ll_param(now - max_age_s, since)};
    struct db_result *r = NULL;
    int rc = db_exec_once(db, sql, 1, params, &r);
    if (rc == DB_OK) {
        *failing = (int)store_col_ll(r, 0, 0);
        *stale = (int)store_col_ll(r, 0, 1);
    }
    db_result_free(r);
    return rc;
}

int store_whatsapp_waiting(struct db *db, long long now, int *count)
{
    /* conversations handed over to a person whose handoff has not ended yet */
    static const char *sql = "SELECT count(*) FROM whatsapp_conversations "
                             "WHERE handoff_until IS NOT NULL AND handoff_until > CAST($1 AS bigint)";
    return count_one(db, sql, now, count);
}

/* --- calendar --- */

static void read_entry(const struct db_result *r, int row, void *out)
{
    struct calendar_entry *e = out;
    memset(e, 0, sizeof *e);
    e->accommodation_id = store_col_ll(r, row, 0);
    e->kind = (enum calendar_kind)store_col_ll(r, row, 1);
    store_col_str(r, row, 2, e->start, sizeof e->start);
    store_col_str(r, row, 3, e->end, sizeof e->end);
    store_col_str(r, row, 4, e->code, sizeof e->code);
    store_col_str(r, row, 5, e->channel, sizeof e->channel);
    store_col_str(r, row, 6, e->guest_name, sizeof e->guest_name);
    e->guests = (int)store_col_ll(r, row, 7);
    e->expires_at = store_col_ll(r, row, 8);
    e->block_id = store_col_ll(r, row, 9);
    store_col_str(r, row, 10, e->reason, sizeof e->reason);
    store_col_str(r, row, 11, e->source, sizeof e->source);
}

int store_calendar_entries(struct db *db, const char *from, const char *to, long long accommodation_id,
                           long long now, struct calendar_entry **items, int *n, int *truncated)
{
    /* kinds as enum calendar_kind: 1 hold, 2 confirmed, 3 block. Imported events that clash with one of
     * our stays are stored outside the no-overlap guarantee (ical_conflicts, the shared nights): they join
     * as blocks of their feed, so those nights carry two entries and the calendar shows a conflict. */
    static const char *sql =
        "SELECT r.accommodation_id, CASE WHEN r.status = 'confirmed' THEN 2 ELSE 1 END, r.check_in, "
        "r.check_out, r.code, r.channel, r.guest_name, r.guests, r.expires_at, 0, '', '' "
        "FROM reservations r WHERE (r.status = 'confirmed' OR (r.status = 'pre_reserved' "
        "AND r.expires_at > CAST($4 AS bigint))) AND r.check_in < $2 AND $1 < r.check_out "
        "AND (CAST($3 AS bigint) = 0 OR r.accommodation_id = CAST($3 AS bigint)) "
        "UNION ALL SELECT b.accommodation_id, 3, b.start_date, b.end_date, '', '', '', 0, 0, b.id, b.reason, "
        "b.source FROM blocks b WHERE b.start_date < $2 AND $1 < b.end_date "
        "AND (CAST($3 AS bigint) = 0 OR b.accommodation_id = CAST($3 AS bigint)) "
        "UNION ALL SELECT f.accommodation_id, 3, c.start_date, c.end_date, '', '', '', 0, 0, 0, "
        "f.name || CASE WHEN e.summary = '' THEN '' ELSE ': ' || e.summary END, 'ical:' || f.id "
        "FROM ical_conflicts c JOIN ical_events e ON e.id = c.event_id JOIN ical_feeds f ON f.id = e.feed_id "
        "WHERE c.start_date < $2 AND $1 < c.end_date "
        "AND (CAST($3 AS bigint) = 0 OR f.accommodation_id = CAST($3 AS bigint)) "
        "ORDER BY 1, 3, 4 LIMIT 10001";
    _Static_assert(CALENDAR_ENTRIES_MAX == 10000, "the LIMIT above is one more");
    char acc[24], nowb[24];
    const char *p[] = {from, to, store_ll_param(accommodation_id, acc), store_ll_param(now, nowb)};
    struct db_result *r = NULL;
    *items = NULL;
    *n = 0;
    *truncated = 0;
    int rc = db_exec_once(db, sql, 4, p, &r);
    if (rc != DB_OK)
        return rc;
    *items = store_rows_read(r, sizeof **items, read_entry, n);
    if (*n > CALENDAR_ENTRIES_MAX) {
        *n = CALENDAR_ENTRIES_MAX;
        *truncated = 1;
    }
    db_result_free(r);
    return DB_OK;
}
