/* ical_export.h - the calendar we publish for each accommodation, and the tokens of its URLs.
 *
 * ical_export_write() is pure: the same items give the same bytes (DTSTAMP is each item's own last change,
 * never "now"), so an unchanged calendar keeps its ETag and the channels polling it get 304. Output is
 * RFC 5545: CRLF line ends, lines folded at 75 octets without splitting a UTF-8 character, VERSION, PRODID,
 * and per event a stable UID, DTSTAMP, all-day DTSTART;VALUE=DATE / DTEND;VALUE=DATE (DTEND is the departure
 * day) and a SUMMARY that never carries guest data.
 *
 * URL tokens: the first 32 hex digits of HMAC-SHA256(ICS_SALT, "ical:<accommodation id>") for the full
 * calendar and of HMAC-SHA256(ICS_SALT, "ical:<accommodation id>:feed:<feed id>") for the calendar given to
 * one channel (which leaves out that channel's own events). Changing ICS_SALT revokes every URL.
 * Thread-safe. */
#ifndef CABANAS_ICAL_EXPORT_H
#define CABANAS_ICAL_EXPORT_H

#include "core/buf.h"
#include "core/config.h"
#include "domain/dates.h"

#include <jansson.h>

#define ICAL_TOKEN_LEN 32
#define ICAL_EXPORT_UID_MAX 127

struct ical_export_item {
    char uid[ICAL_EXPORT_UID_MAX + 1]; /* e.g. "r12@cabanas.example.com" */
    char start[DATES_FORMAT_LEN];      /* first night */
    char end[DATES_FORMAT_LEN];        /* departure day */
    const char *summary;               /* static text: "Reserved", "On hold", "Not available" */
    long long stamp;                   /* DTSTAMP: unix seconds of the item's last change */
};

/* Appends the VCALENDAR with `n` items to `out` (name: X-WR-CALNAME, may be NULL). 0, or BUF_TOO_BIG when
 * `out` reaches its limit. */
int ical_export_write(struct buf *out, const char *calname, const struct ical_export_item *items, int n);

/* The URL token (32 lowercase hex digits and a NUL); feed_id 0 for the full calendar. */
void ical_export_token(const char *salt, long long accommodation_id, long long feed_id,
                       char out[ICAL_TOKEN_LEN + 1]);

/* 1 when `token` (any length) equals the expected token, compared in constant time. */
int ical_export_token_ok(const char *salt, long long accommodation_id, long long feed_id, const char *token);

/* Remembers the configuration for the two functions below; call once before threads start. */
void ical_export_init(const struct config *cfg);

/* The export URL as JSON: PUBLIC_BASE_URL + /api/v1/ical/<id>/<token>.ics (feed_id 0) or
 * /api/v1/ical/<id>/feeds/<feed_id>/<token>.ics; JSON null while ICS_SALT is unset (export disabled). */
json_t *ical_export_url_json(long long accommodation_id, long long feed_id);

/* The host part of PUBLIC_BASE_URL ("cabanas" when there is none), for UIDs. Borrowed. */
const char *ical_export_uid_host(void);

#endif
