/* mp_payment.c - MercadoPago resources and amounts without floating point. See mp_payment.h.
 *
 * The raw-member scanner walks the JSON text once with a depth counter; it only has to find where a
 * top-level value starts and ends, and jansson has already validated the same text (the caller parses
 * it with jansson first), so the scanner refuses anything it does not understand instead of guessing. */
#include "mp_payment.h"

#include "domain/money.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define AMOUNT_TEXT_MAX 64
#define MAX_DEPTH 64

int mp_amount_parse(const char *text, size_t len, int64_t *cents)
{
    char digits[AMOUNT_TEXT_MAX];
    size_t nd = 0, i = 0;
    int nfrac = 0, exp = 0;
    if (!text || len == 0 || len > AMOUNT_TEXT_MAX)
        return -1;
    if (len >= 2 && text[0] == '"' && text[len - 1] == '"') {
        text++;
        len -= 2;
        if (len == 0)
            return -1;
    }
    if (text[0] < '0' || text[0] > '9')
        return -1; /* no sign (a negative amount is refused), no spaces */
    if (text[0] == '0' && len > 1 && text[1] >= '0' && text[1] <= '9')
        return -1; /* JSON: no leading zeros */
    for (; i < len && text[i] >= '0' && text[i] <= '9'; i++)
        digits[nd++] = text[i];
    if (i < len && text[i] == '.') {
        i++;
        size_t start = i;
        for (; i < len && text[i] >= '0' && text[i] <= '9'; i++) {
            digits[nd++] = text[i];
            nfrac++;
        }
        if (i == start)
            return -1;
    }
    if (i < len && (text[i] == 'e' || text[i] == 'E')) {
        int sign = 1, nexp = 0;
        i++;
        if (i < len && (text[i] == '+' || text[i] == '-'))
            sign = text[i++] == '-' ? -1 : 1;
        for (; i < len && text[i] >= '0' && text[i] <= '9'; i++) {
            if (++nexp > 3)
                return -1;
            exp = exp * 10 + (text[i] - '0');
        }
        if (nexp == 0)
            return -1;
        exp *= sign;
    }
    if (i != len)
        return -1;
    /* value = digits * 10^(exp - nfrac); cents = floor(value * 100) = digits * 10^k */
    int k = exp - nfrac + 2;
    long keep = (long)nd + k; /* how many leading digits make up the whole centavos */
    int64_t v = 0;
    for (long j = 0; j < keep; j++) {
        int d = j < (long)nd ? digits[j] - '0' : 0;
        if (v > (MONEY_MAX_CENTS - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *cents = v;
    return 0;
}

/* --- a minimal JSON scanner: positions only; the text was validated by jansson --- */

static size_t skip_ws(const char *s, size_t len, size_t i)
{
    while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
        i++;
    return i;
}

/* s[i] == '"': returns the index after the closing quote, or len on error. */
static size_t skip_string(const char *s, size_t len, size_t i)
{
    for (i++; i < len; i++) {
        if (s[i] == '\\') {
            i++;
            continue;
        }
        if (s[i] == '"')
            return i + 1;
    }
    return len;
}

/* Skips one value starting at s[i]; returns the index after it, or len on error. */
static size_t skip_value(const char *s, size_t len, size_t i)
{
    int depth = 0;
    if (i >= len)
        return len;
    if (s[i] == '"')
        return skip_string(s, len, i);
    if (s[i] != '{' && s[i] != '[') {
        while (i < len && s[i] != ',' && s[i] != '}' && s[i] != ']' && s[i] != ' ' && s[i] != '\t' &&
               s[i] != '\n' && s[i] != '\r')
            i++;
        return i;
    }
    for (; i < len; i++) {
        char c = s[i];
        if (c == '"') {
            i = skip_string(s, len, i) - 1;
            if (i + 1 >= len)
                return len;
        } else if (c == '{' || c == '[') {
            if (++depth > MAX_DEPTH)
                return len;
        } else if (c == '}' || c == ']') {
            if (--depth == 0)
                return i + 1;
        }
    }
    return len;
}

/* Compares the JSON string token s[start..end) (quotes included) with key, decoding \" \\ \/ only. */
static int key_equals(const char *s, size_t start, size_t end, const char *key)
{
    size_t k = 0, klen = strlen(key);
    for (size_t i = start + 1; i + 1 < end; i++) {
        char c = s[i];
        if (c == '\\') {
            i++;
            if (i + 1 >= end)
                return 0;
            c = s[i];
            if (c != '"' && c != '\\' && c != '/')
                return 0; /* \uXXXX and friends: not one of our keys */
        }
        if (k >= klen || key[k] != c)
            return 0;
        k++;
    }
    return k == klen;
}

int mp_json_raw_member(const char *json, size_t len, const char *key, const char **val, size_t *vlen)
{
    size_t i = skip_ws(json, len, 0);
    if (i >= len || json[i] != '{')
        return -1;
    i = skip_ws(json, len, i + 1);
    if (i < len && json[i] == '}')
        return -1;
    while (i < len) {
        if (json[i] != '"')
            return -1;
        size_t kend = skip_string(json, len, i);
        if (kend >= len)
            return -1;
        int match = key_equals(json, i, kend, key);
        i = skip_ws(json, len, kend);
        if (i >= len || json[i] != ':')
            return -1;
        i = skip_ws(json, len, i + 1);
        size_t vend = skip_value(json, len, i);
        if (vend >= len || vend == i)
            return -1;
        if (match) {
            *val = json + i;
            *vlen = vend - i;
            return 0;
        }
        i = skip_ws(json, len, vend);
        if (i >= len)
            return -1;
        if (json[i] == '}')
            return -1;
        if (json[i] != ',')
            return -1;
        i = skip_ws(json, len, i + 1);
    }
    return -1;
}

/* --- resources --- */

static int fail(char *err, size_t errlen, const char *what)
{
    snprintf(err, errlen, "%s", what);
    return -1;
}

/* A string (or, for ids, an integer) member copied into dst; "" when absent or null. -1 when it has
 * another type or does not fit. */
static int member_text(const json_t *o, const char *name, int allow_int, char *dst, size_t dstlen)
{
    const json_t *v = json_object_get(o, name);
    dst[0] = '\0';
    if (!v || json_is_null(v))
        return 0;
    if (json_is_string(v)) {
        if (json_string_length(v) >= dstlen || strlen(json_string_value(v)) != json_string_length(v))
            return -1;
        memcpy(dst, json_string_value(v), json_string_length(v) + 1);
        return 0;
    }
    if (allow_int && json_is_integer(v) && json_integer_value(v) >= 0) {
        int n = snprintf(dst, dstlen, "%lld", (long long)json_integer_value(v));
        return n > 0 && (size_t)n < dstlen ? 0 : -1;
    }
    return -1;
}

int mp_payment_parse(const char *body, size_t len, struct mp_payment *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (!body || len == 0)
        return fail(err, errlen, "empty body");
    json_error_t jerr;
    json_t *o = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    int rc = -1;
    if (!o || !json_is_object(o)) {
        fail(err, errlen, "not a JSON object");
        goto out;
    }
    if (member_text(o, "id", 1, out->id, sizeof out->id) < 0 || !mp_id_valid(out->id)) {
        fail(err, errlen, "id: missing or not a payment id");
        goto out;
    }
    if (member_text(o, "status", 0, out->status, sizeof out->status) < 0 || !out->status[0]) {
        fail(err, errlen, "status: missing or not a short string");
        goto out;
    }
    if (member_text(o, "status_detail", 0, out->status_detail, sizeof out->status_detail) < 0)
        out->status_detail[0] = '\0'; /* informational only: an odd value is not worth refusing the payment */
    if (member_text(o, "external_reference", 1, out->external_reference, sizeof out->external_reference) <
        0) {
        fail(err, errlen, "external_reference: not a short string");
        goto out;
    }
    if (member_text(o, "currency_id", 0, out->currency, sizeof out->currency) < 0) {
        fail(err, errlen, "currency_id: not a currency code");
        goto out;
    }
    const json_t *amount = json_object_get(o, "transaction_amount");
    if (amount && !json_is_null(amount)) {
        const char *raw;
        size_t rawlen;
        if (!(json_is_number(amount) || json_is_string(amount)) ||
            mp_json_raw_member(body, len, "transaction_amount", &raw, &rawlen) < 0 ||
            mp_amount_parse(raw, rawlen, &out->amount_cents) < 0) {
            fail(err, errlen, "transaction_amount: not a non-negative decimal amount");
            goto out;
        }
        size_t n = rawlen < sizeof out->amount_text ? rawlen : sizeof out->amount_text - 1;
        memcpy(out->amount_text, raw, n);
        out->amount_text[n] = '\0';
        out->has_amount = 1;
    }
    rc = 0;
out:
    json_decref(o);
    return rc;
}

static int url_ok(const char *u)
{
    return strncasecmp(u, "https://", 8) == 0 || strncasecmp(u, "http://", 7) == 0;
}

int mp_preference_parse(const char *body, size_t len, struct mp_preference *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (!body || len == 0)
        return fail(err, errlen, "empty body");
    json_t *o = json_loadb(body, len, 0, NULL);
    int rc = -1;
    if (!o || !json_is_object(o)) {
        fail(err, errlen, "not a JSON object");
        goto out;
    }
    if (member_text(o, "id", 1, out->id, sizeof out->id) < 0 || !out->id[0]) {
        fail(err, errlen, "id: missing");
        goto out;
    }
    if (member_text(o, "init_point", 0, out->init_point, sizeof out->init_point) < 0 || !out->init_point[0] ||
        !url_ok(out->init_point)) {
        fail(err, errlen, "init_point: missing or not an http(s) URL");
        goto out;
    }
    if (member_text(o, "sandbox_init_point", 0, out->sandbox_init_point, sizeof out->sandbox_init_point) <
            0 ||
        (out->sandbox_init_point[0] && !url_ok(out->sandbox_init_point)))
        out->sandbox_init_point[0] = '\0';
    rc = 0;
out:
    json_decref(o);
    return rc;
}

int mp_id_valid(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > MP_ID_MAX)
        return 0;
    return strspn(s, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_-") == n;
}

int mp_status_rank(const char *status)
{
    static const struct {
        const char *name;
        int rank;
    } ranks[] = {{"pending", 1},      {"in_process", 1}, {"authorized", 1},
                 {"rejected", 2},     {"cancelled", 2},  {"approved", 3},
                 {"in_mediation", 3}, {"refunded", 4},   {"charged_back", 4}};
    for (size_t i = 0; i < sizeof ranks / sizeof *ranks; i++)
        if (strcmp(status, ranks[i].name) == 0)
            return ranks[i].rank;
    return 1;
}

int mp_status_reversal(const char *status)
{
    return strcmp(status, "refunded") == 0 || strcmp(status, "charged_back") == 0;
}
