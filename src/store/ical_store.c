/* ical_store.c - feeds, imported events, their blocks and conflicts. See ical_store.h.
 *
 * Placing an event (place_event) is the one place imported nights are written. Inside the sync
 * transaction it reads the claims on the event's nights other than its own blocks, keeps its own blocks
 * that still match the nights nobody else claims, deletes the others, inserts blocks for the rest (each
 * with its claim, ON CONFLICT DO NOTHING as everywhere: a clash means another writer committed those
 * nights meanwhile, and the placement is recomputed, at most PLACE_ATTEMPTS times), and reconciles the
 * event's conflicts with the holds and bookings among those claims. Nothing is written when nothing
 * changed, so an unchanged feed leaves the published calendar (and its ETag) alone. */
#include "ical_store.h"

#include "journal.h"
#include "store_util.h"

#include <jansson.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PLACE_ATTEMPTS 3
#define PG_ICAL_JOB_LOCK_KEY "727274006" /* arbitrary, fixed; migrations use 727274001 */

static long day_of(const char *iso)
{
    struct date d;
    return dates_parse(iso, &d) == 0 ? dates_to_days(d) : 0;
}

static void iso_of(long day, char out[DATES_FORMAT_LEN])
{
    dates_format(dates_from_days(day), out);
}

/* --- feeds --- */

#define FEED_COLUMNS                                                                                         \
    "f.id, f.accommodation_id, f.name, f.url, f.created_at, f.last_sync_at, f.last_success_at, "             \
    "f.last_status, f.last_error, f.event_count, f.quarantined, f.quarantine, f.etag, f.last_modified, "     \
    "f.failures, f.next_attempt_at, (SELECT count(*) FROM ical_conflicts k JOIN ical_events e ON e.id = "    \
    "k.event_id WHERE e.feed_id = f.id)"

static void read_feed(const struct db_result *r, int row, void *p)
{
    struct ical_feed_info *f = p;
    memset(f, 0, sizeof *f);
    f->id = store_col_ll(r, row, 0);
    f->accommodation_id = store_col_ll(r, row, 1);
    store_col_str(r, row, 2, f->name, sizeof f->name);
    store_col_str(r, row, 3, f->url, sizeof f->url);
    f->created_at = store_col_ll(r, row, 4);
    f->last_sync_at = store_col_ll(r, row, 5);
    f->last_success_at = store_col_ll(r, row, 6);
    store_col_str(r, row, 7, f->last_status, sizeof f->last_status);
    store_col_str(r, row, 8, f->last_error, sizeof f->last_error);
    f->event_count = (int)store_col_ll(r, row, 9);
    f->quarantined = (int)store_col_ll(r, row, 10);
    store_col_str(r, row, 11, f->quarantine, sizeof f->quarantine);
    store_col_str(r, row, 12, f->etag, sizeof f->etag);
    store_col_str(r, row, 13, f->last_modified, sizeof f->last_modified);
    f->failures = (int)store_col_ll(r, row, 14);
    f->next_attempt_at = store_col_ll(r, row, 15);
    f->conflicts = (int)store_col_ll(r, row, 16);
}

/* The audit row of a feed change: {"name", "accommodation_id"} (the URL may carry the channel's secret token,
 * so it is not copied into the audit log). */
static int audit_feed(struct db_conn *c, long long now, const char *actor, const char *action, long long id,
                      long long accommodation_id, const char *name, int deleted)
{
    json_t *j = json_pack("{s:I, s:s}", "accommodation_id", (json_int_t)accommodation_id, "name", name);
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!text)
        return DB_ERR;
    char idb[24];
    int rc = audit_record(c, now, actor ? actor : "api", action, "feed", store_ll_param(id, idb),
                          deleted ? text : NULL, deleted ? NULL : text);
    free(text);
    return rc;
}

int store_ical_feed_create(struct db *db, struct ical_feed_info *f, long long now, const char *actor)
{
    static const char *count = "SELECT count(*) FROM ical_feeds WHERE accommodation_id = CAST($1 AS bigint)";
    static const char *insert = "INSERT INTO ical_feeds (accommodation_id, name, url, created_at) VALUES "
                                "(CAST($1 AS bigint), $2, $3, "
                                "CAST($4 AS bigint)) RETURNING id";
    char acc[24], nowb[24];
    const char *p[] = {store_ll_param(f->accommodation_id, acc), f->name, f->url, store_ll_param(now, nowb)};
    struct db_conn *c = NULL;
    struct db_result *r = NULL;
    int rc = db_acquire(db, &c);
    if (rc != DB_OK)
        return rc;
    if ((rc = db_begin(c)) != DB_OK)
        goto out;
    if ((rc = db_exec(c, count, 1, p, &r)) == DB_OK && store_col_ll(r, 0, 0) >= ICAL_FEEDS_PER_ACCOMMODATION)
        rc = STORE_ICAL_TOO_MANY_FEEDS;
    db_result_free(r);
    r = NULL;
    if (rc == DB_OK && (rc = db_exec(c, insert, 4, p, &r)) == DB_OK) {
        f->id = store_col_ll(r, 0, 0);
        f->created_at = now;
        snprintf(f->last_status, sizeof f->last_status, "pending");
        rc = audit_feed(c, now, actor, "feed.created", f->id, f->accommodation_id, f->name, 0);
    }
    if (rc == DB_OK)
        rc = db_commit(c);
    else
        db_rollback(c);
out:
    db_result_free(r);
    db_release(db, c);
    return rc;
}

static int feed_query(struct db *db, long long accommodation_id, long long feed_id,
                      struct ical_feed_info **out, int *n)
{
    static const char *sql = "SELECT " FEED_COLUMNS " FROM ical_feeds f JOIN accommodations a ON a.id = "
                             "f.accommodation_id WHERE (CAST($1 AS bigint) = 0 AND a.active = 1 OR "
                             "f.accommodation_id = CAST($1 AS bigint)) AND (CAST($2 AS bigint) = 0 OR f.id = "
                             "CAST($2 AS bigint)) ORDER BY f.id LIMIT 1000";
    char acc[24], id[24];
    const char *p[] = {store_ll_param(accommodation_id, acc), store_ll_param(feed_id, id)};
    void *rows = NULL;
    int rc = store_read_rows(db, sql, 2, p, sizeof **out, read_feed, &rows, n);
    *out = rows;
    return rc;
}

int store_ical_feed_list(struct db *db, long long accommodation_id, struct ical_feed_info **out, int *n)
{
    return feed_query(db, accommodation_id, 0, out, n);
}

int store_ical_feed_get(struct db *db, long long accommodation_id, long long feed_id,
                        struct ical_feed_info *out)
{
    struct ical_feed_info *list = NULL;
    int n = 0;
    int rc = feed_query(db, accommodation_id, feed_id, &list, &n);
    if (rc == DB_OK && n == 0)
        rc = STORE_NOT_FOUND;
    if (rc == DB_OK)
        *out = list[0];
    free(list);
    return rc;
}

int store_ical_feed_delete(struct db *db, long long accommodation_id, long long feed_id, const char *actor,
                           long long now)
{
    /* claims first, explicitly (as store_block_delete does), then the feed: its events, their blocks and
     * conflicts go with it through ON DELETE CASCADE */
    static const char *unclaim =
        "DELETE FROM stay_claims WHERE block_id IN (SELECT b.id FROM blocks b JOIN ical_events e ON e.id = "
        "b.ical_event_id WHERE e.feed_id = CAST($2 AS bigint)) AND accommodation_id = CAST($1 AS bigint)";
    static const char *del = "DELETE FROM ical_feeds WHERE id = CAST($2 AS bigint) AND accommodation_id = "
                             "CAST($1 AS bigint) RETURNING id, name";
    char acc[24], id[24];
    const char *p[] = {store_ll_param(accommodation_id, acc), store_ll_param(feed_id, id)};
    struct db_conn *c = NULL;
    struct db_result *r = NULL;
    int rc = db_acquire(db, &c);
    if (rc != DB_OK)
        return rc;
    if ((rc = db_begin(c)) != DB_OK)
        goto out;
    if ((rc = db_exec(c, unclaim, 2, p, NULL)) != DB_OK || (rc = db_exec(c, del, 2, p, &r)) != DB_OK) {
        db_rollback(c);
        goto out;
    }
    if (db_result_rows(r) == 0) {
        db_rollback(c);
        rc = STORE_NOT_FOUND;
        goto out;
    }
    rc = audit_feed(c, now, actor, "feed.deleted", feed_id, accommodation_id, db_result_value(r, 0, 1), 1);
    if (rc == DB_OK)
        rc = db_commit(c);
    else
        db_rollback(c);
out:
    db_result_free(r);
    db_release(db, c);
    return rc;
}

int store_ical_feeds_due(struct db *db, long long now, long long **ids, int *n)
{
    static const char *sql =
        "SELECT f.id FROM ical_feeds f JOIN accommodations a ON a.id = f.accommodation_id "
        "WHERE a.active = 1 AND f.next_attempt_at <= CAST($1 AS bigint) "
        "ORDER BY f.next_attempt_at, f.id LIMIT 1000";
    char nowb[24];
    const char *p[] = {store_ll_param(now, nowb)};
    struct db_result *r = NULL;
    *ids = NULL;
    *n = 0;
    int rc;
    if ((rc = db_exec_once(db, sql, 1, p, &r)) == DB_OK) {
        int rows = db_result_rows(r);
        *ids = calloc(rows ? (size_t)rows : 1, sizeof **ids);
        if (!*ids)
            abort();
        for (int i = 0; i < rows; i++)
            (*ids)[i] = store_col_ll(r, i, 0);
        *n = rows;
    }
    db_result_free(r);
    return rc;
}

int store_ical_feed_mark_failed(struct db *db, long long feed_id, long long now, const char *error,
                                int interval_s)
{
    static const char *sql =
        "UPDATE ical_feeds SET last_sync_at = CAST($2 AS bigint), last_status = 'failed', last_error = $3, "
        "failures = failures + 1, next_attempt_at = CAST($2 AS bigint) + CAST($4 AS bigint) * (CASE failures "
        "WHEN 0 THEN 1 WHEN 1 THEN 2 WHEN 2 THEN 4 WHEN 3 THEN 8 ELSE 12 END) WHERE id = CAST($1 AS bigint)";
    char id[24], nowb[24], iv[24];
    const char *p[] = {store_ll_param(feed_id, id), store_ll_param(now, nowb), error,
                       store_ll_param(interval_s, iv)};
    return db_exec_once(db, sql, 4, p, NULL);
}

/* --- placing one event's nights --- */

struct claim {
    long s, e;
    long long reservation_id; /* 0 for a block */
};

struct own_block {
    long long id;
    long s, e;
    int keep;
};

struct place_ctx {
    struct db_conn *c;
    long long accommodation_id;
    long long now;
    struct ical_apply_result *res;
    const char *actor;
    /* the feed of the event being placed, for messages */
    const char *feed_name;
    long long feed_id;
    const char *summary; /* the event's */
    const char *accommodation_name;
};

static int read_claims(struct db_conn *c, long long acc, long long event_id, long s, long e,
                       struct claim **out, int *n)
{
#define READ_CLAIMS(overlaps)                                                                                \
    "SELECT c.check_in, c.check_out, c.reservation_id FROM stay_claims c LEFT JOIN blocks b ON b.id = "      \
    "c.block_id WHERE c.accommodation_id = CAST($1 AS bigint) AND " overlaps " "                             \
    "AND (b.ical_event_id IS NULL OR b.ical_event_id <> CAST($4 AS bigint)) ORDER BY c.check_in"
    static const char *sql_pg = READ_CLAIMS(CLAIM_OVERLAPS_PG),
                      *sql_sqlite = READ_CLAIMS(CLAIM_OVERLAPS_SQLITE);
    const char *sql = db_conn_engine(c) == DB_ENGINE_POSTGRES ? sql_pg : sql_sqlite;
    char accb[24], ev[24], sb[DATES_FORMAT_LEN], eb[DATES_FORMAT_LEN];
    iso_of(s, sb);
    iso_of(e, eb);
    const char *p[] = {store_ll_param(acc, accb), sb, eb, store_ll_param(event_id, ev)};
    struct db_result *r = NULL;
    int rc = db_exec(c, sql, 4, p, &r);
    *out = NULL;
    *n = 0;
    if (rc == DB_OK) {
        int rows = db_result_rows(r);
        *out = calloc(rows ? (size_t)rows : 1, sizeof **out);
        if (!*out)
            abort();
        for (int i = 0; i < rows; i++) {
            (*out)[i].s = day_of(db_result_value(r, i, 0));
            (*out)[i].e = day_of(db_result_value(r, i, 1));
            (*out)[i].reservation_id = store_col_ll(r, i, 2);
        }
        *n = rows;
    }
    db_result_free(r);
    return rc;
}

/* [s, e) minus the claims (sorted by start): the free runs, into segs (at most nclaims + 1). */
static int free_segments(long s, long e, const struct claim *cl, int n, long (*segs)[2])
{
    int k = 0;
    long at = s;
    for (int i = 0; i < n && at < e; i++) {
        if (cl[i].s > at) {
            segs[k][0] = at;
            segs[k][1] = cl[i].s < e ? cl[i].s : e;
            k++;
        }
        if (cl[i].e > at)
            at = cl[i].e;
    }
    if (at < e) {
        segs[k][0] = at;
        segs[k][1] = e;
        k++;
    }
    return k;
}

static int delete_block(struct db_conn *c, long long id)
{
    static const char *unclaim = "DELETE FROM stay_claims WHERE block_id = CAST($1 AS bigint)";
    static const char *del = "DELETE FROM blocks WHERE id = CAST($1 AS bigint)";
    char idb[24];
    const char *p[] = {store_ll_param(id, idb)};
    int rc = db_exec(c, unclaim, 1, p, NULL);
    return rc == DB_OK ? db_exec(c, del, 1, p, NULL) : rc;
}

/* A block and its claim; DB_CONFLICT (and no block left behind) when the nights were taken meanwhile. */
static int insert_block(struct place_ctx *pc, long long event_id, long s, long e, const char *reason,
                        const char *source)
{
    static const char *insert =
        "INSERT INTO blocks (accommodation_id, start_date, end_date, reason, source, created_by, created_at, "
        "ical_event_id) VALUES (CAST($1 AS bigint), $2, $3, $4, $5, 'ical', CAST($6 AS bigint), CAST($7 AS "
        "bigint)) RETURNING id";
    static const char *claim =
        "INSERT INTO stay_claims (accommodation_id, check_in, check_out, block_id) "
        "VALUES (CAST($1 AS bigint), $2, $3, CAST($4 AS bigint)) ON CONFLICT DO NOTHING "
        "RETURNING id";
    char acc[24], nowb[24], ev[24], sb[DATES_FORMAT_LEN], eb[DATES_FORMAT_LEN];
    iso_of(s, sb);
    iso_of(e, eb);
    const char *p[] = {store_ll_param(pc->accommodation_id, acc),
                       sb,
                       eb,
                       reason,
                       source,
                       store_ll_param(pc->now, nowb),
                       store_ll_param(event_id, ev)};
    struct db_result *r = NULL, *cr = NULL;
    int rc = db_exec(pc->c, insert, 7, p, &r);
    if (rc != DB_OK)
        goto out;
    long long block_id = store_col_ll(r, 0, 0);
    const char *cp[] = {acc, sb, eb, db_result_value(r, 0, 0)};
    rc = db_exec(pc->c, claim, 4, cp, &cr);
    if (rc == DB_OK && db_result_rows(cr) == 0)
        rc = DB_CONFLICT;
    if (rc == DB_CONFLICT) {
        int drc = delete_block(pc->c, block_id);
        if (drc != DB_OK)
            rc = drc;
    }
out:
    db_result_free(r);
    db_result_free(cr);
    return rc;
}

/* A new conflict, in the same transaction that stores it: an audit row and an email to the owner (the outbox
 * delivers it to OWNER_EMAIL, or marks it skipped while email is not configured). Never cancels our guest. */
static int tell_owner(struct place_ctx *pc, const struct ical_new_conflict *nc)
{
    /* the slots of the notifier's ical_conflict template (start/end: the shared nights), and a few more */
    char detail[512];
    snprintf(detail, sizeof detail,
             "Las noches compartidas siguen siendo de la reserva %s (%s, del %s al %s); las demás noches del "
             "evento %s quedaron bloqueadas. No se canceló nada.",
             nc->code, nc->status, nc->check_in, nc->check_out, nc->uid);
    json_t *j = json_pack(
        "{s:s, s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:s, s:s, s:s, s:s}", "accommodation_name",
        pc->accommodation_name, "accommodation_id", (json_int_t)pc->accommodation_id, "feed", pc->feed_name,
        "start", nc->start, "end", nc->end, "summary", pc->summary ? pc->summary : "", "reservation_code",
        nc->code, "detail", detail, "conflict_id", (json_int_t)nc->id, "feed_id", (json_int_t)pc->feed_id,
        "uid", nc->uid, "check_in", nc->check_in, "check_out", nc->check_out, "status", nc->status);
    char *payload = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!payload)
        return DB_ERR;
    char key[64];
    snprintf(key, sizeof key, "ical_conflict:%lld", nc->id);
    struct outbox_message m = {"email", "ical_conflict", "owner", nc->code, payload, key, 0};
    int rc = outbox_enqueue(pc->c, pc->now, &m);
    if (rc == DB_OK)
        rc = audit_record(pc->c, pc->now, pc->actor, "ical_conflict.detected", "reservation", nc->code, NULL,
                          payload);
    free(payload);
    return rc;
}

/* Makes the event's conflicts match the reservations among its claims. New ones are counted (and the first
 * ICAL_NEW_CONFLICTS_MAX described) in the result. */
static int reconcile_conflicts(struct place_ctx *pc, long long event_id, const char *uid, long s, long e,
                               const struct claim *cl, int n)
{
    static const char *existing = "SELECT id, reservation_id, start_date, end_date FROM ical_conflicts WHERE "
                                  "event_id = CAST($1 AS bigint)";
    static const char *del = "DELETE FROM ical_conflicts WHERE id = CAST($1 AS bigint)";
    static const char *upd =
        "UPDATE ical_conflicts SET start_date = $2, end_date = $3 WHERE id = CAST($1 AS bigint)";
    static const char *ins =
        "INSERT INTO ical_conflicts (event_id, reservation_id, start_date, end_date, detected_at) VALUES "
        "(CAST($1 AS bigint), CAST($2 AS bigint), $3, $4, CAST($5 AS bigint)) RETURNING id";
    static const char *stay =
        "SELECT code, check_in, check_out, status FROM reservations WHERE id = CAST($1 AS bigint)";
    char ev[24], nowb[24];
    store_ll_param(event_id, ev);
    store_ll_param(pc->now, nowb);
    const char *pe[] = {ev};
    struct db_result *r = NULL;
    int rc = db_exec(pc->c, existing, 1, pe, &r);
    if (rc != DB_OK)
        goto out;
    int rows = db_result_rows(r);
    /* the existing ones whose reservation no longer clashes go */
    for (int i = 0; i < rows && rc == DB_OK; i++) {
        long long res_id = store_col_ll(r, i, 1);
        int still = 0;
        for (int j = 0; j < n && !still; j++)
            still = cl[j].reservation_id == res_id;
        if (!still) {
            const char *p[] = {db_result_value(r, i, 0)};
            rc = db_exec(pc->c, del, 1, p, NULL);
        }
    }
    for (int j = 0; j < n && rc == DB_OK; j++) {
        if (!cl[j].reservation_id)
            continue;
        long os = cl[j].s > s ? cl[j].s : s, oe = cl[j].e < e ? cl[j].e : e;
        char sb[DATES_FORMAT_LEN], eb[DATES_FORMAT_LEN], resb[24];
        iso_of(os, sb);
        iso_of(oe, eb);
        store_ll_param(cl[j].reservation_id, resb);
        int found = -1;
        for (int i = 0; i < rows && found < 0; i++)
            if (store_col_ll(r, i, 1) == cl[j].reservation_id)
                found = i;
        if (found >= 0) {
            const char *cur_s = db_result_value(r, found, 2), *cur_e = db_result_value(r, found, 3);
            if (cur_s && cur_e && strcmp(cur_s, sb) == 0 && strcmp(cur_e, eb) == 0)
                continue;
            const char *p[] = {db_result_value(r, found, 0), sb, eb};
            rc = db_exec(pc->c, upd, 3, p, NULL);
            continue;
        }
        const char *p[] = {ev, resb, sb, eb, nowb};
        struct db_result *ir = NULL, *sr = NULL;
        struct ical_new_conflict nc;
        memset(&nc, 0, sizeof nc);
        rc = db_exec(pc->c, ins, 5, p, &ir);
        const char *sp[] = {resb};
        if (rc == DB_OK && (rc = db_exec(pc->c, stay, 1, sp, &sr)) == DB_OK && db_result_rows(sr) == 1) {
            nc.id = store_col_ll(ir, 0, 0);
            snprintf(nc.uid, sizeof nc.uid, "%s", uid);
            memcpy(nc.start, sb, sizeof sb);
            memcpy(nc.end, eb, sizeof eb);
            store_col_str(sr, 0, 0, nc.code, sizeof nc.code);
            store_col_str(sr, 0, 1, nc.check_in, sizeof nc.check_in);
            store_col_str(sr, 0, 2, nc.check_out, sizeof nc.check_out);
            store_col_str(sr, 0, 3, nc.status, sizeof nc.status);
            rc = tell_owner(pc, &nc);
        }
        if (rc == DB_OK) {
            struct ical_apply_result *res = pc->res;
            if (res->new_conflicts < ICAL_NEW_CONFLICTS_MAX)
                res->new_list[res->new_conflicts] = nc;
            res->new_conflicts++;
        }
        db_result_free(ir);
        db_result_free(sr);
    }
out:
    db_result_free(r);
    return rc;
}

/* One attempt at placing the event; DB_CONFLICT when a claim lost a race (retry). */
static int place_once(struct place_ctx *pc, long long event_id, const char *uid, long s, long e,
                      const char *reason, const char *source)
{
    static const char *own_sql = "SELECT id, start_date, end_date FROM blocks WHERE ical_event_id = CAST($1 "
                                 "AS bigint) ORDER BY start_date";
    struct claim *cl = NULL;
    struct own_block *own = NULL;
    long(*segs)[2] = NULL;
    struct db_result *r = NULL;
    int n = 0, nown = 0;
    char sb[DATES_FORMAT_LEN], eb[DATES_FORMAT_LEN], ev[24];
    iso_of(s, sb);
    iso_of(e, eb);
    int rc = store_holds_expire_stale_on(pc->c, pc->accommodation_id, sb, eb, pc->now, &pc->res->expired);
    if (rc != DB_OK)
        goto out;
    if ((rc = read_claims(pc->c, pc->accommodation_id, event_id, s, e, &cl, &n)) != DB_OK)
        goto out;
    const char *p[] = {store_ll_param(event_id, ev)};
    if ((rc = db_exec(pc->c, own_sql, 1, p, &r)) != DB_OK)
        goto out;
    nown = db_result_rows(r);
    own = calloc(nown ? (size_t)nown : 1, sizeof *own);
    segs = calloc((size_t)n + 1, sizeof *segs);
    if (!own || !segs)
        abort();
    for (int i = 0; i < nown; i++) {
        own[i].id = store_col_ll(r, i, 0);
        own[i].s = day_of(db_result_value(r, i, 1));
        own[i].e = day_of(db_result_value(r, i, 2));
    }
    int nseg = free_segments(s, e, cl, n, segs);
    for (int k = 0; k < nseg; k++)
        for (int i = 0; i < nown; i++)
            if (own[i].s == segs[k][0] && own[i].e == segs[k][1])
                own[i].keep = 1;
    for (int i = 0; i < nown && rc == DB_OK; i++)
        if (!own[i].keep)
            rc = delete_block(pc->c, own[i].id);
    for (int k = 0; k < nseg && rc == DB_OK; k++) {
        int have = 0;
        for (int i = 0; i < nown && !have; i++)
            have = own[i].keep && own[i].s == segs[k][0] && own[i].e == segs[k][1];
        if (!have)
            rc = insert_block(pc, event_id, segs[k][0], segs[k][1], reason, source);
    }
    if (rc == DB_OK)
        rc = reconcile_conflicts(pc, event_id, uid, s, e, cl, n);
out:
    db_result_free(r);
    free(cl);
    free(own);
    free(segs);
    return rc;
}

static int place_event(struct place_ctx *pc, long long event_id, const char *uid, long s, long e,
                       const char *feed_name, const char *summary, long long feed_id)
{
    char reason[REASON_MAX + 1], source[64];
    snprintf(source, sizeof source, "ical:%lld", feed_id);
    /* "<feed>: <summary>", cut on a character boundary */
    snprintf(reason, sizeof reason, "%s%s%s", feed_name, *summary ? ": " : "", summary);
    size_t len = strlen(reason);
    while (len > 0 && ((unsigned char)reason[len - 1] & 0xC0) == 0x80)
        len--;
    if (len > 0 && ((unsigned char)reason[len - 1] & 0x80)) {
        /* the last character starts at len-1: keep it only if it is complete */
        unsigned char lead = (unsigned char)reason[len - 1];
        size_t need = (lead & 0xE0) == 0xC0 ? 2 : (lead & 0xF0) == 0xE0 ? 3 : 4;
        if (strlen(reason) - (len - 1) < need)
            reason[len - 1] = '\0';
    }
    pc->feed_name = feed_name;
    pc->feed_id = feed_id;
    pc->summary = summary;
    int rc = DB_CONFLICT;
    for (int attempt = 0; attempt < PLACE_ATTEMPTS && rc == DB_CONFLICT; attempt++)
        rc = place_once(pc, event_id, uid, s, e, reason, source);
    if (rc == DB_CONFLICT)
        rc = DB_BUSY; /* the nights kept changing under us: give up this sync, the next one retries */
    if (rc == DB_OK)
        pc->res->placed++;
    return rc;
}

/* --- applying a feed --- */

struct stored_event {
    long long id;
    char uid[ICAL_UID_MAX + 1];
    char start[DATES_FORMAT_LEN], end[DATES_FORMAT_LEN];
    char summary[ICAL_SUMMARY_MAX + 1];
    int covered, conflicts, matched;
};

static void read_stored(const struct db_result *r, int row, void *p)
{
    struct stored_event *x = p;
    x->id = store_col_ll(r, row, 0);
    store_col_str(r, row, 1, x->uid, sizeof x->uid);
    store_col_str(r, row, 2, x->start, sizeof x->start);
    store_col_str(r, row, 3, x->end, sizeof x->end);
    store_col_str(r, row, 4, x->summary, sizeof x->summary);
    x->covered = store_col_ll(r, row, 5) > 0;
    x->conflicts = (int)store_col_ll(r, row, 6);
    x->matched = 0;
}

static int by_uid(const void *a, const void *b)
{
    return strcmp(((const struct stored_event *)a)->uid, ((const struct stored_event *)b)->uid);
}

/* 1 when a quarantined event (or, for a recurring one, its instances "<uid>#...") keeps this stored row. */
static int protected_by_quarantine(const struct ical_feed *f, const char *uid)
{
    for (int i = 0; i < f->nquarantine; i++) {
        const char *q = f->quarantine[i].uid;
        size_t n = strlen(q);
        if (strncmp(uid, q, n) == 0 && (uid[n] == '\0' || uid[n] == '#'))
            return 1;
    }
    return 0;
}

/* The JSON kept in ical_feeds.quarantine: the first ICAL_QUARANTINE_SHOWN, within the column's size. */
static char *quarantine_json(const struct ical_feed *f)
{
    json_t *a = json_array();
    for (int i = 0; i < f->nquarantine && i < ICAL_QUARANTINE_SHOWN; i++) {
        const struct ical_quarantined *q = &f->quarantine[i];
        json_array_append_new(
            a, json_pack("{s:s, s:s, s:s}", "uid", q->uid, "reason", q->reason, "detail", q->detail));
    }
    char *s = json_dumps(a, JSON_COMPACT);
    json_decref(a);
    if (!s)
        abort();
    while (strlen(s) > ICAL_QUARANTINE_JSON_MAX) { /* cannot happen with the limits above; stay safe */
        free(s);
        s = strdup("[]");
        if (!s)
            abort();
    }
    return s;
}

struct todo {
    long long id;
    long s, e;
    const char *uid, *summary; /* borrowed from the parsed feed or the result below */
};

static int upsert_events(struct db_conn *c, const struct ical_apply *in, struct stored_event *st, int nst,
                         struct todo *todo, int *ntodo, struct ical_apply_result *res)
{
    static const char *ins =
        "INSERT INTO ical_events (feed_id, uid, start_date, end_date, summary, updated_at) VALUES "
        "(CAST($1 AS bigint), $2, $3, $4, $5, CAST($6 AS bigint)) RETURNING id";
    static const char *upd =
        "UPDATE ical_events SET start_date = $2, end_date = $3, summary = $4, updated_at = "
        "CAST($5 AS bigint) WHERE id = CAST($1 AS bigint)";
    static const char *del = "DELETE FROM ical_events WHERE id = CAST($1 AS bigint)";
    static const char *unclaim = "DELETE FROM stay_claims WHERE block_id IN (SELECT id FROM blocks WHERE "
                                 "ical_event_id = CAST($1 AS bigint))";
    const struct ical_feed *f = in->parsed;
    char feed[24], nowb[24];
    store_ll_param(in->feed_id, feed);
    store_ll_param(in->now, nowb);
    int rc = DB_OK;
    for (int i = 0; i < f->nevents && rc == DB_OK; i++) {
        const struct ical_event *ev = &f->events[i];
        struct stored_event key;
        memset(&key, 0, sizeof key);
        snprintf(key.uid, sizeof key.uid, "%s", ev->uid);
        struct stored_event *hit = nst ? bsearch(&key, st, (size_t)nst, sizeof *st, by_uid) : NULL;
        long long id;
        int place = 1;
        if (hit) {
            hit->matched = 1;
            id = hit->id;
            int same = strcmp(hit->start, ev->start) == 0 && strcmp(hit->end, ev->end) == 0;
            if (!same || strcmp(hit->summary, ev->summary) != 0) {
                char idb[24];
                const char *p[] = {store_ll_param(id, idb), ev->start, ev->end, ev->summary, nowb};
                rc = db_exec(c, upd, 5, p, NULL);
            }
            place = !same || !hit->covered || hit->conflicts > 0;
        } else {
            struct db_result *r = NULL;
            const char *p[] = {feed, ev->uid, ev->start, ev->end, ev->summary, nowb};
            rc = db_exec(c, ins, 6, p, &r);
            id = store_col_ll(r, 0, 0);
            db_result_free(r);
        }
        if (rc == DB_OK && place) {
            todo[*ntodo].id = id;
            todo[*ntodo].s = day_of(ev->start);
            todo[*ntodo].e = day_of(ev->end);
            todo[*ntodo].uid = ev->uid;
            todo[*ntodo].summary = ev->summary;
            (*ntodo)++;
        }
    }
    for (int i = 0; i < nst && rc == DB_OK; i++) {
        if (st[i].matched || protected_by_quarantine(f, st[i].uid))
            continue;
        char idb[24];
        const char *p[] = {store_ll_param(st[i].id, idb)};
        if ((rc = db_exec(c, unclaim, 1, p, NULL)) == DB_OK)
            rc = db_exec(c, del, 1, p, NULL); /* its blocks and conflicts cascade */
        res->removed++;
    }
    return rc;
}

static int by_id(const void *a, const void *b)
{
    long long x = ((const struct todo *)a)->id, y = ((const struct todo *)b)->id;
    return x < y ? -1 : x > y;
}

int store_ical_apply(struct db *db, const struct ical_apply *in, struct ical_apply_result *out)
{
    static const char *lock_pg =
        "SELECT f.accommodation_id, f.name, a.name FROM ical_feeds f JOIN accommodations a ON a.id = "
        "f.accommodation_id WHERE f.id = CAST($1 AS bigint) FOR UPDATE OF f";
    static const char *lock_lite =
        "SELECT f.accommodation_id, f.name, a.name FROM ical_feeds f JOIN accommodations "
        "a ON a.id = f.accommodation_id WHERE f.id = CAST($1 AS bigint)";
    static const char *stored_sql =
        "SELECT e.id, e.uid, e.start_date, e.end_date, e.summary, (SELECT count(*) FROM blocks b WHERE "
        "b.ical_event_id = e.id AND b.start_date = e.start_date AND b.end_date = e.end_date), (SELECT "
        "count(*) "
        "FROM ical_conflicts k WHERE k.event_id = e.id) FROM ical_events e WHERE e.feed_id = CAST($1 AS "
        "bigint)";
    /* events of the accommodation whose nights may have changed hands since: partly covered, or clashing */
    static const char *open_sql =
        "SELECT e.id, e.start_date, e.end_date, e.uid, e.summary, f.name, f.id FROM ical_events e JOIN "
        "ical_feeds f ON f.id = e.feed_id WHERE f.accommodation_id = CAST($1 AS bigint) AND e.end_date > $2 "
        "AND (EXISTS (SELECT 1 FROM ical_conflicts k WHERE k.event_id = e.id) OR NOT EXISTS (SELECT 1 FROM "
        "blocks b WHERE b.ical_event_id = e.id AND b.start_date = e.start_date AND b.end_date = e.end_date)) "
        "ORDER BY e.start_date, e.id LIMIT 5000";
    static const char *status_sql =
        "UPDATE ical_feeds SET last_sync_at = CAST($2 AS bigint), last_success_at = CAST($2 AS bigint), "
        "last_status = $3, last_error = NULL, event_count = (SELECT count(*) FROM ical_events WHERE feed_id "
        "= "
        "CAST($1 AS bigint)), quarantined = COALESCE(CAST($4 AS integer), quarantined), quarantine = "
        "COALESCE($5, quarantine), etag = CASE WHEN $8 = '1' THEN $6 ELSE etag END, last_modified = CASE "
        "WHEN "
        "$8 = '1' THEN $7 ELSE last_modified END, failures = 0, next_attempt_at = CAST($9 AS bigint) WHERE "
        "id = "
        "CAST($1 AS bigint)";
    static const char *counts_sql =
        "SELECT (SELECT count(*) FROM ical_events WHERE feed_id = CAST($1 AS bigint)), (SELECT count(*) FROM "
        "ical_conflicts k JOIN ical_events e ON e.id = k.event_id WHERE e.feed_id = CAST($1 AS bigint))";
    struct db_conn *c = NULL;
    struct db_result *r = NULL, *open = NULL;
    struct stored_event *st = NULL;
    struct todo *todo = NULL;
    char *qjson = NULL;
    int nst = 0, ntodo = 0;
    char feed[24], feed_name[ICAL_FEED_NAME_MAX + 1], acc_name[ACC_NAME_MAX + 1];
    const struct ical_feed *f = in->parsed;
    memset(out, 0, sizeof *out);
    store_ll_param(in->feed_id, feed);
    const char *pf[] = {feed};
    int rc = db_acquire(db, &c);
    if (rc != DB_OK)
        return rc;
    if ((rc = db_begin(c)) != DB_OK)
        goto out;
    rc = db_exec(c, db_conn_engine(c) == DB_ENGINE_POSTGRES ? lock_pg : lock_lite, 1, pf, &r);
    if (rc == DB_OK && db_result_rows(r) == 0)
        rc = STORE_NOT_FOUND;
    if (rc != DB_OK)
        goto rollback;
    out->accommodation_id = store_col_ll(r, 0, 0);
    store_col_str(r, 0, 1, feed_name, sizeof feed_name);
    store_col_str(r, 0, 2, acc_name, sizeof acc_name);
    db_result_free(r);
    r = NULL;

    if (f) {
        if ((rc = db_exec(c, stored_sql, 1, pf, &r)) != DB_OK)
            goto rollback;
        st = store_rows_read(r, sizeof *st, read_stored, &nst);
        db_result_free(r);
        r = NULL;
        if (nst)
            qsort(st, (size_t)nst, sizeof *st, by_uid);
        /* the lost-events rule: a feed that suddenly lost more than half of its future events is more
         * likely broken than emptied */
        for (int i = 0; i < nst; i++)
            if (strcmp(st[i].end, in->today) > 0) {
                out->old_future++;
                if (protected_by_quarantine(f, st[i].uid))
                    out->new_future++;
            }
        for (int i = 0; i < f->nevents; i++)
            if (strcmp(f->events[i].end, in->today) > 0)
                out->new_future++;
        if (!in->force && out->old_future >= ICAL_LOST_MIN_BEFORE && out->new_future * 2 < out->old_future) {
            rc = STORE_ICAL_LOST_EVENTS;
            goto rollback;
        }
        todo = calloc((size_t)f->nevents + 1, sizeof *todo);
        if (!todo)
            abort();
        if ((rc = upsert_events(c, in, st, nst, todo, &ntodo, out)) != DB_OK)
            goto rollback;
    }

    /* place what changed, then re-check the accommodation's open events (nights freed meanwhile) */
    struct place_ctx pc = {
        c, out->accommodation_id, in->now, out, in->actor ? in->actor : "job:ical", NULL, 0, NULL, acc_name};
    for (int i = 0; i < ntodo && rc == DB_OK; i++)
        rc = place_event(&pc, todo[i].id, todo[i].uid, todo[i].s, todo[i].e, feed_name, todo[i].summary,
                         in->feed_id);
    if (rc != DB_OK)
        goto rollback;
    if (ntodo)
        qsort(todo, (size_t)ntodo, sizeof *todo, by_id);
    char acc[24];
    const char *po[] = {store_ll_param(out->accommodation_id, acc), in->today};
    if ((rc = db_exec(c, open_sql, 2, po, &open)) != DB_OK)
        goto rollback;
    for (int i = 0; i < db_result_rows(open) && rc == DB_OK; i++) {
        struct todo key = {.id = store_col_ll(open, i, 0)};
        if (ntodo && bsearch(&key, todo, (size_t)ntodo, sizeof *todo, by_id))
            continue; /* placed just now */
        rc = place_event(&pc, key.id, db_result_value(open, i, 3), day_of(db_result_value(open, i, 1)),
                         day_of(db_result_value(open, i, 2)), db_result_value(open, i, 5),
                         db_result_value(open, i, 4), store_col_ll(open, i, 6));
    }
    if (rc != DB_OK)
        goto rollback;

    char nowb[24], qn[24], next[24];
    if (f)
        qjson = quarantine_json(f);
    const char *ps[] = {feed,
                        store_ll_param(in->now, nowb),
                        f ? "ok" : "not_modified",
                        f ? store_ll_param(f->nquarantine, qn) : NULL,
                        qjson,
                        in->etag,
                        in->last_modified,
                        in->set_validators ? "1" : "0",
                        store_ll_param(in->next_attempt_at, next)};
    if ((rc = db_exec(c, status_sql, 9, ps, NULL)) != DB_OK)
        goto rollback;
    if ((rc = db_exec(c, counts_sql, 1, pf, &r)) != DB_OK)
        goto rollback;
    out->events = (int)store_col_ll(r, 0, 0);
    out->conflicts = (int)store_col_ll(r, 0, 1);
    if ((rc = db_commit(c)) != DB_OK)
        goto clear;
    goto out;
rollback:
    db_rollback(c);
clear:
    if (rc != STORE_ICAL_LOST_EVENTS) {
        int old = out->old_future, nw = out->new_future;
        long long acc_id = out->accommodation_id;
        memset(out, 0, sizeof *out);
        out->old_future = old;
        out->new_future = nw;
        out->accommodation_id = acc_id;
    }
out:
    db_result_free(r);
    db_result_free(open);
    free(st);
    free(todo);
    free(qjson);
    db_release(db, c);
    return rc;
}

/* --- conflicts, export, freshness --- */

static void read_conflict(const struct db_result *r, int row, void *p)
{
    struct ical_conflict_info *x = p;
    memset(x, 0, sizeof *x);
    x->id = store_col_ll(r, row, 0);
    x->accommodation_id = store_col_ll(r, row, 1);
    x->feed_id = store_col_ll(r, row, 2);
    store_col_str(r, row, 3, x->feed_name, sizeof x->feed_name);
    store_col_str(r, row, 4, x->uid, sizeof x->uid);
    store_col_str(r, row, 5, x->event_start, sizeof x->event_start);
    store_col_str(r, row, 6, x->event_end, sizeof x->event_end);
    store_col_str(r, row, 7, x->summary, sizeof x->summary);
    store_col_str(r, row, 8, x->start, sizeof x->start);
    store_col_str(r, row, 9, x->end, sizeof x->end);
    store_col_str(r, row, 10, x->code, sizeof x->code);
    store_col_str(r, row, 11, x->check_in, sizeof x->check_in);
    store_col_str(r, row, 12, x->check_out, sizeof x->check_out);
    store_col_str(r, row, 13, x->status, sizeof x->status);
    x->expires_at = store_col_ll(r, row, 14);
    x->detected_at = store_col_ll(r, row, 15);
}

int store_ical_conflict_list(struct db *db, long long accommodation_id, struct ical_conflict_info **out,
                             int *n)
{
    static const char *sql =
        "SELECT k.id, f.accommodation_id, f.id, f.name, e.uid, e.start_date, e.end_date, e.summary, "
        "k.start_date, k.end_date, r.code, r.check_in, r.check_out, r.status, r.expires_at, k.detected_at "
        "FROM "
        "ical_conflicts k JOIN ical_events e ON e.id = k.event_id JOIN ical_feeds f ON f.id = e.feed_id JOIN "
        "reservations r ON r.id = k.reservation_id WHERE (CAST($1 AS bigint) = 0 OR f.accommodation_id = "
        "CAST($1 AS bigint)) ORDER BY k.start_date, k.id LIMIT 500";
    char acc[24];
    const char *p[] = {store_ll_param(accommodation_id, acc)};
    void *rows = NULL;
    int rc = store_read_rows(db, sql, 1, p, sizeof **out, read_conflict, &rows, n);
    *out = rows;
    return rc;
}

static void read_export(const struct db_result *r, int row, void *p)
{
    struct ical_export_row *x = p;
    memset(x, 0, sizeof *x);
    const char *k = db_result_value(r, row, 0);
    x->kind = k ? k[0] : 'b';
    x->id = store_col_ll(r, row, 1);
    store_col_str(r, row, 2, x->start, sizeof x->start);
    store_col_str(r, row, 3, x->end, sizeof x->end);
    store_col_str(r, row, 4, x->status, sizeof x->status);
    x->stamp = store_col_ll(r, row, 5);
}

int store_ical_export_rows(struct db *db, long long accommodation_id, long long exclude_feed_id,
                           long long now, const char *since, struct ical_export_row **out, int *n)
{
    static const char *sql =
        "SELECT 'r', r.id, r.check_in, r.check_out, r.status, r.updated_at FROM reservations r WHERE "
        "r.accommodation_id = CAST($1 AS bigint) AND r.check_out > $3 AND (r.status = 'confirmed' OR "
        "(r.status = 'pre_reserved' AND r.expires_at > CAST($2 AS bigint))) "
        "UNION ALL SELECT 'b', b.id, b.start_date, b.end_date, '', b.created_at FROM blocks b LEFT JOIN "
        "ical_events e ON e.id = b.ical_event_id WHERE b.accommodation_id = CAST($1 AS bigint) AND "
        "b.end_date "
        "> $3 AND (e.feed_id IS NULL OR e.feed_id <> CAST($4 AS bigint)) ORDER BY 3, 1, 2 LIMIT 10000";
    char acc[24], nowb[24], ex[24];
    const char *p[] = {store_ll_param(accommodation_id, acc), store_ll_param(now, nowb), since,
                       store_ll_param(exclude_feed_id, ex)};
    void *rows = NULL;
    int rc = store_read_rows(db, sql, 4, p, sizeof **out, read_export, &rows, n);
    *out = rows;
    return rc;
}

int store_ical_freshness(struct db *db, long long before, int *feeds, int *stale)
{
    static const char *sql =
        "SELECT count(*), COALESCE(SUM(CASE WHEN COALESCE(f.last_success_at, f.created_at) < CAST($1 AS "
        "bigint) "
        "THEN 1 ELSE 0 END), 0) FROM ical_feeds f JOIN accommodations a ON a.id = f.accommodation_id WHERE "
        "a.active = 1";
    char b[24];
    const char *p[] = {store_ll_param(before, b)};
    struct db_result *r = NULL;
    *feeds = *stale = 0;
    int rc;
    if ((rc = db_exec_once(db, sql, 1, p, &r)) == DB_OK) {
        *feeds = (int)store_col_ll(r, 0, 0);
        *stale = (int)store_col_ll(r, 0, 1);
    }
    db_result_free(r);
    return rc;
}

int store_ical_job_trylock(struct db *db, struct db_conn **held, int *got)
{
    static const char *sql = "SELECT pg_try_advisory_lock(" PG_ICAL_JOB_LOCK_KEY ")";
    *held = NULL;
    *got = 0;
    if (db_engine_of(db) != DB_ENGINE_POSTGRES) {
        *got = 1;
        return DB_OK;
    }
    struct db_conn *c = NULL;
    struct db_result *r = NULL;
    int rc = db_acquire(db, &c);
    if (rc != DB_OK)
        return rc;
    if ((rc = db_exec(c, sql, 0, NULL, &r)) == DB_OK) {
        const char *v = db_result_value(r, 0, 0);
        *got = v && (v[0] == 't' || v[0] == '1');
    }
    db_result_free(r);
    if (rc == DB_OK && *got)
        *held = c;
    else
        db_release(db, c);
    return rc;
}

void store_ical_job_unlock(struct db *db, struct db_conn *held)
{
    static const char *sql = "SELECT pg_advisory_unlock(" PG_ICAL_JOB_LOCK_KEY ")";
    if (!held)
        return;
    db_exec(held, sql, 0, NULL, NULL); /* a lost connection released the lock already */
    db_release(db, held);
}
