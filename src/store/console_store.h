/* console_store.h - what the admin console reads: the audit trail, the dashboard's numbers and the
 * calendar's entries. Read-only; every function borrows a pool connection for its duration and is
 * thread-safe. Returns DB_OK or a DB_* code (db.h). */
#ifndef CABANAS_CONSOLE_STORE_H
#define CABANAS_CONSOLE_STORE_H

#include "db.h"
#include "domain/calendar.h"
#include "journal.h"

#include <stdint.h>

/* --- audit trail --- */

#define AUDIT_LIST_MAX 200

struct audit_filter {
    const char *entity;    /* "" = any */
    const char *entity_id; /* "" = any */
    long long before;      /* only ids below this; 0 = from the newest */
    int limit;             /* 1..AUDIT_LIST_MAX */
};

struct audit_entry {
    long long id;
    long long at;
    char actor[JOURNAL_ACTOR_MAX];
    char action[64];
    char entity[32];
    char entity_id[64];
    char *before; /* JSON text or NULL; owned by the entry */
    char *after;
};

/* Newest first. *items malloc()ed: free with audit_entries_free(). */
int store_audit_list(struct db *db, const struct audit_filter *f, struct audit_entry **items, int *n);
void audit_entries_free(struct audit_entry *items, int n);

/* --- dashboard --- */

/* Reservations by the status the API shows (a hold past its expiry counts as expired), all time. */
struct status_counts {
    int pre_reserved, confirmed, cancelled, expired;
};
int store_reservation_status_counts(struct db *db, long long now, struct status_counts *out);

/* Holds still live at `now`, and those of them expiring by now + within_s. */
int store_holds_live(struct db *db, long long now, long long within_s, int *active, int *expiring);

/* Reservations created in [since, now) (every one starts as a hold) and how many of them were confirmed
 * (confirmed_at set, even if cancelled later). */
int store_conversion(struct db *db, long long since, long long now, int *created, int *converted);

#define REVENUE_MAX_CURRENCIES 8
struct revenue {
    char currency[4];
    int64_t confirmed_total_cents; /* total price of bookings confirmed in the period, still confirmed */
    int64_t deposits_cents;        /* paid amounts of bookings confirmed in the period (even if cancelled) */
};
/* Per currency (sorted by code), for confirmed_at in [from, to). */
int store_revenue(struct db *db, long long from, long long to, struct revenue out[REVENUE_MAX_CURRENCIES],
                  int *n);

/* Outbox messages with status dead. */
int store_outbox_dead_count(struct db *db, int *dead);

/* Payments flagged needs_refund (not refunded yet). */
int store_payments_needing_refund(struct db *db, int *count);

/* iCal feeds whose last sync failed, and feeds without a successful sync since now - max_age_s (a new
 * feed counts from when it was added), over the feeds of active accommodations. */
int store_ical_feed_health(struct db *db, long long now, long long max_age_s, int *failing, int *stale);

/* WhatsApp conversations handed over to a person and still waiting (the handoff has not ended). */
int store_whatsapp_waiting(struct db *db, long long now, int *count);

/* --- calendar --- */

#define CALENDAR_ENTRIES_MAX 10000

/* Live holds (expires_at > now), confirmed bookings and blocks with a night in [from, to), of one
 * accommodation (accommodation_id > 0) or all; ordered by accommodation, then start. *items malloc()ed
 * (free() it). At most CALENDAR_ENTRIES_MAX (then *truncated = 1). */
int store_calendar_entries(struct db *db, const char *from, const char *to, long long accommodation_id,
                           long long now, struct calendar_entry **items, int *n, int *truncated);

#endif
