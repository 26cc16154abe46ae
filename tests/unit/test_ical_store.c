/* test_ical_store.c - store_ical_apply() and friends against a real SQLite file (all migrations applied):
 * upsert by UID, removal frees nights, unchanged feeds write nothing, conflicts with our stays (stored with
 * the shared nights, the rest blocked, the owner told through the outbox, never duplicated, resolved when
 * our stay goes), nights covered by other blocks, the lost-events rule, quarantined UIDs keeping their
 * rows, feed deletion, the export rows and the freshness count. After every step the claims table is
 * checked for two claims sharing a night: the no-overlap guarantee must hold whatever the import does. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"
#include "store/booking_store.h"
#include "store/db.h"
#include "store/ical_store.h"
#include "store/migrate.h"

#include "sqlite_fixture.h"

#define NOW 1796160000LL /* 2026-12-01T21:20:00Z */
#define TODAY "2026-12-01"

struct fixture {
    char dir[64];
    struct config cfg;
    struct db *db;
    long long acc, feed, feed2;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    *state = f;
    snprintf(f->dir, sizeof f->dir, "/tmp/cabanas-test-icalstore-XXXXXX");
    if (sqlite_fixture_open(f->dir, &f->cfg, &f->db) < 0)
        return -1;
    struct accommodation a = {0};
    snprintf(a.name, sizeof a.name, "Cabaña test");
    snprintf(a.type, sizeof a.type, "cabin");
    a.capacity = 4;
    a.base_cents = 100000;
    a.weekend_multiplier_bp = 10000;
    a.min_nights = 1;
    a.max_nights = 30;
    snprintf(a.currency, sizeof a.currency, "ARS");
    snprintf(a.amenities, sizeof a.amenities, "[]");
    snprintf(a.photos, sizeof a.photos, "[]");
    snprintf(a.policies, sizeof a.policies, "{}");
    a.active = 1;
    if (store_accommodation_create(f->db, &a, NOW, "test") != DB_OK)
        return -1;
    f->acc = a.id;
    struct ical_feed_info fi = {0};
    fi.accommodation_id = a.id;
    snprintf(fi.name, sizeof fi.name, "Airbnb");
    snprintf(fi.url, sizeof fi.url, "https://www.airbnb.com/calendar/ical/1.ics?s=secret");
    if (store_ical_feed_create(f->db, &fi, NOW, "test") != DB_OK)
        return -1;
    f->feed = fi.id;
    snprintf(fi.name, sizeof fi.name, "Booking.com");
    snprintf(fi.url, sizeof fi.url, "https://admin.booking.com/hotel/ical/2.ics");
    if (store_ical_feed_create(f->db, &fi, NOW, "test") != DB_OK)
        return -1;
    f->feed2 = fi.id;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    sqlite_fixture_close(f->dir, f->db);
    free(f);
    return 0;
}

/* --- helpers --- */

static long long count(struct fixture *f, const char *sql)
{
    struct db_conn *c = NULL;
    struct db_result *r = NULL;
    assert_int_equal(db_acquire(f->db, &c), DB_OK);
    assert_int_equal(db_exec(c, sql, 0, NULL, &r), DB_OK);
    long long v = strtoll(db_result_value(r, 0, 0), NULL, 10);
    db_result_free(r);
    db_release(f->db, c);
    return v;
}

static void assert_no_overlap(struct fixture *f)
{
    static const char *sql = "SELECT count(*) FROM stay_claims a JOIN stay_claims b ON a.id < b.id AND "
                             "a.accommodation_id = b.accommodation_id AND a.check_in < b.check_out AND "
                             "b.check_in < a.check_out";
    assert_int_equal(count(f, sql), 0);
    /* and every block and active stay has its claim */
    static const char *unclaimed =
        "SELECT count(*) FROM blocks b WHERE NOT EXISTS (SELECT 1 FROM stay_claims c "
        "WHERE c.block_id = b.id AND c.check_in = b.start_date AND c.check_out = "
        "b.end_date)";
    assert_int_equal(count(f, unclaimed), 0);
}

struct feed_builder {
    struct ical_feed feed;
    struct ical_event ev[16];
    struct ical_quarantined q[4];
};

static struct ical_feed *build(struct feed_builder *b, const char *const *rows)
{
    memset(b, 0, sizeof *b);
    b->feed.events = b->ev;
    b->feed.quarantine = b->q;
    for (int i = 0; rows && rows[i]; i += 3) {
        struct ical_event *e = &b->ev[b->feed.nevents++];
        snprintf(e->uid, sizeof e->uid, "%s", rows[i]);
        snprintf(e->start, sizeof e->start, "%s", rows[i + 1]);
        snprintf(e->end, sizeof e->end, "%s", rows[i + 2]);
        snprintf(e->summary, sizeof e->summary, "Reserved");
    }
    return &b->feed;
}

static int apply(struct fixture *f, long long feed, const struct ical_feed *parsed, int force,
                 struct ical_apply_result *res)
{
    struct ical_apply in = {0};
    in.feed_id = feed;
    in.parsed = parsed;
    in.today = TODAY;
    in.now = NOW;
    in.force = force;
    in.set_validators = parsed != NULL;
    in.etag = "\"v1\"";
    in.next_attempt_at = NOW + 270;
    int rc = store_ical_apply(f->db, &in, res);
    assert_no_overlap(f);
    return rc;
}

/* The blocks as "start..end" lines, sorted by start. */
static void blocks_as_text(struct fixture *f, char *out, size_t outlen)
{
    struct block *items = NULL;
    int n = 0;
    assert_int_equal(store_block_list(f->db, f->acc, &items, &n), DB_OK);
    size_t used = 0;
    out[0] = '\0';
    for (int i = 0; i < n; i++)
        used += (size_t)snprintf(out + used, outlen - used, "%s..%s %s\n", items[i].start, items[i].end,
                                 items[i].source);
    free(items);
}

static struct reservation hold(struct fixture *f, const char *in, const char *out)
{
    struct hold_request h = {0};
    h.accommodation_id = f->acc;
    snprintf(h.check_in, sizeof h.check_in, "%s", in);
    snprintf(h.check_out, sizeof h.check_out, "%s", out);
    h.guests = 2;
    h.guest_name = "Ana Gómez";
    h.guest_phone = "5491155550000";
    h.channel = "web";
    h.nights = 1;
    h.total_cents = 1000;
    h.deposit_cents = 300;
    h.deposit_percent = 30;
    h.currency = "ARS";
    h.expires_at = NOW + 3600;
    struct reservation r;
    int expired = 0;
    assert_int_equal(store_hold_create(f->db, &h, NOW, &r, &expired), DB_OK);
    return r;
}

/* --- tests --- */

static void test_upsert_remove_and_unchanged(void **state)
{
    struct fixture *f = *state;
    struct feed_builder b;
    struct ical_apply_result res;
    char text[2048];
    const char *first[] = {"a@x", "2026-12-10", "2026-12-13", "b@x", "2027-01-05", "2027-01-07", NULL};
    assert_int_equal(apply(f, f->feed, build(&b, first), 0, &res), DB_OK);
    assert_int_equal(res.events, 2);
    assert_int_equal(res.placed, 2);
    assert_int_equal(res.new_conflicts, 0);
    blocks_as_text(f, text, sizeof text);
    char want[256];
    snprintf(want, sizeof want, "2026-12-10..2026-12-13 ical:%lld\n2027-01-05..2027-01-07 ical:%lld\n",
             f->feed, f->feed);
    assert_string_equal(text, want);
    long long ids = count(f, "SELECT sum(id) FROM blocks");

    /* the same feed again: nothing written */
    assert_int_equal(apply(f, f->feed, build(&b, first), 0, &res), DB_OK);
    assert_int_equal(res.placed, 0);
    assert_int_equal(res.removed, 0);
    assert_int_equal(count(f, "SELECT sum(id) FROM blocks"), ids);

    /* a moved event moves its block; a gone one frees its nights */
    const char *second[] = {"a@x", "2026-12-11", "2026-12-15", NULL};
    assert_int_equal(apply(f, f->feed, build(&b, second), 0, &res), DB_OK);
    assert_int_equal(res.removed, 1);
    assert_int_equal(res.events, 1);
    blocks_as_text(f, text, sizeof text);
    snprintf(want, sizeof want, "2026-12-11..2026-12-15 ical:%lld\n", f->feed);
    assert_string_equal(text, want);
    struct reservation r = hold(f, "2027-01-05", "2027-01-07"); /* the freed nights can be booked */
    assert_string_equal(r.status, "pre_reserved");

    struct ical_feed_info fi;
    assert_int_equal(store_ical_feed_get(f->db, f->acc, f->feed, &fi), DB_OK);
    assert_string_equal(fi.last_status, "ok");
    assert_int_equal(fi.last_success_at, NOW);
    assert_int_equal(fi.event_count, 1);
    assert_string_equal(fi.etag, "\"v1\"");
    assert_int_equal(fi.next_attempt_at, NOW + 270);

    /* 304: nothing changes, the status says so */
    assert_int_equal(apply(f, f->feed, NULL, 0, &res), DB_OK);
    assert_int_equal(store_ical_feed_get(f->db, f->acc, f->feed, &fi), DB_OK);
    assert_string_equal(fi.last_status, "not_modified");
    assert_int_equal(fi.event_count, 1);
}

static void test_conflict_with_our_stay(void **state)
{
    struct fixture *f = *state;
    struct reservation r = hold(f, "2026-12-12", "2026-12-14");
    struct feed_builder b;
    struct ical_apply_result res;
    char text[2048], want[512];
    /* the channel's event spans our stay: its nights on both sides are blocked, ours stay ours */
    const char *ev[] = {"clash@x", "2026-12-10", "2026-12-16", NULL};
    assert_int_equal(apply(f, f->feed, build(&b, ev), 0, &res), DB_OK);
    assert_int_equal(res.new_conflicts, 1);
    assert_int_equal(res.conflicts, 1);
    assert_string_equal(res.new_list[0].code, r.code);
    assert_string_equal(res.new_list[0].start, "2026-12-12");
    assert_string_equal(res.new_list[0].end, "2026-12-14");
    assert_string_equal(res.new_list[0].uid, "clash@x");
    blocks_as_text(f, text, sizeof text);
    snprintf(want, sizeof want, "2026-12-10..2026-12-12 ical:%lld\n2026-12-14..2026-12-16 ical:%lld\n",
             f->feed, f->feed);
    assert_string_equal(text, want);
    struct reservation now;
    assert_int_equal(store_reservation_get(f->db, r.code, &now), DB_OK);
    assert_string_equal(now.status, "pre_reserved"); /* never cancelled automatically */
    assert_int_equal(count(f, "SELECT count(*) FROM outbox WHERE template = 'ical_conflict' AND channel = "
                              "'email' AND recipient = 'owner'"),
                     1);
    assert_int_equal(count(f, "SELECT count(*) FROM audit_log WHERE action = 'ical_conflict.detected'"), 1);
    /* the slots of the notifier's ical_conflict template: start/end are the shared nights */
    assert_int_equal(
        count(f, "SELECT count(*) FROM outbox WHERE payload LIKE '%\"accommodation_name\":\"Cabaña "
                 "test\"%' AND payload LIKE '%\"start\":\"2026-12-12\",\"end\":\"2026-12-14\"%' "
                 "AND payload LIKE '%\"summary\":\"Reserved\"%' AND payload LIKE '%\"feed\":\"Airbnb\"%'"),
        1);

    struct ical_conflict_info *list = NULL;
    int n = 0;
    assert_int_equal(store_ical_conflict_list(f->db, 0, &list, &n), DB_OK);
    assert_int_equal(n, 1);
    assert_string_equal(list[0].uid, "clash@x");
    assert_string_equal(list[0].event_start, "2026-12-10");
    assert_string_equal(list[0].event_end, "2026-12-16");
    assert_string_equal(list[0].code, r.code);
    assert_string_equal(list[0].check_in, "2026-12-12");
    assert_string_equal(list[0].feed_name, "Airbnb");
    free(list);

    /* the same clash again: no second conflict, no second message */
    assert_int_equal(apply(f, f->feed, build(&b, ev), 0, &res), DB_OK);
    assert_int_equal(res.new_conflicts, 0);
    assert_int_equal(res.conflicts, 1);
    assert_int_equal(count(f, "SELECT count(*) FROM outbox WHERE template = 'ical_conflict'"), 1);

    /* our guest cancels: at the next sync (even a 304) the conflict is gone and all the nights blocked */
    struct reservation out;
    assert_int_equal(store_reservation_cancel(f->db, r.code, "test", NOW, "test", &out), DB_OK);
    assert_int_equal(apply(f, f->feed, NULL, 0, &res), DB_OK);
    assert_int_equal(res.conflicts, 0);
    blocks_as_text(f, text, sizeof text);
    snprintf(want, sizeof want, "2026-12-10..2026-12-16 ical:%lld\n", f->feed);
    assert_string_equal(text, want);
    assert_int_equal(count(f, "SELECT count(*) FROM ical_conflicts"), 0);
}

static void test_covered_by_other_blocks(void **state)
{
    struct fixture *f = *state;
    struct block manual = {0};
    manual.accommodation_id = f->acc;
    snprintf(manual.start, sizeof manual.start, "2026-12-20");
    snprintf(manual.end, sizeof manual.end, "2026-12-22");
    snprintf(manual.source, sizeof manual.source, "manual");
    int expired = 0;
    assert_int_equal(store_block_create(f->db, &manual, NOW, "test", &expired), DB_OK);
    struct feed_builder b;
    struct ical_apply_result res;
    char text[2048], want[512];
    /* a block is not a double booking: the event simply blocks what is left */
    const char *ev[] = {"e@x", "2026-12-19", "2026-12-23", NULL};
    assert_int_equal(apply(f, f->feed, build(&b, ev), 0, &res), DB_OK);
    assert_int_equal(res.new_conflicts, 0);
    /* another feed echoing the same nights: covered, no conflict */
    const char *echo[] = {"echo@y", "2026-12-19", "2026-12-24", NULL};
    struct feed_builder b2;
    assert_int_equal(apply(f, f->feed2, build(&b2, echo), 0, &res), DB_OK);
    assert_int_equal(res.new_conflicts, 0);
    blocks_as_text(f, text, sizeof text);
    snprintf(
        want, sizeof want,
        "2026-12-19..2026-12-20 ical:%lld\n2026-12-20..2026-12-22 manual\n2026-12-22..2026-12-23 ical:%lld\n"
        "2026-12-23..2026-12-24 ical:%lld\n",
        f->feed, f->feed, f->feed2);
    assert_string_equal(text, want);
    /* the manual block goes: the next sync of either feed re-covers those nights */
    assert_int_equal(store_block_delete(f->db, f->acc, manual.id, NOW, "test"), DB_OK);
    assert_int_equal(apply(f, f->feed2, NULL, 0, &res), DB_OK);
    blocks_as_text(f, text, sizeof text);
    snprintf(want, sizeof want, "2026-12-19..2026-12-23 ical:%lld\n2026-12-23..2026-12-24 ical:%lld\n",
             f->feed, f->feed2);
    assert_string_equal(text, want); /* the event is whole again: one block */
    /* deleting a feed frees exactly its nights */
    assert_int_equal(store_ical_feed_delete(f->db, f->acc, f->feed, "test", NOW), DB_OK);
    assert_no_overlap(f);
    assert_int_equal(apply(f, f->feed2, NULL, 0, &res), DB_OK); /* feed2 now takes all of its nights */
    blocks_as_text(f, text, sizeof text);
    snprintf(want, sizeof want, "2026-12-19..2026-12-24 ical:%lld\n", f->feed2);
    assert_string_equal(text, want);
    assert_int_equal(store_ical_feed_delete(f->db, f->acc, f->feed2, "test", NOW), DB_OK);
    assert_int_equal(count(f, "SELECT count(*) FROM blocks"), 0);
    assert_int_equal(count(f, "SELECT count(*) FROM stay_claims"), 0);
    assert_int_equal(count(f, "SELECT count(*) FROM ical_events"), 0);
    assert_int_equal(store_ical_feed_delete(f->db, f->acc, f->feed2, "test", NOW), STORE_NOT_FOUND);
    assert_int_equal(count(f, "SELECT count(*) FROM audit_log WHERE action = 'feed.deleted'"), 2);
}

static void test_lost_events_rule(void **state)
{
    struct fixture *f = *state;
    struct feed_builder b;
    struct ical_apply_result res;
    const char *four[] = {"1",   "2026-12-10", "2026-12-11", "2", "2026-12-12", "2026-12-13",
                          "3",   "2026-12-14", "2026-12-15", "4", "2026-12-16", "2026-12-17",
                          "old", "2026-11-01", "2026-11-03", NULL};
    assert_int_equal(apply(f, f->feed, build(&b, four), 0, &res), DB_OK);
    long long blocks = count(f, "SELECT count(*) FROM blocks");
    assert_int_equal(blocks, 5);
    /* two of four future events left is half: allowed; one of four is not */
    const char *one[] = {"1", "2026-12-10", "2026-12-11", "old", "2026-11-01", "2026-11-03", NULL};
    assert_int_equal(apply(f, f->feed, build(&b, one), 0, &res), STORE_ICAL_LOST_EVENTS);
    assert_int_equal(res.old_future, 4);
    assert_int_equal(res.new_future, 1);
    assert_int_equal(count(f, "SELECT count(*) FROM blocks"), blocks); /* nothing written */
    /* a quarantined event still counts as there, and keeps its row */
    struct ical_feed *fd = build(&b, one);
    snprintf(b.q[0].uid, sizeof b.q[0].uid, "2");
    b.q[0].reason = "invalid_date";
    fd->nquarantine = 1;
    assert_int_equal(apply(f, f->feed, fd, 0, &res), DB_OK); /* 2 of 4 */
    assert_int_equal(res.removed, 2);
    assert_int_equal(count(f, "SELECT count(*) FROM ical_events WHERE uid = '2'"), 1);
    assert_int_equal(count(f, "SELECT count(*) FROM blocks"), 3);
    struct ical_feed_info fi;
    assert_int_equal(store_ical_feed_get(f->db, f->acc, f->feed, &fi), DB_OK);
    assert_int_equal(fi.quarantined, 1);
    assert_non_null(strstr(fi.quarantine, "invalid_date"));
    /* force: the admin accepts the loss */
    const char *none[] = {NULL};
    assert_int_equal(apply(f, f->feed, build(&b, none), 0, &res), DB_OK); /* 2 before: below the minimum */
    assert_int_equal(count(f, "SELECT count(*) FROM blocks"), 0);
    assert_int_equal(apply(f, f->feed, build(&b, four), 0, &res), DB_OK);
    assert_int_equal(apply(f, f->feed, build(&b, none), 0, &res), STORE_ICAL_LOST_EVENTS);
    assert_int_equal(apply(f, f->feed, build(&b, none), 1, &res), DB_OK);
    assert_int_equal(count(f, "SELECT count(*) FROM blocks"), 0);
}

static void test_failures_backoff_and_freshness(void **state)
{
    struct fixture *f = *state;
    int feeds = 0, stale = 0;
    assert_int_equal(store_ical_freshness(f->db, NOW - 3600, &feeds, &stale), DB_OK);
    assert_int_equal(feeds, 2);
    assert_int_equal(stale, 0); /* new feeds count from when they were added */
    assert_int_equal(store_ical_freshness(f->db, NOW + 1, &feeds, &stale), DB_OK);
    assert_int_equal(stale, 2);
    for (int i = 0; i < 6; i++)
        assert_int_equal(store_ical_feed_mark_failed(f->db, f->feed, NOW, "http_status: 500", 300), DB_OK);
    struct ical_feed_info fi;
    assert_int_equal(store_ical_feed_get(f->db, f->acc, f->feed, &fi), DB_OK);
    assert_string_equal(fi.last_status, "failed");
    assert_string_equal(fi.last_error, "http_status: 500");
    assert_int_equal(fi.failures, 6);
    assert_int_equal(fi.next_attempt_at, NOW + 300 * 12); /* 1, 2, 4, 8, then 12 intervals */
    long long *due = NULL;
    int n = 0;
    assert_int_equal(store_ical_feeds_due(f->db, NOW + 300 * 12 - 1, &due, &n), DB_OK);
    assert_int_equal(n, 1);
    assert_int_equal(due[0], f->feed2);
    free(due);
    struct ical_apply_result res;
    assert_int_equal(apply(f, f->feed, NULL, 0, &res), DB_OK);
    assert_int_equal(store_ical_feed_get(f->db, f->acc, f->feed, &fi), DB_OK);
    assert_int_equal(fi.failures, 0);
    assert_true(fi.last_error[0] == '\0');
    assert_int_equal(fi.last_success_at, NOW);
    assert_int_equal(store_ical_freshness(f->db, NOW, &feeds, &stale), DB_OK);
    assert_int_equal(stale, 0);
}

static void test_export_rows(void **state)
{
    struct fixture *f = *state;
    struct reservation r = hold(f, "2026-12-02", "2026-12-04");
    struct feed_builder b;
    struct ical_apply_result res;
    const char *a[] = {"a", "2026-12-10", "2026-12-12", NULL};
    const char *c[] = {"c", "2026-12-20", "2026-12-22", "past", "2026-10-01", "2026-10-03", NULL};
    assert_int_equal(apply(f, f->feed, build(&b, a), 0, &res), DB_OK);
    assert_int_equal(apply(f, f->feed2, build(&b, c), 0, &res), DB_OK);
    struct ical_export_row *rows = NULL;
    int n = 0;
    assert_int_equal(store_ical_export_rows(f->db, f->acc, 0, NOW, "2026-11-01", &rows, &n), DB_OK);
    assert_int_equal(n, 3); /* the hold and two blocks; the October one is too old */
    assert_int_equal(rows[0].kind, 'r');
    assert_string_equal(rows[0].start, r.check_in);
    assert_string_equal(rows[0].status, "pre_reserved");
    assert_string_equal(rows[1].start, "2026-12-10");
    assert_string_equal(rows[2].start, "2026-12-20");
    free(rows);
    /* the calendar given to feed 2 leaves out feed 2's own events */
    assert_int_equal(store_ical_export_rows(f->db, f->acc, f->feed2, NOW, "2026-11-01", &rows, &n), DB_OK);
    assert_int_equal(n, 2);
    assert_string_equal(rows[1].start, "2026-12-10");
    free(rows);
    /* an expired hold is not shown */
    assert_int_equal(store_ical_export_rows(f->db, f->acc, 0, NOW + 7200, "2026-11-01", &rows, &n), DB_OK);
    assert_int_equal(n, 2);
    assert_int_equal(rows[0].kind, 'b');
    free(rows);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_upsert_remove_and_unchanged, setup, teardown),
        cmocka_unit_test_setup_teardown(test_conflict_with_our_stay, setup, teardown),
        cmocka_unit_test_setup_teardown(test_covered_by_other_blocks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lost_events_rule, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failures_backoff_and_freshness, setup, teardown),
        cmocka_unit_test_setup_teardown(test_export_rows, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
