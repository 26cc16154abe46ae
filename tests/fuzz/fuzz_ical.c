/* fuzz_ical.c - fuzz target for ical_feed_parse(), the feed-to-nights function (src/ical/ical_parse.c).
 *
 * Built with libFuzzer (clang -fsanitize=fuzzer,address,undefined) by `make fuzz` / `make fuzz-smoke`, or,
 * without clang, linked with driver.c (a corpus replay plus seeded mutations) under gcc's sanitizers.
 * Besides "no crash, no leak, no hang", every accepted feed must keep the function's promises: each event
 * has a printable UID of at most ICAL_UID_MAX bytes, unique in the feed, and a real range of nights of at
 * most ICAL_MAX_NIGHTS inside the window; the counts stay within the limits. */
#include "ical/ical_parse.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void check(const struct ical_feed *f, const struct ical_parse_options *o)
{
    long today = dates_to_days(o->today);
    if (f->nevents < 0 || f->nevents > ICAL_MAX_EVENTS || f->nquarantine < 0 || f->cancelled < 0)
        abort();
    for (int i = 0; i < f->nevents; i++) {
        const struct ical_event *e = &f->events[i];
        struct date s, en;
        size_t ul = strlen(e->uid);
        if (ul == 0 || ul > ICAL_UID_MAX || dates_parse(e->start, &s) < 0 || dates_parse(e->end, &en) < 0)
            abort();
        long n = dates_diff_days(s, en);
        if (n < 1 || n > ICAL_MAX_NIGHTS || dates_to_days(en) <= today - 365 ||
            dates_to_days(s) >= today + o->horizon_days || dates_to_days(en) > today + o->horizon_days)
            abort();
        for (size_t k = 0; k < ul; k++)
            if ((unsigned char)e->uid[k] < 0x20 || e->uid[k] == 0x7F)
                abort();
        if (strlen(e->summary) > ICAL_SUMMARY_MAX)
            abort();
    }
    /* UIDs are unique (quadratic, but fuzz inputs are small) */
    if (f->nevents <= 2000)
        for (int i = 0; i < f->nevents; i++)
            for (int j = i + 1; j < f->nevents; j++)
                if (strcmp(f->events[i].uid, f->events[j].uid) == 0)
                    abort();
    for (int i = 0; i < f->nquarantine; i++)
        if (!f->quarantine[i].reason || strlen(f->quarantine[i].uid) > ICAL_UID_MAX)
            abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct ical_parse_options opt = {
        "America/Argentina/Buenos_Aires", {2026, 12, 1}, 730, 2000, 0};
    struct ical_feed *f = NULL;
    char err[200];
    int rc = ical_feed_parse((const char *)data, size, &opt, &f, err, sizeof err);
    if ((rc == ICAL_OK) != (f != NULL))
        abort();
    if (f)
        check(f, &opt);
    ical_feed_free(f);
    return 0;
}
