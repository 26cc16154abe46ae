/* calendar.h - what each night of an accommodation is, for the admin calendar and the occupancy figures.
 *
 * Input: the entries that touch a window of nights (holds that are still live, confirmed bookings,
 * blocks), each a half-open range of nights [start, end). Output: one cell per night. The database keeps
 * holds, bookings and blocks of one accommodation apart (stay_claims), so a night normally has at most
 * one entry; two or more on one night (an imported event stored outside that guarantee) is a conflict,
 * reported with every entry involved. Pure and thread-safe. */
#ifndef CABANAS_CALENDAR_H
#define CABANAS_CALENDAR_H

#include "booking.h"
#include "dates.h"

enum calendar_kind { CALENDAR_HOLD = 1, CALENDAR_CONFIRMED = 2, CALENDAR_BLOCK = 3 };

enum calendar_state {
    CALENDAR_FREE = 0,
    CALENDAR_STATE_HOLD = CALENDAR_HOLD,
    CALENDAR_STATE_CONFIRMED = CALENDAR_CONFIRMED,
    CALENDAR_STATE_BLOCK = CALENDAR_BLOCK,
    CALENDAR_CONFLICT = 4
};

struct calendar_entry {
    long long accommodation_id;
    enum calendar_kind kind;
    char start[DATES_FORMAT_LEN]; /* check_in / first blocked night */
    char end[DATES_FORMAT_LEN];   /* check_out / first free night */
    /* holds and bookings */
    char code[RES_CODE_LEN + 1];
    char channel[16];
    char guest_name[GUEST_NAME_MAX + 1];
    int guests;
    long long expires_at; /* holds */
    /* blocks */
    long long block_id;
    char reason[REASON_MAX + 1];
    char source[64];
};

#define CALENDAR_MAX_NIGHTS 62
#define CALENDAR_MAX_OVERLAP 4 /* entries listed on a conflict night (more are counted, not listed) */

struct calendar_night {
    enum calendar_state state;
    int count;                       /* entries on this night */
    int entry[CALENDAR_MAX_OVERLAP]; /* their indexes in the input, in input order */
};

/* Fills out[0..nights) for the nights from `first` on, from the n entries (of one accommodation; others
 * are the caller's to filter). Entries with unparsable dates are ignored. nights must be 1..
 * CALENDAR_MAX_NIGHTS; returns 0, or -1 for a bad nights count. */
int calendar_nights(struct date first, int nights, const struct calendar_entry *entries, int n,
                    struct calendar_night *out);

/* Occupancy of those nights: *confirmed counts nights any confirmed booking covers, *blocked the other
 * nights any block covers (holds are not sold: they count as neither). */
void calendar_occupancy(const struct calendar_night *nights, int count, const struct calendar_entry *entries,
                        int *confirmed, int *blocked);

/* "free", "hold", "confirmed", "block", "conflict". */
const char *calendar_state_name(enum calendar_state s);

#endif
