/* test_ical_parse.c - unit tests for src/ical/ical_parse.c, the feed-to-nights function.
 *
 * Table-driven: every tests/data/ical/<name>.ics has an expected result in
 * tests/data/ical/expected/<name>.txt
 * ("event UID START END", "quarantine UID REASON", "cancelled N"; "nouid-*" matches a synthesized UID),
 * written by hand from RFC 5545 and the fixtures' own descriptions, parsed with today = 2026-12-01 in
 * America/Argentina/Buenos_Aires and a 730-day horizon. The rest are hostile or tricky inputs built in
 * memory: limits (events, depth, recurrence), structure (not a calendar, truncated, mismatched), encoding
 * (LF only, folds anywhere, a BOM, invalid UTF-8, long UIDs). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"
#include "ical/ical_parse.h"

static const struct ical_parse_options OPT = {"America/Argentina/Buenos_Aires", {2026, 12, 1}, 730, 0, 0};

static char *read_file(const char *name, size_t *len)
{
    const char *dir = getenv("CABANAS_TEST_DATA");
    char path[512];
    snprintf(path, sizeof path, "%s/ical/%s", dir ? dir : "tests/data", name);
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s (run from the repo root or set CABANAS_TEST_DATA)", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    char *data = malloc((size_t)n + 1);
    assert_non_null(data);
    assert_int_equal(fread(data, 1, (size_t)n, f), (size_t)n);
    data[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return data;
}

static int parse(const char *data, size_t len, struct ical_feed **out)
{
    char err[200];
    int rc = ical_feed_parse(data, len, &OPT, out, err, sizeof err);
    if (rc != ICAL_OK)
        assert_null(*out);
    return rc;
}

static struct ical_feed *parse_ok(const char *text)
{
    struct ical_feed *f = NULL;
    assert_int_equal(parse(text, strlen(text), &f), ICAL_OK);
    assert_non_null(f);
    return f;
}

static const struct ical_event *find_event(const struct ical_feed *f, const char *uid)
{
    for (int i = 0; i < f->nevents; i++)
        if (strcmp(f->events[i].uid, uid) == 0)
            return &f->events[i];
    return NULL;
}

static void assert_event(const struct ical_feed *f, const char *uid, const char *start, const char *end)
{
    const struct ical_event *e = find_event(f, uid);
    if (!e)
        fail_msg("no event %s", uid);
    assert_string_equal(e->start, start);
    assert_string_equal(e->end, end);
}

/* --- the table --- */

static void check_table(const char *name)
{
    size_t len;
    char ics[128], exp[128];
    snprintf(ics, sizeof ics, "%s.ics", name);
    snprintf(exp, sizeof exp, "expected/%s.txt", name);
    char *data = read_file(ics, &len);
    char *want = read_file(exp, &len);
    struct ical_feed *f = NULL;
    size_t dlen = strlen(data);
    assert_int_equal(parse(data, dlen, &f), ICAL_OK);
    int events = 0, quarantined = 0, cancelled = -1;
    char *save = NULL;
    for (char *line = strtok_r(want, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char kind[16], uid[300], a[32], b[32];
        if (line[0] == '#' || !line[0])
            continue;
        int n = sscanf(line, "%15s %299s %31s %31s", kind, uid, a, b);
        if (strcmp(kind, "event") == 0 && n == 4) {
            events++;
            int found = 0;
            for (int i = 0; i < f->nevents && !found; i++) {
                const struct ical_event *e = &f->events[i];
                int uid_ok = strcmp(uid, "nouid-*") == 0 ? strncmp(e->uid, "nouid-", 6) == 0
                                                         : strcmp(e->uid, uid) == 0;
                found = uid_ok && strcmp(e->start, a) == 0 && strcmp(e->end, b) == 0;
            }
            if (!found)
                fail_msg("%s: expected event %s %s..%s not found", name, uid, a, b);
        } else if (strcmp(kind, "quarantine") == 0 && n == 3) {
            quarantined++;
            int found = 0;
            for (int i = 0; i < f->nquarantine && !found; i++)
                found = strcmp(f->quarantine[i].uid, uid) == 0 && strcmp(f->quarantine[i].reason, a) == 0;
            if (!found)
                fail_msg("%s: expected quarantine %s (%s) not found", name, uid, a);
        } else if (strcmp(kind, "cancelled") == 0 && n >= 2) {
            cancelled = (int)strtol(uid, NULL, 10);
        } else {
            fail_msg("%s: bad expected line '%s'", name, line);
        }
    }
    assert_true(events > 0);
    assert_int_equal(f->nevents, events); /* nothing more than expected */
    assert_int_equal(f->nquarantine, quarantined);
    assert_int_equal(f->cancelled, cancelled);
    ical_feed_free(f);
    free(data);
    free(want);
}

static void test_fixture_airbnb(void **state)
{
    (void)state;
    check_table("airbnb_export");
}

static void test_fixture_booking(void **state)
{
    (void)state;
    check_table("booking_export");
}

static void test_fixture_owner_lf(void **state)
{
    (void)state;
    check_table("owner_calendar_lf");
    /* the folded UTF-8 SUMMARY comes back whole */
    size_t len;
    char *data = read_file("owner_calendar_lf.ics", &len);
    struct ical_feed *f = parse_ok(data);
    const struct ical_event *e = find_event(f, "owner-maint-2027-03@example.com");
    assert_non_null(e);
    assert_string_equal(e->summary,
                        "Mantenimiento: pintura de la galería y revisión de la caldera antes de la "
                        "temporada de otoño");
    ical_feed_free(f);
    free(data);
}

static void test_recurrence(void **state)
{
    (void)state;
    check_table("recurring");
}

static void test_timed_events(void **state)
{
    (void)state;
    check_table("timed");
}

static void test_sanity_and_quarantine(void **state)
{
    (void)state;
    check_table("sanity");
    size_t len;
    char *data = read_file("sanity.ics", &len);
    struct ical_feed *f = parse_ok(data);
    for (int i = 0; i < f->nquarantine; i++)
        if (strcmp(f->quarantine[i].uid, "bad-date@example.com") == 0)
            assert_non_null(strstr(f->quarantine[i].detail, "2026-11-2X"));
    /* the stand-in UID is stable from one download to the next */
    struct ical_feed *g = parse_ok(data);
    const char *a = NULL, *b = NULL;
    for (int i = 0; i < f->nevents; i++)
        if (strncmp(f->events[i].uid, "nouid-", 6) == 0)
            a = f->events[i].uid;
    for (int i = 0; i < g->nevents; i++)
        if (strncmp(g->events[i].uid, "nouid-", 6) == 0)
            b = g->events[i].uid;
    assert_non_null(a);
    assert_non_null(b);
    assert_string_equal(a, b);
    ical_feed_free(f);
    ical_feed_free(g);
    free(data);
}

/* --- encodings and folding --- */

/* bare LF -> CRLF (the same feed as another generator would write it) */
static char *to_crlf(const char *s)
{
    struct buf b;
    buf_init(&b, 1 << 24);
    const char *start = s;
    for (; *s; s++) {
        if (*s == '\n' && (s == start || s[-1] != '\r'))
            buf_append(&b, "\r", 1);
        buf_append(&b, s, 1);
    }
    size_t n;
    return buf_steal(&b, &n);
}

/* Folds every content line after every `every` bytes (RFC 5545 allows a fold anywhere, even inside a
 * property name or a UTF-8 character, since the unfolding is done on octets). */
static char *fold_everywhere(const char *s, int every)
{
    struct buf b;
    buf_init(&b, 1 << 24);
    int col = 0;
    for (; *s; s++) {
        if (*s == '\n' || *s == '\r') {
            col = 0;
            buf_append(&b, s, 1);
            continue;
        }
        if (col == every) {
            buf_append(&b, "\r\n ", 3);
            col = 0;
        }
        buf_append(&b, s, 1);
        col++;
    }
    size_t n;
    return buf_steal(&b, &n);
}

static void assert_same_events(const struct ical_feed *a, const struct ical_feed *b)
{
    assert_int_equal(a->nevents, b->nevents);
    assert_int_equal(a->nquarantine, b->nquarantine);
    assert_int_equal(a->cancelled, b->cancelled);
    for (int i = 0; i < a->nevents; i++) {
        assert_string_equal(a->events[i].uid, b->events[i].uid);
        assert_string_equal(a->events[i].start, b->events[i].start);
        assert_string_equal(a->events[i].end, b->events[i].end);
        assert_string_equal(a->events[i].summary, b->events[i].summary);
    }
}

static void test_lf_crlf_and_folds_agree(void **state)
{
    (void)state;
    static const char *files[] = {"owner_calendar_lf.ics", "recurring.ics", "timed.ics", "airbnb_export.ics"};
    for (size_t k = 0; k < sizeof files / sizeof *files; k++) {
        size_t len;
        char *data = read_file(files[k], &len);
        struct ical_feed *a = parse_ok(data);
        char *crlf = to_crlf(data);
        struct ical_feed *b = parse_ok(crlf);
        assert_same_events(a, b);
        for (int every = 3; every <= 17; every += 7) {
            char *folded = fold_everywhere(crlf, every);
            struct ical_feed *c = parse_ok(folded);
            assert_same_events(a, c);
            ical_feed_free(c);
            free(folded);
        }
        ical_feed_free(a);
        ical_feed_free(b);
        free(crlf);
        free(data);
    }
}

#define HEAD "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\n"
#define TAIL "END:VCALENDAR\r\n"
#define EVENT(uid, start, end)                                                                               \
    "BEGIN:VEVENT\r\nUID:" uid "\r\nDTSTART;VALUE=DATE:" start "\r\nDTEND;VALUE=DATE:" end                   \
    "\r\nEND:VEVENT\r\n"

static void test_bom_and_lower_case(void **state)
{
    (void)state;
    struct ical_feed *f = parse_ok("\xEF\xBB\xBF" HEAD EVENT("a", "20270101", "20270103") TAIL);
    assert_event(f, "a", "2027-01-01", "2027-01-03");
    ical_feed_free(f);
    f = parse_ok("begin:vcalendar\nversion:2.0\nbegin:vevent\nuid:b\ndtstart;value=date:20270105\n"
                 "dtend;value=date:20270107\nend:vevent\nend:vcalendar\n");
    assert_event(f, "b", "2027-01-05", "2027-01-07");
    ical_feed_free(f);
}

static void test_invalid_utf8_and_long_uid(void **state)
{
    (void)state;
    char uid[400];
    memset(uid, 'u', 300);
    uid[300] = '\0';
    char text[2048];
    snprintf(text, sizeof text,
             HEAD "BEGIN:VEVENT\r\nUID:%s\r\nDTSTART;VALUE=DATE:20270101\r\nDTEND;VALUE=DATE:20270102\r\n"
                  "SUMMARY:bad \xC3\x28 byte\x01 here\r\nEND:VEVENT\r\n"
                  "BEGIN:VEVENT\r\nUID:ctl\x7Fuid\r\nDTSTART;VALUE=DATE:20270110\r\nEND:VEVENT\r\n" TAIL,
             uid);
    struct ical_feed *f = parse_ok(text);
    assert_int_equal(f->nevents, 2);
    for (int i = 0; i < f->nevents; i++) {
        const struct ical_event *e = &f->events[i];
        assert_true(strlen(e->uid) <= ICAL_UID_MAX);
        assert_int_equal(strncmp(e->uid, "h-", 2), 0); /* unusable UIDs are replaced by a stable hash */
        assert_int_equal(strlen(e->uid), 2 + 32);
        if (strcmp(e->start, "2027-01-01") == 0)
            assert_string_equal(e->summary, "bad ?( byte  here");
        else
            assert_string_equal(e->end, "2027-01-11");
    }
    ical_feed_free(f);
}

/* --- structure and limits --- */

static void assert_refused(const char *data, size_t len, int want)
{
    struct ical_feed *f = (struct ical_feed *)1;
    char err[200] = "";
    int rc = ical_feed_parse(data, len, &OPT, &f, err, sizeof err);
    if (rc != want)
        fail_msg("expected %s, got %s (%s)", ical_parse_strerror(want), ical_parse_strerror(rc), err);
    assert_null(f);
    assert_true(err[0] != '\0');
}

static void test_not_a_calendar(void **state)
{
    (void)state;
    static const char *bad[] = {
        "",
        "\r\n\r\n",
        "<!DOCTYPE html><html><body><h1>Error</h1></body></html>\n",
        "HTTP/1.1 200 OK\r\n\r\nBEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n",
        "BEGIN:VEVENT\r\nEND:VEVENT\r\n",
        HEAD EVENT("a", "20270101", "20270103"), /* truncated: no END:VCALENDAR */
        HEAD "BEGIN:VEVENT\r\nUID:a\r\nDTSTART;VALUE=DATE:2027",
        HEAD "BEGIN:VEVENT\r\nUID:a\r\nEND:VTODO\r\n" TAIL, /* mismatched END */
        HEAD TAIL "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n",   /* data after the end */
        HEAD "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n" TAIL,   /* nested VCALENDAR */
        "END:VCALENDAR\r\n",
        "VERSION:2.0\r\nBEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_refused(bad[i], strlen(bad[i]), ICAL_NOT_CALENDAR);
    static const char nul[] = HEAD "BEGIN:VEVENT\r\nUID:a\0b\r\nEND:VEVENT\r\n" TAIL;
    assert_refused(nul, sizeof nul - 1, ICAL_NOT_CALENDAR);
    /* 6 MiB of junk without a NUL byte */
    size_t n = 6u << 20;
    char *junk = malloc(n);
    assert_non_null(junk);
    unsigned x = 12345;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        junk[i] = (char)(1 + (x >> 16) % 255);
    }
    assert_refused(junk, n, ICAL_NOT_CALENDAR);
    free(junk);
}

static char *repeat(const char *head, const char *unit, int n, const char *tail)
{
    struct buf b;
    buf_init(&b, 1 << 26);
    buf_puts(&b, head);
    for (int i = 0; i < n; i++)
        buf_puts(&b, unit);
    buf_puts(&b, tail);
    size_t len;
    return buf_steal(&b, &len);
}

static void test_too_many_events(void **state)
{
    (void)state;
    char *many = repeat(HEAD, "BEGIN:VEVENT\r\nUID:x\r\nEND:VEVENT\r\n", 100000, TAIL);
    clock_t t0 = clock();
    assert_refused(many, strlen(many), ICAL_TOO_MANY_EVENTS);
    assert_true((double)(clock() - t0) / CLOCKS_PER_SEC < 5.0); /* refused by the scan, before libical */
    free(many);
    /* exactly at the limit is fine */
    struct ical_parse_options o = OPT;
    o.max_events = 3;
    struct ical_feed *f = NULL;
    char err[100];
    const char *three = HEAD EVENT("a", "20270101", "20270102") EVENT("b", "20270103", "20270104")
        EVENT("c", "20270105", "20270106") TAIL;
    assert_int_equal(ical_feed_parse(three, strlen(three), &o, &f, err, sizeof err), ICAL_OK);
    assert_int_equal(f->nevents, 3);
    ical_feed_free(f);
    o.max_events = 2;
    assert_int_equal(ical_feed_parse(three, strlen(three), &o, &f, err, sizeof err), ICAL_TOO_MANY_EVENTS);
    assert_null(f);
    /* recurrence instances count too */
    o.max_events = 50;
    const char *daily = HEAD "BEGIN:VEVENT\r\nUID:d\r\nDTSTART;VALUE=DATE:20270101\r\nRRULE:FREQ=DAILY\r\n"
                             "END:VEVENT\r\n" TAIL;
    assert_int_equal(ical_feed_parse(daily, strlen(daily), &o, &f, err, sizeof err), ICAL_TOO_MANY_EVENTS);
    assert_null(f);
}

static void test_twenty_thousand_events(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 1 << 26);
    buf_puts(&b, HEAD);
    for (int i = 0; i < ICAL_MAX_EVENTS; i++) {
        struct date d = dates_add_days((struct date){2027, 1, 1}, i % 600);
        buf_printf(&b, "BEGIN:VEVENT\r\nUID:e%d\r\nDTSTART;VALUE=DATE:%04d%02d%02d\r\nEND:VEVENT\r\n", i, d.y,
                   d.m, d.d);
    }
    buf_puts(&b, TAIL);
    struct ical_feed *f = NULL;
    clock_t t0 = clock();
    assert_int_equal(parse(b.data, b.len, &f), ICAL_OK);
    double s = (double)(clock() - t0) / CLOCKS_PER_SEC;
    assert_int_equal(f->nevents, ICAL_MAX_EVENTS);
    assert_true(s < 20.0); /* generous for the sanitizer build; a few hundred ms without */
    ical_feed_free(f);
    buf_cleanup(&b);
}

static void test_deep_nesting(void **state)
{
    (void)state;
    char *head = repeat(HEAD, "BEGIN:X-NEST\r\n", 10000, "");
    char *deep = repeat(head, "END:X-NEST\r\n", 10000, TAIL);
    assert_refused(deep, strlen(deep), ICAL_TOO_DEEP);
    free(head);
    free(deep);
    /* an alarm inside an event inside the calendar is ordinary */
    struct ical_feed *f = parse_ok(HEAD "BEGIN:VEVENT\r\nUID:al\r\nDTSTART;VALUE=DATE:20270101\r\n"
                                        "BEGIN:VALARM\r\nACTION:DISPLAY\r\nTRIGGER:-PT15M\r\nEND:VALARM\r\n"
                                        "END:VEVENT\r\n" TAIL);
    assert_event(f, "al", "2027-01-01", "2027-01-02");
    ical_feed_free(f);
}

static void test_dense_recurrence_is_bounded(void **state)
{
    (void)state;
    /* every second since 2025: far more steps than the budget; the event is quarantined, fast */
    const char *dense =
        HEAD "BEGIN:VEVENT\r\nUID:sec\r\nDTSTART:20250101T000000Z\r\nDTEND:20250101T000001Z\r\n"
             "RRULE:FREQ=SECONDLY;COUNT=100000000\r\nEND:VEVENT\r\n" EVENT("ok", "20270101", "20270102") TAIL;
    clock_t t0 = clock();
    struct ical_feed *f = parse_ok(dense);
    assert_true((double)(clock() - t0) / CLOCKS_PER_SEC < 20.0);
    assert_int_equal(f->nquarantine, 1);
    assert_string_equal(f->quarantine[0].uid, "sec");
    assert_string_equal(f->quarantine[0].reason, "recurrence_too_long");
    assert_int_equal(f->nevents, 1);
    assert_event(f, "ok", "2027-01-01", "2027-01-02");
    ical_feed_free(f);
}

static void test_recurrence_details(void **state)
{
    (void)state;
    /* EXDATE as a comma list; a CANCELLED override removes one occurrence */
    struct ical_feed *f =
        parse_ok(HEAD "BEGIN:VEVENT\r\nUID:w\r\nDTSTART;VALUE=DATE:20270104\r\nDTEND;VALUE=DATE:20270105\r\n"
                      "RRULE:FREQ=WEEKLY;COUNT=5\r\nEXDATE;VALUE=DATE:20270111,20270118\r\nEND:VEVENT\r\n"
                      "BEGIN:VEVENT\r\nUID:w\r\nRECURRENCE-ID;VALUE=DATE:20270125\r\nSTATUS:CANCELLED\r\n"
                      "DTSTART;VALUE=DATE:20270125\r\nDTEND;VALUE=DATE:20270126\r\nEND:VEVENT\r\n" TAIL);
    assert_int_equal(f->nevents, 2);
    assert_event(f, "w#20270104", "2027-01-04", "2027-01-05");
    assert_event(f, "w#20270201", "2027-02-01", "2027-02-02");
    assert_int_equal(f->cancelled, 1);
    ical_feed_free(f);
    /* a rule libical cannot read */
    f = parse_ok(HEAD "BEGIN:VEVENT\r\nUID:r\r\nDTSTART;VALUE=DATE:20270104\r\nRRULE:FREQ=SOMETIMES\r\n"
                      "END:VEVENT\r\n" EVENT("k", "20270301", "20270302") TAIL);
    assert_event(f, "k", "2027-03-01", "2027-03-02");
    assert_null(find_event(f, "r"));
    assert_int_equal(f->nquarantine, 1);
    assert_string_equal(f->quarantine[0].uid, "r");
    assert_string_equal(f->quarantine[0].reason, "invalid_rrule");
    ical_feed_free(f);
}

static void test_start_and_end_rules(void **state)
{
    (void)state;
    struct ical_feed *f = parse_ok(HEAD EVENT(
        "same", "20270101",
        "20270101") "BEGIN:VEVENT\r\nUID:back\r\nDTSTART:20270105T120000Z\r\nDTEND:20270105T110000Z\r\nEND:"
                    "VEVENT\r\n"
                    "BEGIN:VEVENT\r\nUID:nostart\r\nDTEND;VALUE=DATE:20270105\r\nEND:VEVENT\r\n"
                    "BEGIN:VEVENT\r\nUID:datetime-bad\r\nDTSTART:20270105T250000Z\r\nEND:VEVENT\r\n"
                    "BEGIN:VEVENT\r\nUID:date-with-time\r\nDTSTART;VALUE=DATE:20270105T100000\r\nEND:"
                    "VEVENT\r\n"
                    "BEGIN:VEVENT\r\nUID:weeks\r\nDTSTART;VALUE=DATE:20270201\r\nDURATION:P1W\r\nEND:"
                    "VEVENT\r\n" TAIL);
    assert_int_equal(f->nevents, 1);
    assert_event(f, "weeks", "2027-02-01", "2027-02-08");
    const char *want[][2] = {{"same", "end_before_start"},
                             {"back", "end_before_start"},
                             {"nostart", "invalid_date"},
                             {"datetime-bad", "invalid_date"},
                             {"date-with-time", "invalid_date"}};
    assert_int_equal(f->nquarantine, 5);
    for (int i = 0; i < 5; i++) {
        assert_string_equal(f->quarantine[i].uid, want[i][0]);
        assert_string_equal(f->quarantine[i].reason, want[i][1]);
    }
    ical_feed_free(f);
}

static void test_bad_options(void **state)
{
    (void)state;
    struct ical_parse_options o = OPT;
    o.timezone = "Mars/Olympus_Mons";
    struct ical_feed *f = NULL;
    char err[100];
    const char *t = HEAD TAIL;
    assert_int_equal(ical_feed_parse(t, strlen(t), &o, &f, err, sizeof err), ICAL_BAD_OPTIONS);
    assert_null(f);
    o = OPT;
    o.horizon_days = 0;
    assert_int_equal(ical_feed_parse(t, strlen(t), &o, &f, err, sizeof err), ICAL_BAD_OPTIONS);
    /* an empty calendar is a good, empty feed */
    f = parse_ok(t);
    assert_int_equal(f->nevents, 0);
    ical_feed_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixture_airbnb),
        cmocka_unit_test(test_fixture_booking),
        cmocka_unit_test(test_fixture_owner_lf),
        cmocka_unit_test(test_recurrence),
        cmocka_unit_test(test_timed_events),
        cmocka_unit_test(test_sanity_and_quarantine),
        cmocka_unit_test(test_lf_crlf_and_folds_agree),
        cmocka_unit_test(test_bom_and_lower_case),
        cmocka_unit_test(test_invalid_utf8_and_long_uid),
        cmocka_unit_test(test_not_a_calendar),
        cmocka_unit_test(test_too_many_events),
        cmocka_unit_test(test_twenty_thousand_events),
        cmocka_unit_test(test_deep_nesting),
        cmocka_unit_test(test_dense_recurrence_is_bounded),
        cmocka_unit_test(test_recurrence_details),
        cmocka_unit_test(test_start_and_end_rules),
        cmocka_unit_test(test_bad_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
