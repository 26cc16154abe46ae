/* booking.c - pure checks and helpers on booking input. See booking.h. */
#include "booking.h"

#include "core/ids.h"

#include <stdio.h>
#include <string.h>

int booking_normalize_phone(const char *in, char out[GUEST_PHONE_MAX + 1])
{
    size_t n = 0;
    if (!in)
        return -1;
    for (const char *p = in; *p; p++) {
        char c = *p;
        if (c >= '0' && c <= '9') {
            if (n >= GUEST_PHONE_MAX)
                return -1;
            out[n++] = c;
        } else if (c == '+' && p == in) {
            continue;
        } else if (c == ' ' || c == '-' || c == '.' || c == '(' || c == ')') {
            continue;
        } else {
            return -1;
        }
        if (p - in > 40)
            return -1;
    }
    out[n] = '\0';
    return n >= GUEST_PHONE_MIN ? 0 : -1;
}

static int label_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
}

int booking_email_valid(const char *s)
{
    if (!s)
        return 0;
    size_t len = strlen(s);
    const char *at = strchr(s, '@');
    if (len < 3 || len > GUEST_EMAIL_MAX || !at || at == s || strchr(at + 1, '@'))
        return 0;
    for (const char *p = s; p < at; p++)
        if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 127 || *p == '"' || *p == '<' || *p == '>' ||
            *p == '\\' || *p == ',' || *p == ';')
            return 0;
    const char *d = at + 1;
    if (!strchr(d, '.'))
        return 0;
    size_t label = 0;
    for (const char *p = d; *p; p++) {
        if (*p == '.') {
            if (label == 0 || p[-1] == '-')
                return 0;
            label = 0;
        } else if (label_char(*p)) {
            if (label == 0 && *p == '-')
                return 0;
            label++;
        } else {
            return 0;
        }
    }
    return label >= 2; /* the top-level label */
}

int booking_text_valid(const char *s, size_t max)
{
    if (!s)
        return 0;
    size_t len = strlen(s);
    while (len > 0 && (s[len - 1] == ' '))
        len--;
    while (len > 0 && *s == ' ')
        s++, len--;
    if (len == 0 || len > max)
        return 0;
    const unsigned char *p = (const unsigned char *)s;
    const unsigned char *end = p + len;
    while (p < end) {
        unsigned char c = *p;
        int extra;
        if (c < 0x20 || c == 0x7f)
            return 0;
        if (c < 0x80)
            extra = 0;
        else if ((c & 0xe0) == 0xc0 && c >= 0xc2)
            extra = 1;
        else if ((c & 0xf0) == 0xe0)
            extra = 2;
        else if ((c & 0xf8) == 0xf0 && c <= 0xf4)
            extra = 3;
        else
            return 0;
        if (end - p <= extra)
            return 0;
        for (int i = 1; i <= extra; i++)
            if ((p[i] & 0xc0) != 0x80)
                return 0;
        p += extra + 1;
    }
    return 1;
}

void booking_code_new(char out[RES_CODE_LEN + 1])
{
    static const char crockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    int digits;
    do {
        /* about 1 code in 40 is all letters: drawn again, so a code never reads like a word */
        unsigned char raw[8];
        ids_random_bytes(raw, sizeof raw);
        unsigned long long bits = 0;
        for (int i = 0; i < 8; i++)
            bits = (bits << 8) | raw[i];
        memcpy(out, "RES", 3);
        digits = 0;
        for (int i = 0; i < 10; i++) {
            out[3 + i] = crockford[bits & 31];
            digits += (bits & 31) < 10;
            bits >>= 5;
        }
    } while (!digits);
    out[RES_CODE_LEN] = '\0';
}

int booking_status_active(const char *status)
{
    return strcmp(status, "pre_reserved") == 0 || strcmp(status, "confirmed") == 0;
}

static int in_list(const char *s, const char *const *list)
{
    for (; *list; list++)
        if (strcmp(s, *list) == 0)
            return 1;
    return 0;
}

int booking_channel_valid(const char *channel)
{
    static const char *const channels[] = {"web",   "whatsapp", "admin",   "api", "phone",
                                           "email", "airbnb",   "booking", NULL};
    return channel && in_list(channel, channels);
}

int booking_type_valid(const char *type)
{
    static const char *const types[] = {"cabin", "apartment", "house", "room", NULL};
    return type && in_list(type, types);
}

void booking_mask_name(const char *name, char *out, size_t outlen)
{
    size_t n = 0;
    int word_start = 1;
    for (const unsigned char *p = (const unsigned char *)name; *p && n + 1 < outlen; p++) {
        if (*p == ' ') {
            out[n++] = ' ';
            word_start = 1;
        } else if (word_start) {
            /* keep the whole first character, even when it is a multi-byte UTF-8 sequence */
            out[n++] = (char)*p;
            while ((p[1] & 0xc0) == 0x80 && n + 1 < outlen)
                out[n++] = (char)*++p;
            word_start = 0;
        } else if ((*p & 0xc0) != 0x80) {
            out[n++] = '*';
        }
    }
    out[n] = '\0';
}

void booking_mask_phone(const char *phone, char *out, size_t outlen)
{
    size_t len = strlen(phone), n = 0;
    for (size_t i = 0; i < len && n + 1 < outlen; i++)
        out[n++] = i + 4 < len ? '*' : phone[i];
    out[n] = '\0';
}
