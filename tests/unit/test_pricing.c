/* test_pricing.c - unit tests for src/domain: dates, money and pricing.
 *
 * The pricing cases are a data table, tests/data/pricing_cases.txt (directory overridable with
 * CABANAS_TEST_DATA; run from the repo root). Its expected values were computed independently of this
 * code; the test also checks the invariants of every quote (consecutive nights, weekend flags, the
 * nightly list summing to the total) and refuses a table with fewer than MIN_CASES cases, so a missing
 * or truncated file fails instead of passing vacuously. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/dates.h"
#include "domain/money.h"
#include "domain/pricing.h"

#define MIN_CASES 25

static struct date mkdate(int y, int m, int d)
{
    struct date x = {y, m, d};
    return x;
}

static void assert_date(struct date got, int y, int m, int d)
{
    assert_int_equal(got.y, y);
    assert_int_equal(got.m, m);
    assert_int_equal(got.d, d);
}

/* ---------------------------------------------------------------- dates */

static void test_dates_parse_valid(void **state)
{
    (void)state;
    struct date d;
    assert_int_equal(dates_parse("2026-12-01", &d), 0);
    assert_date(d, 2026, 12, 1);
    assert_int_equal(dates_parse("2028-02-29", &d), 0);
    assert_date(d, 2028, 2, 29);
    assert_int_equal(dates_parse("2000-02-29", &d), 0);
    assert_int_equal(dates_parse("1900-01-01", &d), 0);
    assert_date(d, 1900, 1, 1);
    assert_int_equal(dates_parse("9999-12-31", &d), 0);
    assert_date(d, 9999, 12, 31);
    assert_int_equal(dates_parse("2026-01-31", &d), 0);
    assert_int_equal(dates_parse("2026-04-30", &d), 0);
}

static void test_dates_parse_invalid(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "2026-02-29", /* 2026 is not a leap year */
        "1900-02-29", /* neither is 1900 */
        "2100-02-29", "2026-13-01", "2026-00-10", "2026-01-00",  "2026-01-32",           "2026-04-31",
        "2026-1-01",  "2026-01-1",  "26-01-01",   "2026-01-01x", "2026-01-01 ",          " 2026-01-01",
        "2026/01/01", "20260101",   "2026-01-0a", "+026-01-01",  "-026-01-01",           "1899-12-31",
        "0000-01-01", "",           "2026",       "2026-01-",    "2026-01-01T00:00:00Z",
    };
    struct date d = {1, 2, 3};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (dates_parse(bad[i], &d) != -1)
            fail_msg("dates_parse accepted \"%s\"", bad[i]);
        assert_date(d, 1, 2, 3); /* untouched */
    }
    assert_int_equal(dates_parse(NULL, &d), -1);
}

static void test_dates_format(void **state)
{
    (void)state;
    char buf[DATES_FORMAT_LEN];
    dates_format(mkdate(2026, 12, 1), buf);
    assert_string_equal(buf, "2026-12-01");
    dates_format(mkdate(1900, 1, 9), buf);
    assert_string_equal(buf, "1900-01-09");
    dates_format(mkdate(9999, 12, 31), buf);
    assert_string_equal(buf, "9999-12-31");
}

static void test_dates_days(void **state)
{
    (void)state;
    /* Day numbers from Python's datetime: (date - date(1970, 1, 1)).days */
    assert_int_equal(dates_to_days(mkdate(1970, 1, 1)), 0);
    assert_int_equal(dates_to_days(mkdate(1969, 12, 31)), -1);
    assert_int_equal(dates_to_days(mkdate(2026, 12, 1)), 20788);
    assert_int_equal(dates_to_days(mkdate(2000, 3, 1)), 11017);
    assert_int_equal(dates_to_days(mkdate(2028, 2, 29)), 21243);
    assert_int_equal(dates_to_days(mkdate(1900, 1, 1)), -25567);
    assert_int_equal(dates_to_days(mkdate(9999, 12, 31)), 2932896);
    assert_date(dates_from_days(0), 1970, 1, 1);
    assert_date(dates_from_days(-1), 1969, 12, 31);
    assert_date(dates_from_days(21243), 2028, 2, 29);
    assert_date(dates_from_days(-25567), 1900, 1, 1);
    assert_date(dates_from_days(2932896), 9999, 12, 31);
}

/* Walks every day from 1900-01-01 to 9999-12-31 with a naive calendar counter and checks the day number,
 * the inverse and the weekday of each. */
static void test_dates_every_day(void **state)
{
    (void)state;
    struct date d = {1900, 1, 1};
    long n = -25567;
    int wd = 1; /* 1900-01-01 was a Monday */
    for (;;) {
        struct date back;
        if (dates_to_days(d) != n)
            fail_msg("dates_to_days(%d-%d-%d) = %ld, want %ld", d.y, d.m, d.d, dates_to_days(d), n);
        back = dates_from_days(n);
        if (back.y != d.y || back.m != d.m || back.d != d.d)
            fail_msg("dates_from_days(%ld) = %d-%d-%d", n, back.y, back.m, back.d);
        if (dates_weekday(d) != wd)
            fail_msg("dates_weekday(%d-%d-%d) = %d, want %d", d.y, d.m, d.d, dates_weekday(d), wd);
        assert_true(dates_valid(d));
        if (d.y == 9999 && d.m == 12 && d.d == 31)
            break;
        n++;
        wd = (wd + 1) % 7;
        if (++d.d > dates_days_in_month(d.y, d.m)) {
            d.d = 1;
            if (++d.m > 12) {
                d.m = 1;
                d.y++;
            }
        }
    }
    assert_int_equal(n, 2932896);
}

static void test_dates_weekday(void **state)
{
    (void)state;
    assert_int_equal(dates_weekday(mkdate(2026, 12, 1)), 2);  /* Tuesday */
    assert_int_equal(dates_weekday(mkdate(2026, 12, 4)), 5);  /* Friday */
    assert_int_equal(dates_weekday(mkdate(2026, 12, 5)), 6);  /* Saturday */
    assert_int_equal(dates_weekday(mkdate(2026, 12, 6)), 0);  /* Sunday */
    assert_int_equal(dates_weekday(mkdate(2027, 1, 1)), 5);   /* Friday */
    assert_int_equal(dates_weekday(mkdate(2028, 2, 29)), 2);  /* Tuesday */
    assert_int_equal(dates_weekday(mkdate(1970, 1, 1)), 4);   /* Thursday */
    assert_int_equal(dates_weekday(mkdate(1969, 12, 28)), 0); /* Sunday */
    assert_int_equal(dates_weekday(mkdate(1900, 1, 1)), 1);   /* Monday */
    assert_int_equal(dates_weekday(mkdate(2000, 1, 1)), 6);   /* Saturday */
}

static void test_dates_add_diff(void **state)
{
    (void)state;
    assert_date(dates_add_days(mkdate(2026, 12, 31), 1), 2027, 1, 1);
    assert_date(dates_add_days(mkdate(2027, 1, 1), -1), 2026, 12, 31);
    assert_date(dates_add_days(mkdate(2028, 2, 28), 1), 2028, 2, 29);
    assert_date(dates_add_days(mkdate(2026, 2, 28), 1), 2026, 3, 1);
    assert_date(dates_add_days(mkdate(2026, 12, 31), 400), 2028, 2, 4);
    assert_date(dates_add_days(mkdate(2026, 12, 1), 0), 2026, 12, 1);
    assert_int_equal(dates_diff_days(mkdate(2026, 12, 28), mkdate(2027, 1, 4)), 7);
    assert_int_equal(dates_diff_days(mkdate(2027, 1, 4), mkdate(2026, 12, 28)), -7);
    assert_int_equal(dates_diff_days(mkdate(2026, 2, 27), mkdate(2027, 3, 1)), 367);
    assert_int_equal(dates_diff_days(mkdate(2028, 1, 1), mkdate(2029, 1, 1)), 366);
    assert_int_equal(dates_diff_days(mkdate(2026, 1, 1), mkdate(2027, 1, 1)), 365);
    assert_int_equal(dates_diff_days(mkdate(2026, 5, 5), mkdate(2026, 5, 5)), 0);
}

static void test_dates_valid(void **state)
{
    (void)state;
    assert_true(dates_valid(mkdate(2028, 2, 29)));
    assert_false(dates_valid(mkdate(2026, 2, 29)));
    assert_false(dates_valid(mkdate(2026, 0, 1)));
    assert_false(dates_valid(mkdate(2026, 13, 1)));
    assert_false(dates_valid(mkdate(1899, 12, 31)));
    assert_false(dates_valid(mkdate(10000, 1, 1)));
    assert_true(dates_is_leap_year(2000));
    assert_false(dates_is_leap_year(1900));
    assert_false(dates_is_leap_year(2100));
    assert_true(dates_is_leap_year(2028));
    assert_int_equal(dates_days_in_month(2026, 2), 28);
    assert_int_equal(dates_days_in_month(2028, 2), 29);
    assert_int_equal(dates_days_in_month(2026, 13), 0);
}

static void test_dates_today(void **state)
{
    (void)state;
    struct date d;
    assert_int_equal(dates_today(&d), 0);
    assert_true(dates_valid(d));
    assert_true(d.y >= 2024);
}

/* ---------------------------------------------------------------- money */

static void test_money_parse_valid(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        int64_t cents;
    } ok[] = {
        {"0", 0},
        {"0.0", 0},
        {"0.00", 0},
        {"0.1", 10},
        {"0.01", 1},
        {"0.5", 50},
        {"1", 100},
        {"43200", 4320000},
        {"43200.5", 4320050},
        {"43200.50", 4320050},
        {"43200.05", 4320005},
        {"99999999999.99", 9999999999999LL},
        {"100000000000", MONEY_MAX_CENTS},
        {"100000000000.00", MONEY_MAX_CENTS},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        int64_t c = -1;
        if (money_parse(ok[i].s, &c) != 0)
            fail_msg("money_parse refused \"%s\"", ok[i].s);
        assert_int_equal(c, ok[i].cents);
    }
}

static void test_money_parse_invalid(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "-1",
        "-0",
        "+1",
        "1e3",
        "1E3",
        " 1",
        "1 ",
        "1.005",
        "1.000",
        "43200.500",
        ".5",
        "5.",
        ".",
        "1,50",
        "1.2.3",
        "01",
        "00",
        "007.50",
        "0x10",
        "1_000",
        "100000000000.01",
        "100000000001",
        "9223372036854775807",
        "99999999999999999999999999999999",
        "inf",
        "nan",
        "abc",
    };
    int64_t c = 77;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (money_parse(bad[i], &c) != -1)
            fail_msg("money_parse accepted \"%s\"", bad[i]);
        assert_int_equal(c, 77); /* untouched */
    }
    assert_int_equal(money_parse(NULL, &c), -1);
}

static void test_money_parse_json(void **state)
{
    (void)state;
    int64_t c = 0;
    json_t *v;
    json_error_t err;

    v = json_string("43200.50");
    assert_int_equal(money_parse_json(v, &c), 0);
    assert_int_equal(c, 4320050);
    json_decref(v);

    v = json_stringn("1\0002", 3); /* embedded NUL */
    assert_int_equal(money_parse_json(v, &c), -1);
    json_decref(v);

    v = json_integer(43200);
    assert_int_equal(money_parse_json(v, &c), 0);
    assert_int_equal(c, 4320000);
    json_decref(v);

    v = json_integer(-1);
    assert_int_equal(money_parse_json(v, &c), -1);
    json_decref(v);

    v = json_integer(100000000001LL);
    assert_int_equal(money_parse_json(v, &c), -1);
    json_decref(v);

    v = json_integer(100000000000LL);
    assert_int_equal(money_parse_json(v, &c), 0);
    assert_int_equal(c, MONEY_MAX_CENTS);
    json_decref(v);

    /* Reals as a client writes them, through the JSON parser as the server does. */
    {
        static const struct {
            const char *json;
            int ok;
            int64_t cents;
        } cases[] = {
            {"[43200.5]", 1, 4320050}, {"[43200.50]", 1, 4320050}, {"[0.1]", 1, 10},
            {"[0.29]", 1, 29},         {"[1.15]", 1, 115},         {"[99999999999.99]", 1, 9999999999999LL},
            {"[1e2]", 1, 10000},       {"[43200.0]", 1, 4320000},  {"[1.005]", 0, 0},
            {"[0.001]", 0, 0},         {"[1e20]", 0, 0},           {"[1e-7]", 0, 0},
            {"[-1.5]", 0, 0},          {"[-0.0]", 0, 0},           {"[100000000000.01]", 0, 0},
            {"[null]", 0, 0},          {"[true]", 0, 0},           {"[{}]", 0, 0},
            {"[\"-1\"]", 0, 0},
        };
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            json_t *arr = json_loads(cases[i].json, 0, &err);
            int rc;
            assert_non_null(arr);
            c = -1;
            rc = money_parse_json(json_array_get(arr, 0), &c);
            if (cases[i].ok) {
                if (rc != 0)
                    fail_msg("money_parse_json refused %s", cases[i].json);
                assert_int_equal(c, cases[i].cents);
            } else if (rc != -1) {
                fail_msg("money_parse_json accepted %s", cases[i].json);
            }
            json_decref(arr);
        }
    }
    assert_int_equal(money_parse_json(NULL, &c), -1);
}

static void test_money_format(void **state)
{
    (void)state;
    char buf[MONEY_FORMAT_LEN];
    money_format(0, buf);
    assert_string_equal(buf, "0.00");
    money_format(5, buf);
    assert_string_equal(buf, "0.05");
    money_format(10, buf);
    assert_string_equal(buf, "0.10");
    money_format(4320000, buf);
    assert_string_equal(buf, "43200.00");
    money_format(4320050, buf);
    assert_string_equal(buf, "43200.50");
    money_format(MONEY_MAX_CENTS, buf);
    assert_string_equal(buf, "100000000000.00");
    money_format(-5, buf);
    assert_string_equal(buf, "-0.05");
    money_format(INT64_MAX, buf);
    assert_string_equal(buf, "92233720368547758.07");
    money_format(INT64_MIN, buf);
    assert_string_equal(buf, "-92233720368547758.08");
}

static void test_money_format_roundtrip(void **state)
{
    (void)state;
    static const int64_t values[] = {0, 1, 9, 10, 99, 100, 101, 4320050, 9999999999999LL, MONEY_MAX_CENTS};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        char buf[MONEY_FORMAT_LEN];
        int64_t back = -1;
        money_format(values[i], buf);
        assert_int_equal(money_parse(buf, &back), 0);
        assert_int_equal(back, values[i]);
    }
}

static void test_money_multiplier(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        int bp;
    } ok[] = {
        {"1", 10000},      {"1.2", 12000},      {"1.20", 12000},  {"1.25", 12500},
        {"1.0005", 10005}, {"1.3333", 13333},   {"0.0001", 1},    {"0.5", 5000},
        {"10", 100000},    {"10.0000", 100000}, {"2.000", 20000}, {"0.9", 9000},
    };
    static const char *const bad[] = {
        "0",    "0.0",  "0.00001", "1.00005", "10.0001",
        "11",   "-1",   "-1.2",    "+1.2",    "1e0",
        " 1.2", "1.2 ", "1.",      ".5",      "",
        "01.2", "1,2",  "x",       "1.2x",    "99999999999999999999",
    };
    int bp;
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        bp = -1;
        if (money_parse_multiplier(ok[i].s, &bp) != 0)
            fail_msg("money_parse_multiplier refused \"%s\"", ok[i].s);
        assert_int_equal(bp, ok[i].bp);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        bp = 77;
        if (money_parse_multiplier(bad[i], &bp) != -1)
            fail_msg("money_parse_multiplier accepted \"%s\"", bad[i]);
        assert_int_equal(bp, 77);
    }
    assert_int_equal(money_parse_multiplier(NULL, &bp), -1);
}

static void test_money_multiplier_json(void **state)
{
    (void)state;
    static const struct {
        const char *json;
        int ok;
        int bp;
    } cases[] = {
        {"[1.2]", 1, 12000}, {"[1.25]", 1, 12500},     {"[1.0005]", 1, 10005}, {"[1]", 1, 10000},
        {"[10]", 1, 100000}, {"[\"1.20\"]", 1, 12000}, {"[0.0001]", 1, 1},     {"[0]", 0, 0},
        {"[11]", 0, 0},      {"[-1]", 0, 0},           {"[1.00005]", 0, 0},    {"[10.5]", 0, 0},
        {"[1e-5]", 0, 0},    {"[null]", 0, 0},         {"[\"1.2.\"]", 0, 0},   {"[false]", 0, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_error_t err;
        json_t *arr = json_loads(cases[i].json, 0, &err);
        int bp = -1, rc;
        assert_non_null(arr);
        rc = money_parse_multiplier_json(json_array_get(arr, 0), &bp);
        if (cases[i].ok) {
            if (rc != 0)
                fail_msg("money_parse_multiplier_json refused %s", cases[i].json);
            assert_int_equal(bp, cases[i].bp);
        } else if (rc != -1) {
            fail_msg("money_parse_multiplier_json accepted %s", cases[i].json);
        }
        json_decref(arr);
    }
}

static void test_money_format_multiplier(void **state)
{
    (void)state;
    static const struct {
        int bp;
        const char *s;
    } cases[] = {
        {10000, "1.00"},   {12000, "1.20"}, {12500, "1.25"}, {10005, "1.0005"}, {10050, "1.005"},
        {13333, "1.3333"}, {1, "0.0001"},   {5000, "0.50"},  {100000, "10.00"}, {0, "0.00"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char buf[MONEY_MULTIPLIER_FORMAT_LEN];
        int back = -1;
        money_format_multiplier(cases[i].bp, buf);
        assert_string_equal(buf, cases[i].s);
        if (cases[i].bp >= MONEY_MULTIPLIER_MIN_BP) {
            assert_int_equal(money_parse_multiplier(buf, &back), 0);
            assert_int_equal(back, cases[i].bp);
        }
    }
}

static void test_money_mul_round(void **state)
{
    (void)state;
    /* 100.02 x 1.25 = 125.025 -> 125.03 */
    assert_int_equal(money_mul_round(10002, 12500, 10000), 12503);
    assert_int_equal(money_mul_round(-10002, 12500, 10000), -12503);
    assert_int_equal(money_mul_round(10002, -12500, 10000), -12503);
    assert_int_equal(money_mul_round(10002, 12500, -10000), -12503);
    assert_int_equal(money_mul_round(-10002, -12500, -10000), -12503);
    assert_int_equal(money_mul_round(-10002, -12500, 10000), 12503);
    /* halves */
    assert_int_equal(money_mul_round(1, 1, 2), 1);
    assert_int_equal(money_mul_round(-1, 1, 2), -1);
    assert_int_equal(money_mul_round(3, 1, 2), 2);
    assert_int_equal(money_mul_round(5, 1, 2), 3); /* not banker's rounding */
    assert_int_equal(money_mul_round(-5, 1, 2), -3);
    /* below and above a half */
    assert_int_equal(money_mul_round(1, 1, 3), 0);
    assert_int_equal(money_mul_round(2, 1, 3), 1);
    assert_int_equal(money_mul_round(-1, 1, 3), 0);
    assert_int_equal(money_mul_round(-2, 1, 3), -1);
    assert_int_equal(money_mul_round(10001, 30, 100), 3000); /* 30.003 */
    assert_int_equal(money_mul_round(5, 30, 100), 2);        /* 0.015 */
    assert_int_equal(money_mul_round(1, 14999, 10000), 1);   /* 0.014999 -> 0.01 */
    assert_int_equal(money_mul_round(1, 15000, 10000), 2);   /* 0.015 -> 0.02 */
    assert_int_equal(money_mul_round(0, 12345, 10000), 0);
    assert_int_equal(money_mul_round(4320000, 12000, 10000), 5184000);
    /* exact 128-bit intermediate, and saturation */
    assert_int_equal(money_mul_round(INT64_MAX, INT64_MAX, INT64_MAX), INT64_MAX);
    assert_int_equal(money_mul_round(INT64_MIN, INT64_MIN, INT64_MIN), INT64_MIN);
    assert_int_equal(money_mul_round(MONEY_MAX_CENTS, MONEY_MULTIPLIER_MAX_BP, MONEY_BP_ONE),
                     MONEY_MAX_CENTS * 10);
    assert_int_equal(money_mul_round(INT64_MAX, 2, 1), INT64_MAX);
    assert_int_equal(money_mul_round(INT64_MIN, 2, 1), INT64_MIN);
    assert_int_equal(money_mul_round(INT64_MIN, 1, -1), INT64_MAX);
}

/* ---------------------------------------------------------------- weekend nights */

static void test_weekend_nights_parse(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        unsigned mask;
    } ok[] = {
        {"fri,sat", 0x60},
        {"friday,saturday", 0x60},
        {"Fri,Sat", 0x60},
        {"FRIDAY, SATURDAY", 0x60},
        {"viernes,sabado", 0x60},
        {"viernes,s\xc3\xa1"
         "bado",
         0x60},
        {"VIERNES,S\xc3\x81"
         "BADO",
         0x60},
        {"vie,s\xc3\xa1"
         "b",
         0x60},
        {"5,6", 0x60},
        {" 5 , 6 ", 0x60},
        {"sat,sun", 0x41},
        {"domingo,s\xc3\xa1"
         "bado",
         0x41},
        {"mi\xc3\xa9rcoles", 0x08},
        {"miercoles,mie,wed,3", 0x08},
        {"lunes,martes,jueves", 0x16},
        {"0,1,2,3,4,5,6", 0x7f},
        {"fri,fri", 0x20},
        {"", 0},
        {"  ", 0},
        {"none", 0},
        {"NONE", 0},
    };
    static const char *const bad[] = {
        "fri,",    ",fri",    "fri,,sat", ",",         "7",
        "-1",      "56",      "fr",       "fridays",   "samedi",
        "fri;sat", "fri sat", "none,fri", "s\xc3\xa1", "thisisaverylongwordthatisnotaday",
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        unsigned m = 0xffff;
        if (pricing_parse_weekend_nights(ok[i].s, &m) != 0)
            fail_msg("pricing_parse_weekend_nights refused \"%s\"", ok[i].s);
        assert_int_equal(m, ok[i].mask);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        unsigned m = 0xffff;
        if (pricing_parse_weekend_nights(bad[i], &m) != -1)
            fail_msg("pricing_parse_weekend_nights accepted \"%s\"", bad[i]);
        assert_int_equal(m, 0xffff);
    }
}

static void test_weekend_nights_format(void **state)
{
    (void)state;
    char buf[PRICING_WEEKEND_NIGHTS_LEN];
    char small[6];
    unsigned back;
    pricing_format_weekend_nights(PRICING_DEFAULT_WEEKEND_NIGHTS, buf, sizeof buf);
    assert_string_equal(buf, "fri,sat");
    pricing_format_weekend_nights(0x41, buf, sizeof buf);
    assert_string_equal(buf, "sun,sat");
    pricing_format_weekend_nights(0, buf, sizeof buf);
    assert_string_equal(buf, "");
    pricing_format_weekend_nights(PRICING_ALL_NIGHTS, buf, sizeof buf);
    assert_string_equal(buf, "sun,mon,tue,wed,thu,fri,sat");
    for (unsigned m = 0; m <= PRICING_ALL_NIGHTS; m++) {
        pricing_format_weekend_nights(m, buf, sizeof buf);
        assert_int_equal(pricing_parse_weekend_nights(buf, &back), 0);
        assert_int_equal(back, m);
    }
    pricing_format_weekend_nights(PRICING_ALL_NIGHTS, small, sizeof small);
    assert_string_equal(small, "sun,m"); /* truncated, still terminated */
}

/* ---------------------------------------------------------------- pricing_quote */

static struct pricing_rules default_rules(void)
{
    struct pricing_rules r = {4320000, 12000, PRICING_DEFAULT_WEEKEND_NIGHTS, 30};
    return r;
}

static void test_pricing_quote_refuses(void **state)
{
    (void)state;
    struct pricing_rules r = default_rules();
    static struct pricing_quote q;
    struct date in = mkdate(2026, 12, 1), out = mkdate(2026, 12, 8);

    q.nights = 12345;
    assert_int_equal(pricing_quote(&r, in, in, &q), -1);
    assert_int_equal(pricing_quote(&r, out, in, &q), -1);
    assert_int_equal(pricing_quote(&r, in, dates_add_days(in, PRICING_MAX_NIGHTS + 1), &q), -1);
    assert_int_equal(pricing_quote(&r, mkdate(2026, 2, 29), out, &q), -1);
    assert_int_equal(pricing_quote(&r, in, mkdate(2026, 12, 32), &q), -1);
    assert_int_equal(pricing_quote(NULL, in, out, &q), -1);
    assert_int_equal(pricing_quote(&r, in, out, NULL), -1);
    r.base_cents = -1;
    assert_int_equal(pricing_quote(&r, in, out, &q), -1);
    r = default_rules();
    r.base_cents = MONEY_MAX_CENTS + 1;
    assert_int_equal(pricing_quote(&r, in, out, &q), -1);
    r = default_rules();
    r.weekend_multiplier_bp = 0;
    assert_int_equal(pricing_quote(&r, in, out, &q), -1);
    r.weekend_multiplier_bp = MONEY_MULTIPLIER_MAX_BP + 1;
    assert_int_equal(pricing_quote(&r, in, out, &q), -1);
    r = default_rules();
    r.weekend_nights_mask = 0x80;
    assert_int_equal(pricing_quote(&r, in, out, &q), -1);
    r = default_rules();
    r.deposit_percent = -1;
    assert_int_equal(pricing_quote(&r, in, out, &q), -1);
    r.deposit_percent = 101;
    assert_int_equal(pricing_quote(&r, in, out, &q), -1);
    assert_int_equal(q.nights, 12345); /* untouched on error */

    r = default_rules();
    assert_int_equal(pricing_quote(&r, in, dates_add_days(in, PRICING_MAX_NIGHTS), &q), 0);
    assert_int_equal(q.nights, PRICING_MAX_NIGHTS);
}

static void test_pricing_quote_nightly(void **state)
{
    (void)state;
    struct pricing_rules r = {10002, 12500, PRICING_DEFAULT_WEEKEND_NIGHTS, 30};
    static struct pricing_quote q;
    /* Thu Dec 3 .. Sun Dec 6: Thu base, Fri and Sat 125.03 each, total 350.08, deposit 105.024 -> 105.02 */
    assert_int_equal(pricing_quote(&r, mkdate(2026, 12, 3), mkdate(2026, 12, 6), &q), 0);
    assert_int_equal(q.nights, 3);
    assert_int_equal(q.weekend_nights, 2);
    assert_date(q.nightly[0].date, 2026, 12, 3);
    assert_int_equal(q.nightly[0].weekend, 0);
    assert_int_equal(q.nightly[0].price_cents, 10002);
    assert_date(q.nightly[1].date, 2026, 12, 4);
    assert_int_equal(q.nightly[1].weekend, 1);
    assert_int_equal(q.nightly[1].price_cents, 12503);
    assert_date(q.nightly[2].date, 2026, 12, 5);
    assert_int_equal(q.nightly[2].weekend, 1);
    assert_int_equal(q.nightly[2].price_cents, 12503);
    assert_int_equal(q.total_cents, 35008);
    assert_int_equal(q.deposit_percent, 30);
    assert_int_equal(q.deposit_cents, 10502);
}

/* ---------------------------------------------------------------- the data table */

#define MAX_TOKENS 16

static int parse_int(const char *s, long lo, long hi, long *out)
{
    char *end;
    long v;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

/* Checks one table line; returns 0 or -1 after printing what is wrong. */
static int check_case(const char *file, int lineno, char **tok, int ntok)
{
    static struct pricing_quote q;
    struct pricing_rules r;
    struct date in, out;
    const char *wn;
    long percent, want_nights, want_weekend;
    int64_t want_total, want_deposit, sum = 0;
    int rc, weekend = 0;

    if (ntok < 8 || strcmp(tok[6], "|") != 0 || !(ntok == 8 || ntok == 11)) {
        print_error("%s:%d: malformed case\n", file, lineno);
        return -1;
    }
    wn = strcmp(tok[2], "-") == 0 ? "" : tok[2];
    if (money_parse(tok[0], &r.base_cents) < 0 ||
        money_parse_multiplier(tok[1], &r.weekend_multiplier_bp) < 0 ||
        pricing_parse_weekend_nights(wn, &r.weekend_nights_mask) < 0 ||
        parse_int(tok[3], 0, 100, &percent) < 0 || dates_parse(tok[4], &in) < 0 ||
        dates_parse(tok[5], &out) < 0) {
        print_error("%s:%d: unreadable rules or dates\n", file, lineno);
        return -1;
    }
    r.deposit_percent = (int)percent;
    rc = pricing_quote(&r, in, out, &q);

    if (ntok == 8) {
        if (strcmp(tok[7], "error") != 0) {
            print_error("%s:%d: malformed case\n", file, lineno);
            return -1;
        }
        if (rc != -1) {
            print_error("%s:%d: pricing_quote accepted a stay it must refuse\n", file, lineno);
            return -1;
        }
        return 0;
    }
    if (parse_int(tok[7], 0, PRICING_MAX_NIGHTS, &want_nights) < 0 ||
        parse_int(tok[8], 0, PRICING_MAX_NIGHTS, &want_weekend) < 0 || money_parse(tok[9], &want_total) < 0 ||
        money_parse(tok[10], &want_deposit) < 0) {
        print_error("%s:%d: unreadable expected values\n", file, lineno);
        return -1;
    }
    if (rc != 0) {
        print_error("%s:%d: pricing_quote returned %d\n", file, lineno, rc);
        return -1;
    }
    if (q.nights != want_nights || q.weekend_nights != want_weekend || q.total_cents != want_total ||
        q.deposit_cents != want_deposit || q.deposit_percent != r.deposit_percent) {
        char total[MONEY_FORMAT_LEN], deposit[MONEY_FORMAT_LEN];
        money_format(q.total_cents, total);
        money_format(q.deposit_cents, deposit);
        print_error("%s:%d: got %d %d %s %s, want %s %s %s %s\n", file, lineno, q.nights, q.weekend_nights,
                    total, deposit, tok[7], tok[8], tok[9], tok[10]);
        return -1;
    }
    /* Invariants of the nightly list. */
    for (int i = 0; i < q.nights; i++) {
        const struct pricing_night *n = &q.nightly[i];
        struct date want = dates_add_days(in, i);
        int is_weekend = (r.weekend_nights_mask >> dates_weekday(want)) & 1;
        int64_t want_price =
            is_weekend ? money_mul_round(r.base_cents, r.weekend_multiplier_bp, MONEY_BP_ONE) : r.base_cents;
        if (n->date.y != want.y || n->date.m != want.m || n->date.d != want.d || n->weekend != is_weekend ||
            n->price_cents != want_price) {
            print_error("%s:%d: night %d is wrong\n", file, lineno, i);
            return -1;
        }
        weekend += n->weekend;
        sum += n->price_cents;
    }
    if (sum != q.total_cents || weekend != q.weekend_nights) {
        print_error("%s:%d: nightly list does not add up to the total\n", file, lineno);
        return -1;
    }
    return 0;
}

static void test_pricing_table(void **state)
{
    (void)state;
    const char *dir = getenv("CABANAS_TEST_DATA");
    char path[1024], line[1024];
    FILE *f;
    int lineno = 0, ncases = 0, nfailed = 0;

    if (!dir || !*dir)
        dir = "tests/data";
    snprintf(path, sizeof path, "%s/pricing_cases.txt", dir);
    f = fopen(path, "r");
    if (!f)
        fail_msg("cannot open %s: %s (run from the repo root or set CABANAS_TEST_DATA)", path,
                 strerror(errno));

    while (fgets(line, sizeof line, f)) {
        char *tok[MAX_TOKENS], *save = NULL, *hash, *t;
        int ntok = 0;
        lineno++;
        if (!strchr(line, '\n') && !feof(f)) {
            fclose(f);
            fail_msg("%s:%d: line too long", path, lineno);
        }
        hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        for (t = strtok_r(line, " \t\r\n", &save); t && ntok < MAX_TOKENS;
             t = strtok_r(NULL, " \t\r\n", &save))
            tok[ntok++] = t;
        if (ntok == 0)
            continue;
        ncases++;
        if (check_case(path, lineno, tok, ntok) < 0)
            nfailed++;
    }
    fclose(f);
    print_message("%s: %d cases, %d failed\n", path, ncases, nfailed);
    assert_int_equal(nfailed, 0);
    if (ncases < MIN_CASES)
        fail_msg("%s has %d cases, want at least %d", path, ncases, MIN_CASES);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dates_parse_valid),
        cmocka_unit_test(test_dates_parse_invalid),
        cmocka_unit_test(test_dates_format),
        cmocka_unit_test(test_dates_days),
        cmocka_unit_test(test_dates_every_day),
        cmocka_unit_test(test_dates_weekday),
        cmocka_unit_test(test_dates_add_diff),
        cmocka_unit_test(test_dates_valid),
        cmocka_unit_test(test_dates_today),
        cmocka_unit_test(test_money_parse_valid),
        cmocka_unit_test(test_money_parse_invalid),
        cmocka_unit_test(test_money_parse_json),
        cmocka_unit_test(test_money_format),
        cmocka_unit_test(test_money_format_roundtrip),
        cmocka_unit_test(test_money_multiplier),
        cmocka_unit_test(test_money_multiplier_json),
        cmocka_unit_test(test_money_format_multiplier),
        cmocka_unit_test(test_money_mul_round),
        cmocka_unit_test(test_weekend_nights_parse),
        cmocka_unit_test(test_weekend_nights_format),
        cmocka_unit_test(test_pricing_quote_refuses),
        cmocka_unit_test(test_pricing_quote_nightly),
        cmocka_unit_test(test_pricing_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
