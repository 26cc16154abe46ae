/* pricing.c - stay quotes and weekend-night lists. See pricing.h.
 *
 * Invariants of a successful quote: nightly[i].date == check_in + i for i < nights; every nightly price
 * is base or round_half_away(base x multiplier); total == the sum of the nightly prices (so a guest who
 * adds up the list gets the total); deposit == round_half_away(total x percent / 100) <= total; total <=
 * MONEY_MAX_CENTS, so every amount of a quote can be read back by money_parse(). With rules in range no
 * intermediate value comes near int64 limits. */
#include "pricing.h"

#include <stdio.h>
#include <string.h>

#include "domain/money.h"

static int rules_valid(const struct pricing_rules *r)
{
    return r->base_cents >= 0 && r->base_cents <= MONEY_MAX_CENTS &&
           r->weekend_multiplier_bp >= MONEY_MULTIPLIER_MIN_BP &&
           r->weekend_multiplier_bp <= MONEY_MULTIPLIER_MAX_BP &&
           (r->weekend_nights_mask & ~PRICING_ALL_NIGHTS) == 0 && r->deposit_percent >= 0 &&
           r->deposit_percent <= 100;
}

int pricing_quote(const struct pricing_rules *r, struct date check_in, struct date check_out,
                  struct pricing_quote *out)
{
    long nights, day;
    int first_wd, weekend_count = 0;
    int64_t weekend_price, total;

    if (!r || !out || !rules_valid(r) || !dates_valid(check_in) || !dates_valid(check_out))
        return -1;
    nights = dates_diff_days(check_in, check_out);
    if (nights <= 0 || nights > PRICING_MAX_NIGHTS)
        return -1;

    /* The total first, so a refused quote leaves *out untouched. No overflow: at most 366 nights of at
     * most MONEY_MAX_CENTS x 10 each, about 3.7e16. */
    weekend_price = money_mul_round(r->base_cents, r->weekend_multiplier_bp, MONEY_BP_ONE);
    first_wd = dates_weekday(check_in);
    for (long i = 0; i < nights; i++)
        weekend_count += (r->weekend_nights_mask & PRICING_NIGHT_BIT((first_wd + i) % 7)) != 0;
    total = weekend_count * weekend_price + (nights - weekend_count) * r->base_cents;
    if (total > MONEY_MAX_CENTS)
        return -1;

    /* no memset of the whole ~12 KB struct: the fields and the first `nights` entries are all set */
    day = dates_to_days(check_in);
    for (long i = 0; i < nights; i++) {
        struct pricing_night *n = &out->nightly[i];
        n->date = dates_from_days(day + i);
        n->weekend = (r->weekend_nights_mask & PRICING_NIGHT_BIT((first_wd + i) % 7)) != 0;
        n->price_cents = n->weekend ? weekend_price : r->base_cents;
    }
    out->nights = (int)nights;
    out->weekend_nights = weekend_count;
    out->total_cents = total;
    out->deposit_percent = r->deposit_percent;
    out->deposit_cents = money_mul_round(total, r->deposit_percent, 100);
    return 0;
}

struct day_name {
    const char *name;
    int weekday;
};

/* Names after normalize(): ASCII lower case, accents removed. */
static const struct day_name day_names[] = {
    {"sun", 0}, {"sunday", 0},    {"dom", 0}, {"domingo", 0},   {"mon", 1}, {"monday", 1},
    {"lun", 1}, {"lunes", 1},     {"tue", 2}, {"tuesday", 2},   {"mar", 2}, {"martes", 2},
    {"wed", 3}, {"wednesday", 3}, {"mie", 3}, {"miercoles", 3}, {"thu", 4}, {"thursday", 4},
    {"jue", 4}, {"jueves", 4},    {"fri", 5}, {"friday", 5},    {"vie", 5}, {"viernes", 5},
    {"sat", 6}, {"saturday", 6},  {"sab", 6}, {"sabado", 6},
};

static const char *const day_abbrev[7] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

/* Copies s[0..n) into out (size outlen) in ASCII lower case, with the UTF-8 a/e acute accents of the
 * Spanish day names (á Á é É) folded to plain a/e. Returns 0, or -1 if it does not fit. */
static int normalize(const char *s, size_t n, char *out, size_t outlen)
{
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (j + 1 >= outlen)
            return -1;
        if (c == 0xc3 && i + 1 < n) {
            unsigned char c2 = (unsigned char)s[i + 1];
            if (c2 == 0xa1 || c2 == 0x81) { /* á Á */
                out[j++] = 'a';
                i++;
                continue;
            }
            if (c2 == 0xa9 || c2 == 0x89) { /* é É */
                out[j++] = 'e';
                i++;
                continue;
            }
        }
        out[j++] = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    }
    out[j] = '\0';
    return 0;
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* The weekday of one item (already trimmed), or -1. */
static int parse_day(const char *s, size_t n)
{
    char word[16];
    if (n == 1 && s[0] >= '0' && s[0] <= '6')
        return s[0] - '0';
    if (normalize(s, n, word, sizeof word) < 0)
        return -1;
    for (size_t i = 0; i < sizeof day_names / sizeof day_names[0]; i++)
        if (strcmp(word, day_names[i].name) == 0)
            return day_names[i].weekday;
    return -1;
}

int pricing_parse_weekend_nights(const char *csv, unsigned *mask)
{
    unsigned m = 0;
    const char *p = csv;
    char word[8];

    if (!csv)
        return -1;
    while (is_blank(*p))
        p++;
    if (*p == '\0') {
        *mask = 0;
        return 0;
    }
    if (normalize(p, strlen(p), word, sizeof word) == 0) {
        size_t n = strlen(word);
        while (n > 0 && is_blank(word[n - 1]))
            word[--n] = '\0';
        if (strcmp(word, "none") == 0) {
            *mask = 0;
            return 0;
        }
    }
    for (;;) {
        const char *start, *end;
        int wd;
        while (is_blank(*p))
            p++;
        start = p;
        while (*p && *p != ',')
            p++;
        end = p;
        while (end > start && is_blank(end[-1]))
            end--;
        wd = parse_day(start, (size_t)(end - start));
        if (wd < 0)
            return -1;
        m |= PRICING_NIGHT_BIT(wd);
        if (*p == '\0')
            break;
        p++; /* the ',' */
    }
    *mask = m;
    return 0;
}

void pricing_format_weekend_nights(unsigned mask, char *out, size_t len)
{
    size_t used = 0;
    if (len == 0)
        return;
    out[0] = '\0';
    for (int w = 0; w < 7; w++) {
        int n;
        if (!(mask & PRICING_NIGHT_BIT(w)))
            continue;
        n = snprintf(out + used, len - used, "%s%s", used ? "," : "", day_abbrev[w]);
        if (n < 0 || (size_t)n >= len - used)
            return; /* truncated; snprintf left it NUL-terminated */
        used += (size_t)n;
    }
}
