/* money.c - fixed-point parsing, formatting and rounding of amounts and multipliers. See money.h.
 *
 * Everything is integer arithmetic: amounts are centavos (scale 10^2), multipliers basis points
 * (scale 10^4). Parsing refuses rather than rounds: a value with more decimals than the scale holds is
 * an error, never silently truncated. JSON reals are converted to text once ("%.15g") and parsed like
 * strings, so no binary floating point value is ever multiplied or rounded here. */
#include "money.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

__extension__ typedef __int128 i128;

/* Parses the shared grammar into an integer scaled by 10^decimals, at most `max`. The digit count is
 * bounded before accumulating, so a long string can never overflow. */
static int parse_fixed(const char *s, int decimals, int64_t max, int64_t *out)
{
    int64_t whole = 0, frac = 0, scale = 1, value;
    int ndigits = 0, nfrac = 0;
    const char *p = s;

    if (!s)
        return -1;
    for (int i = 0; i < decimals; i++)
        scale *= 10;
    if (p[0] == '0' && p[1] >= '0' && p[1] <= '9')
        return -1; /* superfluous leading zero */
    for (; *p >= '0' && *p <= '9'; p++) {
        if (++ndigits > 18)
            return -1; /* more than any valid value has; also keeps `whole` far from overflow */
        whole = whole * 10 + (*p - '0');
    }
    if (ndigits == 0)
        return -1;
    if (*p == '.') {
        p++;
        for (; *p >= '0' && *p <= '9'; p++) {
            if (++nfrac > decimals)
                return -1;
            frac = frac * 10 + (*p - '0');
        }
        if (nfrac == 0)
            return -1; /* "5." */
    }
    if (*p != '\0')
        return -1;
    if (whole > max / scale)
        return -1;
    for (int i = nfrac; i < decimals; i++)
        frac *= 10;
    value = whole * scale + frac;
    if (value > max)
        return -1;
    *out = value;
    return 0;
}

int money_parse(const char *s, int64_t *cents)
{
    return parse_fixed(s, 2, MONEY_MAX_CENTS, cents);
}

int money_parse_multiplier(const char *s, int *bp)
{
    int64_t v;
    if (parse_fixed(s, 4, MONEY_MULTIPLIER_MAX_BP, &v) < 0 || v < MONEY_MULTIPLIER_MIN_BP)
        return -1;
    *bp = (int)v;
    return 0;
}

/* The text of a JSON string or real for parse_fixed, or NULL for anything else. For an integer, *is_int is
 * set and *ival holds it. */
static const char *json_number_text(const json_t *v, char *buf, size_t len, int *is_int, json_int_t *ival)
{
    *is_int = 0;
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        if (strlen(s) != json_string_length(v))
            return NULL; /* embedded NUL: "1\u00002" must not read as "1" */
        return s;
    }
    if (json_is_integer(v)) {
        *is_int = 1;
        *ival = json_integer_value(v);
        return NULL;
    }
    if (json_is_real(v)) {
        double x = json_real_value(v);
        int n;
        if (!isfinite(x))
            return NULL;
        n = snprintf(buf, len, "%.15g", x);
        if (n < 0 || (size_t)n >= len)
            return NULL;
        return buf;
    }
    return NULL;
}

int money_parse_json(const json_t *v, int64_t *cents)
{
    char buf[64];
    int is_int;
    json_int_t i = 0;
    const char *s = json_number_text(v, buf, sizeof buf, &is_int, &i);
    if (is_int) {
        if (i < 0 || i > MONEY_MAX_CENTS / 100)
            return -1;
        *cents = (int64_t)i * 100;
        return 0;
    }
    if (!s)
        return -1;
    return money_parse(s, cents);
}

int money_parse_multiplier_json(const json_t *v, int *bp)
{
    char buf[64];
    int is_int;
    json_int_t i = 0;
    const char *s = json_number_text(v, buf, sizeof buf, &is_int, &i);
    if (is_int) {
        if (i < 1 || i > MONEY_MULTIPLIER_MAX_BP / MONEY_BP_ONE)
            return -1;
        *bp = (int)i * MONEY_BP_ONE;
        return 0;
    }
    if (!s)
        return -1;
    return money_parse_multiplier(s, bp);
}

void money_format(int64_t cents, char out[MONEY_FORMAT_LEN])
{
    /* The magnitude as unsigned, so INT64_MIN needs no special case. */
    unsigned long long mag = cents < 0 ? 0ULL - (unsigned long long)cents : (unsigned long long)cents;
    snprintf(out, MONEY_FORMAT_LEN, "%s%llu.%02llu", cents < 0 ? "-" : "", mag / 100, mag % 100);
}

void money_format_local(int64_t cents, const char *currency, int short_whole, char *out, size_t outlen)
{
    unsigned long long mag = cents < 0 ? 0ULL - (unsigned long long)cents : (unsigned long long)cents;
    char digits[32], grouped[48];
    int n = snprintf(digits, sizeof digits, "%llu", mag / 100);
    size_t k = 0;
    for (int i = 0; i < n; i++) {
        if (i > 0 && (n - i) % 3 == 0)
            grouped[k++] = '.';
        grouped[k++] = digits[i];
    }
    grouped[k] = '\0';
    const char *symbol = !currency || !*currency || strcmp(currency, "ARS") == 0 ? "$" : currency;
    const char *sign = cents < 0 ? "-" : "";
    if (short_whole && mag % 100 == 0)
        snprintf(out, outlen, "%s%s %s", sign, symbol, grouped);
    else
        snprintf(out, outlen, "%s%s %s,%02llu", sign, symbol, grouped, mag % 100);
}

void money_format_multiplier(int bp, char out[MONEY_MULTIPLIER_FORMAT_LEN])
{
    unsigned mag = bp < 0 ? 0U - (unsigned)bp : (unsigned)bp;
    int n = snprintf(out, MONEY_MULTIPLIER_FORMAT_LEN, "%s%u.%04u", bp < 0 ? "-" : "", mag / MONEY_BP_ONE,
                     mag % MONEY_BP_ONE);
    /* Trim trailing zeros of the 4 decimals, keeping at least 2. n <= 12: the buffer always fits. */
    for (int i = 0; i < 2 && n > 0 && out[n - 1] == '0'; i++)
        out[--n] = '\0';
}

int64_t money_mul_round(int64_t cents, int64_t num, int64_t den)
{
    i128 p, q, r, absr, absden;
    int negative;
    if (den == 0)
        abort();
    /* |cents * num| <= 2^126 and |den| <= 2^63: no step below can overflow 128 bits. */
    p = (i128)cents * num;
    q = p / den; /* truncates toward zero */
    r = p % den; /* same sign as p */
    absr = r < 0 ? -r : r;
    absden = den < 0 ? -(i128)den : (i128)den;
    negative = (p < 0) != (den < 0);
    if (2 * absr >= absden)
        q += negative ? -1 : 1;
    if (q > INT64_MAX)
        return INT64_MAX;
    if (q < INT64_MIN)
        return INT64_MIN;
    return (int64_t)q;
}
