/* test_calendar.c - nights of a window: free nights, a hold, a booking and a block placed on the right
 * nights (check-out night free, back-to-back stays), entries clipped to the window, overlapping entries
 * reported as a conflict listing each, bad dates ignored, and occupancy (confirmed nights; blocked nights
 * not sold; holds neither). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "domain/calendar.h"

static struct calendar_entry entry(enum calendar_kind kind, const char *start, const char *end)
{
    struct calendar_entry e;
    memset(&e, 0, sizeof e);
    e.kind = kind;
    snprintf(e.start, sizeof e.start, "%s", start);
    snprintf(e.end, sizeof e.end, "%s", end);
    return e;
}

static struct date d(const char *s)
{
    struct date x;
    assert_int_equal(dates_parse(s, &x), 0);
    return x;
}

/* The states as one letter a night: . free, h hold, c confirmed, b block, X conflict. */
static const char *states(const struct calendar_night *n, int count)
{
    static char out[CALENDAR_MAX_NIGHTS + 1];
    static const char letters[] = ".hcbX";
    for (int i = 0; i < count; i++)
        out[i] = letters[n[i].state];
    out[count] = '\0';
    return out;
}

static void test_empty_window(void **state)
{
    struct calendar_night n[10];
    assert_int_equal(calendar_nights(d("2027-01-01"), 10, NULL, 0, n), 0);
    assert_string_equal(states(n, 10), "..........");
    int c = -1, b = -1;
    calendar_occupancy(n, 10, NULL, &c, &b);
    assert_int_equal(c, 0);
    assert_int_equal(b, 0);
}

static void test_entries_on_their_nights(void **state)
{
    struct calendar_entry e[] = {
        entry(CALENDAR_HOLD, "2027-01-02", "2027-01-04"),      /* nights 2, 3 */
        entry(CALENDAR_CONFIRMED, "2027-01-04", "2027-01-07"), /* back to back: 4, 5, 6 */
        entry(CALENDAR_BLOCK, "2027-01-09", "2027-01-10"),     /* 9 */
    };
    struct calendar_night n[10];
    assert_int_equal(calendar_nights(d("2027-01-01"), 10, e, 3, n), 0);
    assert_string_equal(states(n, 10), ".hhccc..b.");
    assert_int_equal(n[1].count, 1);
    assert_int_equal(n[1].entry[0], 0);
    assert_int_equal(n[3].entry[0], 1);
    assert_int_equal(n[8].entry[0], 2);
    int c, b;
    calendar_occupancy(n, 10, e, &c, &b);
    assert_int_equal(c, 3);
    assert_int_equal(b, 1);
}

static void test_clipped_to_window(void **state)
{
    struct calendar_entry e[] = {
        entry(CALENDAR_CONFIRMED, "2026-12-30", "2027-01-03"), /* from before the window */
        entry(CALENDAR_BLOCK, "2027-01-04", "2027-02-15"),     /* past its end */
        entry(CALENDAR_HOLD, "2026-11-01", "2026-11-05"),      /* entirely before: nothing */
        entry(CALENDAR_HOLD, "2027-01-06", "2027-01-06"),      /* empty range: nothing */
    };
    struct calendar_night n[6];
    assert_int_equal(calendar_nights(d("2027-01-01"), 6, e, 4, n), 0);
    assert_string_equal(states(n, 6), "cc.bbb");
    int c, b;
    calendar_occupancy(n, 6, e, &c, &b);
    assert_int_equal(c, 2);
    assert_int_equal(b, 3);
}

static void test_conflict(void **state)
{
    struct calendar_entry e[] = {
        entry(CALENDAR_CONFIRMED, "2027-01-02", "2027-01-05"),
        entry(CALENDAR_BLOCK, "2027-01-04", "2027-01-06"), /* an imported event over our booking */
        entry(CALENDAR_HOLD, "2027-01-04", "2027-01-05"),
    };
    struct calendar_night n[7];
    assert_int_equal(calendar_nights(d("2027-01-01"), 7, e, 3, n), 0);
    assert_string_equal(states(n, 7), ".ccXb..");
    assert_int_equal(n[3].count, 3);
    assert_int_equal(n[3].entry[0], 0);
    assert_int_equal(n[3].entry[1], 1);
    assert_int_equal(n[3].entry[2], 2);
    int c, b;
    calendar_occupancy(n, 7, e, &c, &b);
    assert_int_equal(c, 3); /* the conflict night is sold */
    assert_int_equal(b, 1);
    assert_string_equal(calendar_state_name(n[3].state), "conflict");
}

static void test_more_than_listed(void **state)
{
    struct calendar_entry e[CALENDAR_MAX_OVERLAP + 2];
    for (int i = 0; i < CALENDAR_MAX_OVERLAP + 2; i++)
        e[i] = entry(CALENDAR_BLOCK, "2027-01-01", "2027-01-02");
    struct calendar_night n[1];
    assert_int_equal(calendar_nights(d("2027-01-01"), 1, e, CALENDAR_MAX_OVERLAP + 2, n), 0);
    assert_int_equal(n[0].state, CALENDAR_CONFLICT);
    assert_int_equal(n[0].count, CALENDAR_MAX_OVERLAP + 2);
    assert_int_equal(n[0].entry[CALENDAR_MAX_OVERLAP - 1], CALENDAR_MAX_OVERLAP - 1);
}

static void test_bad_input(void **state)
{
    struct calendar_entry e[] = {entry(CALENDAR_BLOCK, "2027-01-0X", "2027-01-03"),
                                 entry(CALENDAR_BLOCK, "2027-01-02", "")};
    struct calendar_night n[CALENDAR_MAX_NIGHTS];
    assert_int_equal(calendar_nights(d("2027-01-01"), 3, e, 2, n), 0);
    assert_string_equal(states(n, 3), "...");
    assert_int_equal(calendar_nights(d("2027-01-01"), 0, e, 0, n), -1);
    assert_int_equal(calendar_nights(d("2027-01-01"), CALENDAR_MAX_NIGHTS + 1, e, 0, n), -1);
    assert_int_equal(calendar_nights(d("2027-01-01"), CALENDAR_MAX_NIGHTS, e, 0, n), 0);
    assert_string_equal(calendar_state_name(CALENDAR_FREE), "free");
    assert_string_equal(calendar_state_name(CALENDAR_STATE_HOLD), "hold");
    assert_string_equal(calendar_state_name(CALENDAR_STATE_CONFIRMED), "confirmed");
    assert_string_equal(calendar_state_name(CALENDAR_STATE_BLOCK), "block");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_window),      cmocka_unit_test(test_entries_on_their_nights),
        cmocka_unit_test(test_clipped_to_window), cmocka_unit_test(test_conflict),
        cmocka_unit_test(test_more_than_listed),  cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
