/* config.h - the immutable configuration snapshot, read once from the environment.
 *
 * 12-factor: every setting is an environment variable; `--env-file FILE` adds KEY=VALUE lines that are
 * parsed (never executed) and used only where the real environment does not set the same key.
 * This module is the only place that calls getenv(). After config_load() the struct is never written
 * again, so every thread may read it without locks. */
#ifndef CABANAS_CONFIG_H
#define CABANAS_CONFIG_H

#include <stddef.h>
#include <stdio.h>

enum db_engine { DB_ENGINE_SQLITE = 0, DB_ENGINE_POSTGRES = 1 };
enum environment { ENV_DEVELOPMENT = 0, ENV_STAGING = 1, ENV_PRODUCTION = 2 };
enum log_level { LOG_DEBUG = 0, LOG_INFO = 1, LOG_WARN = 2, LOG_ERROR = 3 };

#define CONFIG_STR_MAX 1024

struct redis_url {
    char host[256];
    int port;
    char password[256];
    int db;
};

struct config {
    /* server */
    int port;
    char host[256];
    int http_threads;
    long max_body_bytes;
    int connection_timeout_s;
    int max_connections;
    int shutdown_drain_s;
    char allowed_origins[CONFIG_STR_MAX];
    char public_base_url[CONFIG_STR_MAX];
    int health_check_cache_ms;
    int test_endpoints; /* CABANAS_TEST_ENDPOINTS=1: /api/v1/_test/... routes for the test suite */

    /* storage */
    char database_url[CONFIG_STR_MAX];
    enum db_engine db_engine;
    char sqlite_path[CONFIG_STR_MAX]; /* when db_engine == DB_ENGINE_SQLITE */
    int db_pool_size;
    int db_connect_timeout_s;

    /* redis (optional) */
    char redis_url[CONFIG_STR_MAX];
    int redis_enabled;
    struct redis_url redis;

    /* process */
    enum environment environment;
    enum log_level log_level;

    /* booking */
    int deposit_percent;
    int hold_minutes;
    int hold_seconds; /* 0: unset; otherwise overrides hold_minutes (tests use a few seconds) */
    char property_timezone[128];
    int booking_horizon_days;
    int job_expiration_interval_s;

    /* admin */
    char jwt_secret[512];
    int jwt_secret_generated; /* development only: a random per-process secret */
    int admin_token_ttl_s;
    char admin_allowed_emails[CONFIG_STR_MAX];
    int login_max_failures;
    int login_lockout_s;

    /* rate limiting */
    int rate_limit_enabled;
    int rate_limit_requests;
    int rate_limit_window_s;
    int trust_proxy;

    /* calendar sync (iCal) */
    char ics_salt[512]; /* empty: the export URLs are disabled */
    int job_ical_interval_s;
    int ical_sync_max_age_minutes;
    int ical_fetch_timeout_s;

    /* payments: MercadoPago (disabled while the access token is empty) */
    char mp_access_token[512];
    char mp_api_base[CONFIG_STR_MAX];
    char mp_webhook_secret[512];
    int mp_signature_max_age_s;
    int job_payments_interval_s;

    /* notifications: the outbox and its channels (email disabled while SMTP_URL is empty) */
    char smtp_url[CONFIG_STR_MAX];
    char smtp_username[256];
    char smtp_password[512];
    char smtp_from[256];
    char owner_email[255];
    int smtp_timeout_s;
    int outbox_max_backoff_s;
    int outbox_max_attempts;
    int job_outbox_interval_s;
    int outbox_payment_link_wait_s;

    /* WhatsApp Cloud API (sending disabled while the access token or phone number id is empty) */
    char wa_access_token[1024];
    char wa_phone_number_id[64];
    char wa_phone_id[64]; /* WHATSAPP_PHONE_ID: the name for the same setting */
    char wa_api_base[CONFIG_STR_MAX];
    char wa_verify_token[256];
    char wa_app_secret[256];
    int wa_session_minutes;
    int wa_handoff_hours;
    int wa_replies_per_minute;
    int wa_send_retries;
    int wa_retry_base_ms;
    int wa_timeout_ms;
    int wa_breaker_failures;
    int wa_breaker_seconds;
    char wa_templates[CONFIG_STR_MAX]; /* event=template_name,... for messages outside the 24-hour window */
    char wa_template_language[16];
};

/* The WhatsApp phone number id: WHATSAPP_PHONE_NUMBER_ID, else WHATSAPP_PHONE_ID; "" when neither. */
const char *config_wa_phone_id(const struct config *cfg);

/* 1 when WhatsApp messages can be sent (access token and phone number id set). */
int config_wa_enabled(const struct config *cfg);

/* The hold duration in seconds: HOLD_SECONDS when set, else HOLD_MINUTES * 60. */
int config_hold_seconds(const struct config *cfg);

/* 1 when `email` (case-insensitive) is in ADMIN_ALLOWED_EMAILS. */
int config_admin_allowed(const struct config *cfg, const char *email);

/* Points the process's local time at PROPERTY_TIMEZONE (TZ + tzset). Call once before threads start. */
void config_apply_timezone(const struct config *cfg);

/* 1 when the environment variable `name` is "1", "true" or "yes" (case-insensitive), else 0. Reads the
 * real environment only (not --env-file): for switches that guard a dangerous client action, such as
 * RUN_MUTATING for `cabanas overlap-test`. */
int config_env_flag(const char *name);

/* Reads the configuration. `env_file` may be NULL. Returns 0, or -1 with a message naming the variable
 * in `err`. Not thread-safe: call once, before threads start. */
int config_load(struct config *cfg, const char *env_file, char *err, size_t errlen);

/* Prints every setting, with secrets (passwords inside URLs, tokens) redacted. */
void config_print(const struct config *cfg, FILE *out);

/* Parses `redis://[:password@]host[:port][/db]` (also `rediss://` is refused). Returns 0 or -1. */
int config_parse_redis_url(const char *url, struct redis_url *out);

/* Classifies a DATABASE_URL; for SQLite writes the file path into `path`. Returns 0 or -1. */
int config_parse_database_url(const char *url, enum db_engine *engine, char *path, size_t pathlen);

/* Copies `url` into `out` with the password of its userinfo part replaced by "***". */
void config_redact_url(const char *url, char *out, size_t outlen);

const char *config_environment_name(enum environment env);
const char *config_log_level_name(enum log_level level);

#endif
