/* calendar.c - nights of a window from holds, bookings and blocks. See calendar.h. */
#include "calendar.h"

#include <string.h>

int calendar_nights(struct date first, int nights, const struct calendar_entry *entries, int n,
                    struct calendar_night *out)
{
    if (nights < 1 || nights > CALENDAR_MAX_NIGHTS)
        return -1;
    memset(out, 0, sizeof *out * (size_t)nights);
    long base = dates_to_days(first);
    for (int i = 0; i < n; i++) {
        struct date s, e;
        if (dates_parse(entries[i].start, &s) < 0 || dates_parse(entries[i].end, &e) < 0)
            continue;
        long from = dates_to_days(s) - base, to = dates_to_days(e) - base;
        if (from < 0)
            from = 0;
        if (to > nights)
            to = nights;
        for (long k = from; k < to; k++) {
            struct calendar_night *c = &out[k];
            if (c->count < CALENDAR_MAX_OVERLAP)
                c->entry[c->count] = i;
            c->count++;
            c->state = c->count == 1 ? (enum calendar_state)entries[i].kind : CALENDAR_CONFLICT;
        }
    }
    return 0;
}

void calendar_occupancy(const struct calendar_night *nights, int count, const struct calendar_entry *entries,
                        int *confirmed, int *blocked)
{
    *confirmed = *blocked = 0;
    for (int k = 0; k < count; k++) {
        int sold = 0, block = 0;
        int listed = nights[k].count < CALENDAR_MAX_OVERLAP ? nights[k].count : CALENDAR_MAX_OVERLAP;
        for (int j = 0; j < listed; j++) {
            enum calendar_kind kind = entries[nights[k].entry[j]].kind;
            sold |= kind == CALENDAR_CONFIRMED;
            block |= kind == CALENDAR_BLOCK;
        }
        if (sold)
            (*confirmed)++;
        else if (block)
            (*blocked)++;
    }
}

const char *calendar_state_name(enum calendar_state s)
{
    switch (s) {
    case CALENDAR_STATE_HOLD:
        return "hold";
    case CALENDAR_STATE_CONFIRMED:
        return "confirmed";
    case CALENDAR_STATE_BLOCK:
        return "block";
    case CALENDAR_CONFLICT:
        return "conflict";
    default:
        return "free";
    }
}
