/* auth.c - admin login, the bearer-token hook, and failure counting. See auth.h.
 *
 * Login answers every bad credential the same way (401 invalid_credentials, same body) and in about the
 * same time: exactly one argon2 verify runs per attempt that gets past the field and lockout checks,
 * against the stored hash or, for an unknown email, against a dummy hash; the allow-list is checked
 * after the verify, never instead of it.
 *
 * Failed attempts are counted per email and per client IP in fixed windows of LOGIN_LOCKOUT_SECONDS
 * opened by the first failure; the failure that reaches LOGIN_MAX_FAILURES restarts the window, so the
 * lockout lasts LOGIN_LOCKOUT_SECONDS from there. While either counter is at the limit every attempt
 * (even a correct one) is 429 and counts nothing. The counters live in Redis (INCR + EXPIRE, shared by
 * every instance) when REDIS_URL is set and Redis answers; otherwise, and for any command Redis fails to
 * answer, in a bounded in-process table. The check and the count are separate steps, so attempts already
 * in flight when a counter reaches the limit still run: at most one per HTTP worker thread. */
#include "auth.h"

#include "app.h"

#include "../core/clock.h"
#include "../core/jwt.h"
#include "../core/log.h"
#include "../core/password.h"
#include "../store/admin_store.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define FAIL_TABLE_MAX 4096
#define FAIL_KEY_MAX 288 /* "login:fail:email:" + ADMIN_EMAIL_MAX, or "login:fail:ip:" + client_ip */

_Static_assert(sizeof "login:fail:email:" + ADMIN_EMAIL_MAX <= FAIL_KEY_MAX, "email keys fit");

/* --- failure counters ------------------------------------------------------------------------------ */

struct fail_entry {
    char key[FAIL_KEY_MAX];
    int count;
    double created; /* monotonic seconds: eviction order */
    double expires;
};

/* The in-process fallback: a process singleton, statically initialized, guarded by fail_lock. A linear
 * scan is fine: a login already costs an argon2 verify, three orders of magnitude more. */
static pthread_mutex_t fail_lock = PTHREAD_MUTEX_INITIALIZER;
static struct fail_entry fail_table[FAIL_TABLE_MAX];
static int fail_used;

/* With fail_lock held: the live entry for `key`, or NULL (an expired one is dropped). */
static struct fail_entry *local_find(const char *key, double now)
{
    for (int i = 0; i < fail_used; i++) {
        if (strcmp(fail_table[i].key, key) != 0)
            continue;
        if (fail_table[i].expires > now)
            return &fail_table[i];
        fail_table[i] = fail_table[--fail_used];
        return NULL;
    }
    return NULL;
}

/* With fail_lock held: a fresh entry for `key`, evicting an expired entry first, else the oldest. */
static struct fail_entry *local_add(const char *key, double now, int window_s)
{
    struct fail_entry *e = NULL;
    if (fail_used < FAIL_TABLE_MAX) {
        e = &fail_table[fail_used++];
    } else {
        struct fail_entry *oldest = &fail_table[0];
        for (int i = 0; i < fail_used && !e; i++) {
            if (fail_table[i].expires <= now)
                e = &fail_table[i];
            else if (fail_table[i].created < oldest->created)
                oldest = &fail_table[i];
        }
        if (!e)
            e = oldest;
    }
    snprintf(e->key, sizeof e->key, "%s", key);
    e->count = 0;
    e->created = now;
    e->expires = now + window_s;
    return e;
}

static void local_count(const char *key, int *count, int *ttl)
{
    double now = clock_mono_s();
    pthread_mutex_lock(&fail_lock);
    struct fail_entry *e = local_find(key, now);
    *count = e ? e->count : 0;
    *ttl = e ? (int)(e->expires - now + 0.999) : 0;
    pthread_mutex_unlock(&fail_lock);
}

static void local_record(const char *key, int max, int window_s)
{
    double now = clock_mono_s();
    pthread_mutex_lock(&fail_lock);
    struct fail_entry *e = local_find(key, now);
    if (!e)
        e = local_add(key, now, window_s);
    if (++e->count == max)
        e->expires = now + window_s;
    pthread_mutex_unlock(&fail_lock);
}

static void local_clear(const char *key)
{
    pthread_mutex_lock(&fail_lock);
    for (int i = 0; i < fail_used; i++)
        if (strcmp(fail_table[i].key, key) == 0) {
            fail_table[i] = fail_table[--fail_used];
            break;
        }
    pthread_mutex_unlock(&fail_lock);
}

/* One Redis command of up to three string arguments; NULL when Redis is off or did not answer. */
static redisReply *redis_cmd(struct app *app, const char *a0, const char *a1, const char *a2)
{
    if (!app->redis)
        return NULL;
    const char *argv[3] = {a0, a1, a2};
    size_t lens[3] = {strlen(a0), strlen(a1), a2 ? strlen(a2) : 0};
    return redis_command_argv(app->redis, a2 ? 3 : 2, argv, lens);
}

/* The failures counted for `key` and, when any, the seconds until the window closes. */
static void fail_count(struct app *app, const char *key, int *count, int *ttl)
{
    const struct config *cfg = app->cfg;
    redisReply *r = redis_cmd(app, "GET", key, NULL);
    if (!r || (r->type != REDIS_REPLY_NIL && r->type != REDIS_REPLY_STRING)) {
        freeReplyObject(r);
        local_count(key, count, ttl);
        return;
    }
    long n = r->type == REDIS_REPLY_STRING ? strtol(r->str, NULL, 10) : 0;
    freeReplyObject(r);
    *count = n > 0 && n < 1000000 ? (int)n : 0;
    *ttl = cfg->login_lockout_s;
    if (*count < cfg->login_max_failures)
        return;
    r = redis_cmd(app, "TTL", key, NULL);
    if (r && r->type == REDIS_REPLY_INTEGER && r->integer > 0) {
        *ttl = (int)r->integer;
    } else if (r && r->type == REDIS_REPLY_INTEGER && r->integer == -1) {
        /* INCR landed but its EXPIRE did not: give the key its window rather than locking forever */
        char s[16];
        snprintf(s, sizeof s, "%d", cfg->login_lockout_s);
        freeReplyObject(redis_cmd(app, "EXPIRE", key, s));
    } else if (r && r->type == REDIS_REPLY_INTEGER && r->integer == -2) {
        *count = 0; /* expired between GET and TTL */
    }
    freeReplyObject(r);
}

static void fail_record(struct app *app, const char *key)
{
    const struct config *cfg = app->cfg;
    redisReply *r = redis_cmd(app, "INCR", key, NULL);
    if (!r || r->type != REDIS_REPLY_INTEGER) {
        freeReplyObject(r);
        local_record(key, cfg->login_max_failures, cfg->login_lockout_s);
        return;
    }
    long long n = r->integer;
    freeReplyObject(r);
    if (n == 1 || n == cfg->login_max_failures) {
        char s[16];
        snprintf(s, sizeof s, "%d", cfg->login_lockout_s);
        freeReplyObject(redis_cmd(app, "EXPIRE", key, s));
    }
}

static void fail_clear(struct app *app, const char *key)
{
    redisReply *r = redis_cmd(app, "DEL", key, NULL);
    freeReplyObject(r);
    local_clear(key); /* also what an outage may have counted here */
}

/* --- login ----------------------------------------------------------------------------------------- */

static void retry_after(struct http_response *res, int seconds)
{
    char v[16];
    snprintf(v, sizeof v, "%d", seconds > 0 ? seconds : 1);
    http_response_header(res, "Retry-After", v);
}

static void unavailable(struct http_response *res)
{
    http_response_problem(res, 503, "service_unavailable",
                          "Login is unavailable right now; try again shortly");
    retry_after(res, 1);
}

void auth_handle_login(struct http_request *req, struct http_response *res)
{
    struct app *app = req->app;
    const struct config *cfg = app->cfg;
    if (!json_is_object(req->json)) {
        http_response_problem(res, 422, "invalid_field", "Send a JSON object {\"email\":…,\"password\":…}");
        return;
    }
    json_t *jemail = json_object_get(req->json, "email");
    json_t *jpass = json_object_get(req->json, "password");
    char email[ADMIN_EMAIL_MAX + 1];
    if (!json_is_string(jemail) || strlen(json_string_value(jemail)) != json_string_length(jemail) ||
        admin_store_normalize_email(json_string_value(jemail), email, sizeof email) < 0) {
        http_response_problem(res, 422, "invalid_field", "email must be an email address of at most %d bytes",
                              ADMIN_EMAIL_MAX);
        return;
    }
    if (!json_is_string(jpass) || json_string_length(jpass) == 0 ||
        json_string_length(jpass) > PASSWORD_MAX_LEN) {
        http_response_problem(res, 422, "invalid_field", "password must be a string of 1 to %d bytes",
                              PASSWORD_MAX_LEN);
        return;
    }
    const char *password = json_string_value(jpass);
    size_t pwlen = json_string_length(jpass);

    char key_email[FAIL_KEY_MAX], key_ip[FAIL_KEY_MAX];
    snprintf(key_email, sizeof key_email, "login:fail:email:%s", email);
    snprintf(key_ip, sizeof key_ip, "login:fail:ip:%s", req->client_ip[0] ? req->client_ip : "unknown");
    int n_email, ttl_email, n_ip, ttl_ip;
    fail_count(app, key_email, &n_email, &ttl_email);
    fail_count(app, key_ip, &n_ip, &ttl_ip);
    int locked_email = n_email >= cfg->login_max_failures, locked_ip = n_ip >= cfg->login_max_failures;
    if (locked_email || locked_ip) {
        int wait = 0;
        if (locked_email)
            wait = ttl_email;
        if (locked_ip && ttl_ip > wait)
            wait = ttl_ip;
        log_info("admin login refused: too many failures for this %s (client %s)",
                 locked_email ? "email" : "address", req->client_ip);
        http_response_problem(res, 429, "too_many_attempts", "Too many failed logins; retry in %d seconds",
                              wait > 0 ? wait : 1);
        retry_after(res, wait);
        return;
    }

    char hash[PASSWORD_HASH_MAX];
    int found = 0;
    int rc = admin_store_get_hash(app->db, email, hash, sizeof hash, &found);
    if (rc != DB_OK) {
        log_error("admin login: cannot read admin_users: %s", db_strerror(rc));
        unavailable(res);
        return;
    }
    int prc = found ? password_verify(hash, password, pwlen) : password_verify_dummy(password, pwlen);
    if (prc == PASSWORD_BUSY) {
        log_warn("admin login: every password hashing slot stayed busy for %d ms", PASSWORD_WAIT_MS);
        unavailable(res);
        return;
    }
    if (prc != PASSWORD_OK || !config_admin_allowed(cfg, email)) {
        fail_record(app, key_email);
        fail_record(app, key_ip);
        log_info("admin login failed (%s; client %s)",
                 !found               ? "unknown email"
                 : prc != PASSWORD_OK ? "wrong password"
                                      : "not in ADMIN_ALLOWED_EMAILS",
                 req->client_ip);
        http_response_problem(res, 401, "invalid_credentials", "The email or the password is wrong");
        return;
    }

    fail_clear(app, key_email);
    char token[JWT_MAX_LEN + 1];
    long now = (long)time(NULL);
    if (jwt_sign(cfg->jwt_secret, email, now, now + cfg->admin_token_ttl_s, token, sizeof token) != JWT_OK) {
        http_response_problem(res, 500, "internal_error", "Could not issue a token");
        return;
    }
    log_info("admin login: %s (client %s)", email, req->client_ip);
    http_response_json(res, 200,
                       json_pack("{s:s, s:s, s:i, s:s}", "access_token", token, "token_type", "Bearer",
                                 "expires_in", cfg->admin_token_ttl_s, "email", email));
}

/* --- authorization --------------------------------------------------------------------------------- */

static int unauthorized(struct http_response *res, const char *challenge, const char *detail)
{
    http_response_problem(res, 401, "unauthorized", "%s", detail);
    http_response_header(res, "WWW-Authenticate", challenge);
    return -1;
}

int auth_authorize(struct http_request *req, struct http_response *res)
{
    const struct config *cfg = req->app->cfg;
    const char *h = http_request_header(req, "Authorization");
    while (h && *h == ' ')
        h++;
    if (!h || !*h)
        return unauthorized(res, "Bearer",
                            "Send Authorization: Bearer <token> (from POST /api/v1/admin/login)");
    static const char invalid[] = "Bearer error=\"invalid_token\"";
    if (strncasecmp(h, "Bearer ", 7) != 0)
        return unauthorized(res, invalid, "The Authorization header must be Bearer <token>");
    const char *token = h + 7;
    while (*token == ' ')
        token++;
    char email[sizeof req->admin_email];
    int rc = jwt_verify(cfg->jwt_secret, token, (long)time(NULL), email, sizeof email);
    if (rc == JWT_EXPIRED)
        return unauthorized(res, invalid, "The token has expired; log in again");
    if (rc != JWT_OK) {
        log_debug("admin token refused: %s", jwt_strerror(rc));
        return unauthorized(res, invalid, "The token is not valid");
    }
    if (!config_admin_allowed(cfg, email)) {
        http_response_problem(res, 403, "forbidden", "This account is not allowed to use the admin API");
        return -1;
    }
    memcpy(req->admin_email, email, strlen(email) + 1);
    return 0;
}

void auth_handle_me(struct http_request *req, struct http_response *res)
{
    http_response_json(res, 200, json_pack("{s:s}", "email", req->admin_email));
}
