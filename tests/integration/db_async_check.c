/* db_async_check.c - drives store/db_async.c against the PostgreSQL of DATABASE_URL (the integration
 * suite's), for what the HTTP server cannot provoke on demand: queries that share one Sync (a batch)
 * with a query that fails. Run by test_booking.py; prints one line per check and exits 0 when all pass.
 *
 * What must hold: a query before the failing one answers its rows; the failing one its error; the ones
 * after it in the batch, which PostgreSQL skipped, DB_UNAVAILABLE (their callers go the blocking way);
 * the connection goes on (same backend) unless a skipped query carried a Parse, when it starts over and
 * that statement works again; a transaction closes the open batch first; batches past
 * DB_ASYNC_BATCH_MAX keep every answer in order. */
#include "core/config.h"
#include "store/db.h"
#include "store/db_async.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_QUERIES 64

static const char sql_value[] = "SELECT CAST($1 AS int)";
static const char sql_divide[] = "SELECT 100 / CAST($1 AS int)";
static const char sql_backend[] = "SELECT pg_backend_pid() + 0 * CAST($1 AS int)";
static const char sql_fresh[] = "SELECT CAST($1 AS int) + 1000";

struct answer {
    int done, rc;
    char value[32];
};

static struct answer answers[MAX_QUERIES];
static int watched_fd = -1, watched_write;
static int failures;

static void watch(void *ctx, int old_fd, int fd, int want_write)
{
    (void)ctx;
    (void)old_fd;
    watched_fd = fd;
    watched_write = want_write;
}

static void on_done(struct db_result *r, int rc, void *data)
{
    struct answer *a = data;
    a->done = 1;
    a->rc = rc;
    if (rc == DB_OK && db_result_rows(r) == 1)
        snprintf(a->value, sizeof a->value, "%s", db_result_value(r, 0, 0));
}

static int send_query(struct db_async *a, int slot, const char *sql, const char *param)
{
    memset(&answers[slot], 0, sizeof answers[slot]);
    const char *params[] = {param};
    return db_async_query(a, sql, 1, params, on_done, &answers[slot]);
}

/* Sends the open batch and runs the connection until slots [0, n) are answered (5 s at most). */
static int wait_answers(struct db_async *a, int n)
{
    db_async_sync(a);
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        int all = 1;
        for (int i = 0; i < n; i++)
            all = all && answers[i].done;
        if (all)
            return 0;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec - start.tv_sec > 5 || watched_fd < 0)
            return -1;
        struct pollfd p = {watched_fd, (short)(POLLIN | (watched_write ? POLLOUT : 0)), 0};
        if (poll(&p, 1, 100) > 0)
            db_async_ready(a, (p.revents & (POLLIN | POLLHUP | POLLERR)) != 0, (p.revents & POLLOUT) != 0);
    }
}

static void check(int ok, const char *what)
{
    printf("%s: %s\n", ok ? "ok" : "FAILED", what);
    if (!ok)
        failures++;
}

static int answered(int slot, int rc, const char *value)
{
    return answers[slot].done && answers[slot].rc == rc &&
           (!value || strcmp(answers[slot].value, value) == 0);
}

int main(void)
{
    struct config cfg;
    char err[512];
    struct db *db = NULL;
    if (config_load(&cfg, NULL, err, sizeof err) < 0 || db_open(&cfg, &db, err, sizeof err) != DB_OK) {
        fprintf(stderr, "db_async_check: %s\n", err);
        return 2;
    }
    struct db_async *a = db_async_new(db, watch, NULL);
    if (!a) {
        fprintf(stderr, "db_async_check: DATABASE_URL is not PostgreSQL\n");
        return 2;
    }

    /* prepare the statements the next batch reuses, and learn the backend */
    int sent = send_query(a, 0, sql_value, "1") == DB_OK && send_query(a, 1, sql_divide, "1") == DB_OK &&
               send_query(a, 2, sql_backend, "0") == DB_OK;
    check(sent && wait_answers(a, 3) == 0 && answered(0, DB_OK, "1") && answered(1, DB_OK, "100") &&
              answered(2, DB_OK, NULL),
          "a batch of three prepared statements answers each its own rows");
    char backend[32];
    snprintf(backend, sizeof backend, "%s", answers[2].value);

    /* one batch: good, failing, skipped (already prepared): the connection goes on */
    sent = send_query(a, 0, sql_value, "7") == DB_OK && send_query(a, 1, sql_divide, "0") == DB_OK &&
           send_query(a, 2, sql_value, "8") == DB_OK;
    int waited = sent && wait_answers(a, 3) == 0;
    check(waited && answered(0, DB_OK, "7"), "the query before the failing one gets its rows");
    check(waited && answers[1].done && answers[1].rc != DB_OK && answers[1].rc != DB_UNAVAILABLE,
          "the failing query gets its error");
    check(waited && answered(2, DB_UNAVAILABLE, NULL), "the skipped query after it gets DB_UNAVAILABLE");
    sent = send_query(a, 0, sql_backend, "0") == DB_OK;
    check(sent && wait_answers(a, 1) == 0 && answered(0, DB_OK, backend),
          "the next batch runs on the same connection");

    /* a skipped query that carried a Parse: the connection starts over, the statement works after */
    sent = send_query(a, 0, sql_divide, "0") == DB_OK && send_query(a, 1, sql_fresh, "1") == DB_OK;
    waited = sent && wait_answers(a, 2) == 0;
    check(waited && answers[0].rc != DB_OK && answered(1, DB_UNAVAILABLE, NULL),
          "a skipped Parse fails its query with DB_UNAVAILABLE");
    struct timespec reconnect_bound = {1, 100000000}; /* db_async reconnects at most once a second */
    nanosleep(&reconnect_bound, NULL);
    sent = send_query(a, 0, sql_fresh, "2") == DB_OK && send_query(a, 1, sql_backend, "0") == DB_OK;
    waited = sent && wait_answers(a, 2) == 0;
    check(waited && answered(0, DB_OK, "1002"), "that statement is prepared again and answers");
    check(waited && answers[1].rc == DB_OK && strcmp(answers[1].value, backend) != 0, "on a new connection");

    /* a transaction closes the open batch: everything answers, in order */
    sent = send_query(a, 0, sql_value, "11") == DB_OK && send_query(a, 1, sql_value, "12") == DB_OK;
    memset(&answers[2], 0, sizeof answers[2]);
    const char *tx_params[] = {"13"};
    sent = sent && db_async_tx(a, sql_value, 1, tx_params, on_done, &answers[2]) == DB_OK &&
           send_query(a, 3, sql_value, "14") == DB_OK;
    waited = sent && wait_answers(a, 4) == 0;
    check(waited && answered(0, DB_OK, "11") && answered(1, DB_OK, "12") && answered(2, DB_OK, "13") &&
              answered(3, DB_OK, "14"),
          "queries, a transaction and a query after it answer in order");

    /* more queries than one batch holds */
    sent = 1;
    for (int i = 0; i < MAX_QUERIES && sent; i++) {
        char v[16];
        snprintf(v, sizeof v, "%d", 500 + i);
        sent = send_query(a, i, sql_value, v) == DB_OK;
    }
    waited = sent && wait_answers(a, MAX_QUERIES) == 0;
    int all = waited;
    for (int i = 0; i < MAX_QUERIES && all; i++) {
        char v[16];
        snprintf(v, sizeof v, "%d", 500 + i);
        all = answered(i, DB_OK, v);
    }
    check(all, "64 queries sent at once (several batches) each get their own answer");

    db_async_free(a);
    db_close(db);
    printf("%d failed\n", failures);
    return failures ? 1 : 0;
}
