/* dates.c - civil dates and day numbers. See dates.h.
 *
 * Day numbers come from Howard Hinnant's days_from_civil / civil_from_days
 * (https://howardhinnant.github.io/date_algorithms.html): the year is shifted to start on March 1 so the
 * leap day is the last day of the shifted year, and 400-year eras make the arithmetic exact for negative
 * years too. Invariant: dates_from_days(dates_to_days(d)) == d for every valid d, and
 * dates_to_days(1970-01-01) == 0, a Thursday. No state, no I/O except the clock in dates_today(). */
#include "dates.h"

#include <string.h>
#include <time.h>

int dates_is_leap_year(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int dates_days_in_month(int y, int m)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m < 1 || m > 12)
        return 0;
    if (m == 2 && dates_is_leap_year(y))
        return 29;
    return days[m - 1];
}

int dates_valid(struct date d)
{
    if (d.y < DATES_MIN_YEAR || d.y > DATES_MAX_YEAR)
        return 0;
    if (d.m < 1 || d.m > 12)
        return 0;
    return d.d >= 1 && d.d <= dates_days_in_month(d.y, d.m);
}

/* n decimal digits at s, or -1 if any of them is not a digit (a NUL included). No locale involved. */
static int digits(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

int dates_parse(const char *s, struct date *out)
{
    struct date d;
    if (!s)
        return -1;
    /* Checked left to right, so a short string stops at its NUL and nothing past it is read. */
    d.y = digits(s, 4);
    if (d.y < 0 || s[4] != '-')
        return -1;
    d.m = digits(s + 5, 2);
    if (d.m < 0 || s[7] != '-')
        return -1;
    d.d = digits(s + 8, 2);
    if (d.d < 0 || s[10] != '\0')
        return -1;
    if (!dates_valid(d))
        return -1;
    *out = d;
    return 0;
}

/* Writes v (clamped to 0..10^n - 1) as n zero-padded digits. */
static void put_digits(char *out, int v, int n)
{
    int max = 1;
    for (int i = 0; i < n; i++)
        max *= 10;
    v = v < 0 ? 0 : v >= max ? max - 1 : v;
    for (int i = n - 1; i >= 0; i--) {
        out[i] = (char)('0' + v % 10);
        v /= 10;
    }
}

void dates_format(struct date d, char out[DATES_FORMAT_LEN])
{
    /* By hand rather than snprintf: always exactly 10 characters, even for a date that is not valid. */
    put_digits(out, d.y, 4);
    out[4] = '-';
    put_digits(out + 5, d.m, 2);
    out[7] = '-';
    put_digits(out + 8, d.d, 2);
    out[10] = '\0';
}

long dates_to_days(struct date d)
{
    long y = (long)d.y - (d.m <= 2);
    long era = (y >= 0 ? y : y - 399) / 400;
    long yoe = y - era * 400;                                            /* [0, 399] */
    long doy = (153L * (d.m > 2 ? d.m - 3 : d.m + 9) + 2) / 5 + d.d - 1; /* [0, 365] */
    long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;                    /* [0, 146096] */
    return era * 146097 + doe - 719468;
}

struct date dates_from_days(long days)
{
    long z = days + 719468;
    long era = (z >= 0 ? z : z - 146096) / 146097;
    long doe = z - era * 146097;                                      /* [0, 146096] */
    long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* [0, 399] */
    long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);               /* [0, 365] */
    long mp = (5 * doy + 2) / 153;                                    /* [0, 11], 0 = March */
    struct date out;
    out.d = (int)(doy - (153 * mp + 2) / 5 + 1);
    out.m = (int)(mp < 10 ? mp + 3 : mp - 9);
    out.y = (int)(yoe + era * 400 + (out.m <= 2));
    return out;
}

int dates_weekday(struct date d)
{
    long z = dates_to_days(d);
    /* 1970-01-01 (day 0) was a Thursday (4). */
    return (int)(z >= -4 ? (z + 4) % 7 : (z + 5) % 7 + 6);
}

struct date dates_add_days(struct date d, long n)
{
    return dates_from_days(dates_to_days(d) + n);
}

long dates_diff_days(struct date a, struct date b)
{
    return dates_to_days(b) - dates_to_days(a);
}

int dates_today(struct date *out)
{
    struct tm tm;
    time_t now = time(NULL);
    if (now == (time_t)-1)
        return -1;
    if (!localtime_r(&now, &tm))
        return -1;
    out->y = tm.tm_year + 1900;
    out->m = tm.tm_mon + 1;
    out->d = tm.tm_mday;
    return 0;
}

int dates_local_midnight(struct date d, long long *out)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    tm.tm_year = d.y - 1900;
    tm.tm_mon = d.m - 1;
    tm.tm_mday = d.d;
    tm.tm_isdst = -1;
    time_t t = mktime(&tm);
    if (t == (time_t)-1)
        return -1;
    *out = (long long)t;
    return 0;
}
