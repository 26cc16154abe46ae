/* migrate.c - `cabanas migrate [--status]`. */
#include "cli.h"

#include "../core/log.h"
#include "../store/db.h"
#include "../store/migrate.h"

#include <stdio.h>

int cli_migrate(int argc, char **argv)
{
    static const char *flags[] = {"--status", NULL};
    int values[1] = {0};
    struct config cfg;
    int rc = cli_parse(argc, argv, flags, values, &cfg);
    if (rc)
        return rc;
    log_set_level(cfg.log_level);
    char err[512];
    struct db *db = NULL;
    struct db_conn *c = NULL;
    if (db_open(&cfg, &db, err, sizeof err) != DB_OK) {
        fprintf(stderr, "cabanas migrate: %s\n", err);
        return 1;
    }
    if (db_acquire(db, &c) != DB_OK) {
        fprintf(stderr, "cabanas migrate: cannot connect to the database\n");
        db_close(db);
        return 1;
    }
    int exit_code = 0;
    if (values[0]) {
        if (migrate_print_status(c, stdout) != DB_OK) {
            fprintf(stderr, "cabanas migrate: %s\n", db_conn_error(c));
            exit_code = 1;
        }
    } else {
        int applied = 0, version = 0;
        if (migrate_apply(c, &applied, err, sizeof err) != DB_OK) {
            fprintf(stderr, "cabanas migrate: failed: %s\n", err);
            exit_code = 1;
        } else {
            migrate_current(c, &version);
            printf("cabanas migrate: applied %d migration(s); schema version %d\n", applied, version);
        }
    }
    db_release(db, c);
    db_close(db);
    return exit_code;
}
