/* test_config.c - config_load() from the environment and from --env-file, the URL parsers
 * (config_parse_redis_url, config_parse_database_url), config_redact_url, and that config_print never
 * shows a password from DATABASE_URL or REDIS_URL.
 *
 * Every test starts and ends with every setting unset (setup/teardown), so the environment of the
 * shell running the tests cannot change the results and nothing leaks from one test to the next. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Variables config_load() reads; group_setup adds any others config_print() lists. */
static const char *const known_vars[] = {
    "PORT",
    "HOST",
    "HTTP_THREADS",
    "MAX_BODY_BYTES",
    "HTTP_CONNECTION_TIMEOUT_SECONDS",
    "HTTP_MAX_CONNECTIONS",
    "SHUTDOWN_DRAIN_SECONDS",
    "ALLOWED_ORIGINS",
    "PUBLIC_BASE_URL",
    "CABANAS_TEST_ENDPOINTS",
    "DATABASE_URL",
    "DB_POOL_SIZE",
    "DB_CONNECT_TIMEOUT_SECONDS",
    "REDIS_URL",
    "ENVIRONMENT",
    "LOG_LEVEL",
    "JWT_SECRET",
    "PROPERTY_TIMEZONE",
};

#define MAX_VARS 128

static char all_vars[MAX_VARS][64];
static int nvars;
static char tmpdir[64];
static char *printed; /* the last print_config() output, freed in teardown */

#define JWT "0123456789abcdef0123456789abcdef" /* 32 bytes: the minimum */

static void unset_all(void)
{
    for (size_t i = 0; i < ARRAY_LEN(known_vars); i++)
        unsetenv(known_vars[i]);
    for (int i = 0; i < nvars; i++)
        unsetenv(all_vars[i]);
}

static int setup(void **state)
{
    unset_all();
    return 0;
}

static int teardown(void **state)
{
    unset_all();
    free(printed);
    printed = NULL;
    return 0;
}

/* config_print() into a string owned by this file (freed in teardown, also when a test fails). */
static const char *print_config(const struct config *cfg)
{
    size_t len = 0;
    free(printed);
    printed = NULL;
    FILE *f = open_memstream(&printed, &len);
    assert_non_null(f);
    config_print(cfg, f);
    assert_int_equal(fclose(f), 0);
    return printed;
}

/* Learns every setting name from config_print() ("NAME=value" lines), so that settings added later are
 * unset too. */
static int discover_vars(void)
{
    struct config cfg;
    char err[256] = "";
    unset_all();
    if (config_load(&cfg, NULL, err, sizeof err) != 0) {
        print_error("config_load with an empty environment: %s\n", err);
        return -1;
    }
    const char *out = print_config(&cfg);
    for (const char *line = out; *line && nvars < MAX_VARS;) {
        size_t n = strcspn(line, "=\n");
        if (line[0] != '#' && line[n] == '=' && n < sizeof all_vars[0]) {
            memcpy(all_vars[nvars], line, n);
            all_vars[nvars++][n] = '\0';
        }
        line += strcspn(line, "\n");
        if (*line)
            line++;
    }
    free(printed);
    printed = NULL;
    return nvars >= (int)ARRAY_LEN(known_vars) ? 0 : -1;
}

static int group_setup(void **state)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/cabanas-test-config-XXXXXX");
    if (!mkdtemp(tmpdir))
        return -1;
    return discover_vars();
}

static int group_teardown(void **state)
{
    DIR *d = opendir(tmpdir);
    if (d) {
        struct dirent *e;
        char path[512];
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            snprintf(path, sizeof path, "%s/%s", tmpdir, e->d_name);
            unlink(path);
        }
        closedir(d);
    }
    unset_all();
    return rmdir(tmpdir);
}

/* Writes `content` to tmpdir/name; the full path goes to `path`. */
static void write_file(const char *name, const char *content, char *path, size_t pathlen)
{
    snprintf(path, pathlen, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fputs(content, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

/* --- config_load from the environment --- */

static void test_defaults(void **state)
{
    struct config cfg;
    char err[256] = "";
    assert_int_equal(config_load(&cfg, NULL, err, sizeof err), 0);
    assert_string_equal(err, "");
    assert_int_equal(cfg.port, 8080);
    assert_string_equal(cfg.host, "0.0.0.0");
    assert_int_equal(cfg.http_threads, 8);
    assert_int_equal(cfg.max_body_bytes, 1048576);
    assert_int_equal(cfg.connection_timeout_s, 30);
    assert_int_equal(cfg.max_connections, 1024);
    assert_int_equal(cfg.shutdown_drain_s, 10);
    assert_string_equal(cfg.allowed_origins, "");
    assert_string_equal(cfg.public_base_url, "http://127.0.0.1:8080");
    assert_int_equal(cfg.test_endpoints, 0);
    assert_string_equal(cfg.database_url, "sqlite://./var/cabanas.db");
    assert_int_equal(cfg.db_engine, DB_ENGINE_SQLITE);
    assert_string_equal(cfg.sqlite_path, "./var/cabanas.db");
    assert_int_equal(cfg.db_pool_size, 8);
    assert_int_equal(cfg.db_connect_timeout_s, 3);
    assert_string_equal(cfg.redis_url, "");
    assert_int_equal(cfg.redis_enabled, 0);
    assert_int_equal(cfg.environment, ENV_DEVELOPMENT);
    assert_int_equal(cfg.log_level, LOG_INFO);
    assert_string_equal(config_environment_name(cfg.environment), "development");
    assert_string_equal(config_log_level_name(cfg.log_level), "info");
}

static void test_valid_values(void **state)
{
    struct config cfg;
    char err[256];
    setenv("PORT", "65535", 1);
    setenv("HOST", "127.0.0.1", 1);
    setenv("HTTP_THREADS", "256", 1);
    setenv("DB_POOL_SIZE", "1", 1);
    setenv("ENVIRONMENT", "production", 1);
    setenv("JWT_SECRET", JWT, 1);
    setenv("LOG_LEVEL", "WARNING", 1);
    setenv("CABANAS_TEST_ENDPOINTS", "true", 1);
    setenv("DATABASE_URL", "postgresql://app:pw@db.example:5432/cabanas", 1);
    setenv("REDIS_URL", "redis://:pw@cache.example:6380/3", 1);
    assert_int_equal(config_load(&cfg, NULL, err, sizeof err), 0);
    assert_int_equal(cfg.port, 65535);
    assert_string_equal(cfg.host, "127.0.0.1");
    assert_int_equal(cfg.http_threads, 256);
    assert_int_equal(cfg.db_pool_size, 1);
    assert_int_equal(cfg.environment, ENV_PRODUCTION);
    assert_int_equal(cfg.log_level, LOG_WARN);
    assert_int_equal(cfg.test_endpoints, 1);
    assert_int_equal(cfg.db_engine, DB_ENGINE_POSTGRES);
    assert_string_equal(cfg.database_url, "postgresql://app:pw@db.example:5432/cabanas");
    assert_string_equal(cfg.sqlite_path, "");
    assert_int_equal(cfg.redis_enabled, 1);
    assert_string_equal(cfg.redis.host, "cache.example");
    assert_int_equal(cfg.redis.port, 6380);
    assert_string_equal(cfg.redis.password, "pw");
    assert_int_equal(cfg.redis.db, 3);
}

static void test_enum_values(void **state)
{
    static const struct {
        const char *var, *value;
        int expected;
    } cases[] = {
        {"ENVIRONMENT", "development", ENV_DEVELOPMENT},
        {"ENVIRONMENT", "staging", ENV_STAGING},
        {"ENVIRONMENT", "production", ENV_PRODUCTION},
        {"LOG_LEVEL", "debug", LOG_DEBUG},
        {"LOG_LEVEL", "info", LOG_INFO},
        {"LOG_LEVEL", "warn", LOG_WARN},
        {"LOG_LEVEL", "warning", LOG_WARN},
        {"LOG_LEVEL", "error", LOG_ERROR},
        {"LOG_LEVEL", "DEBUG", LOG_DEBUG},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        struct config cfg;
        char err[256] = "";
        setenv("JWT_SECRET", JWT, 1); /* required outside development */
        setenv(cases[i].var, cases[i].value, 1);
        int rc = config_load(&cfg, NULL, err, sizeof err);
        unsetenv(cases[i].var);
        if (rc != 0)
            fail_msg("%s=%s: rc %d (%s)", cases[i].var, cases[i].value, rc, err);
        int got = strcmp(cases[i].var, "ENVIRONMENT") == 0 ? (int)cfg.environment : (int)cfg.log_level;
        if (got != cases[i].expected)
            fail_msg("%s=%s: got %d, expected %d", cases[i].var, cases[i].value, got, cases[i].expected);
    }
}

static void test_invalid_values(void **state)
{
    static const struct {
        const char *var, *value;
    } cases[] = {
        {"PORT", "abc"},
        {"PORT", "0"},
        {"PORT", "65536"},
        {"PORT", "80x"},
        {"PORT", "-1"},
        {"PORT", " "},
        {"PORT", "99999999999999999999999"},
        {"HOST", ""},
        {"ENVIRONMENT", "prod"},
        {"ENVIRONMENT", "test"},
        {"LOG_LEVEL", "verbose"},
        {"LOG_LEVEL", "trace"},
        {"HTTP_THREADS", "0"},
        {"HTTP_THREADS", "257"},
        {"HTTP_THREADS", "four"},
        {"DB_POOL_SIZE", "0"},
        {"DB_POOL_SIZE", "257"},
        {"DB_POOL_SIZE", "4.5"},
        {"MAX_BODY_BYTES", "1023"},
        {"CABANAS_TEST_ENDPOINTS", "maybe"},
        {"PUBLIC_BASE_URL", "ftp://example.com"},
        {"DATABASE_URL", "mysql://x"},
        {"DATABASE_URL", "sqlite://"},
        {"DATABASE_URL", "sqlite://x.db?mode=ro"},
        {"REDIS_URL", "http://x"},
        {"REDIS_URL", "redis://"},
        {"REDIS_URL", "redis://h:99999"},
        {"REDIS_URL", "rediss://h"},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        struct config cfg;
        char err[256] = "";
        setenv(cases[i].var, cases[i].value, 1);
        int rc = config_load(&cfg, NULL, err, sizeof err);
        unsetenv(cases[i].var);
        if (rc != -1)
            fail_msg("%s='%s': rc %d, expected -1", cases[i].var, cases[i].value, rc);
        if (strncmp(err, cases[i].var, strlen(cases[i].var)) != 0 || err[strlen(cases[i].var)] != ':')
            fail_msg("%s='%s': message '%s' does not start with '%s:'", cases[i].var, cases[i].value, err,
                     cases[i].var);
    }
}

static void test_invalid_port_message(void **state)
{
    struct config cfg;
    char err[256] = "";
    setenv("PORT", "80x", 1);
    assert_int_equal(config_load(&cfg, NULL, err, sizeof err), -1);
    assert_string_equal(err, "PORT: expected an integer from 1 to 65535");
}

/* PORT= (set, but empty) is a mistake in a deployment manifest, not a request for the default. */
static void test_empty_port_rejected(void **state)
{
    struct config cfg;
    char err[256] = "";
    setenv("PORT", "", 1);
    assert_int_equal(config_load(&cfg, NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "PORT"));
}

static void test_port_bounds_accepted(void **state)
{
    static const struct {
        const char *value;
        int expected;
    } cases[] = {{"1", 1}, {"80", 80}, {"8081", 8081}, {"65535", 65535}};
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        struct config cfg;
        char err[256] = "";
        setenv("PORT", cases[i].value, 1);
        int rc = config_load(&cfg, NULL, err, sizeof err);
        if (rc != 0 || cfg.port != cases[i].expected)
            fail_msg("PORT=%s: rc %d port %d (%s)", cases[i].value, rc, cfg.port, err);
    }
}

/* --- --env-file --- */

static void test_env_file_parsing(void **state)
{
    char path[128];
    write_file("parse.env",
               "# a comment\n"
               "   # an indented comment\n"
               "\n"
               "   \n"
               "export PORT=9090\n"
               "HOST=\"127.0.0.1\"\n"
               "ALLOWED_ORIGINS='https://a.example, https://b.example'\n"
               "  LOG_LEVEL = debug  \n"
               "ENVIRONMENT=staging\n"
               "ENVIRONMENT=production\n"
               "JWT_SECRET=\"" JWT "\"\n"
               "PUBLIC_BASE_URL='https://cabanas.example'\n"
               "DB_POOL_SIZE=7", /* no final newline */
               path, sizeof path);
    struct config cfg;
    char err[256] = "";
    assert_int_equal(config_load(&cfg, path, err, sizeof err), 0);
    assert_int_equal(cfg.port, 9090);
    assert_string_equal(cfg.host, "127.0.0.1");
    assert_string_equal(cfg.allowed_origins, "https://a.example, https://b.example");
    assert_int_equal(cfg.log_level, LOG_DEBUG);
    assert_int_equal(cfg.environment, ENV_PRODUCTION); /* the later line wins */
    assert_string_equal(cfg.jwt_secret, JWT);
    assert_string_equal(cfg.public_base_url, "https://cabanas.example");
    assert_int_equal(cfg.db_pool_size, 7);
}

static void test_env_file_environment_wins(void **state)
{
    char path[128];
    write_file("wins.env", "PORT=9090\nHOST=10.0.0.1\nLOG_LEVEL=error\n", path, sizeof path);
    setenv("PORT", "7070", 1);
    setenv("LOG_LEVEL", "debug", 1);
    struct config cfg;
    char err[256] = "";
    assert_int_equal(config_load(&cfg, path, err, sizeof err), 0);
    assert_int_equal(cfg.port, 7070);
    assert_int_equal(cfg.log_level, LOG_DEBUG);
    assert_string_equal(cfg.host, "10.0.0.1"); /* not in the environment: the file's value */
}

static void test_env_file_missing_equals(void **state)
{
    char path[128], expected[256];
    write_file("noeq.env", "PORT=9090\n# comment\nJUST_A_KEY\nHOST=x\n", path, sizeof path);
    struct config cfg;
    char err[256] = "";
    assert_int_equal(config_load(&cfg, path, err, sizeof err), -1);
    snprintf(expected, sizeof expected, "--env-file %s:3: expected KEY=VALUE", path);
    assert_string_equal(err, expected);
}

static void test_env_file_invalid_key(void **state)
{
    char path[128], expected[256];
    write_file("badkey.env", "\n1PORT=9090\n", path, sizeof path);
    struct config cfg;
    char err[256] = "";
    assert_int_equal(config_load(&cfg, path, err, sizeof err), -1);
    snprintf(expected, sizeof expected, "--env-file %s:2: invalid key", path);
    assert_string_equal(err, expected);
}

static void test_env_file_missing_file(void **state)
{
    char path[128];
    snprintf(path, sizeof path, "%s/does-not-exist.env", tmpdir);
    struct config cfg;
    char err[256] = "";
    assert_int_equal(config_load(&cfg, path, err, sizeof err), -1);
    assert_non_null(strstr(err, path));
}

/* Shell syntax in a value is data: nothing is expanded or executed. */
static void test_env_file_never_executes(void **state)
{
    char path[128], marker[128], content[512], expected[256];
    snprintf(marker, sizeof marker, "%s/pwned", tmpdir);
    snprintf(content, sizeof content,
             "ALLOWED_ORIGINS=$(touch %s)\n"
             "HOST=`touch %s`\n"
             "PUBLIC_BASE_URL=\"http://${HOME}/$USER\"\n",
             marker, marker);
    write_file("exec.env", content, path, sizeof path);
    struct config cfg;
    char err[256] = "";
    assert_int_equal(config_load(&cfg, path, err, sizeof err), 0);
    snprintf(expected, sizeof expected, "$(touch %s)", marker);
    assert_string_equal(cfg.allowed_origins, expected);
    snprintf(expected, sizeof expected, "`touch %s`", marker);
    assert_string_equal(cfg.host, expected);
    assert_string_equal(cfg.public_base_url, "http://${HOME}/$USER");
    errno = 0;
    assert_int_equal(access(marker, F_OK), -1);
    assert_int_equal(errno, ENOENT);
}

/* Only matching quotes are removed; a lone quote is part of the value. */
static void test_env_file_quotes(void **state)
{
    char path[128];
    write_file("quotes.env",
               "HOST=\"abc\n"
               "ALLOWED_ORIGINS='x\"\n"
               "PUBLIC_BASE_URL=\"\"\n",
               path, sizeof path);
    struct config cfg;
    char err[256] = "";
    assert_int_equal(config_load(&cfg, path, err, sizeof err), 0);
    assert_string_equal(cfg.host, "\"abc");
    assert_string_equal(cfg.allowed_origins, "'x\"");
    assert_string_equal(cfg.public_base_url, "");
}

/* Values read from one --env-file must not survive into a later config_load() without it. */
static void test_env_file_not_sticky(void **state)
{
    char path[128];
    write_file("sticky.env", "PORT=9191\n", path, sizeof path);
    struct config cfg;
    char err[256] = "";
    assert_int_equal(config_load(&cfg, path, err, sizeof err), 0);
    assert_int_equal(cfg.port, 9191);
    assert_int_equal(config_load(&cfg, NULL, err, sizeof err), 0);
    assert_int_equal(cfg.port, 8080);
}

static void test_jwt_secret_rules(void **state)
{
    struct config cfg;
    char err[256] = "";
    /* development without a secret: a random one for this process */
    assert_int_equal(config_load(&cfg, NULL, err, sizeof err), 0);
    assert_int_equal(cfg.jwt_secret_generated, 1);
    assert_int_equal(strlen(cfg.jwt_secret), 64);
    assert_int_equal(strspn(cfg.jwt_secret, "0123456789abcdef"), 64);

    setenv("ENVIRONMENT", "production", 1);
    assert_int_equal(config_load(&cfg, NULL, err, sizeof err), -1);
    assert_int_equal(strncmp(err, "JWT_SECRET:", 11), 0);

    setenv("JWT_SECRET", "0123456789abcdef0123456789abcde", 1); /* 31 bytes */
    assert_int_equal(config_load(&cfg, NULL, err, sizeof err), -1);
    assert_int_equal(strncmp(err, "JWT_SECRET:", 11), 0);

    setenv("JWT_SECRET", JWT, 1);
    assert_int_equal(config_load(&cfg, NULL, err, sizeof err), 0);
    assert_string_equal(cfg.jwt_secret, JWT);
    assert_int_equal(cfg.jwt_secret_generated, 0);
}

/* --- URL parsers --- */

static void test_parse_redis_url(void **state)
{
    static const struct {
        const char *url;
        int rc;
        const char *host;
        int port;
        const char *password;
        int db;
    } cases[] = {
        {"redis://localhost", 0, "localhost", 6379, "", 0},
        {"redis://:pw@h:6380/3", 0, "h", 6380, "pw", 3},
        {"redis://user:pw@h", 0, "h", 6379, "pw", 0},
        {"redis://h/", 0, "h", 6379, "", 0},
        {"redis://h:1/15", 0, "h", 1, "", 15},
        {"redis://10.0.0.5:65535", 0, "10.0.0.5", 65535, "", 0},
        {"redis://:p:w@h", 0, "h", 6379, "p:w", 0},
        {"http://x", -1, NULL, 0, NULL, 0},
        {"rediss://h", -1, NULL, 0, NULL, 0},
        {"", -1, NULL, 0, NULL, 0},
        {"redis://", -1, NULL, 0, NULL, 0},
        {"redis://:pw@", -1, NULL, 0, NULL, 0},
        {"redis://:6379", -1, NULL, 0, NULL, 0},
        {"redis://h:99999", -1, NULL, 0, NULL, 0},
        {"redis://h:0", -1, NULL, 0, NULL, 0},
        {"redis://h:", -1, NULL, 0, NULL, 0},
        {"redis://h:abc", -1, NULL, 0, NULL, 0},
        {"redis://h:63x9", -1, NULL, 0, NULL, 0},
        {"redis://h:6379junk", -1, NULL, 0, NULL, 0},
        {"redis://h/16", -1, NULL, 0, NULL, 0},
        {"redis://h/x", -1, NULL, 0, NULL, 0},
        {"redis://h/-1", -1, NULL, 0, NULL, 0},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        struct redis_url r;
        int rc = config_parse_redis_url(cases[i].url, &r);
        if (rc != cases[i].rc)
            fail_msg("'%s': rc %d, expected %d", cases[i].url, rc, cases[i].rc);
        if (rc != 0)
            continue;
        if (strcmp(r.host, cases[i].host) != 0 || r.port != cases[i].port ||
            strcmp(r.password, cases[i].password) != 0 || r.db != cases[i].db)
            fail_msg("'%s': got host '%s' port %d password '%s' db %d", cases[i].url, r.host, r.port,
                     r.password, r.db);
    }
}

static void test_parse_database_url(void **state)
{
    static const struct {
        const char *url;
        int rc;
        enum db_engine engine;
        const char *path;
    } cases[] = {
        {"postgresql://app:pw@db.example:5432/cabanas", 0, DB_ENGINE_POSTGRES, ""},
        {"postgres://db.example/cabanas", 0, DB_ENGINE_POSTGRES, ""},
        {"postgresql://", 0, DB_ENGINE_POSTGRES, ""},
        {"sqlite:///abs/path", 0, DB_ENGINE_SQLITE, "/abs/path"},
        {"sqlite://rel/x.db", 0, DB_ENGINE_SQLITE, "rel/x.db"},
        {"sqlite://./var/cabanas.db", 0, DB_ENGINE_SQLITE, "./var/cabanas.db"},
        {"sqlite://", -1, DB_ENGINE_SQLITE, NULL},
        {"sqlite:/x.db", -1, DB_ENGINE_SQLITE, NULL},
        {"sqlite://x.db?mode=ro", -1, DB_ENGINE_SQLITE, NULL},
        {"sqlite://x.db#frag", -1, DB_ENGINE_SQLITE, NULL},
        {"mysql://x", -1, DB_ENGINE_SQLITE, NULL},
        {"postgresql:/x", -1, DB_ENGINE_SQLITE, NULL},
        {"", -1, DB_ENGINE_SQLITE, NULL},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        enum db_engine engine = (enum db_engine)42;
        char path[64] = "untouched";
        int rc = config_parse_database_url(cases[i].url, &engine, path, sizeof path);
        if (rc != cases[i].rc)
            fail_msg("'%s': rc %d, expected %d", cases[i].url, rc, cases[i].rc);
        if (rc != 0)
            continue;
        if (engine != cases[i].engine || strcmp(path, cases[i].path) != 0)
            fail_msg("'%s': engine %d path '%s'", cases[i].url, (int)engine, path);
    }
}

static void test_parse_database_url_path_limit(void **state)
{
    enum db_engine engine;
    char path[7];
    assert_int_equal(config_parse_database_url("sqlite://abcdef", &engine, path, 7), 0);
    assert_string_equal(path, "abcdef");
    assert_int_equal(config_parse_database_url("sqlite://abcdefg", &engine, path, 7), -1);
}

static void test_redact_url(void **state)
{
    static const struct {
        const char *url, *expected;
    } cases[] = {
        {"postgresql://user:secret@db.example:5432/cabanas", "postgresql://user:***@db.example:5432/cabanas"},
        {"postgres://u:p@h/db", "postgres://u:***@h/db"},
        {"redis://:pw@h:6380/3", "redis://:***@h:6380/3"},
        {"redis://user:pw@h", "redis://user:***@h"},
        {"postgresql://user@h/db", "postgresql://user@h/db"},
        {"postgresql://h:5432/db", "postgresql://h:5432/db"},
        {"redis://localhost", "redis://localhost"},
        {"sqlite:///var/lib/cabanas.db", "sqlite:///var/lib/cabanas.db"},
        {"not a url", "not a url"},
        {"", ""},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        char out[256];
        memset(out, 'Z', sizeof out);
        config_redact_url(cases[i].url, out, sizeof out);
        if (strcmp(out, cases[i].expected) != 0)
            fail_msg("'%s': got '%s', expected '%s'", cases[i].url, out, cases[i].expected);
    }
}

static void test_redact_url_truncates(void **state)
{
    char out[16];
    config_redact_url("postgresql://user:secret@h/db", out, sizeof out);
    assert_string_equal(out, "postgresql://us");
}

/* --- config_print --- */

static void test_print_redacts_passwords(void **state)
{
    setenv("DATABASE_URL", "postgresql://app:pgsecret@db.example/cabanas", 1);
    setenv("REDIS_URL", "redis://:redissecret@cache.example:6380/2", 1);
    setenv("JWT_SECRET", JWT, 1);
    struct config cfg;
    char err[256] = "";
    assert_int_equal(config_load(&cfg, NULL, err, sizeof err), 0);
    const char *out = print_config(&cfg);
    assert_null(strstr(out, "pgsecret"));
    assert_null(strstr(out, "redissecret"));
    assert_null(strstr(out, JWT));
    assert_non_null(strstr(out, "\nJWT_SECRET=***\n"));
    assert_non_null(strstr(out, "\nDATABASE_URL=postgresql://app:***@db.example/cabanas\n"));
    assert_non_null(strstr(out, "\nREDIS_URL=redis://:***@cache.example:6380/2\n"));
    assert_non_null(strstr(out, "PORT=8080\n"));
    assert_non_null(strstr(out, "\nLOG_LEVEL=info\n"));
    assert_non_null(strstr(out, "\n# database engine: postgresql\n"));
    assert_non_null(strstr(out, "\n# redis: enabled\n"));
}

static void test_print_defaults(void **state)
{
    struct config cfg;
    char err[256] = "";
    assert_int_equal(config_load(&cfg, NULL, err, sizeof err), 0);
    const char *out = print_config(&cfg);
    assert_non_null(strstr(out, "\nDATABASE_URL=sqlite://./var/cabanas.db\n"));
    assert_non_null(strstr(out, "\nREDIS_URL=\n"));
    assert_non_null(strstr(out, "\nENVIRONMENT=development\n"));
    assert_non_null(strstr(out, "\nCABANAS_TEST_ENDPOINTS=false\n"));
    assert_non_null(strstr(out, "\n# database engine: sqlite\n"));
    assert_non_null(strstr(out, "\n# redis: disabled (in-process fallbacks)\n"));
}

/* redis://PASSWORD@host (no colon) is read as the AUTH password, like redis-cli does, so it is a
 * secret and must be redacted too. */
static void test_print_redacts_redis_password_without_colon(void **state)
{
    setenv("REDIS_URL", "redis://s3cretpw@cache.example:6379", 1);
    struct config cfg;
    char err[256] = "";
    assert_int_equal(config_load(&cfg, NULL, err, sizeof err), 0);
    assert_string_equal(cfg.redis.password, "s3cretpw");
    const char *out = print_config(&cfg);
    assert_null(strstr(out, "s3cretpw"));
}

/* The Redis parser splits userinfo at the last '@', so a password may contain '@'; none of it may
 * show. */
static void test_print_redacts_redis_password_with_at(void **state)
{
    setenv("REDIS_URL", "redis://:p4ss@w0rd@cache.example", 1);
    struct config cfg;
    char err[256] = "";
    assert_int_equal(config_load(&cfg, NULL, err, sizeof err), 0);
    assert_string_equal(cfg.redis.password, "p4ss@w0rd");
    const char *out = print_config(&cfg);
    assert_null(strstr(out, "w0rd"));
}

/* libpq also takes the password as a query parameter. */
static void test_print_redacts_postgres_query_password(void **state)
{
    setenv("DATABASE_URL", "postgresql://app@db.example/cabanas?password=hunter2&sslmode=require", 1);
    struct config cfg;
    char err[256] = "";
    assert_int_equal(config_load(&cfg, NULL, err, sizeof err), 0);
    const char *out = print_config(&cfg);
    assert_null(strstr(out, "hunter2"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_valid_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_enum_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_port_message, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_port_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_port_bounds_accepted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_env_file_parsing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_env_file_environment_wins, setup, teardown),
        cmocka_unit_test_setup_teardown(test_env_file_missing_equals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_env_file_invalid_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_env_file_missing_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_env_file_never_executes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_env_file_quotes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_env_file_not_sticky, setup, teardown),
        cmocka_unit_test_setup_teardown(test_jwt_secret_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parse_redis_url, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parse_database_url, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parse_database_url_path_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_redact_url, setup, teardown),
        cmocka_unit_test_setup_teardown(test_redact_url_truncates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_print_redacts_passwords, setup, teardown),
        cmocka_unit_test_setup_teardown(test_print_defaults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_print_redacts_redis_password_without_colon, setup, teardown),
        cmocka_unit_test_setup_teardown(test_print_redacts_redis_password_with_at, setup, teardown),
        cmocka_unit_test_setup_teardown(test_print_redacts_postgres_query_password, setup, teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
