/* ical_parse.h - an iCalendar feed (RFC 5545) to the nights it blocks: a pure function of bytes.
 *
 * ical_feed_parse() takes a feed as downloaded (Airbnb, Booking.com, an owner's Google/Apple calendar) and
 * returns its events as half-open ranges of nights [start, end) in the property's time zone, plus the events
 * it could not trust (quarantined, each with a reason). It never touches the clock, the network or the
 * database: "today", the zone and the horizon come in through the options, so the same bytes always give
 * the same answer (unit tests, the fuzz target).
 *
 * Semantics: an all-day event blocks DTSTART..DTEND (exclusive); a date without DTEND or DURATION one night;
 * DURATION is added to DTSTART; a timed event (UTC, TZID or floating) blocks the nights from the local date
 * of its start up to, not including, the local date of its end, and at least one night; STATUS:CANCELLED
 * blocks nothing; RRULE and RDATE are expanded (EXDATE and RECURRENCE-ID overrides honoured) within one
 * year back and BOOKING_HORIZON_DAYS ahead, each instance keyed "<UID>#YYYYMMDD". Events reaching past the
 * horizon are clipped to it.
 *
 * Limits (a hostile feed costs a bounded amount of memory and time): at most max_events VEVENTs and
 * expanded instances, components nested at most max_depth deep, ICAL_MAX_RECUR_STEPS recurrence steps per
 * feed. A feed past a limit, or one that is not a complete VCALENDAR, is refused whole (the caller keeps
 * what it had). Within a good feed, each event is checked on its own (valid dates written exactly as RFC
 * 5545 spells them, start before end, at most ICAL_MAX_NIGHTS nights, within the window) and a bad one is
 * quarantined while the rest are kept.
 *
 * Thread-safe (libical's parser keeps no shared state; its time zone cache is locked). */
#ifndef CABANAS_ICAL_PARSE_H
#define CABANAS_ICAL_PARSE_H

#include "domain/dates.h"

#include <stddef.h>

#define ICAL_UID_MAX 255
#define ICAL_SUMMARY_MAX 200
#define ICAL_DETAIL_MAX 120
#define ICAL_MAX_EVENTS 20000
#define ICAL_MAX_DEPTH 8
#define ICAL_MAX_NIGHTS 365
#define ICAL_MAX_RECUR_STEPS 200000

#define ICAL_OK 0
#define ICAL_NOT_CALENDAR (-1)    /* not an iCalendar object at all, or truncated, or malformed structure */
#define ICAL_TOO_MANY_EVENTS (-2) /* more than max_events events or recurrence instances */
#define ICAL_TOO_DEEP (-3)        /* components nested deeper than max_depth */
#define ICAL_BAD_OPTIONS (-4)     /* unknown time zone or invalid options */

struct ical_parse_options {
    const char *timezone; /* PROPERTY_TIMEZONE, e.g. "America/Argentina/Buenos_Aires" */
    struct date today;    /* today in that zone */
    int horizon_days;     /* BOOKING_HORIZON_DAYS: nights from today + horizon_days on are dropped */
    int max_events;       /* 0: ICAL_MAX_EVENTS */
    int max_depth;        /* 0: ICAL_MAX_DEPTH */
};

struct ical_event {
    char uid[ICAL_UID_MAX + 1];         /* unique within the feed; printable UTF-8 */
    char start[DATES_FORMAT_LEN];       /* first blocked night */
    char end[DATES_FORMAT_LEN];         /* first free night again (clipped to the horizon) */
    char summary[ICAL_SUMMARY_MAX + 1]; /* valid UTF-8 without control characters, maybe "" */
};

struct ical_quarantined {
    char uid[ICAL_UID_MAX + 1]; /* as for events; for a recurring event its instances are "<uid>#..." */
    const char *reason;         /* static: invalid_date, end_before_start, too_long, out_of_range, ... */
    char detail[ICAL_DETAIL_MAX + 1];
};

struct ical_feed {
    struct ical_event *events;
    int nevents;
    struct ical_quarantined *quarantine;
    int nquarantine;
    int cancelled; /* STATUS:CANCELLED events (they block nothing) */
};

/* Parses `len` bytes (need not be NUL-terminated; a NUL byte makes it "not a calendar"). On ICAL_OK *out is
 * a new feed the caller frees with ical_feed_free(); otherwise *out is NULL and `err` says why in a few words
 * (never echoing feed content). */
int ical_feed_parse(const char *data, size_t len, const struct ical_parse_options *opt,
                    struct ical_feed **out, char *err, size_t errlen);

void ical_feed_free(struct ical_feed *f);

/* Machine name of a parse error: "not_vcalendar", "too_many_events", "too_deep", "bad_options". */
const char *ical_parse_strerror(int rc);

#endif
