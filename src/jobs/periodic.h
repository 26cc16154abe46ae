/* periodic.h - a background thread that runs one job every N seconds, can be woken early (a new outbox
 * message, "sync now"), and stops promptly. Every background job (hold expiry, outbox delivery, calendar
 * import) is one of these, so start, wake and stop work the same everywhere. */
#ifndef CABANAS_PERIODIC_H
#define CABANAS_PERIODIC_H

#include "api/app.h"

struct periodic;

/* `run` is called at once, then `interval_s` seconds after each run ends (or earlier when woken). It gets
 * `arg` and should return promptly when periodic_stopping() turns true. NULL on thread creation failure. */
struct periodic *periodic_start(const char *name, int interval_s, void (*run)(struct app *, void *),
                                struct app *app, void *arg);
/* Runs the job again as soon as the current run ends. Thread-safe; NULL is a no-op. */
void periodic_wake(struct periodic *p);
/* 1 once periodic_stop() was called: long jobs check it between items. */
int periodic_stopping(const struct periodic *p);
/* Wakes and joins the thread, then frees it. NULL is a no-op. */
void periodic_stop(struct periodic *p);

#endif
