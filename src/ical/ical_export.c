/* ical_export.c - writing the published calendar, and its URL tokens. See ical_export.h. */
#include "ical_export.h"

#include <sodium.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

#define FOLD_AT 75 /* octets per line, CRLF not counted (RFC 5545 3.1) */
#define PRODID "-//cabanas//calendar export 1.0//EN"

static const struct config *export_cfg; /* set once by ical_export_init, before threads start */
static char uid_host[256] = "cabanas";

/* Appends one content line, folded: a line longer than 75 octets continues on lines that start with a
 * space, and a break never falls inside a UTF-8 sequence. */
static int put_line(struct buf *out, const char *s)
{
    size_t n = strlen(s), used = 0;
    int first = 1;
    while (n - used > (size_t)(first ? FOLD_AT : FOLD_AT - 1)) {
        size_t take = first ? FOLD_AT : FOLD_AT - 1;
        while (take > 0 && ((unsigned char)s[used + take] & 0xC0) == 0x80)
            take--; /* back off to the start of a character */
        if (take == 0)
            take = first ? FOLD_AT : FOLD_AT - 1; /* not UTF-8 at all: cut anywhere */
        if (buf_append(out, s + used, take) < 0 || buf_append(out, "\r\n ", 3) < 0)
            return BUF_TOO_BIG;
        used += take;
        first = 0;
    }
    if (buf_append(out, s + used, n - used) < 0 || buf_append(out, "\r\n", 2) < 0)
        return BUF_TOO_BIG;
    return 0;
}

/* A TEXT value: backslash, semicolon, comma and newline escaped, other control characters dropped. */
static void escape_text(const char *s, char *dst, size_t dstlen)
{
    size_t o = 0;
    for (; s && *s && o + 3 < dstlen; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '\\' || ch == ';' || ch == ',') {
            dst[o++] = '\\';
            dst[o++] = (char)ch;
        } else if (ch == '\n') {
            dst[o++] = '\\';
            dst[o++] = 'n';
        } else if (ch >= 0x20 && ch != 0x7F) {
            dst[o++] = (char)ch;
        }
    }
    dst[o] = '\0';
}

static void compact_date(const char *iso, char out[9])
{
    snprintf(out, 9, "%.4s%.2s%.2s", iso, iso + 5, iso + 8);
}

int ical_export_write(struct buf *out, const char *calname, const struct ical_export_item *items, int n)
{
    char line[1024], text[768];
    int rc = 0;
    rc |= put_line(out, "BEGIN:VCALENDAR");
    rc |= put_line(out, "VERSION:2.0");
    rc |= put_line(out, "PRODID:" PRODID);
    rc |= put_line(out, "CALSCALE:GREGORIAN");
    rc |= put_line(out, "METHOD:PUBLISH");
    if (calname && *calname) {
        escape_text(calname, text, sizeof text);
        snprintf(line, sizeof line, "X-WR-CALNAME:%s", text);
        rc |= put_line(out, line);
    }
    for (int i = 0; i < n && rc == 0; i++) {
        const struct ical_export_item *it = &items[i];
        char start[9], end[9], stamp[20];
        struct tm tm;
        time_t t = (time_t)it->stamp;
        gmtime_r(&t, &tm);
        strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
        compact_date(it->start, start);
        compact_date(it->end, end);
        rc |= put_line(out, "BEGIN:VEVENT");
        escape_text(it->uid, text, sizeof text);
        snprintf(line, sizeof line, "UID:%s", text);
        rc |= put_line(out, line);
        snprintf(line, sizeof line, "DTSTAMP:%s", stamp);
        rc |= put_line(out, line);
        snprintf(line, sizeof line, "DTSTART;VALUE=DATE:%s", start);
        rc |= put_line(out, line);
        snprintf(line, sizeof line, "DTEND;VALUE=DATE:%s", end);
        rc |= put_line(out, line);
        escape_text(it->summary, text, sizeof text);
        snprintf(line, sizeof line, "SUMMARY:%s", text);
        rc |= put_line(out, line);
        rc |= put_line(out, "TRANSP:OPAQUE");
        rc |= put_line(out, "END:VEVENT");
    }
    rc |= put_line(out, "END:VCALENDAR");
    return rc ? BUF_TOO_BIG : 0;
}

void ical_export_token(const char *salt, long long accommodation_id, long long feed_id,
                       char out[ICAL_TOKEN_LEN + 1])
{
    char msg[96];
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    if (feed_id > 0)
        snprintf(msg, sizeof msg, "ical:%lld:feed:%lld", accommodation_id, feed_id);
    else
        snprintf(msg, sizeof msg, "ical:%lld", accommodation_id);
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, (const unsigned char *)salt, strlen(salt));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)msg, strlen(msg));
    crypto_auth_hmacsha256_final(&st, mac);
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < ICAL_TOKEN_LEN / 2; i++) {
        out[2 * i] = hex[mac[i] >> 4];
        out[2 * i + 1] = hex[mac[i] & 15];
    }
    out[ICAL_TOKEN_LEN] = '\0';
}

int ical_export_token_ok(const char *salt, long long accommodation_id, long long feed_id, const char *token)
{
    char want[ICAL_TOKEN_LEN + 1];
    if (!salt || !*salt || !token || strlen(token) != ICAL_TOKEN_LEN)
        return 0;
    ical_export_token(salt, accommodation_id, feed_id, want);
    return sodium_memcmp(want, token, ICAL_TOKEN_LEN) == 0;
}

void ical_export_init(const struct config *cfg)
{
    export_cfg = cfg;
    /* the host of PUBLIC_BASE_URL: after "://", up to the next '/', ':' or '?' */
    const char *p = strstr(cfg->public_base_url, "://");
    if (!p)
        return;
    p += 3;
    size_t n = strcspn(p, "/:?#");
    if (n == 0 || n >= sizeof uid_host)
        return;
    for (size_t i = 0; i < n; i++) {
        char ch = p[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' ||
              ch == '-'))
            return;
    }
    memcpy(uid_host, p, n);
    uid_host[n] = '\0';
}

const char *ical_export_uid_host(void)
{
    return uid_host;
}

json_t *ical_export_url_json(long long accommodation_id, long long feed_id)
{
    if (!export_cfg || !export_cfg->ics_salt[0])
        return json_null();
    char token[ICAL_TOKEN_LEN + 1], url[CONFIG_STR_MAX + 160];
    ical_export_token(export_cfg->ics_salt, accommodation_id, feed_id, token);
    const char *base = export_cfg->public_base_url;
    size_t bl = strlen(base);
    while (bl > 0 && base[bl - 1] == '/')
        bl--;
    if (feed_id > 0)
        snprintf(url, sizeof url, "%.*s/api/v1/ical/%lld/feeds/%lld/%s.ics", (int)bl, base, accommodation_id,
                 feed_id, token);
    else
        snprintf(url, sizeof url, "%.*s/api/v1/ical/%lld/%s.ics", (int)bl, base, accommodation_id, token);
    return json_string(url);
}
