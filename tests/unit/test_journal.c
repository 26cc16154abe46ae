/* test_journal.c - outbox_enqueue() against a real SQLite file (all migrations applied): without a channel
 * check every message is written, pending; with one, a message the check refuses is not written at all
 * (and counts as queued work for nobody: journal_take_pending), the others are; the check is asked with
 * the message's channel, template and recipient; a duplicate dedupe key stays one row. And
 * db_exec_commit() on SQLite, which the PostgreSQL hold uses to send its transaction in one go. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "store/db.h"
#include "store/journal.h"
#include "store/migrate.h"

#include "sqlite_fixture.h"

#define NOW 1796160000LL

struct fixture {
    char dir[64];
    struct config cfg;
    struct db *db;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    *state = f;
    snprintf(f->dir, sizeof f->dir, "/tmp/cabanas-test-journal-XXXXXX");
    return sqlite_fixture_open(f->dir, &f->cfg, &f->db);
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    journal_set_channel_check(NULL);
    sqlite_fixture_close(f->dir, f->db);
    free(f);
    return 0;
}

static char asked[256]; /* what the check was last asked: channel/template/recipient */

static int refuse_whatsapp(const char *channel, const char *template_name, const char *recipient, char *why,
                           size_t whylen)
{
    snprintf(asked, sizeof asked, "%s/%s/%s", channel, template_name, recipient);
    if (strcmp(channel, "whatsapp") != 0)
        return 1;
    snprintf(why, whylen, "whatsapp not configured");
    return 0;
}

static void enqueue(struct fixture *f, const char *channel, const char *recipient, const char *key)
{
    struct db_conn *c = NULL;
    assert_int_equal(db_acquire(f->db, &c), DB_OK);
    assert_int_equal(db_begin(c), DB_OK);
    struct outbox_message m = {.channel = channel,
                               .template_name = "hold_created",
                               .recipient = recipient,
                               .reservation_code = "RES0000000001",
                               .dedupe_key = key};
    assert_int_equal(outbox_enqueue(c, NOW, &m), DB_OK);
    assert_int_equal(db_commit(c), DB_OK);
    db_release(f->db, c);
}

/* "channel status last_error attempts" for every row, in id order, ";"-separated */
static void rows(struct fixture *f, char *out, size_t outlen)
{
    static const char *sql =
        "SELECT channel, status, COALESCE(last_error, '-'), attempts FROM outbox ORDER BY id";
    struct db_result *r = NULL;
    assert_int_equal(db_exec_once(f->db, sql, 0, NULL, &r), DB_OK);
    size_t len = 0;
    out[0] = '\0';
    for (int i = 0; i < db_result_rows(r); i++)
        len +=
            (size_t)snprintf(out + len, outlen - len, "%s%s %s %s %s", i ? ";" : "", db_result_value(r, i, 0),
                             db_result_value(r, i, 1), db_result_value(r, i, 2), db_result_value(r, i, 3));
    db_result_free(r);
}

static void test_without_a_check_every_message_is_pending(void **state)
{
    struct fixture *f = *state;
    journal_set_channel_check(NULL);
    (void)journal_take_pending();
    enqueue(f, "whatsapp", "5491155550000", "k1");
    enqueue(f, "email", "ana@example.com", "k2");
    assert_int_equal(journal_take_pending(), 2);
    assert_int_equal(journal_take_pending(), 0);
    char got[512];
    rows(f, got, sizeof got);
    assert_string_equal(got, "whatsapp pending - 0;email pending - 0");
}

static void test_refused_messages_are_not_written(void **state)
{
    struct fixture *f = *state;
    journal_set_channel_check(refuse_whatsapp);
    (void)journal_take_pending();
    enqueue(f, "whatsapp", "5491155550000", "k1");
    assert_string_equal(asked, "whatsapp/hold_created/5491155550000");
    assert_int_equal(journal_take_pending(), 0);
    enqueue(f, "email", "owner", "k2");
    assert_string_equal(asked, "email/hold_created/owner");
    enqueue(f, "email", "owner", "k2"); /* the same event again: still one message */
    assert_int_equal(journal_take_pending(), 2);
    char got[512];
    rows(f, got, sizeof got);
    assert_string_equal(got, "email pending - 0");
}

/* db_exec_commit() on SQLite: the statement and COMMIT; on a failing statement the whole transaction,
 * deferred rows included, is rolled back and the connection is usable again */
static void test_exec_commit_commits_or_rolls_back(void **state)
{
    struct fixture *f = *state;
    static const char *ok_sql = "INSERT INTO audit_log (at, actor, action, entity, entity_id) "
                                "VALUES (1, 'test', 'a.b', 'x', '1') RETURNING id";
    static const char *bad_sql = "INSERT INTO audit_log (at, actor, action, entity, entity_id) "
                                 "VALUES (1, NULL, 'a.b', 'x', '2') RETURNING id"; /* actor NOT NULL */
    journal_set_channel_check(NULL);
    struct db_conn *c = NULL;
    struct db_result *r = NULL;
    assert_int_equal(db_acquire(f->db, &c), DB_OK);
    assert_int_equal(db_begin(c), DB_OK);
    struct outbox_message m = {
        .channel = "email", .template_name = "t", .recipient = "a@example.com", .dedupe_key = "k-ok"};
    assert_int_equal(outbox_enqueue(c, NOW, &m), DB_OK);
    assert_int_equal(db_exec_commit(c, ok_sql, 0, NULL, &r), DB_OK);
    assert_int_equal(db_result_rows(r), 1);
    db_result_free(r);
    assert_int_equal(db_begin(c), DB_OK);
    m.dedupe_key = "k-bad";
    assert_int_equal(outbox_enqueue(c, NOW, &m), DB_OK);
    r = NULL;
    assert_int_not_equal(db_exec_commit(c, bad_sql, 0, NULL, &r), DB_OK);
    assert_null(r);
    db_release(f->db, c);
    char got[512];
    rows(f, got, sizeof got);
    assert_string_equal(got, "email pending - 0"); /* k-bad's message went with its transaction */
    assert_int_equal(db_exec_once(f->db, "SELECT count(*) FROM audit_log", 0, NULL, &r), DB_OK);
    assert_string_equal(db_result_value(r, 0, 0), "1");
    db_result_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_without_a_check_every_message_is_pending, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused_messages_are_not_written, setup, teardown),
        cmocka_unit_test_setup_teardown(test_exec_commit_commits_or_rolls_back, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
