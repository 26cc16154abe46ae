/* ical_job.c - the calendar import job. See ical_job.h. */
#include "ical_job.h"

#include "core/log.h"
#include "ical/ical_sync.h"

#include <stdlib.h>
#include <time.h>

static struct periodic *job; /* set after the thread starts: read atomically, NULL means "not stopping" */

static void run(struct app *app, void *arg)
{
    (void)arg;
    ical_sync_refresh_gauges(app);
    long long started = (long long)time(NULL);
    int interval = app->cfg->job_ical_interval_s;
    struct db_conn *held = NULL;
    int got = 1;
    /* the lock holds one pooled connection for the whole run; with a pool of one there would be none left
     * to sync with, so a single-connection instance syncs unlocked (still correct: the transactions decide)
     */
    if (db_pool_size(app->db) > 1) {
        int rc = store_ical_job_trylock(app->db, &held, &got);
        if (rc != DB_OK) {
            log_warn("ical job: cannot take the job lock (%s); next run in %d s", db_strerror(rc), interval);
            return;
        }
    }
    if (!got) {
        log_debug("ical job: another instance is syncing; skipping this run");
        return;
    }
    long long *ids = NULL;
    int n = 0;
    int rc = store_ical_feeds_due(app->db, started, &ids, &n);
    if (rc != DB_OK)
        log_warn("ical job: cannot list the feeds (%s)", db_strerror(rc));
    for (int i = 0; i < n && rc == DB_OK; i++) {
        if (periodic_stopping(__atomic_load_n(&job, __ATOMIC_ACQUIRE)))
            break;
        struct ical_sync_result *res = malloc(sizeof *res);
        if (!res)
            abort();
        int src = ical_sync_feed(app, 0, ids[i], 0, started + (long long)interval * 9 / 10, "job:ical", res);
        if (src != 0 && src != STORE_NOT_FOUND)
            log_warn("ical job: feed %lld: %s", ids[i], db_strerror(src));
        free(res);
    }
    free(ids);
    store_ical_job_unlock(app->db, held);
}

struct periodic *ical_job_start(struct app *app)
{
    struct periodic *p = periodic_start("ical", app->cfg->job_ical_interval_s, run, app, NULL);
    __atomic_store_n(&job, p, __ATOMIC_RELEASE);
    return p;
}

void ical_job_stop(struct periodic *p)
{
    periodic_stop(p);
    __atomic_store_n(&job, NULL, __ATOMIC_RELEASE);
}
