/* backup.c - `cabanas backup --to FILE`: an online copy of the SQLite database named by DATABASE_URL.
 *
 * Uses SQLite's online backup API in one step (sqlite3_backup_step(-1)), so the copy is one consistent
 * snapshot taken inside a single read transaction; in WAL mode that never blocks the running server.
 * The copy is written to a temporary file beside FILE (mode 0600: it holds guest data), switched to a
 * rollback journal so it is one self-contained file, checked with PRAGMA quick_check, fsync()ed and only
 * then renamed to FILE: a failed run leaves no partial FILE behind, and an existing FILE is never
 * replaced. PostgreSQL is refused (exit 2): ops/backup/backup_database.sh runs pg_dump for it.
 * Restoring = copying the file back to the DATABASE_URL path while the server is stopped. */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BACKUP_MAX_ARGS 16
#define BACKUP_BUSY_TIMEOUT_MS 10000
#define BACKUP_BUSY_RETRIES 200 /* x 50 ms: give up after ~10 s of a locked source */

static void usage(FILE *out)
{
    fprintf(out, "usage: cabanas backup --to FILE [--env-file FILE]   (SQLite only; PostgreSQL: "
                 "ops/backup/backup_database.sh)\n");
}

/* Takes `--to FILE` out of argv and builds the argv cli_parse() expects. 0 or EXIT_USAGE. */
static int split_args(int argc, char **argv, const char **to, int *nargc, char **nargv)
{
    *to = NULL;
    *nargc = 0;
    nargv[(*nargc)++] = argv[0];
    for (int i = 1; i < argc; i++) {
        if (*nargc >= BACKUP_MAX_ARGS - 1) {
            fprintf(stderr, "cabanas backup: too many arguments\n");
            return EXIT_USAGE;
        }
        if (strcmp(argv[i], "--to") == 0) {
            if (i + 1 >= argc || !argv[i + 1][0]) {
                fprintf(stderr, "cabanas backup: --to needs a FILE\n");
                return EXIT_USAGE;
            }
            *to = argv[++i];
        } else if (strncmp(argv[i], "--to=", 5) == 0 && argv[i][5]) {
            *to = argv[i] + 5;
        } else if (strcmp(argv[i], "--env-file") == 0 && i + 1 < argc) {
            nargv[(*nargc)++] = argv[i++];
            nargv[(*nargc)++] = argv[i];
        } else {
            nargv[(*nargc)++] = argv[i]; /* cli_parse reports what it does not know */
        }
    }
    nargv[*nargc] = NULL;
    if (!*to) {
        fprintf(stderr, "cabanas backup: missing --to FILE\n");
        usage(stderr);
        return EXIT_USAGE;
    }
    return 0;
}

/* fsync() of a path (a file, or the directory holding a renamed entry). 0 or -1 with errno. */
static int sync_path(const char *path, int flags)
{
    int fd = open(path, flags | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    int saved = errno;
    close(fd);
    errno = saved;
    return rc;
}

/* Copies `src` (an open source database) into the empty file `tmp`. 0, or -1 after printing why. */
static int copy_database(sqlite3 *src, const char *src_path, const char *tmp)
{
    sqlite3 *dst = NULL;
    sqlite3_backup *b = NULL;
    int result = -1;
    if (sqlite3_open_v2(tmp, &dst, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        fprintf(stderr, "cabanas backup: cannot open %s: %s\n", tmp,
                dst ? sqlite3_errmsg(dst) : "out of memory");
        goto out;
    }
    b = sqlite3_backup_init(dst, "main", src, "main");
    if (!b) {
        fprintf(stderr, "cabanas backup: %s\n", sqlite3_errmsg(dst));
        goto out;
    }
    int rc, tries = 0;
    /* -1: every page in one step, i.e. one read transaction on the source and one consistent snapshot. */
    while ((rc = sqlite3_backup_step(b, -1)) == SQLITE_BUSY || rc == SQLITE_LOCKED) {
        if (++tries > BACKUP_BUSY_RETRIES)
            break;
        sqlite3_sleep(50);
    }
    int pages = sqlite3_backup_pagecount(b);
    sqlite3_backup_finish(b);
    b = NULL;
    if (rc != SQLITE_DONE) {
        fprintf(stderr, "cabanas backup: copying %s failed: %s\n", src_path, sqlite3_errstr(rc));
        goto out;
    }
    /* The copy carries the source's WAL flag; a rollback journal makes it one self-contained file. */
    char *msg = NULL;
    if (sqlite3_exec(dst, "PRAGMA journal_mode=DELETE", NULL, NULL, &msg) != SQLITE_OK) {
        fprintf(stderr, "cabanas backup: %s\n", msg ? msg : sqlite3_errmsg(dst));
        sqlite3_free(msg);
        goto out;
    }
    sqlite3_stmt *st = NULL;
    int ok = 0;
    if (sqlite3_prepare_v2(dst, "PRAGMA quick_check", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW) {
        const unsigned char *v = sqlite3_column_text(st, 0);
        ok = v && strcmp((const char *)v, "ok") == 0;
        if (!ok)
            fprintf(stderr, "cabanas backup: the copy fails quick_check: %s\n", v ? (const char *)v : "?");
    } else {
        fprintf(stderr, "cabanas backup: cannot check the copy: %s\n", sqlite3_errmsg(dst));
    }
    sqlite3_finalize(st);
    if (!ok)
        goto out;
    printf("cabanas backup: copied %d pages from %s\n", pages, src_path);
    result = 0;
out:
    if (b)
        sqlite3_backup_finish(b);
    if (dst && sqlite3_close(dst) != SQLITE_OK) {
        fprintf(stderr, "cabanas backup: closing %s: %s\n", tmp, sqlite3_errmsg(dst));
        result = -1;
    }
    return result;
}

int cli_backup(int argc, char **argv)
{
    char *nargv[BACKUP_MAX_ARGS];
    int nargc = 0;
    const char *to = NULL;
    int rc = split_args(argc, argv, &to, &nargc, nargv);
    if (rc)
        return rc;
    struct config cfg;
    rc = cli_parse(nargc, nargv, NULL, NULL, &cfg);
    if (rc)
        return rc;
    if (cfg.db_engine != DB_ENGINE_SQLITE) {
        fprintf(stderr, "cabanas backup: DATABASE_URL is PostgreSQL; use ops/backup/backup_database.sh "
                        "(pg_dump) for it\n");
        return EXIT_USAGE;
    }
    struct stat sb;
    if (stat(to, &sb) == 0) {
        fprintf(stderr, "cabanas backup: %s already exists; a backup never replaces a file\n", to);
        return 1;
    }
    if (stat(cfg.sqlite_path, &sb) != 0) {
        fprintf(stderr, "cabanas backup: no database at %s: %s\n", cfg.sqlite_path, strerror(errno));
        return 1;
    }

    int exit_code = 1, fd = -1;
    sqlite3 *src = NULL;
    char tmp[CONFIG_STR_MAX + 16], dir[CONFIG_STR_MAX + 16];
    int n = snprintf(tmp, sizeof tmp, "%s.tmp-XXXXXX", to);
    if (n < 0 || (size_t)n >= sizeof tmp || strlen(to) >= sizeof dir) {
        fprintf(stderr, "cabanas backup: --to path too long\n");
        return EXIT_USAGE;
    }
    memcpy(dir, to, strlen(to) + 1);
    /* mkstemp: a fresh name and mode 0600 before SQLite writes anything (an empty file is a new database). */
    fd = mkstemp(tmp);
    if (fd < 0) {
        fprintf(stderr, "cabanas backup: cannot create a file beside %s: %s\n", to, strerror(errno));
        tmp[0] = '\0';
        goto out;
    }
    close(fd);
    /* READWRITE without CREATE: a missing file is an error, and a WAL database is read like the server does.
     */
    if (sqlite3_open_v2(cfg.sqlite_path, &src, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        fprintf(stderr, "cabanas backup: cannot open %s: %s\n", cfg.sqlite_path,
                src ? sqlite3_errmsg(src) : "out of memory");
        goto out;
    }
    sqlite3_busy_timeout(src, BACKUP_BUSY_TIMEOUT_MS);
    if (copy_database(src, cfg.sqlite_path, tmp) < 0)
        goto out;
    if (sync_path(tmp, O_RDONLY) < 0) {
        fprintf(stderr, "cabanas backup: fsync %s: %s\n", tmp, strerror(errno));
        goto out;
    }
    /* link() fails when `to` appeared meanwhile, so an existing file is never replaced (unlike rename). */
    if (link(tmp, to) < 0) {
        fprintf(stderr, "cabanas backup: cannot create %s: %s\n", to, strerror(errno));
        goto out;
    }
    if (sync_path(dirname(dir), O_RDONLY | O_DIRECTORY) < 0)
        fprintf(stderr, "cabanas backup: warning: fsync of the directory of %s: %s\n", to, strerror(errno));
    if (stat(to, &sb) == 0)
        printf("cabanas backup: wrote %s (%lld bytes)\n", to, (long long)sb.st_size);
    exit_code = 0;
out:
    if (src)
        sqlite3_close(src);
    if (tmp[0])
        unlink(tmp);
    return exit_code;
}
