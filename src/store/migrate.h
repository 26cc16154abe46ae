/* migrate.h - versioned SQL migrations per engine, embedded in the binary at build time.
 *
 * Applied versions are rows of schema_migrations(version, name, applied_at). Each pending migration runs
 * in its own transaction. On PostgreSQL a session advisory lock makes concurrent runs (two instances
 * starting at once) take turns; on SQLite BEGIN IMMEDIATE does the same. */
#ifndef CABANAS_MIGRATE_H
#define CABANAS_MIGRATE_H

#include "db.h"

#include <stdio.h>

struct migration {
    int version;
    const char *name;
    const char *sql;
};

extern const struct migration migrations_postgres[];
extern const int migrations_postgres_count;
extern const struct migration migrations_sqlite[];
extern const int migrations_sqlite_count;

/* The newest version this binary knows for the engine. */
int migrate_latest(enum db_engine engine);

/* The newest applied version (0 on an empty database). DB_* code. */
int migrate_current(struct db_conn *conn, int *version);

/* Applies every pending migration; *applied counts them. On failure `err` names the migration. */
int migrate_apply(struct db_conn *conn, int *applied, char *err, size_t errlen);

/* Prints "applied"/"pending" for every known migration. */
int migrate_print_status(struct db_conn *conn, FILE *out);

#endif
