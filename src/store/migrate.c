/* migrate.c - applies the embedded migrations in order. See migrate.h. */
#include "migrate.h"

#include <stdlib.h>
#include <string.h>

#define PG_MIGRATION_LOCK_KEY "727274001" /* arbitrary, fixed: the advisory lock for migrations */

static const struct migration *list_for(enum db_engine e, int *n)
{
    if (e == DB_ENGINE_POSTGRES) {
        *n = migrations_postgres_count;
        return migrations_postgres;
    }
    *n = migrations_sqlite_count;
    return migrations_sqlite;
}

int migrate_latest(enum db_engine engine)
{
    int n;
    const struct migration *m = list_for(engine, &n);
    return n > 0 ? m[n - 1].version : 0;
}

static int table_exists(struct db_conn *c, int *exists)
{
    static const char *pg = "SELECT to_regclass('schema_migrations') IS NOT NULL";
    static const char *lite = "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = "
                              "'schema_migrations'";
    struct db_result *r = NULL;
    int rc = db_exec(c, db_conn_engine(c) == DB_ENGINE_POSTGRES ? pg : lite, 0, NULL, &r);
    if (rc == DB_OK) {
        const char *v = db_result_value(r, 0, 0);
        *exists = v && (strcmp(v, "t") == 0 || strcmp(v, "1") == 0);
    }
    db_result_free(r);
    return rc;
}

int migrate_current(struct db_conn *c, int *version)
{
    static const char *sql = "SELECT COALESCE(MAX(version), 0) FROM schema_migrations";
    int exists = 0;
    *version = 0;
    int rc = table_exists(c, &exists);
    if (rc != DB_OK || !exists)
        return rc;
    struct db_result *r = NULL;
    rc = db_exec(c, sql, 0, NULL, &r);
    if (rc == DB_OK && db_result_value(r, 0, 0))
        *version = (int)strtol(db_result_value(r, 0, 0), NULL, 10);
    db_result_free(r);
    return rc;
}

static int is_applied(struct db_conn *c, int version, int *applied)
{
    static const char *sql = "SELECT count(*) FROM schema_migrations WHERE version = $1";
    char v[16];
    snprintf(v, sizeof v, "%d", version);
    const char *params[] = {v};
    struct db_result *r = NULL;
    int rc = db_exec(c, sql, 1, params, &r);
    *applied = rc == DB_OK && db_result_value(r, 0, 0) && strcmp(db_result_value(r, 0, 0), "0") != 0;
    db_result_free(r);
    return rc;
}

int migrate_apply(struct db_conn *c, int *applied, char *err, size_t errlen)
{
    static const char *create_pg =
        "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, "
        "name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())";
    static const char *create_lite =
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
        "applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')))";
    static const char *lock = "SELECT pg_advisory_lock(" PG_MIGRATION_LOCK_KEY ")";
    static const char *unlock = "SELECT pg_advisory_unlock(" PG_MIGRATION_LOCK_KEY ")";
    static const char *record = "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)";
    enum db_engine e = db_conn_engine(c);
    int n, rc, locked = 0;
    const struct migration *list = list_for(e, &n);
    *applied = 0;

    if (e == DB_ENGINE_POSTGRES) {
        if ((rc = db_exec(c, lock, 0, NULL, NULL)) != DB_OK) {
            snprintf(err, errlen, "advisory lock: %s", db_conn_error(c));
            return rc;
        }
        locked = 1;
    }
    rc = db_exec(c, e == DB_ENGINE_POSTGRES ? create_pg : create_lite, 0, NULL, NULL);
    if (rc != DB_OK) {
        snprintf(err, errlen, "schema_migrations: %s", db_conn_error(c));
        goto out;
    }
    for (int i = 0; i < n; i++) {
        int done = 0;
        if ((rc = db_begin(c)) != DB_OK) {
            snprintf(err, errlen, "begin: %s", db_conn_error(c));
            goto out;
        }
        /* Checked inside the transaction: another SQLite process may have applied it meanwhile. */
        if ((rc = is_applied(c, list[i].version, &done)) != DB_OK) {
            snprintf(err, errlen, "%s: %s", list[i].name, db_conn_error(c));
            db_rollback(c);
            goto out;
        }
        if (done) {
            db_rollback(c);
            continue;
        }
        char v[16];
        snprintf(v, sizeof v, "%d", list[i].version);
        const char *params[] = {v, list[i].name};
        if ((rc = db_exec_script(c, list[i].sql)) != DB_OK ||
            (rc = db_exec(c, record, 2, params, NULL)) != DB_OK) {
            snprintf(err, errlen, "%s: %s", list[i].name, db_conn_error(c));
            db_rollback(c);
            goto out;
        }
        if ((rc = db_commit(c)) != DB_OK) {
            snprintf(err, errlen, "%s: commit: %s", list[i].name, db_conn_error(c));
            goto out;
        }
        (*applied)++;
    }
    rc = DB_OK;
out:
    if (locked)
        db_exec(c, unlock, 0, NULL, NULL);
    return rc;
}

int migrate_print_status(struct db_conn *c, FILE *out)
{
    int n, current = 0;
    const struct migration *list = list_for(db_conn_engine(c), &n);
    int rc = migrate_current(c, &current);
    if (rc != DB_OK)
        return rc;
    int exists = 0;
    table_exists(c, &exists);
    for (int i = 0; i < n; i++) {
        int done = 0;
        if (exists && (rc = is_applied(c, list[i].version, &done)) != DB_OK)
            return rc;
        fprintf(out, "%04d %-40s %s\n", list[i].version, list[i].name, done ? "applied" : "pending");
    }
    fprintf(out, "schema version %d, latest %d: %s\n", current, migrate_latest(db_conn_engine(c)),
            current >= migrate_latest(db_conn_engine(c)) ? "up to date" : "run `cabanas migrate`");
    return DB_OK;
}
