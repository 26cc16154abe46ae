/* health.c - liveness, readiness, version and Prometheus metrics.
 *
 * healthz reports each dependency: the database decides healthy/unhealthy (503), Redis only
 * healthy/degraded (the server works without it). readyz is what a load balancer asks before sending
 * traffic: the database answers, the schema is current, and the process is not draining. */
#include "health.h"

#include "../core/buf.h"
#include "../core/metrics.h"
#include "../core/version.h"
#include "../payments/mercadopago.h"
#include "../store/ical_store.h"
#include "../store/migrate.h"
#include "../whatsapp/graph.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static struct app *the_app; /* set once by health_init, before threads start */

static double g_start_time(void)
{
    return the_app->start_time;
}

static double g_rss(void)
{
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f)
        return 0;
    if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
        resident = 0;
    fclose(f);
    return (double)resident * (double)sysconf(_SC_PAGESIZE);
}

static double g_pool_size(void)
{
    return db_pool_size(the_app->db);
}

static double g_pool_in_use(void)
{
    return db_pool_in_use(the_app->db);
}

static double g_pool_open(void)
{
    return db_pool_open(the_app->db);
}

static double g_redis_enabled(void)
{
    return the_app->redis ? 1 : 0;
}

static double g_redis_connected(void)
{
    return redis_connected(the_app->redis);
}

static double g_draining(void)
{
    return app_draining(the_app);
}

void health_init(struct app *app)
{
    the_app = app;
    metrics_gauge_fn("process_start_time_seconds",
                     "Start time of the process since the unix epoch in seconds.", g_start_time);
    metrics_gauge_fn("process_resident_memory_bytes", "Resident memory size in bytes.", g_rss);
    metrics_gauge_fn("db_pool_connections_max", "Size of the database connection pool.", g_pool_size);
    metrics_gauge_fn("db_pool_connections_in_use", "Pool connections lent to a request or job right now.",
                     g_pool_in_use);
    metrics_gauge_fn("db_pool_connections_open", "Pool connections currently open to the database.",
                     g_pool_open);
    metrics_gauge_fn("redis_enabled", "1 when REDIS_URL is configured.", g_redis_enabled);
    metrics_gauge_fn("redis_connected", "1 when the last Redis command succeeded.", g_redis_connected);
    metrics_gauge_fn("cabanas_draining", "1 while the process drains before exiting.", g_draining);
    static const char *build_labels[] = {"version", "commit", NULL};
    struct metric *build =
        metrics_gauge("cabanas_build_info", "Build identity; the value is always 1.", build_labels);
    const char *values[] = {CABANAS_VERSION, CABANAS_COMMIT};
    metrics_set(build, values, 1);
}

static double round3(double v)
{
    return (double)(long long)(v * 1000.0 + 0.5) / 1000.0;
}

/* One dependency check: the database round trip, and Redis (disabled, ok or unreachable). */
struct check_result {
    int db_rc;
    double db_ms;
    int redis_state; /* -1 disabled, 0 ok, 1 unreachable */
    double redis_ms;
    int ical_rc; /* calendar feeds: how many, and how many have not synced within ICAL_SYNC_MAX_AGE_MINUTES */
    int ical_feeds, ical_stale;
};

/* healthz probes share one dependency check for up to HEALTH_CHECK_CACHE_MS (100 ms by default): a
 * flood of probes then costs one database and one Redis round trip per interval instead of one per
 * request, and an outage still shows within that interval. Only one thread refreshes at a time; the
 * others wait for it when there is no fresh result. HEALTH_CHECK_CACHE_MS=0 checks on every request. */
static pthread_mutex_t check_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t check_done = PTHREAD_COND_INITIALIZER;
static int check_running;
static double last_check_at; /* monotonic seconds; 0 = never */
static struct check_result last_check;

static double mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void run_check(struct app *app, struct check_result *out)
{
    out->db_rc = db_ping(app->db, &out->db_ms);
    out->redis_ms = 0;
    if (!app->redis)
        out->redis_state = -1;
    else
        out->redis_state = redis_ping(app->redis, &out->redis_ms) == 0 ? 0 : 1;
    out->ical_feeds = out->ical_stale = 0;
    out->ical_rc = out->db_rc == DB_OK
                       ? store_ical_freshness(
                             app->db, (long long)time(NULL) - app->cfg->ical_sync_max_age_minutes * 60LL,
                             &out->ical_feeds, &out->ical_stale)
                       : out->db_rc;
}

static void shared_check(struct app *app, struct check_result *out)
{
    double max_age = app->cfg->health_check_cache_ms / 1000.0;
    if (max_age <= 0) {
        run_check(app, out);
        return;
    }
    pthread_mutex_lock(&check_lock);
    for (;;) {
        double now = mono_now();
        if (last_check_at > 0 && now - last_check_at <= max_age) {
            *out = last_check;
            break;
        }
        if (!check_running) {
            check_running = 1;
            pthread_mutex_unlock(&check_lock);
            struct check_result r;
            run_check(app, &r);
            pthread_mutex_lock(&check_lock);
            last_check = r;
            last_check_at = mono_now();
            check_running = 0;
            pthread_cond_broadcast(&check_done);
            *out = r;
            break;
        }
        pthread_cond_wait(&check_done, &check_lock);
    }
    pthread_mutex_unlock(&check_lock);
}

void health_handle_healthz(struct http_request *req, struct http_response *res)
{
    struct app *app = req->app;
    struct check_result c;
    shared_check(app, &c);
    json_t *checks = json_object();
    json_t *db = json_pack("{s:s, s:s}", "status", c.db_rc == DB_OK ? "ok" : "error", "engine",
                           db_engine_of(app->db) == DB_ENGINE_POSTGRES ? "postgresql" : "sqlite");
    json_object_set_new(db, "latency_ms", json_real(round3(c.db_ms)));
    if (c.db_rc != DB_OK)
        json_object_set_new(db, "error", json_string(db_strerror(c.db_rc)));
    json_object_set_new(checks, "database", db);
    json_object_set_new(checks, "whatsapp", wa_health_json(app->cfg)); /* ok or disabled; never unhealthy */

    const char *status = c.db_rc == DB_OK ? "healthy" : "unhealthy";
    if (c.redis_state < 0) {
        json_object_set_new(checks, "redis", json_pack("{s:s}", "status", "disabled"));
    } else if (c.redis_state == 0) {
        json_object_set_new(checks, "redis",
                            json_pack("{s:s, s:f}", "status", "ok", "latency_ms", round3(c.redis_ms)));
    } else {
        json_object_set_new(checks, "redis",
                            json_pack("{s:s, s:s}", "status", "error", "error", "unreachable"));
        if (c.db_rc == DB_OK)
            status = "degraded";
    }
    json_object_set_new(checks, "mercadopago", mp_health_check(app->cfg)); /* configuration, no network */
    /* from configuration only: no SMTP round trip per probe */
    json_object_set_new(checks, "smtp",
                        json_pack("{s:s}", "status", app->cfg->smtp_url[0] ? "ok" : "disabled"));
    /* a feed that has not synced in time: bookings still work, but another channel's new bookings may not
     * block our nights yet */
    if (c.ical_rc != DB_OK) {
        json_object_set_new(checks, "ical", json_pack("{s:s}", "status", "unknown"));
    } else {
        json_object_set_new(checks, "ical",
                            json_pack("{s:s, s:i, s:i, s:i}", "status", c.ical_stale ? "degraded" : "ok",
                                      "feeds", c.ical_feeds, "stale", c.ical_stale, "max_age_minutes",
                                      app->cfg->ical_sync_max_age_minutes));
        if (c.ical_stale && c.db_rc == DB_OK)
            status = "degraded";
    }
    json_t *body = json_pack("{s:s, s:s, s:o, s:I}", "status", status, "version", CABANAS_VERSION, "checks",
                             checks, "uptime_seconds", (json_int_t)(time(NULL) - (time_t)app->start_time));
    http_response_json(res, c.db_rc == DB_OK ? 200 : 503, body);
}

void health_handle_readyz(struct http_request *req, struct http_response *res)
{
    struct app *app = req->app;
    const char *reason = NULL;
    int current = 0, latest = migrate_latest(db_engine_of(app->db));
    if (app_draining(app)) {
        reason = "draining";
    } else {
        struct db_conn *c = NULL;
        if (db_acquire(app->db, &c) != DB_OK) {
            reason = "database_unavailable";
        } else {
            if (migrate_current(c, &current) != DB_OK)
                reason = "database_unavailable";
            else if (current < latest)
                reason = "schema_behind";
            db_release(app->db, c);
        }
    }
    if (reason) {
        json_t *body = json_pack("{s:s, s:s}", "status", "not_ready", "reason", reason);
        if (strcmp(reason, "schema_behind") == 0) {
            json_object_set_new(body, "schema_version", json_integer(current));
            json_object_set_new(body, "schema_latest", json_integer(latest));
        }
        http_response_json(res, 503, body);
        return;
    }
    http_response_json(
        res, 200,
        json_pack("{s:s, s:i, s:i}", "status", "ready", "schema_version", current, "schema_latest", latest));
}

void health_handle_version(struct http_request *req, struct http_response *res)
{
    (void)req;
    http_response_json(res, 200,
                       json_pack("{s:s, s:s}", "version", CABANAS_VERSION, "commit", CABANAS_COMMIT));
}

void health_handle_metrics(struct http_request *req, struct http_response *res)
{
    (void)req;
    struct buf out;
    buf_init(&out, 8 * 1024 * 1024);
    metrics_render(&out);
    res->status = 200;
    res->content_type = "text/plain; version=0.0.4; charset=utf-8";
    res->body = buf_steal(&out, &res->body_len);
}
