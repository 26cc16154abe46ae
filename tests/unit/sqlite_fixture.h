/* sqlite_fixture.h - for unit tests of the stores: a SQLite database with every migration applied, in a
 * fresh temporary directory, and its removal. Header-only: each test program includes it once. */
#ifndef CABANAS_TEST_SQLITE_FIXTURE_H
#define CABANAS_TEST_SQLITE_FIXTURE_H

#include "core/config.h"
#include "store/db.h"
#include "store/migrate.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* Makes dir (a mkdtemp template of at least 64 bytes, e.g. "/tmp/cabanas-test-NAME-XXXXXX"), loads the
 * configuration with DATABASE_URL pointing at dir/test.db, opens the pool and applies the migrations.
 * 0, or -1 when any step fails. */
static inline int sqlite_fixture_open(char dir[64], struct config *cfg, struct db **db)
{
    if (!mkdtemp(dir))
        return -1;
    char url[128], err[256] = "";
    snprintf(url, sizeof url, "sqlite://%s/test.db", dir);
    setenv("DATABASE_URL", url, 1);
    int rc = config_load(cfg, NULL, err, sizeof err);
    unsetenv("DATABASE_URL");
    if (rc != 0 || db_open(cfg, db, err, sizeof err) != DB_OK)
        return -1;
    struct db_conn *c = NULL;
    int applied = 0;
    if (db_acquire(*db, &c) != DB_OK)
        return -1;
    rc = migrate_apply(c, &applied, err, sizeof err);
    db_release(*db, c);
    return rc == DB_OK ? 0 : -1;
}

/* Closes the pool and removes dir with the files in it. */
static inline void sqlite_fixture_close(const char *dir, struct db *db)
{
    db_close(db);
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[512];
    while (d && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unlink(path);
    }
    if (d)
        closedir(d);
    rmdir(dir);
}

#endif
