/* periodic.c - one thread per background job. See periodic.h. */
#include "periodic.h"

#include "core/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

struct periodic {
    const char *name;
    int interval_s;
    void (*run)(struct app *, void *);
    struct app *app;
    void *arg;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    int stopping;
    int woken;
};

static void *loop(void *arg)
{
    struct periodic *p = arg;
    pthread_mutex_lock(&p->lock);
    while (!p->stopping) {
        p->woken = 0;
        pthread_mutex_unlock(&p->lock);
        p->run(p->app, p->arg);
        pthread_mutex_lock(&p->lock);
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += p->interval_s;
        while (!p->stopping && !p->woken && pthread_cond_timedwait(&p->wake, &p->lock, &until) != ETIMEDOUT)
            ;
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

struct periodic *periodic_start(const char *name, int interval_s, void (*run)(struct app *, void *),
                                struct app *app, void *arg)
{
    struct periodic *p = calloc(1, sizeof *p);
    if (!p)
        abort();
    p->name = name;
    p->interval_s = interval_s > 0 ? interval_s : 1;
    p->run = run;
    p->app = app;
    p->arg = arg;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->wake, NULL);
    if (pthread_create(&p->thread, NULL, loop, p) != 0) {
        log_error("%s: cannot start its thread", name);
        pthread_mutex_destroy(&p->lock);
        pthread_cond_destroy(&p->wake);
        free(p);
        return NULL;
    }
    return p;
}

void periodic_wake(struct periodic *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    p->woken = 1;
    pthread_cond_signal(&p->wake);
    pthread_mutex_unlock(&p->lock);
}

int periodic_stopping(const struct periodic *p)
{
    return p && __atomic_load_n(&p->stopping, __ATOMIC_RELAXED);
}

void periodic_stop(struct periodic *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    __atomic_store_n(&p->stopping, 1, __ATOMIC_RELAXED);
    pthread_cond_signal(&p->wake);
    pthread_mutex_unlock(&p->lock);
    pthread_join(p->thread, NULL);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->wake);
    free(p);
}
