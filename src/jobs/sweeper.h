/* sweeper.h - the background job that expires unpaid holds every JOB_EXPIRATION_INTERVAL_SECONDS.
 * Safe on every instance at once: expiring is one idempotent transaction per run. */
#ifndef CABANAS_SWEEPER_H
#define CABANAS_SWEEPER_H

#include "periodic.h"

/* Starts the job (its first run is immediate); stop it with periodic_stop(). */
struct periodic *sweeper_start(struct app *app);

#endif
