/* app.h - the process context every handler receives: the config snapshot, the storage pool, the
 * optional Redis client, and the lifecycle flags. Built once in `serve` before threads start. */
#ifndef CABANAS_APP_H
#define CABANAS_APP_H

#include "../core/config.h"
#include "../store/db.h"
#include "../store/redis.h"

struct app {
    const struct config *cfg;
    struct db *db;
    struct redis *redis;
    int draining;      /* set on SIGTERM/SIGINT (atomic): readiness answers 503 */
    double start_time; /* unix seconds */
};

static inline int app_draining(const struct app *app)
{
    return __atomic_load_n(&app->draining, __ATOMIC_RELAXED);
}

#endif
