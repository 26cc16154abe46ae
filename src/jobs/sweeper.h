/* sweeper.h - the background job that expires unpaid holds every JOB_EXPIRATION_INTERVAL_SECONDS.
 * Safe on every instance at once: expiring is one idempotent transaction per run. */
#ifndef CABANAS_SWEEPER_H
#define CABANAS_SWEEPER_H

#include "api/app.h"

struct sweeper;

/* Starts the thread (its first run is immediate). NULL only on thread creation failure. */
struct sweeper *sweeper_start(struct app *app);
/* Wakes and joins the thread, then frees it. */
void sweeper_stop(struct sweeper *s);

#endif
