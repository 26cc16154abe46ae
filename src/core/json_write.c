/* json_write.c - compact JSON text of a jansson value. See json_write.h. */
#include "json_write.h"

#include "utf8.h"

#include <stdio.h>
#include <string.h>

static int put(struct buf *b, const char *s, size_t n)
{
    return buf_append(b, s, n) == 0 ? 0 : -1;
}

/* A JSON string: runs of bytes that need no escape are copied as they are. */
static int write_string(struct buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *p = (const unsigned char *)s, *end = p + n, *run = p;
    if (put(b, "\"", 1) < 0)
        return -1;
    while (p < end) {
        unsigned c = *p;
        if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
            p++;
            continue;
        }
        size_t len = c < 0x80 ? 1 : utf8_len(p, (size_t)(end - p));
        if (len > 1) {
            p += len;
            continue;
        }
        if (p > run && put(b, (const char *)run, (size_t)(p - run)) < 0)
            return -1;
        char esc[8] = {'\\', 0};
        size_t elen = 2;
        switch (c) {
        case '"':
        case '\\':
            esc[1] = (char)c;
            break;
        case '\b':
            esc[1] = 'b';
            break;
        case '\f':
            esc[1] = 'f';
            break;
        case '\n':
            esc[1] = 'n';
            break;
        case '\r':
            esc[1] = 'r';
            break;
        case '\t':
            esc[1] = 't';
            break;
        default:
            if (len == 0) { /* not UTF-8: U+FFFD */
                memcpy(esc, "\xEF\xBF\xBD", 3);
                elen = 3;
            } else { /* another control character, as jansson writes it */
                memcpy(esc, "\\u00", 4);
                esc[4] = hex[c >> 4];
                esc[5] = hex[c & 0xF];
                elen = 6;
            }
        }
        if (put(b, esc, elen) < 0)
            return -1;
        run = ++p;
    }
    if (p > run && put(b, (const char *)run, (size_t)(p - run)) < 0)
        return -1;
    return put(b, "\"", 1);
}

static int write_integer(struct buf *b, json_int_t v)
{
    char digits[24];
    int i = (int)sizeof digits;
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    do {
        digits[--i] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        digits[--i] = '-';
    return put(b, digits + i, sizeof digits - (size_t)i);
}

/* jansson's jsonp_dtostr with precision 12: "%.12g", a ".0" when that reads as an integer, and the
 * exponent without '+' or leading zeros (1e+20 -> 1e20, 1e-05 -> 1e-5). */
static int write_real(struct buf *b, double v)
{
    char s[64];
    int n = snprintf(s, sizeof s - 3, "%.12g", v);
    if (n < 0 || (size_t)n >= sizeof s - 3)
        return -1;
    size_t len = (size_t)n;
    if (!strchr(s, '.') && !strchr(s, 'e')) {
        memcpy(s + len, ".0", 3);
        len += 2;
    }
    char *start = strchr(s, 'e');
    if (start) {
        start++;
        char *end = start + 1;
        if (*start == '-')
            start++;
        while (*end == '0')
            end++;
        if (end != start) {
            memmove(start, end, len - (size_t)(end - s) + 1);
            len -= (size_t)(end - start);
        }
    }
    return put(b, s, len);
}

static int write_value(struct buf *b, const json_t *j, int depth)
{
    if (!j)
        return -1;
    switch (json_typeof(j)) {
    case JSON_OBJECT: {
        if (depth >= JSON_WRITE_MAX_DEPTH || put(b, "{", 1) < 0)
            return -1;
        json_t *o = (json_t *)j; /* jansson's iterators take no const */
        int first = 1;
        for (void *it = json_object_iter(o); it; it = json_object_iter_next(o, it), first = 0) {
            if ((!first && put(b, ",", 1) < 0) ||
                write_string(b, json_object_iter_key(it), json_object_iter_key_len(it)) < 0 ||
                put(b, ":", 1) < 0 || write_value(b, json_object_iter_value(it), depth + 1) < 0)
                return -1;
        }
        return put(b, "}", 1);
    }
    case JSON_ARRAY: {
        if (depth >= JSON_WRITE_MAX_DEPTH || put(b, "[", 1) < 0)
            return -1;
        size_t n = json_array_size(j);
        for (size_t i = 0; i < n; i++)
            if ((i > 0 && put(b, ",", 1) < 0) || write_value(b, json_array_get(j, i), depth + 1) < 0)
                return -1;
        return put(b, "]", 1);
    }
    case JSON_STRING:
        return write_string(b, json_string_value(j), json_string_length(j));
    case JSON_INTEGER:
        return write_integer(b, json_integer_value(j));
    case JSON_REAL:
        return write_real(b, json_real_value(j));
    case JSON_TRUE:
        return put(b, "true", 4);
    case JSON_FALSE:
        return put(b, "false", 5);
    case JSON_NULL:
        return put(b, "null", 4);
    }
    return -1;
}

int json_write(struct buf *b, const json_t *j)
{
    return write_value(b, j, 0);
}

/* --- streaming --- */

void json_out_init(struct json_out *o, struct buf *b)
{
    o->b = b;
    o->depth = o->failed = o->done = 0;
}

/* Before a value: the comma and key it needs. 0, or -1 (remembered) on misuse or a full buffer. */
static int member(struct json_out *o, const char *key)
{
    if (o->failed || o->done)
        return o->failed = -1;
    if (o->depth == 0) {
        if (key)
            return o->failed = -1;
        return 0;
    }
    int level = o->depth - 1;
    if ((key != NULL) != o->in_object[level])
        return o->failed = -1;
    if (o->has_members[level] && put(o->b, ",", 1) < 0)
        return o->failed = -1;
    o->has_members[level] = 1;
    if (key && (write_string(o->b, key, strlen(key)) < 0 || put(o->b, ":", 1) < 0))
        return o->failed = -1;
    return 0;
}

/* After a value: at the top, the document is complete. */
static void ended(struct json_out *o, int rc)
{
    if (rc < 0)
        o->failed = -1;
    else if (o->depth == 0)
        o->done = 1;
}

static void open_level(struct json_out *o, const char *key, int object)
{
    if (member(o, key) < 0)
        return;
    if (o->depth >= JSON_OUT_DEPTH || put(o->b, object ? "{" : "[", 1) < 0) {
        o->failed = -1;
        return;
    }
    o->in_object[o->depth] = (unsigned char)object;
    o->has_members[o->depth] = 0;
    o->depth++;
}

void json_out_open_object(struct json_out *o, const char *key)
{
    open_level(o, key, 1);
}

void json_out_open_array(struct json_out *o, const char *key)
{
    open_level(o, key, 0);
}

void json_out_close(struct json_out *o)
{
    if (o->failed || o->depth == 0) {
        o->failed = -1;
        return;
    }
    o->depth--;
    ended(o, put(o->b, o->in_object[o->depth] ? "}" : "]", 1));
}

void json_out_string(struct json_out *o, const char *key, const char *s)
{
    if (member(o, key) == 0)
        ended(o, s ? write_string(o->b, s, strlen(s)) : put(o->b, "null", 4));
}

void json_out_int(struct json_out *o, const char *key, long long v)
{
    if (member(o, key) == 0)
        ended(o, write_integer(o->b, (json_int_t)v));
}

void json_out_bool(struct json_out *o, const char *key, int v)
{
    if (member(o, key) == 0)
        ended(o, v ? put(o->b, "true", 4) : put(o->b, "false", 5));
}

void json_out_null(struct json_out *o, const char *key)
{
    if (member(o, key) == 0)
        ended(o, put(o->b, "null", 4));
}

void json_out_value(struct json_out *o, const char *key, const json_t *v)
{
    if (member(o, key) == 0)
        ended(o, write_value(o->b, v, o->depth));
}

int json_out_end(const struct json_out *o)
{
    return o->failed || !o->done ? -1 : 0;
}
