/* test_migrate.c - migrations and db_exec() against a real SQLite file in a fresh mkdtemp() directory
 * per test: migrate_current() on an empty file, migrate_apply() (all, then none), the schema_migrations
 * rows, migrate_print_status(); and db_exec() with $N placeholders, NULL parameters, results of many
 * rows, UNIQUE/PRIMARY KEY violations as DB_CONFLICT, other errors as DB_ERR, and transactions.
 * The directory is removed in teardown, which fails if anything is left in it. */
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
#include "store/db.h"
#include "store/migrate.h"

struct fixture {
    char dir[64];
    struct config cfg;
    struct db *db;
    struct db_conn *conn;
};

static void remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    char path[512];
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unlink(path);
    }
    closedir(d);
}

static int open_db(struct fixture *f)
{
    char err[256] = "";
    if (db_open(&f->cfg, &f->db, err, sizeof err) != DB_OK) {
        print_error("db_open: %s\n", err);
        return -1;
    }
    if (db_acquire(f->db, &f->conn) != DB_OK) {
        print_error("db_acquire failed\n");
        return -1;
    }
    return 0;
}

static void close_db(struct fixture *f)
{
    if (f->conn)
        db_release(f->db, f->conn);
    f->conn = NULL;
    db_close(f->db);
    f->db = NULL;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    *state = f;
    snprintf(f->dir, sizeof f->dir, "/tmp/cabanas-test-migrate-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    char url[128], err[256] = "";
    snprintf(url, sizeof url, "sqlite://%s/test.db", f->dir); /* sqlite:///tmp/.../test.db */
    setenv("DATABASE_URL", url, 1);
    int rc = config_load(&f->cfg, NULL, err, sizeof err);
    unsetenv("DATABASE_URL");
    if (rc != 0) {
        print_error("config_load: %s\n", err);
        return -1;
    }
    return open_db(f);
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    if (!f)
        return 0;
    close_db(f);
    remove_dir(f->dir);
    int rc = rmdir(f->dir);
    free(f);
    return rc;
}

/* migrate_print_status() into a malloc()ed string, through a tmpfile(). */
static char *print_status(struct db_conn *c)
{
    FILE *tmp = tmpfile();
    assert_non_null(tmp);
    assert_int_equal(migrate_print_status(c, tmp), DB_OK);
    long size = ftell(tmp);
    assert_true(size > 0);
    rewind(tmp);
    char *text = calloc(1, (size_t)size + 1);
    assert_non_null(text);
    assert_int_equal(fread(text, 1, (size_t)size, tmp), (size_t)size);
    fclose(tmp);
    return text;
}

static int count_rows(struct db_conn *c, const char *sql)
{
    struct db_result *r = NULL;
    assert_int_equal(db_exec(c, sql, 0, NULL, &r), DB_OK);
    assert_int_equal(db_result_rows(r), 1);
    int n = (int)strtol(db_result_value(r, 0, 0), NULL, 10);
    db_result_free(r);
    return n;
}

/* --- migrations --- */

static void test_config_points_at_temp_file(void **state)
{
    struct fixture *f = *state;
    char expected[128];
    snprintf(expected, sizeof expected, "%s/test.db", f->dir);
    assert_int_equal(f->cfg.db_engine, DB_ENGINE_SQLITE);
    assert_string_equal(f->cfg.sqlite_path, expected);
    assert_int_equal(db_engine_of(f->db), DB_ENGINE_SQLITE);
    assert_int_equal(db_conn_engine(f->conn), DB_ENGINE_SQLITE);
    assert_int_equal(access(expected, F_OK), 0);
}

static void test_current_on_empty_file(void **state)
{
    struct fixture *f = *state;
    int version = -1;
    assert_int_equal(migrate_current(f->conn, &version), DB_OK);
    assert_int_equal(version, 0);
    assert_true(migrate_latest(DB_ENGINE_SQLITE) >= 1);
    assert_int_equal(migrate_latest(DB_ENGINE_SQLITE),
                     migrations_sqlite[migrations_sqlite_count - 1].version);

    char *text = print_status(f->conn);
    char expected[128];
    snprintf(expected, sizeof expected, "schema version 0, latest %d: run `cabanas migrate`\n",
             migrate_latest(DB_ENGINE_SQLITE));
    assert_non_null(strstr(text, expected));
    assert_non_null(strstr(text, " pending\n"));
    assert_null(strstr(text, " applied\n"));
    assert_null(strstr(text, "up to date"));
    free(text);
}

static void test_apply_all_then_none(void **state)
{
    struct fixture *f = *state;
    char err[256] = "";
    int applied = -1, version = -1;
    int latest = migrate_latest(DB_ENGINE_SQLITE);

    assert_int_equal(migrate_apply(f->conn, &applied, err, sizeof err), DB_OK);
    assert_string_equal(err, "");
    /* versions are assigned per feature branch and may have gaps until every branch is merged: the count
     * applied is the number of migrations, the version reached is the latest */
    assert_int_equal(applied, migrations_sqlite_count);
    assert_int_equal(migrate_current(f->conn, &version), DB_OK);
    assert_int_equal(version, latest);

    applied = -1;
    assert_int_equal(migrate_apply(f->conn, &applied, err, sizeof err), DB_OK);
    assert_int_equal(applied, 0);
    assert_int_equal(migrate_current(f->conn, &version), DB_OK);
    assert_int_equal(version, latest);
}

static void test_schema_migrations_rows(void **state)
{
    struct fixture *f = *state;
    char err[256] = "";
    int applied = 0;
    assert_int_equal(migrate_apply(f->conn, &applied, err, sizeof err), DB_OK);
    assert_int_equal(migrate_apply(f->conn, &applied, err, sizeof err), DB_OK);

    struct db_result *r = NULL;
    assert_int_equal(db_exec(f->conn,
                             "SELECT version, name, applied_at FROM schema_migrations ORDER BY version", 0,
                             NULL, &r),
                     DB_OK);
    assert_int_equal(db_result_rows(r), migrations_sqlite_count);
    assert_int_equal(db_result_cols(r), 3);
    for (int i = 0; i < migrations_sqlite_count; i++) {
        char v[16];
        snprintf(v, sizeof v, "%d", migrations_sqlite[i].version);
        assert_string_equal(db_result_value(r, i, 0), v);
        assert_string_equal(db_result_value(r, i, 1), migrations_sqlite[i].name);
        const char *at = db_result_value(r, i, 2);
        assert_non_null(at);
        assert_int_equal(strlen(at), strlen("2026-12-01T20:05:22.123Z"));
        assert_int_equal(at[strlen(at) - 1], 'Z');
    }
    db_result_free(r);

    /* 0001 creates app_meta and records when the schema was created */
    assert_int_equal(count_rows(f->conn, "SELECT count(*) FROM app_meta WHERE key = 'schema_created_at'"), 1);
}

static void test_print_status_up_to_date(void **state)
{
    struct fixture *f = *state;
    char err[256] = "";
    int applied = 0;
    assert_int_equal(migrate_apply(f->conn, &applied, err, sizeof err), DB_OK);
    char *text = print_status(f->conn);
    char expected[128];
    snprintf(expected, sizeof expected, "schema version %d, latest %d: up to date\n",
             migrate_latest(DB_ENGINE_SQLITE), migrate_latest(DB_ENGINE_SQLITE));
    assert_non_null(strstr(text, expected));
    snprintf(expected, sizeof expected, "%04d %-40s applied\n", migrations_sqlite[0].version,
             migrations_sqlite[0].name);
    assert_int_equal(strncmp(text, expected, strlen(expected)), 0);
    assert_null(strstr(text, "pending"));
    free(text);
}

static void test_migrations_persist(void **state)
{
    struct fixture *f = *state;
    char err[256] = "";
    int applied = 0, version = 0;
    assert_int_equal(migrate_apply(f->conn, &applied, err, sizeof err), DB_OK);
    close_db(f);
    assert_int_equal(open_db(f), 0);
    assert_int_equal(migrate_current(f->conn, &version), DB_OK);
    assert_int_equal(version, migrate_latest(DB_ENGINE_SQLITE));
    assert_int_equal(migrate_apply(f->conn, &applied, err, sizeof err), DB_OK);
    assert_int_equal(applied, 0);
}

/* --- db_exec --- */

static void test_exec_placeholders(void **state)
{
    struct fixture *f = *state;
    const char *params[] = {"a", "b"};
    struct db_result *r = NULL;
    assert_int_equal(db_exec(f->conn, "SELECT $1 || '-' || $2, $2, $1", 2, params, &r), DB_OK);
    assert_int_equal(db_result_rows(r), 1);
    assert_int_equal(db_result_cols(r), 3);
    assert_string_equal(db_result_value(r, 0, 0), "a-b");
    assert_string_equal(db_result_value(r, 0, 1), "b");
    assert_string_equal(db_result_value(r, 0, 2), "a");
    /* out of range is NULL, not a crash */
    assert_null(db_result_value(r, 1, 0));
    assert_null(db_result_value(r, 0, 3));
    assert_null(db_result_value(r, -1, 0));
    db_result_free(r);

    /* $N is the Nth parameter wherever it first appears (not the Nth placeholder in the text) */
    assert_int_equal(db_exec(f->conn, "SELECT $2, $1, $2 || $1", 2, params, &r), DB_OK);
    assert_string_equal(db_result_value(r, 0, 0), "b");
    assert_string_equal(db_result_value(r, 0, 1), "a");
    assert_string_equal(db_result_value(r, 0, 2), "ba");
    db_result_free(r);

    /* a $1 inside a string literal is text, not a placeholder */
    const char *one[] = {"v"};
    assert_int_equal(db_exec(f->conn, "SELECT '$1', $1, '$' || '2'", 1, one, &r), DB_OK);
    assert_string_equal(db_result_value(r, 0, 0), "$1");
    assert_string_equal(db_result_value(r, 0, 1), "v");
    assert_string_equal(db_result_value(r, 0, 2), "$2");
    db_result_free(r);

    /* values are text both ways, including quotes and SQL-looking input */
    const char *evil[] = {"x'); DROP TABLE t; --"};
    assert_int_equal(db_exec(f->conn, "SELECT $1, length($1)", 1, evil, &r), DB_OK);
    assert_string_equal(db_result_value(r, 0, 0), "x'); DROP TABLE t; --");
    assert_string_equal(db_result_value(r, 0, 1), "21");
    db_result_free(r);
}

static void test_exec_null_params(void **state)
{
    struct fixture *f = *state;
    const char *params[] = {NULL, "x"};
    struct db_result *r = NULL;
    assert_int_equal(db_exec(f->conn, "SELECT $1 IS NULL, $2 IS NULL, $1, $2", 2, params, &r), DB_OK);
    assert_string_equal(db_result_value(r, 0, 0), "1");
    assert_string_equal(db_result_value(r, 0, 1), "0");
    assert_null(db_result_value(r, 0, 2));
    assert_string_equal(db_result_value(r, 0, 3), "x");
    db_result_free(r);

    assert_int_equal(
        db_exec(f->conn, "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)", 0, NULL, NULL), DB_OK);
    const char *row[] = {"1", NULL};
    assert_int_equal(db_exec(f->conn, "INSERT INTO notes (id, body) VALUES ($1, $2)", 2, row, NULL), DB_OK);
    assert_int_equal(count_rows(f->conn, "SELECT count(*) FROM notes WHERE body IS NULL"), 1);
    assert_int_equal(db_exec(f->conn, "SELECT body FROM notes WHERE id = 1", 0, NULL, &r), DB_OK);
    assert_int_equal(db_result_rows(r), 1);
    assert_null(db_result_value(r, 0, 0));
    db_result_free(r);

    /* bindings are cleared between runs of the cached statement */
    const char *other[] = {"2", "text"};
    assert_int_equal(db_exec(f->conn, "INSERT INTO notes (id, body) VALUES ($1, $2)", 2, other, NULL), DB_OK);
    assert_int_equal(count_rows(f->conn, "SELECT count(*) FROM notes WHERE body = 'text'"), 1);
}

static void test_exec_many_rows(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(
        db_exec(f->conn, "CREATE TABLE nums (n INTEGER PRIMARY KEY, s TEXT NOT NULL)", 0, NULL, NULL), DB_OK);
    for (int i = 0; i < 100; i++) {
        char n[16], s[16];
        snprintf(n, sizeof n, "%d", i);
        snprintf(s, sizeof s, "s%d", i);
        const char *p[] = {n, s};
        assert_int_equal(db_exec(f->conn, "INSERT INTO nums (n, s) VALUES ($1, $2)", 2, p, NULL), DB_OK);
    }
    struct db_result *r = NULL;
    assert_int_equal(db_exec(f->conn, "SELECT n, s FROM nums ORDER BY n", 0, NULL, &r), DB_OK);
    assert_int_equal(db_result_rows(r), 100);
    for (int i = 0; i < 100; i++) {
        char n[16], s[16];
        snprintf(n, sizeof n, "%d", i);
        snprintf(s, sizeof s, "s%d", i);
        assert_string_equal(db_result_value(r, i, 0), n);
        assert_string_equal(db_result_value(r, i, 1), s);
    }
    db_result_free(r);

    assert_int_equal(db_exec(f->conn, "SELECT n FROM nums WHERE n < 0", 0, NULL, &r), DB_OK);
    assert_int_equal(db_result_rows(r), 0);
    assert_int_equal(db_result_cols(r), 1);
    assert_null(db_result_value(r, 0, 0));
    db_result_free(r);
    assert_int_equal(db_result_rows(NULL), 0);
    db_result_free(NULL);
}

static void test_exec_conflict(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(db_exec(f->conn,
                             "CREATE TABLE units (id INTEGER PRIMARY KEY, code TEXT NOT NULL UNIQUE)", 0,
                             NULL, NULL),
                     DB_OK);
    const char *a[] = {"1", "A"}, *dup_code[] = {"2", "A"}, *dup_id[] = {"1", "B"},
               *null_code[] = {"3", NULL};
    static const char *insert = "INSERT INTO units (id, code) VALUES ($1, $2)";
    assert_int_equal(db_exec(f->conn, insert, 2, a, NULL), DB_OK);
    assert_int_equal(db_exec(f->conn, insert, 2, dup_code, NULL), DB_CONFLICT);
    assert_non_null(strstr(db_conn_error(f->conn), "UNIQUE constraint failed: units.code"));
    assert_int_equal(db_exec(f->conn, insert, 2, dup_id, NULL), DB_CONFLICT);
    /* NOT NULL is a constraint, but not a conflict */
    assert_int_equal(db_exec(f->conn, insert, 2, null_code, NULL), DB_ERR);
    assert_non_null(strstr(db_conn_error(f->conn), "NOT NULL constraint failed: units.code"));
    /* the connection is still usable and nothing was written by the failures */
    assert_int_equal(count_rows(f->conn, "SELECT count(*) FROM units"), 1);
}

static void test_exec_errors(void **state)
{
    struct fixture *f = *state;
    struct db_result *r = (struct db_result *)f; /* must be reset to NULL on failure */
    assert_int_equal(db_exec(f->conn, "SELEC 1", 0, NULL, &r), DB_ERR);
    assert_null(r);
    assert_non_null(strstr(db_conn_error(f->conn), "syntax error"));
    assert_int_equal(db_exec(f->conn, "SELECT * FROM no_such_table", 0, NULL, &r), DB_ERR);
    assert_null(r);
    assert_string_equal(db_conn_error(f->conn), "no such table: no_such_table");

    const char *params[DB_MAX_PARAMS + 1];
    for (int i = 0; i < DB_MAX_PARAMS + 1; i++)
        params[i] = "x";
    assert_int_equal(db_exec(f->conn, "SELECT 1", DB_MAX_PARAMS + 1, params, &r), DB_ERR);
    assert_null(r);

    /* and the connection still works */
    assert_int_equal(count_rows(f->conn, "SELECT 41 + 1"), 42);
}

static void test_transactions(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(db_exec(f->conn, "CREATE TABLE tx (k TEXT PRIMARY KEY)", 0, NULL, NULL), DB_OK);
    static const char *insert = "INSERT INTO tx (k) VALUES ($1)";
    const char *one[] = {"one"}, *two[] = {"two"};

    assert_int_equal(db_begin(f->conn), DB_OK);
    assert_int_equal(db_exec(f->conn, insert, 1, one, NULL), DB_OK);
    assert_int_equal(db_rollback(f->conn), DB_OK);
    assert_int_equal(count_rows(f->conn, "SELECT count(*) FROM tx"), 0);

    assert_int_equal(db_begin(f->conn), DB_OK);
    assert_int_equal(db_exec(f->conn, insert, 1, two, NULL), DB_OK);
    assert_int_equal(db_commit(f->conn), DB_OK);
    assert_int_equal(count_rows(f->conn, "SELECT count(*) FROM tx WHERE k = 'two'"), 1);

    /* a transaction left open is rolled back when the connection goes back to the pool */
    assert_int_equal(db_begin(f->conn), DB_OK);
    assert_int_equal(db_exec(f->conn, insert, 1, one, NULL), DB_OK);
    db_release(f->db, f->conn);
    f->conn = NULL;
    assert_int_equal(db_acquire(f->db, &f->conn), DB_OK);
    assert_int_equal(count_rows(f->conn, "SELECT count(*) FROM tx"), 1);
}

static void test_ping_and_pool(void **state)
{
    struct fixture *f = *state;
    double ms = -1;
    assert_int_equal(db_pool_size(f->db), f->cfg.db_pool_size);
    assert_int_equal(db_pool_in_use(f->db), 1);
    assert_int_equal(db_pool_open(f->db), 1);
    assert_int_equal(db_ping(f->db, &ms), DB_OK);
    assert_true(ms >= 0);
    assert_int_equal(db_pool_in_use(f->db), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_config_points_at_temp_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_current_on_empty_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_apply_all_then_none, setup, teardown),
        cmocka_unit_test_setup_teardown(test_schema_migrations_rows, setup, teardown),
        cmocka_unit_test_setup_teardown(test_print_status_up_to_date, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migrations_persist, setup, teardown),
        cmocka_unit_test_setup_teardown(test_exec_placeholders, setup, teardown),
        cmocka_unit_test_setup_teardown(test_exec_null_params, setup, teardown),
        cmocka_unit_test_setup_teardown(test_exec_many_rows, setup, teardown),
        cmocka_unit_test_setup_teardown(test_exec_conflict, setup, teardown),
        cmocka_unit_test_setup_teardown(test_exec_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_transactions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ping_and_pool, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
