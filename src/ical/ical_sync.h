/* ical_sync.h - one calendar feed's sync: a conditional GET, the parse, and the transaction that applies it;
 * the feed's status, the metrics and the log lines that go with it.
 *
 * Fail closed: a failed download, a non-2xx answer, a body that is not a complete VCALENDAR, a feed past
 * the limits, or one that suddenly lost more than half of its future events (ICAL_LOST_MIN_BEFORE or more
 * before) changes no block: the feed is marked failed with the reason, counted in ical_sync_total{result=
 * "failed"}, and retried later with backoff. Only a good feed changes blocks. A feed with quarantined events
 * is good (its other events apply; a quarantined event keeps whatever it blocked before).
 *
 * Thread-safe: the job and the admin's "sync now" may run at once (the database serializes the writes on
 * the feed's row and the accommodation's claims). */
#ifndef CABANAS_ICAL_SYNC_H
#define CABANAS_ICAL_SYNC_H

#include "api/app.h"
#include "store/ical_store.h"

#define ICAL_FETCH_MAX_BYTES (5 * 1024 * 1024)
#define ICAL_FETCH_MAX_REDIRECTS 3

struct ical_sync_result {
    char result[16];                /* ok, not_modified, failed */
    char error[ICAL_ERROR_MAX + 1]; /* failed: "<code>: <detail>", e.g. "http_status: 500" */
    long http_status;               /* 0 when no answer came */
    int parsed_events;              /* events in the downloaded feed (after expansion) */
    int cancelled;
    int quarantined;
    struct ical_quarantined quarantine[ICAL_QUARANTINE_SHOWN]; /* the first ones */
    struct ical_apply_result apply;
};

/* Registers the iCal metrics and sets libical's error mode; call once before threads start. */
void ical_sync_init(struct app *app);

/* Syncs one feed now (whatever its backoff). accommodation_id: the feed's (0: any active accommodation, as
 * the job does). `force` skips the lost-events rule. next_attempt_at: when the job may sync it again after
 * a success. actor: "job:ical" or "admin:<email>". Returns 0 when a sync ran (its outcome in *out, failures
 * included), STORE_NOT_FOUND for no such feed, or a DB_* code when the feed could not even be read. */
int ical_sync_feed(struct app *app, long long accommodation_id, long long feed_id, int force,
                   long long next_attempt_at, const char *actor, struct ical_sync_result *out);

/* Reloads the per-feed gauges (last success, events) from the database, dropping deleted feeds. */
void ical_sync_refresh_gauges(struct app *app);

#endif
