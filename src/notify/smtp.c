/* smtp.c - RFC 5322 messages and their delivery through libcurl's SMTP. See smtp.h.
 *
 * The message is built completely in memory (bounded by SMTP_MESSAGE_MAX) before the connection opens,
 * so an invalid message never reaches the server and a send is one curl transfer. */
#include "smtp.h"

#include "core/ids.h"

#include <curl/curl.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* Length of the UTF-8 character at s (1..4), or -1 when it is not a valid, shortest-form one. */
static int utf8_char(const unsigned char *s)
{
    if (s[0] < 0x80)
        return 1;
    int n;
    unsigned cp;
    if (s[0] >= 0xC2 && s[0] <= 0xDF) {
        n = 2;
        cp = s[0] & 0x1Fu;
    } else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
        n = 3;
        cp = s[0] & 0x0Fu;
    } else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
        n = 4;
        cp = s[0] & 0x07u;
    } else {
        return -1;
    }
    for (int i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return -1;
        cp = (cp << 6) | (s[i] & 0x3Fu);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return -1;
    return n;
}

/* 1 when s is valid UTF-8 without control characters (C0, DEL; CR and LF included). */
static int header_text_ok(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        if (*p < 0x20 || *p == 0x7F)
            return 0;
        int n = utf8_char(p);
        if (n < 0)
            return 0;
        /* C1 controls (U+0080..U+009F) are encoded as C2 80..C2 9F */
        if (n == 2 && p[0] == 0xC2 && p[1] < 0xA0)
            return 0;
        p += n;
    }
    return 1;
}

static int atext(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           (c && strchr("!#$%&'*+/=?^_`{|}~-", c) != NULL);
}

int smtp_address_valid(const char *addr)
{
    size_t len = strlen(addr);
    const char *at = strrchr(addr, '@');
    if (len == 0 || len > SMTP_ADDRESS_MAX || !at || at == addr || (size_t)(at - addr) > 64)
        return 0;
    /* local part: dot-atom */
    int prev_dot = 1;
    for (const char *p = addr; p < at; p++) {
        if (*p == '.') {
            if (prev_dot)
                return 0;
            prev_dot = 1;
        } else if (atext((unsigned char)*p)) {
            prev_dot = 0;
        } else {
            return 0;
        }
    }
    if (prev_dot)
        return 0;
    /* domain: labels of [A-Za-z0-9-], no leading or trailing hyphen, at least two labels */
    const char *d = at + 1;
    int labels = 0;
    while (*d) {
        size_t n = 0;
        while (d[n] && d[n] != '.') {
            unsigned char c = (unsigned char)d[n];
            if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
                return 0;
            n++;
        }
        if (n == 0 || n > 63 || d[0] == '-' || d[n - 1] == '-')
            return 0;
        labels++;
        d += n;
        if (*d == '.') {
            d++;
            if (!*d)
                return 0;
        }
    }
    return labels >= 2;
}

int smtp_mailbox_parse(const char *mailbox, char *name, size_t namelen, char *addr, size_t addrlen)
{
    const char *lt = strchr(mailbox, '<');
    const char *a = mailbox;
    size_t alen = strlen(mailbox);
    size_t nlen = 0;
    if (lt) {
        const char *gt = strchr(lt, '>');
        if (!gt || gt[1] != '\0')
            return -1;
        a = lt + 1;
        alen = (size_t)(gt - a);
        nlen = (size_t)(lt - mailbox);
        while (nlen > 0 && mailbox[nlen - 1] == ' ')
            nlen--;
        /* a quoted display name: drop the quotes (we quote again when writing) */
        if (nlen >= 2 && mailbox[0] == '"' && mailbox[nlen - 1] == '"') {
            mailbox++;
            nlen -= 2;
        }
    }
    if (alen >= addrlen || nlen >= namelen)
        return -1;
    memcpy(addr, a, alen);
    addr[alen] = '\0';
    memcpy(name, mailbox, nlen);
    name[nlen] = '\0';
    if (!smtp_address_valid(addr) || !header_text_ok(name) || strchr(name, '"') || strchr(name, '\\'))
        return -1;
    return 0;
}

int smtp_header_text(const char *text, struct buf *out)
{
    if (!header_text_ok(text))
        return SMTP_INVALID;
    size_t len = strlen(text);
    int plain = len <= 60 && !strstr(text, "=?");
    for (size_t i = 0; plain && i < len; i++)
        plain = (unsigned char)text[i] < 0x80;
    if (plain)
        return buf_puts(out, text) == 0 ? 0 : SMTP_INVALID;
    /* 36 bytes of text -> 48 base64 characters -> a 60-character encoded word */
    const unsigned char *p = (const unsigned char *)text;
    int first = 1;
    while (*p) {
        size_t n = 0;
        while (p[n]) {
            int c = utf8_char(p + n);
            if (n + (size_t)c > 36)
                break;
            n += (size_t)c;
        }
        char b64[64];
        sodium_bin2base64(b64, sizeof b64, p, n, sodium_base64_VARIANT_ORIGINAL);
        if (buf_printf(out, "%s=?UTF-8?B?%s?=", first ? "" : "\r\n ", b64) != 0)
            return SMTP_INVALID;
        first = 0;
        p += n;
    }
    return 0;
}

int smtp_qp_encode(const char *text, struct buf *out)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *p = (const unsigned char *)text;
    char line[80];
    size_t col = 0;
    while (*p) {
        if (*p == '\r' || *p == '\n') {
            /* CRLF, LF and a lone CR all end the line */
            if (p[0] == '\r' && p[1] == '\n')
                p++;
            p++;
            if (buf_append(out, line, col) || buf_append(out, "\r\n", 2))
                return BUF_TOO_BIG;
            col = 0;
            continue;
        }
        unsigned char c = *p++;
        int at_eol = *p == '\0' || *p == '\r' || *p == '\n';
        char enc[3];
        size_t n;
        if ((c >= 33 && c <= 126 && c != '=' && !(c == '.' && col == 0)) ||
            ((c == ' ' || c == '\t') && !at_eol)) {
            enc[0] = (char)c;
            n = 1;
        } else {
            enc[0] = '=';
            enc[1] = hex[c >> 4];
            enc[2] = hex[c & 15];
            n = 3;
        }
        /* at most 76 characters a line, a soft break ("=") included; the last character of the line
         * may use column 76 only when no soft break follows it */
        if (col + n > (at_eol ? 76u : 75u)) {
            if (buf_append(out, line, col) || buf_append(out, "=\r\n", 3))
                return BUF_TOO_BIG;
            col = 0;
            if (n == 1 && enc[0] == '.') { /* a '.' that now starts a line */
                enc[0] = '=';
                enc[1] = '2';
                enc[2] = 'E';
                n = 3;
            }
        }
        memcpy(line + col, enc, n);
        col += n;
    }
    if (col && buf_append(out, line, col))
        return BUF_TOO_BIG;
    return 0;
}

void smtp_message_id_new(const char *from_addr, long long now, char *out, size_t outlen)
{
    unsigned char raw[8];
    ids_random_bytes(raw, sizeof raw);
    char hexs[17];
    for (size_t i = 0; i < sizeof raw; i++)
        snprintf(hexs + 2 * i, 3, "%02x", raw[i]);
    const char *at = strrchr(from_addr, '@');
    snprintf(out, outlen, "<%lld.%s@%s>", now, hexs, at && at[1] ? at + 1 : "cabanas.invalid");
}

static void rfc5322_date(long long now, char out[40])
{
    static const char *days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char *months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    struct tm tm;
    time_t t = (time_t)now;
    gmtime_r(&t, &tm);
    snprintf(out, 40, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday], tm.tm_mday,
             months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

int smtp_build_message(const struct smtp_message *m, long long now, const char *message_id, struct buf *out,
                       char *err, size_t errlen)
{
    char name[256], from[SMTP_ADDRESS_MAX + 1], date[40];
    if (smtp_mailbox_parse(m->from, name, sizeof name, from, sizeof from) < 0) {
        snprintf(err, errlen, "invalid sender address (SMTP_FROM)");
        return SMTP_INVALID;
    }
    if (!smtp_address_valid(m->to)) {
        snprintf(err, errlen, "invalid recipient address");
        return SMTP_INVALID;
    }
    if (!header_text_ok(m->subject) || !*m->subject) {
        snprintf(err, errlen, "invalid subject (empty, control characters or not UTF-8)");
        return SMTP_INVALID;
    }
    if (!message_id || !*message_id || !header_text_ok(message_id) || strchr(message_id, ' ')) {
        snprintf(err, errlen, "invalid Message-ID");
        return SMTP_INVALID;
    }
    rfc5322_date(now, date);
    int rc = buf_printf(out, "Date: %s\r\nFrom: ", date);
    if (rc == 0 && *name) {
        int ascii = 1;
        for (const char *c = name; *c; c++)
            ascii &= (unsigned char)*c < 0x80;
        if (ascii && strlen(name) <= 60)
            rc = buf_printf(out, "\"%s\"", name); /* no quote or backslash inside (checked above) */
        else
            rc = smtp_header_text(name, out);
        if (rc == 0)
            rc = buf_printf(out, " <%s>", from);
    } else if (rc == 0) {
        rc = buf_puts(out, from);
    }
    if (rc == 0)
        rc = buf_printf(out, "\r\nTo: %s\r\nSubject: ", m->to);
    if (rc == 0)
        rc = smtp_header_text(m->subject, out);
    if (rc == 0)
        rc = buf_printf(
            out,
            "\r\nMessage-ID: %s\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n"
            "Content-Transfer-Encoding: quoted-printable\r\nAuto-Submitted: auto-generated\r\n\r\n",
            message_id);
    if (rc == 0)
        rc = smtp_qp_encode(m->body, out);
    if (rc == 0 && out->len >= 2 && memcmp(out->data + out->len - 2, "\r\n", 2) != 0)
        rc = buf_puts(out, "\r\n");
    if (rc != 0) {
        snprintf(err, errlen, "message too long");
        return SMTP_INVALID;
    }
    return 0;
}

struct reader {
    const char *data;
    size_t len, off;
};

static size_t on_read(char *dst, size_t size, size_t nmemb, void *userdata)
{
    struct reader *r = userdata;
    size_t n = size * nmemb;
    if (n > r->len - r->off)
        n = r->len - r->off;
    memcpy(dst, r->data + r->off, n);
    r->off += n;
    return n;
}

static int on_progress(void *userdata, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    const int *abort_flag = userdata;
    return abort_flag && __atomic_load_n(abort_flag, __ATOMIC_RELAXED) ? 1 : 0;
}

int smtp_send(const struct smtp_settings *s, const struct smtp_message *m, const int *abort_flag,
              char *message_id, size_t idlen, char *err, size_t errlen)
{
    char name[256], from[SMTP_ADDRESS_MAX + 3], addr[SMTP_ADDRESS_MAX + 1], rcpt[SMTP_ADDRESS_MAX + 3];
    char errbuf[CURL_ERROR_SIZE] = "";
    struct buf msg;
    struct curl_slist *rcpts = NULL;
    CURL *h = NULL;
    int rc = SMTP_TEMPORARY;
    buf_init(&msg, SMTP_MESSAGE_MAX);
    message_id[0] = '\0';
    if (smtp_mailbox_parse(m->from, name, sizeof name, addr, sizeof addr) < 0) {
        snprintf(err, errlen, "invalid sender address (SMTP_FROM)");
        rc = SMTP_INVALID;
        goto out;
    }
    snprintf(from, sizeof from, "<%s>", addr);
    snprintf(rcpt, sizeof rcpt, "<%s>", m->to);
    long long now = (long long)time(NULL);
    smtp_message_id_new(addr, now, message_id, idlen);
    if ((rc = smtp_build_message(m, now, message_id, &msg, err, errlen)) != 0)
        goto out;
    rc = SMTP_TEMPORARY;
    h = curl_easy_init();
    rcpts = curl_slist_append(NULL, rcpt);
    if (!h || !rcpts) {
        snprintf(err, errlen, "smtp: cannot initialize libcurl");
        goto out;
    }
    struct reader rd = {msg.data, msg.len, 0};
    long timeout = s->timeout_ms > 0 ? s->timeout_ms : 20000;
    curl_easy_setopt(h, CURLOPT_URL, s->url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    if (strncmp(s->url, "smtp://", 7) == 0)
        curl_easy_setopt(h, CURLOPT_USE_SSL, (long)CURLUSESSL_TRY); /* STARTTLS when offered */
    if (s->username && *s->username) {
        curl_easy_setopt(h, CURLOPT_USERNAME, s->username);
        curl_easy_setopt(h, CURLOPT_PASSWORD, s->password ? s->password : "");
    }
    curl_easy_setopt(h, CURLOPT_MAIL_FROM, from);
    curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rcpts);
    curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
    curl_easy_setopt(h, CURLOPT_READDATA, &rd);
    curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)msg.len);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, timeout < 10000 ? timeout : 10000L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, (void *)abort_flag);
    CURLcode cc = curl_easy_perform(h);
    long reply = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &reply);
    if (cc == CURLE_OK) {
        rc = SMTP_OK;
        goto out;
    }
    /* a 5xx reply to the envelope or the data is final; a refused login (535) is a configuration
     * problem the owner can fix, so it is retried like an outage */
    if (reply >= 500 && reply < 600 && cc != CURLE_LOGIN_DENIED)
        rc = SMTP_PERMANENT;
    const char *why = errbuf[0] ? errbuf : curl_easy_strerror(cc);
    if (cc == CURLE_ABORTED_BY_CALLBACK)
        why = "interrupted by shutdown";
    if (reply)
        snprintf(err, errlen, "smtp: %s (reply %ld)", why, reply);
    else
        snprintf(err, errlen, "smtp: %s", why);
out:
    if (rc != SMTP_OK)
        message_id[0] = '\0';
    curl_slist_free_all(rcpts);
    if (h)
        curl_easy_cleanup(h);
    buf_cleanup(&msg);
    return rc;
}
