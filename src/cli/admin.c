/* admin.c - `cabanas admin set-password EMAIL` and `cabanas admin token EMAIL`, for operators.
 *
 * set-password reads the password from the first line of stdin (so it never appears in argv, the shell
 * history or the process list; on a terminal it is asked twice without echo), hashes it with argon2id
 * and upserts admin_users. token prints a bearer token for an allow-listed email, signed with JWT_SECRET
 * and valid ADMIN_TOKEN_TTL seconds, without any password: whoever can run this has the secret anyway. */
#include "cli.h"

#include "../core/jwt.h"
#include "../core/log.h"
#include "../core/password.h"
#include "../store/admin_store.h"
#include "../store/migrate.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define ADMIN_MAX_ARGS 16

static void usage(FILE *out)
{
    fprintf(out,
            "usage: cabanas admin set-password EMAIL [--env-file FILE]   (the password is read from stdin)\n"
            "       cabanas admin token EMAIL [--env-file FILE]          print a bearer token\n");
}

/* Takes the EMAIL positional out of argv[2..] and builds the argv cli_parse() expects, named `name` for
 * its messages. 0, or EXIT_USAGE when EMAIL is missing or repeated or there are too many arguments. */
static int split_args(int argc, char **argv, char *name, const char **email, int *nargc, char **nargv)
{
    *email = NULL;
    *nargc = 0;
    nargv[(*nargc)++] = name;
    for (int i = 2; i < argc; i++) {
        if (*nargc >= ADMIN_MAX_ARGS - 1) {
            fprintf(stderr, "cabanas %s: too many arguments\n", name);
            return EXIT_USAGE;
        }
        if (strcmp(argv[i], "--env-file") == 0 && i + 1 < argc) {
            nargv[(*nargc)++] = argv[i++];
            nargv[(*nargc)++] = argv[i];
        } else if (argv[i][0] == '-') {
            nargv[(*nargc)++] = argv[i]; /* cli_parse reports what it does not know */
        } else if (!*email) {
            *email = argv[i];
        } else {
            fprintf(stderr, "cabanas %s: unexpected argument '%s'\n", name, argv[i]);
            return EXIT_USAGE;
        }
    }
    nargv[*nargc] = NULL;
    if (!*email) {
        fprintf(stderr, "cabanas %s: missing EMAIL\n", name);
        usage(stderr);
        return EXIT_USAGE;
    }
    return 0;
}

/* Reads one line from stdin into buf (at least PASSWORD_MAX_LEN + 2 bytes) without its "\n" or "\r\n".
 * Returns its length, or -1 when it is longer than PASSWORD_MAX_LEN or holds a NUL byte. */
static long read_line(char *buf)
{
    size_t n = 0;
    int ch, bad = 0;
    while ((ch = getchar()) != EOF && ch != '\n') {
        if (ch == '\0' || n > PASSWORD_MAX_LEN)
            bad = 1; /* keep reading to the end of the line, store nothing more */
        else
            buf[n++] = (char)ch;
    }
    if (n > 0 && buf[n - 1] == '\r')
        n--;
    buf[n] = '\0';
    return bad || n > PASSWORD_MAX_LEN ? -1 : (long)n;
}

/* On a terminal: a prompt on stderr and no echo. Elsewhere (a pipe): just the first line. */
static long read_password(const char *prompt, char *buf)
{
    struct termios saved, quiet;
    int tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0;
    if (tty) {
        fprintf(stderr, "%s", prompt);
        quiet = saved;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    }
    long n = read_line(buf);
    if (tty) {
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
        fputc('\n', stderr);
    }
    return n;
}

/* The schema must have admin_users: refuse a database behind this binary, as serve does. */
static int schema_ready(struct db *db, const char *name)
{
    struct db_conn *c = NULL;
    int current = 0, latest = migrate_latest(db_engine_of(db));
    if (db_acquire(db, &c) != DB_OK) {
        fprintf(stderr, "cabanas %s: cannot connect to the database; check DATABASE_URL\n", name);
        return -1;
    }
    int rc = migrate_current(c, &current);
    db_release(db, c);
    if (rc != DB_OK) {
        fprintf(stderr, "cabanas %s: cannot read the schema version: %s\n", name, db_strerror(rc));
        return -1;
    }
    if (current < latest) {
        fprintf(stderr,
                "cabanas %s: the schema is at version %d but this binary needs %d: run `cabanas migrate`\n",
                name, current, latest);
        return -1;
    }
    return 0;
}

static int set_password(int argc, char **argv)
{
    char name[] = "admin set-password";
    char *nargv[ADMIN_MAX_ARGS];
    const char *email_arg;
    int nargc;
    int rc = split_args(argc, argv, name, &email_arg, &nargc, nargv);
    if (rc)
        return rc;
    char email[ADMIN_EMAIL_MAX + 1];
    if (admin_store_normalize_email(email_arg, email, sizeof email) < 0) {
        fprintf(stderr, "cabanas %s: '%s' is not an email address (at most %d bytes)\n", name, email_arg,
                ADMIN_EMAIL_MAX);
        return EXIT_USAGE;
    }
    struct config cfg;
    rc = cli_parse(nargc, nargv, NULL, NULL, &cfg);
    if (rc)
        return rc;
    log_set_level(cfg.log_level);

    char pw[PASSWORD_MAX_LEN + 2], again[PASSWORD_MAX_LEN + 2], hash[PASSWORD_HASH_MAX];
    struct db *db = NULL;
    int exit_code = EXIT_USAGE;
    long n = read_password("New password: ", pw);
    if (n < PASSWORD_MIN_LEN) {
        fprintf(stderr, "cabanas %s: the password (the first line of stdin) must be %d to %d bytes\n", name,
                PASSWORD_MIN_LEN, PASSWORD_MAX_LEN);
        goto out;
    }
    if (isatty(STDIN_FILENO) && (read_password("Again: ", again) != n || memcmp(pw, again, (size_t)n) != 0)) {
        fprintf(stderr, "cabanas %s: the passwords differ\n", name);
        goto out;
    }
    exit_code = 1;
    char err[512];
    if (db_open(&cfg, &db, err, sizeof err) != DB_OK) {
        fprintf(stderr, "cabanas %s: %s\n", name, err);
        goto out;
    }
    if (schema_ready(db, name) < 0)
        goto out;
    rc = password_hash(pw, (size_t)n, hash);
    if (rc != PASSWORD_OK) {
        fprintf(stderr, "cabanas %s: hashing failed (out of memory?)\n", name);
        goto out;
    }
    rc = admin_store_set_password(db, email, hash, (long)time(NULL));
    if (rc != DB_OK) {
        fprintf(stderr, "cabanas %s: cannot store the password: %s\n", name, db_strerror(rc));
        goto out;
    }
    printf("cabanas admin: password set for %s\n", email);
    if (!config_admin_allowed(&cfg, email))
        fprintf(
            stderr,
            "cabanas %s: warning: %s is not in ADMIN_ALLOWED_EMAILS; it cannot log in until it is added\n",
            name, email);
    exit_code = 0;
out:
    sodium_memzero(pw, sizeof pw);
    sodium_memzero(again, sizeof again);
    db_close(db);
    return exit_code;
}

static int token(int argc, char **argv)
{
    char name[] = "admin token";
    char *nargv[ADMIN_MAX_ARGS];
    const char *email_arg;
    int nargc;
    int rc = split_args(argc, argv, name, &email_arg, &nargc, nargv);
    if (rc)
        return rc;
    char email[ADMIN_EMAIL_MAX + 1];
    if (admin_store_normalize_email(email_arg, email, sizeof email) < 0) {
        fprintf(stderr, "cabanas %s: '%s' is not an email address\n", name, email_arg);
        return EXIT_USAGE;
    }
    struct config cfg;
    rc = cli_parse(nargc, nargv, NULL, NULL, &cfg);
    if (rc)
        return rc;
    if (!config_admin_allowed(&cfg, email)) {
        fprintf(stderr, "cabanas %s: %s is not in ADMIN_ALLOWED_EMAILS; refusing to issue a token\n", name,
                email);
        return 1;
    }
    char tok[JWT_MAX_LEN + 1];
    long now = (long)time(NULL);
    if (jwt_sign(cfg.jwt_secret, email, now, now + cfg.admin_token_ttl_s, tok, sizeof tok) != JWT_OK) {
        fprintf(stderr, "cabanas %s: cannot sign a token\n", name);
        return 1;
    }
    if (cfg.jwt_secret_generated)
        fprintf(
            stderr,
            "cabanas %s: warning: JWT_SECRET is not set, so this token is signed with a random secret that "
            "dies with this command: no server will accept it. Set JWT_SECRET to the server's.\n",
            name);
    printf("%s\n", tok);
    return 0;
}

int cli_admin(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (strcmp(argv[1], "set-password") == 0)
        return set_password(argc, argv);
    if (strcmp(argv[1], "token") == 0)
        return token(argc, argv);
    if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "cabanas admin: unknown subcommand '%s'\n", argv[1]);
    usage(stderr);
    return EXIT_USAGE;
}
