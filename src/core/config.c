/* config.c - environment and --env-file parsing into struct config.
 *
 * Every setting is one row of `settings[]`: its name, kind, default, limits and whether it is a secret.
 * config_load() walks the table once, so adding a setting is one line, and config-check prints exactly
 * what the server uses. This is the only file that calls getenv(). */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#define ENV_FILE_MAX_BYTES (256 * 1024)
#define ENV_FILE_MAX_ENTRIES 512

enum kind { K_INT, K_STR, K_BOOL, K_ENUM_ENV, K_ENUM_LOG, K_URL };

struct setting {
    const char *name;
    enum kind kind;
    const char *def;
    size_t offset;
    long min, max; /* K_INT bounds; K_STR max length */
    int secret;    /* value redacted by config_print */
};

#define OFF(f) offsetof(struct config, f)

static const struct setting settings[] = {
    {"PORT", K_INT, "8080", OFF(port), 1, 65535, 0},
    {"HOST", K_STR, "0.0.0.0", OFF(host), 0, 255, 0},
    {"HTTP_THREADS", K_INT, "8", OFF(http_threads), 1, 256, 0},
    {"MAX_BODY_BYTES", K_INT, "1048576", OFF(max_body_bytes), 1024, 64L * 1024 * 1024, 0},
    {"HTTP_CONNECTION_TIMEOUT_SECONDS", K_INT, "30", OFF(connection_timeout_s), 1, 3600, 0},
    {"HTTP_MAX_CONNECTIONS", K_INT, "1024", OFF(max_connections), 1, 100000, 0},
    {"SHUTDOWN_DRAIN_SECONDS", K_INT, "10", OFF(shutdown_drain_s), 0, 600, 0},
    {"ALLOWED_ORIGINS", K_STR, "", OFF(allowed_origins), 0, CONFIG_STR_MAX - 1, 0},
    {"PUBLIC_BASE_URL", K_STR, "http://127.0.0.1:8080", OFF(public_base_url), 0, CONFIG_STR_MAX - 1, 0},
    {"HEALTH_CHECK_CACHE_MS", K_INT, "100", OFF(health_check_cache_ms), 0, 10000, 0},
    {"CABANAS_TEST_ENDPOINTS", K_BOOL, "0", OFF(test_endpoints), 0, 1, 0},
    {"DATABASE_URL", K_URL, "sqlite://./var/cabanas.db", OFF(database_url), 0, CONFIG_STR_MAX - 1, 1},
    {"DB_POOL_SIZE", K_INT, "8", OFF(db_pool_size), 1, 256, 0},
    {"DB_CONNECT_TIMEOUT_SECONDS", K_INT, "3", OFF(db_connect_timeout_s), 1, 60, 0},
    {"REDIS_URL", K_URL, "", OFF(redis_url), 0, CONFIG_STR_MAX - 1, 1},
    {"ENVIRONMENT", K_ENUM_ENV, "development", OFF(environment), 0, 0, 0},
    {"LOG_LEVEL", K_ENUM_LOG, "info", OFF(log_level), 0, 0, 0},
    {"DEPOSIT_PERCENT", K_INT, "30", OFF(deposit_percent), 0, 100, 0},
    {"HOLD_MINUTES", K_INT, "30", OFF(hold_minutes), 1, 10080, 0},
    {"HOLD_SECONDS", K_INT, "0", OFF(hold_seconds), 0, 604800, 0},
    {"PROPERTY_TIMEZONE", K_STR, "America/Argentina/Buenos_Aires", OFF(property_timezone), 1, 127, 0},
    {"BOOKING_HORIZON_DAYS", K_INT, "730", OFF(booking_horizon_days), 1, 3650, 0},
    {"JOB_EXPIRATION_INTERVAL_SECONDS", K_INT, "60", OFF(job_expiration_interval_s), 1, 86400, 0},
    {"JWT_SECRET", K_STR, "", OFF(jwt_secret), 0, 511, 1},
    {"ADMIN_TOKEN_TTL", K_INT, "43200", OFF(admin_token_ttl_s), 60, 2592000, 0},
    {"ADMIN_ALLOWED_EMAILS", K_STR, "", OFF(admin_allowed_emails), 0, CONFIG_STR_MAX - 1, 0},
    {"LOGIN_MAX_FAILURES", K_INT, "5", OFF(login_max_failures), 1, 1000, 0},
    {"LOGIN_LOCKOUT_SECONDS", K_INT, "900", OFF(login_lockout_s), 1, 86400, 0},
    {"RATE_LIMIT_ENABLED", K_BOOL, "true", OFF(rate_limit_enabled), 0, 1, 0},
    {"RATE_LIMIT_REQUESTS", K_INT, "300", OFF(rate_limit_requests), 1, 1000000, 0},
    {"RATE_LIMIT_WINDOW_SECONDS", K_INT, "60", OFF(rate_limit_window_s), 1, 86400, 0},
    {"TRUST_PROXY", K_BOOL, "false", OFF(trust_proxy), 0, 1, 0},
    {"ICS_SALT", K_STR, "", OFF(ics_salt), 0, 511, 1},
    {"JOB_ICAL_INTERVAL_SECONDS", K_INT, "300", OFF(job_ical_interval_s), 1, 86400, 0},
    {"ICAL_SYNC_MAX_AGE_MINUTES", K_INT, "60", OFF(ical_sync_max_age_minutes), 1, 10080, 0},
    {"ICAL_FETCH_TIMEOUT_SECONDS", K_INT, "20", OFF(ical_fetch_timeout_s), 1, 120, 0},
    {"MERCADOPAGO_ACCESS_TOKEN", K_STR, "", OFF(mp_access_token), 0, 511, 1},
    {"MERCADOPAGO_API_BASE", K_STR, "https://api.mercadopago.com", OFF(mp_api_base), 1, CONFIG_STR_MAX - 1,
     0},
    {"MERCADOPAGO_WEBHOOK_SECRET", K_STR, "", OFF(mp_webhook_secret), 0, 511, 1},
    {"MERCADOPAGO_SIGNATURE_MAX_AGE_SECONDS", K_INT, "600", OFF(mp_signature_max_age_s), 1, 86400, 0},
    {"JOB_PAYMENTS_INTERVAL_SECONDS", K_INT, "5", OFF(job_payments_interval_s), 1, 3600, 0},
    {"SMTP_URL", K_URL, "", OFF(smtp_url), 0, CONFIG_STR_MAX - 1, 0},
    {"SMTP_USERNAME", K_STR, "", OFF(smtp_username), 0, 255, 0},
    {"SMTP_PASSWORD", K_STR, "", OFF(smtp_password), 0, 511, 1},
    {"SMTP_FROM", K_STR, "", OFF(smtp_from), 0, 255, 0},
    {"OWNER_EMAIL", K_STR, "", OFF(owner_email), 0, 254, 0},
    {"OUTBOX_MAX_BACKOFF_SECONDS", K_INT, "60", OFF(outbox_max_backoff_s), 1, 86400, 0},
    {"OUTBOX_MAX_ATTEMPTS", K_INT, "30", OFF(outbox_max_attempts), 1, 1000, 0},
    {"JOB_OUTBOX_INTERVAL_SECONDS", K_INT, "2", OFF(job_outbox_interval_s), 1, 3600, 0},
    {"SMTP_TIMEOUT_SECONDS", K_INT, "20", OFF(smtp_timeout_s), 1, 300, 0},
    {"OUTBOX_PAYMENT_LINK_WAIT_SECONDS", K_INT, "30", OFF(outbox_payment_link_wait_s), 0, 3600, 0},
    {"WHATSAPP_ACCESS_TOKEN", K_STR, "", OFF(wa_access_token), 0, 1023, 1},
    {"WHATSAPP_PHONE_NUMBER_ID", K_STR, "", OFF(wa_phone_number_id), 0, 63, 0},
    {"WHATSAPP_PHONE_ID", K_STR, "", OFF(wa_phone_id), 0, 63, 0},
    {"WHATSAPP_API_BASE", K_STR, "https://graph.facebook.com/v21.0", OFF(wa_api_base), 1, CONFIG_STR_MAX - 1,
     0},
    {"WHATSAPP_VERIFY_TOKEN", K_STR, "", OFF(wa_verify_token), 0, 255, 1},
    {"WHATSAPP_APP_SECRET", K_STR, "", OFF(wa_app_secret), 0, 255, 1},
    {"WHATSAPP_SESSION_MINUTES", K_INT, "30", OFF(wa_session_minutes), 1, 1440, 0},
    {"WHATSAPP_HANDOFF_HOURS", K_INT, "24", OFF(wa_handoff_hours), 1, 720, 0},
    {"WHATSAPP_REPLIES_PER_MINUTE", K_INT, "20", OFF(wa_replies_per_minute), 10, 1000, 0},
    {"WHATSAPP_SEND_RETRIES", K_INT, "3", OFF(wa_send_retries), 0, 10, 0},
    {"WHATSAPP_RETRY_BASE_MS", K_INT, "500", OFF(wa_retry_base_ms), 1, 60000, 0},
    {"WHATSAPP_TIMEOUT_MS", K_INT, "10000", OFF(wa_timeout_ms), 100, 120000, 0},
    {"WHATSAPP_BREAKER_FAILURES", K_INT, "5", OFF(wa_breaker_failures), 1, 1000, 0},
    {"WHATSAPP_BREAKER_SECONDS", K_INT, "30", OFF(wa_breaker_seconds), 1, 3600, 0},
    {"WHATSAPP_TEMPLATES", K_STR, "", OFF(wa_templates), 0, CONFIG_STR_MAX - 1, 0},
    {"WHATSAPP_TEMPLATE_LANGUAGE", K_STR, "es_AR", OFF(wa_template_language), 2, 15, 0},
};

/* --- env file: parsed into a small table, consulted after the real environment --- */

struct env_entry {
    char *key;
    char *value;
};

static struct env_entry file_entries[ENV_FILE_MAX_ENTRIES];
static int file_entry_count;

static void env_file_clear(void)
{
    for (int i = 0; i < file_entry_count; i++) {
        free(file_entries[i].key);
        free(file_entries[i].value);
    }
    file_entry_count = 0;
}

static char *trim(char *s)
{
    while (*s && isspace((unsigned char)*s))
        s++;
    char *end = s + strlen(s);
    while (end > s && isspace((unsigned char)end[-1]))
        *--end = '\0';
    return s;
}

static int valid_key(const char *k)
{
    if (!*k || isdigit((unsigned char)*k))
        return 0;
    for (; *k; k++)
        if (!(isalnum((unsigned char)*k) || *k == '_'))
            return 0;
    return 1;
}

/* KEY=VALUE lines; `#` comments, blank lines, an optional `export ` prefix, and values in matching
 * single or double quotes. Nothing is expanded or executed. */
static int env_file_parse(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "--env-file %s: %s", path, strerror(errno));
        return -1;
    }
    char line[4096];
    int lineno = 0, rc = 0;
    long total = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        total += (long)strlen(line);
        if (total > ENV_FILE_MAX_BYTES) {
            snprintf(err, errlen, "--env-file %s: larger than %d bytes", path, ENV_FILE_MAX_BYTES);
            rc = -1;
            break;
        }
        if (!strchr(line, '\n') && !feof(f)) {
            snprintf(err, errlen, "--env-file %s:%d: line too long", path, lineno);
            rc = -1;
            break;
        }
        char *s = trim(line);
        if (!*s || *s == '#')
            continue;
        if (strncmp(s, "export ", 7) == 0)
            s = trim(s + 7);
        char *eq = strchr(s, '=');
        if (!eq) {
            snprintf(err, errlen, "--env-file %s:%d: expected KEY=VALUE", path, lineno);
            rc = -1;
            break;
        }
        *eq = '\0';
        char *key = trim(s), *val = trim(eq + 1);
        if (!valid_key(key)) {
            snprintf(err, errlen, "--env-file %s:%d: invalid key", path, lineno);
            rc = -1;
            break;
        }
        size_t vl = strlen(val);
        if (vl >= 2 && (val[0] == '"' || val[0] == '\'') && val[vl - 1] == val[0]) {
            val[vl - 1] = '\0';
            val++;
        }
        if (file_entry_count >= ENV_FILE_MAX_ENTRIES) {
            snprintf(err, errlen, "--env-file %s: more than %d entries", path, ENV_FILE_MAX_ENTRIES);
            rc = -1;
            break;
        }
        /* A later line for the same key wins, as in a shell. */
        int i;
        for (i = 0; i < file_entry_count; i++)
            if (strcmp(file_entries[i].key, key) == 0)
                break;
        char *dup = strdup(val);
        if (!dup)
            abort();
        if (i < file_entry_count) {
            free(file_entries[i].value);
            file_entries[i].value = dup;
        } else {
            file_entries[i].key = strdup(key);
            if (!file_entries[i].key)
                abort();
            file_entries[i].value = dup;
            file_entry_count++;
        }
    }
    fclose(f);
    return rc;
}

static const char *lookup(const char *name)
{
    const char *v = getenv(name);
    if (v)
        return v;
    for (int i = 0; i < file_entry_count; i++)
        if (strcmp(file_entries[i].key, name) == 0)
            return file_entries[i].value;
    return NULL;
}

/* --- value parsers --- */

static int parse_long(const char *s, long min, long max, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end != '\0' || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

static int parse_bool(const char *s, int *out)
{
    static const char *yes[] = {"1", "true", "yes", "on"}, *no[] = {"0", "false", "no", "off", ""};
    for (size_t i = 0; i < sizeof yes / sizeof *yes; i++)
        if (strcasecmp(s, yes[i]) == 0)
            return *out = 1, 0;
    for (size_t i = 0; i < sizeof no / sizeof *no; i++)
        if (strcasecmp(s, no[i]) == 0)
            return *out = 0, 0;
    return -1;
}

int config_parse_redis_url(const char *url, struct redis_url *out)
{
    memset(out, 0, sizeof *out);
    out->port = 6379;
    if (strncmp(url, "redis://", 8) != 0)
        return -1;
    const char *p = url + 8;
    const char *at = strrchr(p, '@');
    if (at) {
        /* userinfo: ":password" or "user:password"; only the password is used (Redis AUTH). */
        const char *colon = memchr(p, ':', (size_t)(at - p));
        const char *pw = colon ? colon + 1 : p;
        size_t n = (size_t)(at - pw);
        if (n >= sizeof out->password)
            return -1;
        memcpy(out->password, pw, n);
        p = at + 1;
    }
    size_t hl = strcspn(p, ":/");
    if (hl == 0 || hl >= sizeof out->host)
        return -1;
    memcpy(out->host, p, hl);
    p += hl;
    if (*p == ':') {
        p++;
        size_t pl = strcspn(p, "/");
        char buf[8];
        long port;
        if (pl == 0 || pl >= sizeof buf)
            return -1;
        memcpy(buf, p, pl);
        buf[pl] = '\0';
        if (parse_long(buf, 1, 65535, &port) < 0)
            return -1;
        out->port = (int)port;
        p += pl;
    }
    if (*p == '/') {
        p++;
        if (*p) {
            long db;
            if (parse_long(p, 0, 15, &db) < 0)
                return -1;
            out->db = (int)db;
        }
    } else if (*p) {
        return -1;
    }
    return 0;
}

int config_parse_database_url(const char *url, enum db_engine *engine, char *path, size_t pathlen)
{
    if (strncmp(url, "postgresql://", 13) == 0 || strncmp(url, "postgres://", 11) == 0) {
        *engine = DB_ENGINE_POSTGRES;
        if (pathlen)
            path[0] = '\0';
        return 0;
    }
    if (strncmp(url, "sqlite://", 9) == 0) {
        /* sqlite:///abs/path -> "/abs/path"; sqlite://rel/path -> "rel/path" */
        const char *p = url + 9;
        if (!*p || strlen(p) >= pathlen)
            return -1;
        if (strchr(p, '?') || strchr(p, '#'))
            return -1;
        *engine = DB_ENGINE_SQLITE;
        memcpy(path, p, strlen(p) + 1);
        return 0;
    }
    return -1;
}

static void put(char *out, size_t outlen, size_t *used, const char *s, size_t n)
{
    if (*used + 1 >= outlen)
        return;
    if (n > outlen - *used - 1)
        n = outlen - *used - 1;
    memcpy(out + *used, s, n);
    *used += n;
    out[*used] = '\0';
}

/* Hides user:PASSWORD@, redis://PASSWORD@ (split at the last '@', as the Redis parser does) and libpq's
 * ?password=… / &password=…. Over-redacting is fine; leaking is not. */
void config_redact_url(const char *url, char *out, size_t outlen)
{
    size_t used = 0;
    if (!outlen)
        return;
    out[0] = '\0';
    const char *p = url;
    const char *scheme = strstr(url, "://");
    const char *user = scheme ? scheme + 3 : NULL;
    const char *at = user ? strrchr(user, '@') : NULL;
    if (at) {
        const char *colon = memchr(user, ':', (size_t)(at - user));
        if (colon) {
            put(out, outlen, &used, url, (size_t)(colon + 1 - url));
            put(out, outlen, &used, "***", 3);
            p = at;
        } else if (strncmp(url, "redis://", 8) == 0) {
            put(out, outlen, &used, url, (size_t)(user - url));
            put(out, outlen, &used, "***", 3);
            p = at;
        }
    }
    const char *q;
    while ((q = strstr(p, "password=")) != NULL) {
        q += 9;
        put(out, outlen, &used, p, (size_t)(q - p));
        p = q;
        if (q - 9 > url && (q[-10] == '?' || q[-10] == '&')) {
            put(out, outlen, &used, "***", 3);
            p = q + strcspn(q, "&#");
        }
    }
    put(out, outlen, &used, p, strlen(p));
}

const char *config_environment_name(enum environment env)
{
    switch (env) {
    case ENV_STAGING:
        return "staging";
    case ENV_PRODUCTION:
        return "production";
    default:
        return "development";
    }
}

const char *config_log_level_name(enum log_level level)
{
    static const char *names[] = {"debug", "info", "warn", "error"};
    return (level >= LOG_DEBUG && level <= LOG_ERROR) ? names[level] : "info";
}

static int apply(struct config *cfg, const struct setting *s, const char *v, char *err, size_t errlen)
{
    char *field = (char *)cfg + s->offset;
    long l;
    switch (s->kind) {
    case K_INT:
        if (parse_long(v, s->min, s->max, &l) < 0) {
            snprintf(err, errlen, "%s: expected an integer from %ld to %ld", s->name, s->min, s->max);
            return -1;
        }
        if (s->offset == OFF(max_body_bytes))
            *(long *)field = l;
        else
            *(int *)field = (int)l;
        return 0;
    case K_BOOL:
        if (parse_bool(v, (int *)field) < 0) {
            snprintf(err, errlen, "%s: expected true or false", s->name);
            return -1;
        }
        return 0;
    case K_STR:
    case K_URL:
        if ((long)strlen(v) > s->max) {
            snprintf(err, errlen, "%s: longer than %ld characters", s->name, s->max);
            return -1;
        }
        memcpy(field, v, strlen(v) + 1);
        return 0;
    case K_ENUM_ENV:
        if (strcmp(v, "development") == 0)
            cfg->environment = ENV_DEVELOPMENT;
        else if (strcmp(v, "staging") == 0)
            cfg->environment = ENV_STAGING;
        else if (strcmp(v, "production") == 0)
            cfg->environment = ENV_PRODUCTION;
        else {
            snprintf(err, errlen, "%s: expected development, staging or production", s->name);
            return -1;
        }
        return 0;
    case K_ENUM_LOG:
        for (int i = LOG_DEBUG; i <= LOG_ERROR; i++)
            if (strcasecmp(v, config_log_level_name((enum log_level)i)) == 0 ||
                (i == LOG_WARN && strcasecmp(v, "warning") == 0)) {
                cfg->log_level = (enum log_level)i;
                return 0;
            }
        snprintf(err, errlen, "%s: expected debug, info, warn or error", s->name);
        return -1;
    }
    return -1;
}

int config_load(struct config *cfg, const char *env_file, char *err, size_t errlen)
{
    memset(cfg, 0, sizeof *cfg);
    env_file_clear();
    if (env_file && env_file_parse(env_file, err, errlen) < 0)
        return -1;
    for (size_t i = 0; i < sizeof settings / sizeof *settings; i++) {
        const char *v = lookup(settings[i].name);
        if (!v)
            v = settings[i].def;
        if (apply(cfg, &settings[i], v, err, errlen) < 0)
            return -1;
    }
    if (!*cfg->database_url)
        snprintf(cfg->database_url, sizeof cfg->database_url, "%s", "sqlite://./var/cabanas.db");
    if (config_parse_database_url(cfg->database_url, &cfg->db_engine, cfg->sqlite_path,
                                  sizeof cfg->sqlite_path) < 0) {
        snprintf(err, errlen, "DATABASE_URL: expected postgresql://..., postgres://... or sqlite://PATH");
        return -1;
    }
    cfg->redis_enabled = cfg->redis_url[0] != '\0';
    if (cfg->redis_enabled && config_parse_redis_url(cfg->redis_url, &cfg->redis) < 0) {
        snprintf(err, errlen, "REDIS_URL: expected redis://[:password@]host[:port][/db]");
        return -1;
    }
    if (!*cfg->host) {
        snprintf(err, errlen, "HOST: must not be empty");
        return -1;
    }
    /* A zone name is a relative path below /usr/share/zoneinfo (Debian's tzdata). */
    char zpath[256];
    snprintf(zpath, sizeof zpath, "/usr/share/zoneinfo/%s", cfg->property_timezone);
    if (strstr(cfg->property_timezone, "..") || cfg->property_timezone[0] == '/' ||
        access(zpath, R_OK) != 0) {
        snprintf(err, errlen,
                 "PROPERTY_TIMEZONE: unknown time zone '%s' (expected e.g. America/Argentina/Buenos_Aires)",
                 cfg->property_timezone);
        return -1;
    }
    if (cfg->jwt_secret[0] && strlen(cfg->jwt_secret) < 32) {
        snprintf(err, errlen,
                 "JWT_SECRET: must be at least 32 bytes (generate one with `openssl rand -hex 32`)");
        return -1;
    }
    if (!cfg->jwt_secret[0]) {
        if (cfg->environment != ENV_DEVELOPMENT) {
            snprintf(err, errlen, "JWT_SECRET: required when ENVIRONMENT is %s (at least 32 bytes)",
                     config_environment_name(cfg->environment));
            return -1;
        }
        unsigned char raw[32];
        static const char hex[] = "0123456789abcdef";
        if (getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw)
            abort();
        for (size_t i = 0; i < sizeof raw; i++) {
            cfg->jwt_secret[2 * i] = hex[raw[i] >> 4];
            cfg->jwt_secret[2 * i + 1] = hex[raw[i] & 15];
        }
        cfg->jwt_secret[2 * sizeof raw] = '\0';
        cfg->jwt_secret_generated = 1;
    }
    if (*cfg->smtp_url && strncmp(cfg->smtp_url, "smtp://", 7) != 0 &&
        strncmp(cfg->smtp_url, "smtps://", 8) != 0) {
        snprintf(err, errlen, "SMTP_URL: expected smtp://host[:port] or smtps://host[:port]");
        return -1;
    }
    if (*cfg->smtp_url && !*cfg->smtp_from) {
        snprintf(err, errlen, "SMTP_FROM: required when SMTP_URL is set (the sender address)");
        return -1;
    }
    for (const char *f = cfg->smtp_from; *f; f++)
        if ((unsigned char)*f < 0x20 || *f == 0x7f) {
            snprintf(err, errlen, "SMTP_FROM: must not contain control characters");
            return -1;
        }
    for (const char *f = cfg->owner_email; *f; f++)
        if ((unsigned char)*f < 0x21 || *f == 0x7f) {
            snprintf(err, errlen, "OWNER_EMAIL: must be one address, without spaces or control characters");
            return -1;
        }
    if (strncmp(cfg->wa_api_base, "http://", 7) != 0 && strncmp(cfg->wa_api_base, "https://", 8) != 0) {
        snprintf(err, errlen, "WHATSAPP_API_BASE: expected an http:// or https:// URL");
        return -1;
    }
    /* the id becomes a path segment of the Graph API URL */
    for (const char *p = config_wa_phone_id(cfg); *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z'))) {
            snprintf(err, errlen,
                     "WHATSAPP_PHONE_NUMBER_ID: expected the phone number id Meta shows (digits)");
            return -1;
        }
    if (*cfg->public_base_url && strncmp(cfg->public_base_url, "http://", 7) != 0 &&
        strncmp(cfg->public_base_url, "https://", 8) != 0) {
        snprintf(err, errlen, "PUBLIC_BASE_URL: expected an http:// or https:// URL");
        return -1;
    }
    return 0;
}

void config_print(const struct config *cfg, FILE *out)
{
    for (size_t i = 0; i < sizeof settings / sizeof *settings; i++) {
        const struct setting *s = &settings[i];
        const char *field = (const char *)cfg + s->offset;
        char buf[CONFIG_STR_MAX + 8];
        switch (s->kind) {
        case K_INT:
            if (s->offset == OFF(max_body_bytes))
                snprintf(buf, sizeof buf, "%ld", *(const long *)field);
            else
                snprintf(buf, sizeof buf, "%d", *(const int *)field);
            break;
        case K_BOOL:
            snprintf(buf, sizeof buf, "%s", *(const int *)field ? "true" : "false");
            break;
        case K_STR:
            snprintf(buf, sizeof buf, "%s", s->secret && *field ? "***" : field);
            break;
        case K_URL:
            config_redact_url(field, buf, sizeof buf);
            break;
        case K_ENUM_ENV:
            snprintf(buf, sizeof buf, "%s", config_environment_name(cfg->environment));
            break;
        case K_ENUM_LOG:
            snprintf(buf, sizeof buf, "%s", config_log_level_name(cfg->log_level));
            break;
        }
        fprintf(out, "%s=%s\n", s->name, buf);
    }
    fprintf(out, "# database engine: %s\n", cfg->db_engine == DB_ENGINE_POSTGRES ? "postgresql" : "sqlite");
    fprintf(out, "# redis: %s\n", cfg->redis_enabled ? "enabled" : "disabled (in-process fallbacks)");
}

const char *config_wa_phone_id(const struct config *cfg)
{
    return cfg->wa_phone_number_id[0] ? cfg->wa_phone_number_id : cfg->wa_phone_id;
}

int config_wa_enabled(const struct config *cfg)
{
    return cfg->wa_access_token[0] && config_wa_phone_id(cfg)[0];
}

int config_hold_seconds(const struct config *cfg)
{
    return cfg->hold_seconds > 0 ? cfg->hold_seconds : cfg->hold_minutes * 60;
}

int config_admin_allowed(const struct config *cfg, const char *email)
{
    if (!email || !*email)
        return 0;
    size_t el = strlen(email);
    const char *p = cfg->admin_allowed_emails;
    while (*p) {
        while (*p == ' ' || *p == ',')
            p++;
        size_t n = strcspn(p, ",");
        size_t t = n;
        while (t > 0 && p[t - 1] == ' ')
            t--;
        if (t == el && strncasecmp(p, email, el) == 0)
            return 1;
        p += n;
    }
    return 0;
}

int config_env_flag(const char *name)
{
    const char *v = getenv(name);
    return v && (strcmp(v, "1") == 0 || strcasecmp(v, "true") == 0 || strcasecmp(v, "yes") == 0);
}

void config_apply_timezone(const struct config *cfg)
{
    setenv("TZ", cfg->property_timezone, 1);
    tzset();
}
