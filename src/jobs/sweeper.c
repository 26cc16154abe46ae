/* sweeper.c - the hold-expiry job. See sweeper.h. Holds are also expired by the create path for the
 * nights it needs, so a guest never waits for this job; it frees everything else and keeps the
 * holds_active gauge fresh. */
#include "sweeper.h"

#include "booking/service.h"
#include "core/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

struct sweeper {
    struct app *app;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    int stopping;
};

static void *run(void *arg)
{
    struct sweeper *s = arg;
    pthread_mutex_lock(&s->lock);
    while (!s->stopping) {
        pthread_mutex_unlock(&s->lock);
        int expired = 0;
        int rc = booking_expire_due(s->app, &expired);
        if (rc != 0)
            log_warn("sweeper: expiring holds failed (%s); retrying next run", db_strerror(rc));
        pthread_mutex_lock(&s->lock);
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += s->app->cfg->job_expiration_interval_s;
        while (!s->stopping && pthread_cond_timedwait(&s->wake, &s->lock, &until) != ETIMEDOUT)
            ;
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

struct sweeper *sweeper_start(struct app *app)
{
    struct sweeper *s = calloc(1, sizeof *s);
    if (!s)
        abort();
    s->app = app;
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->wake, NULL);
    if (pthread_create(&s->thread, NULL, run, s) != 0) {
        free(s);
        return NULL;
    }
    return s;
}

void sweeper_stop(struct sweeper *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->lock);
    s->stopping = 1;
    pthread_cond_signal(&s->wake);
    pthread_mutex_unlock(&s->lock);
    pthread_join(s->thread, NULL);
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->wake);
    free(s);
}
