/* ical_parse.c - feed bytes to blocked nights. See ical_parse.h for the semantics and the limits.
 *
 * Two passes. The first is our own scan of the unfolded lines: it checks the structure (one VCALENDAR,
 * BEGIN/END balanced, nesting depth, event count) before libical allocates anything, and it checks the raw
 * text of every date property, because libical is lenient where we must not be (it reads
 * "DTSTART;VALUE=DATE:2026-11-2X" as 2026-11-02, which would block the wrong nights). The second pass is
 * libical's parser: unfolding, parameters, escapes, TZID and VTIMEZONE resolution, DURATION and RRULE. The
 * VEVENTs directly inside the VCALENDAR are matched between the passes by position, and a feed on which the
 * two disagree is refused rather than guessed at. */
#include "ical_parse.h"

#include "core/buf.h"
#include "core/utf8.h"

#include <libical/ical.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define NAME_MAX_LEN 64
#define HARD_MAX_DEPTH 64

/* --- text helpers --- */

static int ieq(const char *a, size_t an, const char *b)
{
    size_t bn = strlen(b);
    return an == bn && strncasecmp(a, b, an) == 0;
}

static uint64_t fnv1a(const char *s, size_t n, uint64_t h)
{
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    return h;
}

/* 1 when s is 1..max bytes of valid UTF-8 without control characters. */
static int clean_text(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n > max)
        return 0;
    for (size_t i = 0; i < n;) {
        const unsigned char *u = (const unsigned char *)s + i;
        if (*u < 0x20 || *u == 0x7F)
            return 0;
        size_t l = utf8_len(u, n - i);
        if (!l)
            return 0;
        i += l;
    }
    return 1;
}

/* Copies at most max bytes of s into dst as clean UTF-8: invalid bytes become '?', control characters
 * spaces, and a character is never cut in half. */
static void copy_clean(char *dst, size_t max, const char *s)
{
    size_t o = 0;
    size_t n = s ? strlen(s) : 0;
    for (size_t i = 0; i < n;) {
        const unsigned char *u = (const unsigned char *)s + i;
        size_t l = utf8_len(u, n - i);
        if (!l) {
            if (o + 1 > max)
                break;
            dst[o++] = '?';
            i++;
            continue;
        }
        if (o + l > max)
            break;
        if (l == 1 && (*u < 0x20 || *u == 0x7F))
            dst[o++] = ' ';
        else
            memcpy(dst + o, u, l), o += l;
        i += l;
    }
    dst[o] = '\0';
}

/* Printable ASCII of at most 40 bytes of s (for error details: never raw feed bytes). */
static void copy_printable(char *dst, size_t dstlen, const char *s, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o + 1 < dstlen && o < 40; i++)
        dst[o++] = (s[i] >= 0x20 && s[i] < 0x7F) ? s[i] : '?';
    dst[o] = '\0';
}

/* --- pass 1: our scan of the raw lines --- */

struct raw_event {
    const char *reason; /* NULL while the date properties read well */
    char detail[ICAL_DETAIL_MAX + 1];
    int rrules; /* RRULE lines as written: libical drops one it cannot read, and we must notice */
};

struct scan {
    struct raw_event *ev; /* the VEVENTs directly inside the VCALENDAR, in order */
    int nev, cap;
    int total; /* VEVENTs at any depth */
};

/* The next unfolded line (CRLF or LF; a line starting with a space or tab continues the previous one).
 * Returns 1 with the line in `out`, 0 at the end. */
static int next_line(const char **pp, const char *end, struct buf *out)
{
    const char *p = *pp;
    buf_reset(out);
    if (p >= end)
        return 0;
    for (;;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *stop = nl ? nl : end;
        size_t n = (size_t)(stop - p);
        if (n && p[n - 1] == '\r')
            n--;
        buf_append(out, p, n); /* cannot pass the limit: the buffer holds the whole input */
        p = nl ? nl + 1 : end;
        if (p < end && (*p == ' ' || *p == '\t')) {
            p++;
            continue;
        }
        break;
    }
    *pp = p;
    return 1;
}

struct prop {
    const char *name, *params, *value;
    size_t name_len, params_len, value_len;
};

/* Splits NAME;PARAMS:VALUE (a colon inside a quoted parameter value does not count). -1 without a colon. */
static int split_prop(const char *s, size_t n, struct prop *p)
{
    size_t i = 0;
    while (i < n && s[i] != ';' && s[i] != ':')
        i++;
    if (i == n)
        return -1;
    p->name = s;
    p->name_len = i;
    p->params = s + i;
    int quoted = 0;
    while (i < n && (quoted || s[i] != ':')) {
        if (s[i] == '"')
            quoted = !quoted;
        i++;
    }
    if (i == n)
        return -1;
    p->params_len = (size_t)(s + i - p->params);
    p->value = s + i + 1;
    p->value_len = n - i - 1;
    while (p->value_len && (p->value[p->value_len - 1] == ' ' || p->value[p->value_len - 1] == '\t'))
        p->value_len--;
    return 0;
}

/* The value of parameter `name` in ";A=B;C=D" (unquoted), or NULL. */
static const char *param_value(const struct prop *p, const char *name, size_t *len)
{
    const char *s = p->params, *end = p->params + p->params_len;
    size_t nl = strlen(name);
    while (s < end) {
        if (*s != ';') {
            s++;
            continue;
        }
        s++;
        const char *eq = s;
        while (eq < end && *eq != '=' && *eq != ';')
            eq++;
        if (eq < end && *eq == '=' && (size_t)(eq - s) == nl && strncasecmp(s, name, nl) == 0) {
            const char *v = eq + 1, *ve = v;
            int quoted = 0;
            while (ve < end && (quoted || *ve != ';')) {
                if (*ve == '"')
                    quoted = !quoted;
                ve++;
            }
            if (ve - v >= 2 && *v == '"' && ve[-1] == '"')
                v++, ve--;
            *len = (size_t)(ve - v);
            return v;
        }
        s = eq;
    }
    return NULL;
}

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

/* YYYYMMDD, or (unless date_only) YYYYMMDDTHHMMSS with an optional Z: a real date and time. */
static int valid_time_text(const char *s, size_t n, int date_only)
{
    if (n != 8 && (date_only || (n != 15 && n != 16)))
        return 0;
    struct date d = {digits(s, 4), digits(s + 4, 2), digits(s + 6, 2)};
    if (d.y < 0 || d.m < 0 || d.d < 0 || !dates_valid(d))
        return 0;
    if (n == 8)
        return 1;
    if (s[8] != 'T' || (n == 16 && s[15] != 'Z'))
        return 0;
    int h = digits(s + 9, 2), m = digits(s + 11, 2), sec = digits(s + 13, 2);
    return h >= 0 && h < 24 && m >= 0 && m < 60 && sec >= 0 && sec <= 60;
}

/* RFC 5545 dur-value: [+]P(nW | [nD][T[nH][nM][nS]]), at least one figure; negative ones are refused. */
static int valid_duration_text(const char *s, size_t n)
{
    size_t i = 0;
    if (i < n && s[i] == '+')
        i++;
    if (i >= n || s[i] != 'P')
        return 0;
    i++;
    int figures = 0, in_time = 0;
    const char *order = "WDHMS";
    int last = -1;
    while (i < n) {
        if (s[i] == 'T') {
            if (in_time)
                return 0;
            in_time = 1;
            i++;
            if (i >= n)
                return 0;
            continue;
        }
        size_t start = i;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
        if (i == start || i - start > 7 || i >= n)
            return 0;
        const char *u = strchr(order, s[i]);
        if (!u || s[i] == '\0')
            return 0;
        int idx = (int)(u - order);
        if (idx <= last || (idx >= 2) != in_time || (idx == 0 && (figures || in_time)))
            return 0;
        last = idx;
        figures++;
        i++;
        if (idx == 0 && i != n)
            return 0; /* weeks stand alone */
    }
    return figures > 0;
}

static void mark_bad(struct raw_event *ev, const char *reason, const struct prop *p)
{
    if (ev->reason)
        return;
    char name[24], value[48];
    copy_printable(name, sizeof name, p->name, p->name_len);
    copy_printable(value, sizeof value, p->value, p->value_len);
    ev->reason = reason;
    snprintf(ev->detail, sizeof ev->detail, "%s value '%s' is not valid", name, value);
}

/* Checks the raw text of a property of a top-level VEVENT. */
static void check_property(const struct prop *p, struct raw_event *ev)
{
    size_t vl = 0;
    const char *vt = param_value(p, "VALUE", &vl);
    int date_only = vt && ieq(vt, vl, "DATE");
    int list = ieq(p->name, p->name_len, "EXDATE") || ieq(p->name, p->name_len, "RDATE");
    if (ieq(p->name, p->name_len, "DTSTART") || ieq(p->name, p->name_len, "DTEND") ||
        ieq(p->name, p->name_len, "RECURRENCE-ID")) {
        if (!valid_time_text(p->value, p->value_len, date_only))
            mark_bad(ev, "invalid_date", p);
    } else if (list) {
        if (vt && ieq(vt, vl, "PERIOD")) {
            mark_bad(ev, "unsupported", p);
            return;
        }
        const char *s = p->value, *end = p->value + p->value_len;
        for (;;) {
            const char *c = memchr(s, ',', (size_t)(end - s));
            const char *e = c ? c : end;
            if (!valid_time_text(s, (size_t)(e - s), date_only)) {
                mark_bad(ev, "invalid_date", p);
                return;
            }
            if (!c)
                break;
            s = c + 1;
        }
    } else if (ieq(p->name, p->name_len, "RRULE")) {
        ev->rrules++;
    } else if (ieq(p->name, p->name_len, "DURATION")) {
        if (!valid_duration_text(p->value, p->value_len))
            mark_bad(ev, "invalid_duration", p);
    }
}

static int scan_fail(int rc, char *err, size_t errlen, const char *what)
{
    snprintf(err, errlen, "%s", what);
    return rc;
}

static int scan_lines(const char *data, size_t len, int max_events, int max_depth, struct scan *sc, char *err,
                      size_t errlen)
{
    char stack[HARD_MAX_DEPTH][NAME_MAX_LEN + 1];
    int depth = 0, begun = 0, closed = 0, cur = -1;
    int rc = ICAL_OK;
    const char *p = data, *end = data + len;
    struct buf line;
    buf_init(&line, len + 1);
    while (rc == ICAL_OK && next_line(&p, end, &line)) {
        if (line.len == 0)
            continue;
        if (closed) {
            rc = scan_fail(ICAL_NOT_CALENDAR, err, errlen, "data after END:VCALENDAR");
            break;
        }
        struct prop pr;
        if (split_prop(line.data, line.len, &pr) < 0) {
            if (!begun)
                rc = scan_fail(ICAL_NOT_CALENDAR, err, errlen, "does not start with BEGIN:VCALENDAR");
            continue; /* a stray line inside: libical skips it too */
        }
        if (ieq(pr.name, pr.name_len, "BEGIN")) {
            int is_cal = ieq(pr.value, pr.value_len, "VCALENDAR");
            if (!begun && !is_cal) {
                rc = scan_fail(ICAL_NOT_CALENDAR, err, errlen, "does not start with BEGIN:VCALENDAR");
                break;
            }
            if (begun && is_cal) {
                rc = scan_fail(ICAL_NOT_CALENDAR, err, errlen, "a VCALENDAR inside another");
                break;
            }
            begun = 1;
            if (depth >= max_depth) {
                rc = scan_fail(ICAL_TOO_DEEP, err, errlen, "components nested too deeply");
                break;
            }
            copy_printable(stack[depth], sizeof stack[depth], pr.value,
                           pr.value_len > NAME_MAX_LEN ? NAME_MAX_LEN : pr.value_len);
            depth++;
            if (ieq(pr.value, pr.value_len, "VEVENT")) {
                if (++sc->total > max_events) {
                    rc = scan_fail(ICAL_TOO_MANY_EVENTS, err, errlen, "too many events");
                    break;
                }
                if (depth == 2) {
                    if (sc->nev == sc->cap) {
                        sc->cap = sc->cap ? sc->cap * 2 : 64;
                        sc->ev = realloc(sc->ev, (size_t)sc->cap * sizeof *sc->ev);
                        if (!sc->ev)
                            abort();
                    }
                    cur = sc->nev++;
                    sc->ev[cur].reason = NULL;
                    sc->ev[cur].detail[0] = '\0';
                    sc->ev[cur].rrules = 0;
                }
            }
        } else if (ieq(pr.name, pr.name_len, "END")) {
            if (!begun) {
                rc = scan_fail(ICAL_NOT_CALENDAR, err, errlen, "does not start with BEGIN:VCALENDAR");
                break;
            }
            char name[NAME_MAX_LEN + 1];
            copy_printable(name, sizeof name, pr.value,
                           pr.value_len > NAME_MAX_LEN ? NAME_MAX_LEN : pr.value_len);
            if (strcasecmp(name, stack[depth - 1]) != 0 || pr.value_len > NAME_MAX_LEN) {
                rc = scan_fail(ICAL_NOT_CALENDAR, err, errlen, "END does not match its BEGIN");
                break;
            }
            if (depth == 2 && cur >= 0)
                cur = -1;
            if (--depth == 0)
                closed = 1;
        } else if (!begun) {
            rc = scan_fail(ICAL_NOT_CALENDAR, err, errlen, "does not start with BEGIN:VCALENDAR");
        } else if (depth == 2 && cur >= 0) {
            check_property(&pr, &sc->ev[cur]);
        }
    }
    buf_cleanup(&line);
    if (rc == ICAL_OK && !begun)
        rc = scan_fail(ICAL_NOT_CALENDAR, err, errlen, "empty: no BEGIN:VCALENDAR");
    else if (rc == ICAL_OK && !closed)
        rc = scan_fail(ICAL_NOT_CALENDAR, err, errlen, "truncated: no END:VCALENDAR");
    return rc;
}

/* --- pass 2: libical --- */

struct ctx {
    const struct ical_parse_options *opt;
    icaltimezone *zone;
    long window_start; /* day numbers: an event must end after window_start ... */
    long horizon_end;  /* ... and start before horizon_end, where it is also clipped */
    int max_events;
    long steps;
    struct ical_feed *feed;
    int cap_events, cap_quarantine;
    struct override {
        char uid[ICAL_UID_MAX + 1];
        long day;
    } * overrides;
    int noverrides, cap_overrides;
};

static void quarantine(struct ctx *c, const char *uid, const char *reason, const char *detail)
{
    struct ical_feed *f = c->feed;
    if (f->nquarantine == c->cap_quarantine) {
        c->cap_quarantine = c->cap_quarantine ? c->cap_quarantine * 2 : 16;
        f->quarantine = realloc(f->quarantine, (size_t)c->cap_quarantine * sizeof *f->quarantine);
        if (!f->quarantine)
            abort();
    }
    struct ical_quarantined *q = &f->quarantine[f->nquarantine++];
    snprintf(q->uid, sizeof q->uid, "%s", uid);
    q->reason = reason;
    snprintf(q->detail, sizeof q->detail, "%s", detail);
}

/* Appends an event; -1 past max_events. */
static int push_event(struct ctx *c, const char *uid, long s, long e, const char *summary)
{
    struct ical_feed *f = c->feed;
    if (f->nevents >= c->max_events)
        return -1;
    if (f->nevents == c->cap_events) {
        c->cap_events = c->cap_events ? c->cap_events * 2 : 64;
        f->events = realloc(f->events, (size_t)c->cap_events * sizeof *f->events);
        if (!f->events)
            abort();
    }
    struct ical_event *ev = &f->events[f->nevents++];
    snprintf(ev->uid, sizeof ev->uid, "%s", uid);
    dates_format(dates_from_days(s), ev->start);
    dates_format(dates_from_days(e), ev->end);
    snprintf(ev->summary, sizeof ev->summary, "%s", summary);
    return 0;
}

/* The calendar day of t in the property's zone (dates keep their day; floating times are local already).
 * -1 when it is not a date we can represent. */
static int local_day(const struct ctx *c, struct icaltimetype t, long *day)
{
    if (icaltime_is_null_time(t))
        return -1;
    if (!t.is_date && (t.zone || icaltime_is_utc(t)))
        t = icaltime_convert_to_zone(t, c->zone);
    struct date d = {t.year, t.month, t.day};
    if (!dates_valid(d))
        return -1;
    *day = dates_to_days(d);
    return 0;
}

/* uid, made safe: printable UTF-8 of at most ICAL_UID_MAX bytes. A missing UID gets a stable stand-in from
 * the event's start, end and summary, so the same event keeps its key from one download to the next. */
static void event_uid(icalcomponent *e, char out[ICAL_UID_MAX + 1])
{
    const char *uid = icalcomponent_get_uid(e);
    if (uid && clean_text(uid, ICAL_UID_MAX)) {
        snprintf(out, ICAL_UID_MAX + 1, "%s", uid);
        return;
    }
    uint64_t h1 = 14695981039346656037ULL, h2 = 0x9E3779B97F4A7C15ULL;
    const char *prefix = "h";
    if (uid && *uid) {
        h1 = fnv1a(uid, strlen(uid), h1);
        h2 = fnv1a(uid, strlen(uid), h2);
    } else {
        prefix = "nouid";
        static const icalproperty_kind kinds[] = {ICAL_DTSTART_PROPERTY, ICAL_DTEND_PROPERTY,
                                                  ICAL_DURATION_PROPERTY, ICAL_SUMMARY_PROPERTY};
        for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++) {
            icalproperty *p = icalcomponent_get_first_property(e, kinds[i]);
            char *v = p ? icalproperty_get_value_as_string_r(p) : NULL;
            const char *s = v ? v : "-";
            h1 = fnv1a(s, strlen(s) + 1, h1);
            h2 = fnv1a(s, strlen(s) + 1, h2);
            free(v);
        }
    }
    snprintf(out, ICAL_UID_MAX + 1, "%s-%016llx%016llx", prefix, (unsigned long long)h1,
             (unsigned long long)h2);
}

static void instance_key(const char *uid, long day, char out[ICAL_UID_MAX + 1])
{
    char d[DATES_FORMAT_LEN];
    dates_format(dates_from_days(day), d);
    /* "#YYYYMMDD" takes 9 bytes: the base is cut to fit (on a character boundary) */
    char base[ICAL_UID_MAX - 9 + 1];
    copy_clean(base, sizeof base - 1, uid);
    snprintf(out, ICAL_UID_MAX + 1, "%s#%.4s%.2s%.2s", base, d, d + 5, d + 8);
}

/* The nights of one occurrence: start..end as day numbers, with the rules for dates and times. Returns NULL,
 * or the quarantine reason with *detail set. */
static const char *occurrence_nights(const struct ctx *c, struct icaltimetype start, struct icaltimetype end,
                                     long *s, long *e, const char **detail)
{
    if (local_day(c, start, s) < 0) {
        *detail = "DTSTART is not a usable date";
        return "invalid_date";
    }
    if (local_day(c, end, e) < 0) {
        *detail = "the end is not a usable date";
        return "invalid_date";
    }
    if (start.is_date && end.is_date) {
        if (*e <= *s) {
            *detail = "DTEND is not after DTSTART";
            return "end_before_start";
        }
    } else {
        if (icaltime_compare(end, start) < 0) {
            *detail = "the event ends before it starts";
            return "end_before_start";
        }
        if (*e <= *s)
            *e = *s + 1; /* a timed event blocks at least the night of its start */
    }
    if (*e - *s > ICAL_MAX_NIGHTS) {
        *detail = "longer than 365 nights";
        return "too_long";
    }
    return NULL;
}

/* Window check and clipping for one occurrence; 1 if it is kept. */
static int in_window(const struct ctx *c, long s, long *e)
{
    if (*e <= c->window_start || s >= c->horizon_end)
        return 0;
    if (*e > c->horizon_end)
        *e = c->horizon_end;
    return 1;
}

static int overridden(const struct ctx *c, const char *uid, long day)
{
    for (int i = 0; i < c->noverrides; i++)
        if (c->overrides[i].day == day && strcmp(c->overrides[i].uid, uid) == 0)
            return 1;
    return 0;
}

static int excluded(const struct ctx *c, icalcomponent *e, long day)
{
    for (icalproperty *p = icalcomponent_get_first_property(e, ICAL_EXDATE_PROPERTY); p;
         p = icalcomponent_get_next_property(e, ICAL_EXDATE_PROPERTY)) {
        long d;
        if (local_day(c, icalproperty_get_exdate(p), &d) == 0 && d == day)
            return 1;
    }
    return 0;
}

/* The end of an occurrence starting at t, for a master spanning master_start..master_end. */
static struct icaltimetype occurrence_end(struct icaltimetype t, struct icaltimetype master_start,
                                          struct icaltimetype master_end)
{
    if (t.is_date && master_start.is_date && master_end.is_date) {
        struct icaltimetype e = t;
        long days = dates_to_days((struct date){master_end.year, master_end.month, master_end.day}) -
                    dates_to_days((struct date){master_start.year, master_start.month, master_start.day});
        icaltime_adjust(&e, (int)days, 0, 0, 0);
        return e;
    }
    return icaltime_add(t, icaltime_subtract(master_end, master_start));
}

#define TOO_MANY (-1)
#define DROPPED (-2)

/* Adds one occurrence of a recurring event (window checked here; out-of-window ones are skipped). */
static int add_occurrence(struct ctx *c, icalcomponent *e, const char *uid, struct icaltimetype t,
                          struct icaltimetype ms, struct icaltimetype me, const char *summary)
{
    long s, end;
    const char *detail;
    if (occurrence_nights(c, t, occurrence_end(t, ms, me), &s, &end, &detail))
        return 0; /* an occurrence that does not convert (past year 9999): nothing to block */
    if (!in_window(c, s, &end) || excluded(c, e, s) || overridden(c, uid, s))
        return 0;
    char key[ICAL_UID_MAX + 1];
    instance_key(uid, s, key);
    return push_event(c, key, s, end, summary) < 0 ? TOO_MANY : 0;
}

/* Expands RRULE and RDATE of a master event. TOO_MANY past the event budget, DROPPED when the event was
 * quarantined (its occurrences are taken back), else 0. */
static int expand(struct ctx *c, icalcomponent *e, const char *uid, struct icaltimetype start,
                  struct icaltimetype end, const char *summary)
{
    int first = c->feed->nevents;
    int rc = add_occurrence(c, e, uid, start, start, end, summary); /* DTSTART is always an occurrence */
    for (icalproperty *p = icalcomponent_get_first_property(e, ICAL_RRULE_PROPERTY); p && rc == 0;
         p = icalcomponent_get_next_property(e, ICAL_RRULE_PROPERTY)) {
        struct icalrecurrencetype r = icalproperty_get_rrule(p);
        icalrecur_iterator *it = r.freq == ICAL_NO_RECURRENCE ? NULL : icalrecur_iterator_new(r, start);
        if (!it) {
            c->feed->nevents = first;
            quarantine(c, uid, "invalid_rrule", "RRULE cannot be expanded");
            return DROPPED;
        }
        if (r.count == 0) {
            /* skip ahead: nothing that starts more than ICAL_MAX_NIGHTS + 1 days before the window matters */
            struct date from = dates_from_days(c->window_start - ICAL_MAX_NIGHTS - 1);
            struct icaltimetype jump = start;
            if (from.y > start.year ||
                (from.y == start.year &&
                 (from.m > start.month || (from.m == start.month && from.d > start.day)))) {
                jump.year = from.y;
                jump.month = from.m;
                jump.day = from.d;
                icalrecur_iterator_set_start(it, jump);
            }
        }
        for (;;) {
            if (++c->steps > ICAL_MAX_RECUR_STEPS) {
                icalrecur_iterator_free(it);
                c->feed->nevents = first;
                quarantine(c, uid, "recurrence_too_long", "too many recurrence steps to expand");
                return DROPPED;
            }
            struct icaltimetype t = icalrecur_iterator_next(it);
            long day;
            if (icaltime_is_null_time(t) || local_day(c, t, &day) < 0 || day >= c->horizon_end)
                break;
            if ((rc = add_occurrence(c, e, uid, t, start, end, summary)) != 0)
                break;
        }
        icalrecur_iterator_free(it);
    }
    for (icalproperty *p = icalcomponent_get_first_property(e, ICAL_RDATE_PROPERTY); p && rc == 0;
         p = icalcomponent_get_next_property(e, ICAL_RDATE_PROPERTY)) {
        struct icaldatetimeperiodtype rd = icalproperty_get_rdate(p);
        if (!icaltime_is_null_time(rd.time))
            rc = add_occurrence(c, e, uid, rd.time, start, end, summary);
    }
    return rc;
}

/* One top-level VEVENT. Returns 0 or TOO_MANY. */
static int take_event(struct ctx *c, icalcomponent *e, const struct raw_event *raw)
{
    char uid[ICAL_UID_MAX + 1], summary[ICAL_SUMMARY_MAX + 1];
    event_uid(e, uid);
    if (raw->reason) {
        quarantine(c, uid, raw->reason, raw->detail);
        return 0;
    }
    icalproperty *rid = icalcomponent_get_first_property(e, ICAL_RECURRENCEID_PROPERTY);
    long rid_day = 0;
    if (rid && local_day(c, icalproperty_get_recurrenceid(rid), &rid_day) < 0) {
        quarantine(c, uid, "invalid_date", "RECURRENCE-ID is not a usable date");
        return 0;
    }
    if (icalcomponent_count_properties(e, ICAL_RRULE_PROPERTY) != raw->rrules) {
        quarantine(c, uid, "invalid_rrule", "an RRULE cannot be read");
        return 0;
    }
    if (icalcomponent_get_status(e) == ICAL_STATUS_CANCELLED) {
        c->feed->cancelled++;
        return 0;
    }
    icalproperty *ps = icalcomponent_get_first_property(e, ICAL_DTSTART_PROPERTY);
    struct icaltimetype start = ps ? icalcomponent_get_dtstart(e) : icaltime_null_time();
    if (icaltime_is_null_time(start)) {
        quarantine(c, uid, "invalid_date", "no DTSTART");
        return 0;
    }
    struct icaltimetype end;
    if (icalcomponent_get_first_property(e, ICAL_DTEND_PROPERTY)) {
        end = icalcomponent_get_dtend(e);
    } else if (icalcomponent_get_first_property(e, ICAL_DURATION_PROPERTY)) {
        end = icaltime_add(start, icalcomponent_get_duration(e));
    } else if (start.is_date) {
        end = start;
        icaltime_adjust(&end, 1, 0, 0, 0); /* a date without DTEND: one night (RFC 5545 3.6.1) */
    } else {
        end = start; /* a time without DTEND: an instant, which still blocks its night */
    }
    copy_clean(summary, ICAL_SUMMARY_MAX, icalcomponent_get_summary(e));

    long s, en;
    const char *detail = NULL;
    const char *bad = occurrence_nights(c, start, end, &s, &en, &detail);
    if (bad) {
        quarantine(c, uid, bad, detail);
        return 0;
    }
    int recurring = !rid && (icalcomponent_get_first_property(e, ICAL_RRULE_PROPERTY) ||
                             icalcomponent_get_first_property(e, ICAL_RDATE_PROPERTY));
    if (recurring)
        return expand(c, e, uid, start, end, summary) == TOO_MANY ? TOO_MANY : 0;
    if (!in_window(c, s, &en)) {
        quarantine(c, uid, "out_of_range",
                   s >= c->horizon_end ? "starts beyond the booking horizon" : "ended more than a year ago");
        return 0;
    }
    if (rid) {
        char key[ICAL_UID_MAX + 1];
        instance_key(uid, rid_day, key);
        return push_event(c, key, s, en, summary) < 0 ? TOO_MANY : 0;
    }
    return push_event(c, uid, s, en, summary) < 0 ? TOO_MANY : 0;
}

/* RECURRENCE-ID overrides, collected before the masters are expanded so that the master skips them. */
static void collect_override(struct ctx *c, icalcomponent *e, const struct raw_event *raw)
{
    icalproperty *rid = icalcomponent_get_first_property(e, ICAL_RECURRENCEID_PROPERTY);
    long day;
    if (raw->reason || !rid || local_day(c, icalproperty_get_recurrenceid(rid), &day) < 0)
        return;
    if (c->noverrides == c->cap_overrides) {
        c->cap_overrides = c->cap_overrides ? c->cap_overrides * 2 : 16;
        c->overrides = realloc(c->overrides, (size_t)c->cap_overrides * sizeof *c->overrides);
        if (!c->overrides)
            abort();
    }
    event_uid(e, c->overrides[c->noverrides].uid);
    c->overrides[c->noverrides++].day = day;
}

/* Two events with one key: identical ones collapse; otherwise the later one gets "#<start>" (and a counter if
 * that is taken too), so both block their nights. */
static void dedupe(struct ical_feed *f)
{
    if (f->nevents < 2)
        return;
    size_t size = 1;
    while (size < (size_t)f->nevents * 2)
        size <<= 1;
    int *table = malloc(size * sizeof *table);
    if (!table)
        abort();
    memset(table, -1, size * sizeof *table);
    int kept = 0;
    for (int i = 0; i < f->nevents; i++) {
        struct ical_event ev = f->events[i];
        int dup_of = -1;
        for (int attempt = 0; attempt < 1000; attempt++) {
            uint64_t h = fnv1a(ev.uid, strlen(ev.uid), 14695981039346656037ULL);
            size_t slot = (size_t)h & (size - 1);
            dup_of = -1;
            while (table[slot] >= 0) {
                if (strcmp(f->events[table[slot]].uid, ev.uid) == 0) {
                    dup_of = table[slot];
                    break;
                }
                slot = (slot + 1) & (size - 1);
            }
            if (dup_of < 0) {
                f->events[kept] = ev;
                table[slot] = kept++;
                break;
            }
            const struct ical_event *o = &f->events[dup_of];
            if (strcmp(o->start, ev.start) == 0 && strcmp(o->end, ev.end) == 0)
                break; /* the same nights again */
            char base[ICAL_UID_MAX - 16 + 1];
            copy_clean(base, sizeof base - 1, ev.uid);
            snprintf(ev.uid, sizeof ev.uid, "%s#%.4s%.2s%.2s", base, ev.start, ev.start + 5, ev.start + 8);
            if (attempt > 0)
                snprintf(ev.uid, sizeof ev.uid, "%s#%d", base, attempt);
        }
    }
    f->nevents = kept;
    free(table);
}

void ical_feed_free(struct ical_feed *f)
{
    if (!f)
        return;
    free(f->events);
    free(f->quarantine);
    free(f);
}

const char *ical_parse_strerror(int rc)
{
    switch (rc) {
    case ICAL_OK:
        return "ok";
    case ICAL_TOO_MANY_EVENTS:
        return "too_many_events";
    case ICAL_TOO_DEEP:
        return "too_deep";
    case ICAL_BAD_OPTIONS:
        return "bad_options";
    default:
        return "not_vcalendar";
    }
}

int ical_feed_parse(const char *data, size_t len, const struct ical_parse_options *opt,
                    struct ical_feed **out, char *err, size_t errlen)
{
    struct scan sc = {0};
    struct ctx c;
    char *text = NULL;
    icalcomponent *root = NULL;
    int rc = ICAL_OK;
    *out = NULL;
    if (errlen)
        err[0] = '\0';
    memset(&c, 0, sizeof c);
    int max_depth = opt->max_depth > 0 && opt->max_depth <= HARD_MAX_DEPTH ? opt->max_depth : ICAL_MAX_DEPTH;
    c.opt = opt;
    c.max_events = opt->max_events > 0 ? opt->max_events : ICAL_MAX_EVENTS;
    if (!opt->timezone || !dates_valid(opt->today) || opt->horizon_days < 1 ||
        !(c.zone = icaltimezone_get_builtin_timezone(opt->timezone))) {
        snprintf(err, errlen, "unknown time zone or invalid options");
        return ICAL_BAD_OPTIONS;
    }
    if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0) { /* a UTF-8 byte order mark */
        data += 3;
        len -= 3;
    }
    if (memchr(data, '\0', len)) {
        snprintf(err, errlen, "binary data (a NUL byte)");
        return ICAL_NOT_CALENDAR;
    }
    if ((rc = scan_lines(data, len, c.max_events, max_depth, &sc, err, errlen)) != ICAL_OK)
        goto out;

    text = malloc(len + 1);
    if (!text)
        abort();
    memcpy(text, data, len);
    text[len] = '\0';
    root = icalparser_parse_string(text);
    int n = 0;
    if (root && icalcomponent_isa(root) == ICAL_VCALENDAR_COMPONENT)
        n = icalcomponent_count_components(root, ICAL_VEVENT_COMPONENT);
    if (!root || icalcomponent_isa(root) != ICAL_VCALENDAR_COMPONENT || n != sc.nev) {
        rc = scan_fail(ICAL_NOT_CALENDAR, err, errlen, "the calendar structure cannot be read");
        goto out;
    }

    c.feed = calloc(1, sizeof *c.feed);
    if (!c.feed)
        abort();
    c.window_start = dates_to_days(opt->today) - 365;
    c.horizon_end = dates_to_days(opt->today) + opt->horizon_days;
    int i = 0;
    for (icalcomponent *e = icalcomponent_get_first_component(root, ICAL_VEVENT_COMPONENT); e;
         e = icalcomponent_get_next_component(root, ICAL_VEVENT_COMPONENT))
        collect_override(&c, e, &sc.ev[i++]);
    i = 0;
    for (icalcomponent *e = icalcomponent_get_first_component(root, ICAL_VEVENT_COMPONENT); e;
         e = icalcomponent_get_next_component(root, ICAL_VEVENT_COMPONENT)) {
        if (take_event(&c, e, &sc.ev[i++]) == TOO_MANY) {
            rc =
                scan_fail(ICAL_TOO_MANY_EVENTS, err, errlen, "too many events once recurrences are expanded");
            goto out;
        }
    }
    dedupe(c.feed);
    *out = c.feed;
    c.feed = NULL;
out:
    if (root)
        icalcomponent_free(root);
    ical_feed_free(c.feed);
    free(c.overrides);
    free(text);
    free(sc.ev);
    return rc;
}
