/* serve.c - `cabanas serve [--migrate]`: open storage, check the schema, start the HTTP server, and
 * drain gracefully on SIGTERM/SIGINT.
 *
 * Shutdown: readiness turns 503 at once (so a load balancer stops sending traffic), requests in flight
 * finish for up to SHUTDOWN_DRAIN_SECONDS, then the server stops and the process exits 0. A second
 * signal cuts the drain short. */
#include "cli.h"

#include "../api/app.h"
#include "../api/auth.h"
#include "../api/health.h"
#include "../api/routes.h"
#include "../core/log.h"
#include "../core/metrics.h"
#include "../core/version.h"
#include "../http/idempotency.h"
#include "../http/ratelimit.h"
#include "../http/server.h"
#include "../jobs/ical_job.h"
#include "../jobs/sweeper.h"
#include "../notify/worker.h"
#include "../net/http_client.h"
#include "../payments/mercadopago.h"
#include "../payments/processor.h"
#include "booking/service.h"
#include "ical/ical_export.h"
#include "ical/ical_sync.h"
#include "whatsapp/conversation.h"
#include "whatsapp/graph.h"
#include "whatsapp/session.h"
#include "whatsapp/webhook.h"
#include "../store/migrate.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

static double now_wall(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

/* Applies migrations when asked, then refuses a schema that is behind this binary. */
static int check_schema(struct db *db, int migrate)
{
    struct db_conn *c = NULL;
    char err[512];
    if (db_acquire(db, &c) != DB_OK) {
        log_error("cannot connect to the database; check DATABASE_URL");
        return -1;
    }
    int rc = 0, current = 0, latest = migrate_latest(db_engine_of(db));
    if (migrate) {
        int applied = 0;
        if (migrate_apply(c, &applied, err, sizeof err) != DB_OK) {
            log_error("migration failed: %s", err);
            rc = -1;
            goto out;
        }
        if (applied)
            log_info("applied %d migration(s)", applied);
    }
    if (migrate_current(c, &current) != DB_OK) {
        log_error("cannot read the schema version: %s", db_conn_error(c));
        rc = -1;
    } else if (current < latest) {
        log_error("the database schema is at version %d but this binary needs %d: run `cabanas migrate` "
                  "(or start with `cabanas serve --migrate`)",
                  current, latest);
        fprintf(stderr, "cabanas serve: schema version %d is behind %d; run `cabanas migrate` first\n",
                current, latest);
        rc = -1;
    } else if (current > latest) {
        log_warn("the database schema (version %d) is newer than this binary (%d); serving anyway", current,
                 latest);
    }
out:
    db_release(db, c);
    return rc;
}

static void drain(struct app *app, struct http_server *server, const sigset_t *signals)
{
    __atomic_store_n(&app->draining, 1, __ATOMIC_RELAXED);
    double deadline = now_wall() + app->cfg->shutdown_drain_s;
    log_info("draining: readiness is now 503; waiting up to %d s for %d request(s) in flight",
             app->cfg->shutdown_drain_s, http_server_in_flight(server));
    while (http_server_in_flight(server) > 0 && now_wall() < deadline) {
        struct timespec wait = {0, 20 * 1000 * 1000};
        if (sigtimedwait(signals, NULL, &wait) > 0) {
            log_warn("second signal: stopping without waiting for the drain");
            break;
        }
    }
    int left = http_server_in_flight(server);
    if (left > 0)
        log_warn("drain time over with %d request(s) still in flight", left);
    else
        log_info("drained: no requests in flight");
}

int cli_serve(int argc, char **argv)
{
    static const char *flags[] = {"--migrate", NULL};
    int values[1] = {0};
    static struct config cfg; /* static: the snapshot outlives every thread */
    int rc = cli_parse(argc, argv, flags, values, &cfg);
    if (rc)
        return rc;
    log_set_level(cfg.log_level);
    config_apply_timezone(&cfg); /* before any thread: "today" is the property's date */

    /* Block the shutdown signals before any thread starts, so every thread inherits the mask and only
     * sigtimedwait() below sees them. */
    signal(SIGPIPE, SIG_IGN);
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &signals, NULL);

    char err[512];
    static struct app app;
    app.cfg = &cfg;
    app.start_time = now_wall();
    int exit_code = 1;
    struct http_server *server = NULL;
    struct periodic *sweeper = NULL, *ical_job = NULL;
    if (db_open(&cfg, &app.db, err, sizeof err) != DB_OK) {
        log_error("storage: %s", err);
        goto out;
    }
    if (check_schema(app.db, values[0]) < 0)
        goto out;
    app.redis = redis_open(&cfg);
    if (!app.redis)
        log_info("REDIS_URL is not set: running single-instance, with in-process locks and rate limits");
    else if (redis_ping(app.redis, NULL) < 0)
        log_warn("redis at %s:%d is not answering; serving on, and reconnecting in the background",
                 cfg.redis.host, cfg.redis.port);

    http_client_global_init(); /* before any thread: libcurl's global state */
    health_init(&app);
    booking_init();
    ical_export_init(&cfg);
    ical_sync_init(&app);
    if (!cfg.ics_salt[0])
        log_info("ICS_SALT is not set: the published iCal calendars are disabled (feeds still import)");
    else if (strlen(cfg.ics_salt) < 32)
        log_warn("ICS_SALT is shorter than 32 bytes: calendar URL tokens are easier to guess");
    payments_init();
    notify_init();
    if (notify_check_config(&cfg) < 0) {
        fprintf(stderr, "cabanas serve: invalid email settings (see the log)\n");
        goto out;
    }
    notify_plan_for(&cfg);
    wa_graph_init();
    wa_webhook_init();
    wa_conversation_init();
    wa_session_init();
    ratelimit_init();
    idempotency_init();
    struct http_hooks hooks = {0};
    hooks.authorize = auth_authorize;
    if (cfg.jwt_secret_generated)
        log_warn("JWT_SECRET not set: using a random per-process secret (development only); "
                 "tokens die with the process");
    hooks.rate_limit = cfg.rate_limit_enabled ? ratelimit_check : NULL;
    hooks.idempotent = idempotency_run;
    int nroutes;
    const struct route *routes = routes_table(cfg.test_endpoints, &nroutes);
    if (cfg.test_endpoints)
        log_warn("CABANAS_TEST_ENDPOINTS is on: /api/v1/_test/ routes are served (never in production)");
    wa_inbox_start(&app); /* before the server: the webhook wakes it */
    if (http_server_start(&app, routes, nroutes, &hooks, &server, err, sizeof err) < 0) {
        log_error("http: %s", err);
        fprintf(stderr, "cabanas serve: %s\n", err);
        goto out;
    }
    const char *shown_host =
        strcmp(cfg.host, "0.0.0.0") == 0 || strcmp(cfg.host, "::") == 0 ? "127.0.0.1" : cfg.host;
    log_info("cabanas %s listening on %s:%d (%s, %d threads, database %s, environment %s)", CABANAS_VERSION,
             cfg.host, cfg.port, "epoll", cfg.http_threads,
             db_engine_of(app.db) == DB_ENGINE_POSTGRES ? "postgresql" : "sqlite",
             config_environment_name(cfg.environment));
    printf("cabanas: serving on http://%s:%d\n", shown_host, cfg.port);
    fflush(stdout);
    sweeper = sweeper_start(&app);
    payments_worker_start(&app);
    if (notify_worker_start(&app) < 0) {
        fprintf(stderr, "cabanas serve: the outbox worker cannot start\n");
        goto out;
    }
    ical_job = ical_job_start(&app);

    for (;;) {
        int sig = sigwaitinfo(&signals, NULL);
        if (sig == SIGTERM || sig == SIGINT) {
            log_info("received %s", sig == SIGTERM ? "SIGTERM" : "SIGINT");
            break;
        }
    }
    drain(&app, server, &signals);
    ical_job_stop(ical_job);
    ical_job = NULL;
    periodic_stop(sweeper);
    sweeper = NULL;
    notify_worker_stop();
    http_server_stop(server);
    server = NULL;
    payments_worker_stop(); /* after the server: handlers wake it */
    wa_inbox_stop();        /* after the server: nothing wakes it any more */
    exit_code = 0;
    log_info("stopped");
out:
    ical_job_stop(ical_job);
    periodic_stop(sweeper);
    notify_worker_stop();
    http_server_stop(server);
    payments_worker_stop();
    wa_inbox_stop();
    redis_close(app.redis);
    db_close(app.db);
    metrics_shutdown();
    http_client_global_cleanup();
    return exit_code;
}
