/* sweeper.c - the hold-expiry job. See sweeper.h. Holds are also expired by the create path for the
 * nights it needs, so a guest never waits for this job; it frees everything else and keeps the
 * holds_active gauge fresh. */
#include "sweeper.h"

#include "booking/service.h"
#include "core/log.h"

static void sweep(struct app *app, void *arg)
{
    (void)arg;
    int expired = 0;
    int rc = booking_expire_due(app, &expired);
    if (rc != 0)
        log_warn("sweeper: expiring holds failed (%s); retrying next run", db_strerror(rc));
}

struct periodic *sweeper_start(struct app *app)
{
    return periodic_start("sweeper", app->cfg->job_expiration_interval_s, sweep, app, NULL);
}
