/* dates.h - civil dates (proleptic Gregorian calendar) and day arithmetic.
 *
 * A `struct date` is a calendar date with no time and no zone. A day number is the count of days since
 * 1970-01-01 (negative before it), so nights, stays and weekdays become integer arithmetic. Conversions
 * use Howard Hinnant's days_from_civil / civil_from_days algorithms.
 *
 * Every function except dates_today() is pure and thread-safe. Arithmetic is exact for years within
 * +-1,000,000, far beyond the 1900..9999 that dates_parse() accepts; outside that range results are
 * unspecified. Functions taking a struct date expect a valid one (see dates_valid()). */
#ifndef CABANAS_DATES_H
#define CABANAS_DATES_H

struct date {
    int y; /* e.g. 2026 */
    int m; /* 1..12 */
    int d; /* 1..31 */
};

#define DATES_FORMAT_LEN 11 /* "YYYY-MM-DD" and a NUL */
#define DATES_MIN_YEAR 1900
#define DATES_MAX_YEAR 9999

/* Parses exactly "YYYY-MM-DD" (10 characters, nothing before or after): a real calendar date, leap years
 * included, with the year in DATES_MIN_YEAR..DATES_MAX_YEAR. Returns 0, or -1 (then *out is untouched). */
int dates_parse(const char *s, struct date *out);

/* Writes "YYYY-MM-DD" and a NUL into out. */
void dates_format(struct date d, char out[DATES_FORMAT_LEN]);

/* 1 if d names a real calendar date (any year dates_parse() accepts), else 0. */
int dates_valid(struct date d);

/* 1 for leap years of the Gregorian calendar, else 0. */
int dates_is_leap_year(int y);

/* Days in month m (1..12) of year y; 0 for a month outside 1..12. */
int dates_days_in_month(int y, int m);

/* Days since 1970-01-01 (1970-01-01 -> 0, 1969-12-31 -> -1). */
long dates_to_days(struct date d);

/* The inverse of dates_to_days(). */
struct date dates_from_days(long days);

/* 0 = Sunday .. 6 = Saturday. */
int dates_weekday(struct date d);

/* d plus n days (n may be negative). */
struct date dates_add_days(struct date d, long n);

/* b - a in days: positive when b is after a. The nights of a stay are dates_diff_days(check_in, check_out).
 */
long dates_diff_days(struct date a, struct date b);

/* Today's date in the process's local timezone (time(NULL) + localtime_r). Returns 0, or -1 if the clock
 * or the conversion fails. Thread-safe, but it relies on the timezone being set up before threads start:
 * the server sets TZ from PROPERTY_TIMEZONE (e.g. "America/Argentina/Buenos_Aires") and calls tzset() at
 * startup; a later change of TZ is not seen. */
int dates_today(struct date *out);

/* The unix time of 00:00 local time on d (mktime with the process's timezone, DST resolved by the
 * zone's rules). Same thread-safety note as dates_today(). Returns 0, or -1 if it cannot be represented. */
int dates_local_midnight(struct date d, long long *out);

#endif
