/* ical_store.h - calendar feeds, their imported events, the blocks those events claim, and conflicts.
 *
 * An imported event is one ical_events row per (feed, UID). Its nights are ordinary blocks (with their
 * claims in stay_claims), so the database's no-overlap guarantee covers them like manual blocks: no
 * function here writes an overlap, and a clash found at insert time (another writer won the nights) is
 * answered by recomputing, never by forcing. The nights of an event that our holds or bookings already
 * cover are left to them and the clash is stored in ical_conflicts (outside the guarantee, it claims
 * nothing); the nights no stay covers are blocked. Nights already blocked by something else (a manual
 * block, another feed) are simply covered, not a conflict.
 *
 * All functions borrow a pooled connection and are thread-safe; they return DB_OK, a DB_* code,
 * STORE_NOT_FOUND, or the codes below. */
#ifndef CABANAS_ICAL_STORE_H
#define CABANAS_ICAL_STORE_H

#include "booking_store.h"
#include "db.h"
#include "ical/ical_parse.h"

#define ICAL_FEED_NAME_MAX 100
#define ICAL_FEED_URL_MAX 2000
#define ICAL_ERROR_MAX 300
#define ICAL_QUARANTINE_JSON_MAX 8000
#define ICAL_QUARANTINE_SHOWN 20 /* quarantined events kept with their reasons per feed */
#define ICAL_FEEDS_PER_ACCOMMODATION 20
#define ICAL_NEW_CONFLICTS_MAX 20 /* new conflicts reported in detail per sync (all are stored) */
#define ICAL_LOST_MIN_BEFORE 4    /* the lost-events rule needs at least this many future events before */

/* the feed lost more than half of its future events: nothing was written */
#define STORE_ICAL_LOST_EVENTS (-20)
#define STORE_ICAL_TOO_MANY_FEEDS (-21)

struct ical_feed_info {
    long long id, accommodation_id;
    char name[ICAL_FEED_NAME_MAX + 1];
    char url[ICAL_FEED_URL_MAX + 1];
    long long created_at, last_sync_at, last_success_at, next_attempt_at; /* 0 = never */
    char last_status[16]; /* pending, ok, not_modified, failed */
    char last_error[ICAL_ERROR_MAX + 1];
    int event_count, quarantined, conflicts, failures;
    char quarantine[ICAL_QUARANTINE_JSON_MAX + 1]; /* JSON array of {uid, reason, detail} */
    char etag[256], last_modified[128];
};

/* Inserts a feed (name, url, accommodation_id); fills id and created_at. DB_CONFLICT when the accommodation
 * already has this URL, STORE_ICAL_TOO_MANY_FEEDS past ICAL_FEEDS_PER_ACCOMMODATION. */
int store_ical_feed_create(struct db *db, struct ical_feed_info *f, long long now, const char *actor);

/* Feeds of one accommodation (accommodation_id 0: all feeds of active accommodations), ordered by id. *out
 * is malloc()ed (free() it). */
int store_ical_feed_list(struct db *db, long long accommodation_id, struct ical_feed_info **out, int *n);
int store_ical_feed_get(struct db *db, long long accommodation_id, long long feed_id,
                        struct ical_feed_info *out);

/* Deletes the feed with its events, their blocks (nights freed) and conflicts. STORE_NOT_FOUND if absent.
 * Creating and deleting leave an audit row (entity "feed") by `actor`. */
int store_ical_feed_delete(struct db *db, long long accommodation_id, long long feed_id, const char *actor,
                           long long now);

/* Ids of feeds of active accommodations due at `now` (next_attempt_at <= now), at most 1000. malloc()ed. */
int store_ical_feeds_due(struct db *db, long long now, long long **ids, int *n);

/* A failed sync: the blocks stay as they were; the reason is recorded and the next attempt is pushed back
 * by interval_s x 1, 2, 4, 8, then 12 after consecutive failures. */
int store_ical_feed_mark_failed(struct db *db, long long feed_id, long long now, const char *error,
                                int interval_s);

struct ical_apply {
    long long feed_id;
    const struct ical_feed *parsed; /* NULL: the feed did not change (304); only re-check open events */
    const char *today;              /* YYYY-MM-DD in the property's zone */
    long long now;
    int force;          /* skip the lost-events rule (an admin's explicit sync) */
    int set_validators; /* 1: store etag/last_modified (NULL clears them) */
    const char *etag, *last_modified;
    long long next_attempt_at;
    const char *actor; /* audit: "job:ical" (NULL) or "admin:<email>" */
};

struct ical_new_conflict {
    long long id;
    char uid[ICAL_UID_MAX + 1];
    char start[DATES_FORMAT_LEN], end[DATES_FORMAT_LEN]; /* the shared nights */
    char code[RES_CODE_LEN + 1];
    char check_in[DATES_FORMAT_LEN], check_out[DATES_FORMAT_LEN];
    char status[16];
};

struct ical_apply_result {
    long long accommodation_id;
    int events;    /* events stored for the feed afterwards */
    int removed;   /* events gone from the feed (their nights freed) */
    int placed;    /* events whose nights were recomputed */
    int conflicts; /* open conflicts of the feed afterwards */
    int old_future, new_future;
    int expired; /* stale holds expired on the way */
    int new_conflicts;
    struct ical_new_conflict new_list[ICAL_NEW_CONFLICTS_MAX];
};

/* In one transaction: upserts the feed's events by UID (quarantined UIDs keep their previous rows), deletes
 * the events gone from it, recomputes the nights of new, changed, partly covered or conflicting events of
 * the accommodation, stores the feed's status as synced, commits. Each new conflict also leaves, in that
 * transaction, an audit row and an `ical_conflict` email to the owner in the outbox. STORE_ICAL_LOST_EVENTS
 * (nothing written, old_future/new_future set) when, without `force`, the feed had at least
 * ICAL_LOST_MIN_BEFORE future events and now has fewer than half. STORE_NOT_FOUND when the feed was deleted
 * meanwhile. */
int store_ical_apply(struct db *db, const struct ical_apply *in, struct ical_apply_result *out);

struct ical_conflict_info {
    long long id, accommodation_id, feed_id;
    char feed_name[ICAL_FEED_NAME_MAX + 1];
    char uid[ICAL_UID_MAX + 1];
    char event_start[DATES_FORMAT_LEN], event_end[DATES_FORMAT_LEN];
    char summary[ICAL_SUMMARY_MAX + 1];
    char start[DATES_FORMAT_LEN], end[DATES_FORMAT_LEN]; /* the shared nights */
    char code[RES_CODE_LEN + 1];
    char check_in[DATES_FORMAT_LEN], check_out[DATES_FORMAT_LEN];
    char status[16];
    long long expires_at, detected_at;
};

/* Open conflicts (accommodation_id 0: all), by first shared night; at most 500. malloc()ed. */
int store_ical_conflict_list(struct db *db, long long accommodation_id, struct ical_conflict_info **out,
                             int *n);

struct ical_export_row {
    char kind; /* 'r' a hold or booking, 'b' a block */
    long long id;
    char start[DATES_FORMAT_LEN], end[DATES_FORMAT_LEN];
    char status[16]; /* reservations: pre_reserved or confirmed */
    long long stamp;
};

/* What the accommodation's calendar shows: active holds, confirmed bookings and every block (manual and
 * imported), ending after `since`, except the blocks imported from feed `exclude_feed_id` (0: none);
 * ordered by start. At most 10000. malloc()ed. */
int store_ical_export_rows(struct db *db, long long accommodation_id, long long exclude_feed_id,
                           long long now, const char *since, struct ical_export_row **out, int *n);

/* Feeds of active accommodations, and how many of them have not synced successfully since `before` (a feed
 * that never synced counts from when it was added). */
int store_ical_freshness(struct db *db, long long before, int *feeds, int *stale);

/* The one-instance-at-a-time lock of the import job: on PostgreSQL a session advisory lock on a connection
 * held until store_ical_job_unlock(); on SQLite (one writer, one instance) always granted. *held is the
 * connection to hand back (NULL when none is held). */
int store_ical_job_trylock(struct db *db, struct db_conn **held, int *got);
void store_ical_job_unlock(struct db *db, struct db_conn *held);

#endif
