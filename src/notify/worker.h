/* worker.h - the outbox delivery job: every JOB_OUTBOX_INTERVAL_SECONDS (and at once when woken) it
 * claims due messages one at a time, delivers each through its channel (channels.h), and records the
 * outcome: sent, retry with backoff (outbox_backoff_seconds, capped at OUTBOX_MAX_BACKOFF_SECONDS), dead
 * after OUTBOX_MAX_ATTEMPTS or a permanent failure, skipped when the channel is not configured (messages
 * planned while it was not are not even written: notify_plan_for). Safe on
 * every instance at once (outbox_store.h claims with row locks). Metrics: notifications_total{channel,
 * template,result}, outbox_pending, outbox_dead. */
#ifndef CABANAS_NOTIFY_WORKER_H
#define CABANAS_NOTIFY_WORKER_H

#include "api/app.h"

/* Registers the metrics; once, before threads start. */
void notify_init(void);

/* Checks SMTP_FROM and OWNER_EMAIL when email is enabled and logs which channels are on. 0, or -1 after
 * logging what is wrong. Call before serving. */
int notify_check_config(const struct config *cfg);

/* From now on messages for a channel this configuration cannot deliver (no SMTP_URL; OWNER_EMAIL unset for
 * the owner's copy; WhatsApp or MercadoPago off) are not written when they are planned (journal.h), only
 * counted as skipped. `cfg` must outlive the process' requests. Call before serving. */
void notify_plan_for(const struct config *cfg);

/* Starts the job (first run immediate). 0, or -1 when its thread cannot start. */
int notify_worker_start(struct app *app);

/* Stops the job: a send in progress is interrupted and retried later. Idempotent. */
void notify_worker_stop(void);

/* After enqueueing messages (committed): deliver now instead of at the next interval. Thread-safe; a
 * no-op when the worker is not running. */
void notify_worker_wake(void);

/* After a committed change that may have planned messages: wakes the worker when this thread queued a
 * pending one (journal_take_pending), not for messages written as skipped. */
void notify_after_change(void);

/* Reads non-zero once the worker is stopping: long deliveries poll it to give up early. */
const int *notify_worker_abort_flag(void);

#endif
