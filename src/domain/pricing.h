/* pricing.h - the price of a stay: nightly prices, weekend surcharge, total and deposit.
 *
 * A stay [check_in, check_out) has one night per date from check_in up to, not including, check_out; a
 * night is named by the date it starts on. A night whose weekday is in weekend_nights_mask is a weekend
 * night and costs base x weekend multiplier; every other night costs base.
 *
 * Rounding (a product decision, shown to guests as-is):
 *   - each weekend night's price is rounded to the centavo individually, halves away from zero
 *     (100.02 x 1.25 = 125.025 -> 125.03), so the nightly list always sums exactly to the total;
 *   - total = the sum of the nightly prices (two such nights are 250.06, not round(250.05));
 *   - deposit = total x deposit_percent / 100, rounded to the centavo, halves away from zero
 *     (100.01 at 30% = 30.003 -> 30.00; 0.05 at 30% = 0.015 -> 0.02).
 *
 * A total above MONEY_MAX_CENTS is refused, so every amount a quote holds is a valid amount.
 *
 * Pure and thread-safe. struct pricing_quote is about 12 KB: fine on a request thread's stack, but do
 * not keep arrays of them. */
#ifndef CABANAS_PRICING_H
#define CABANAS_PRICING_H

#include <stddef.h>
#include <stdint.h>

#include "domain/dates.h"

#define PRICING_MAX_NIGHTS 366

/* Bit w = a night starting on weekday w (0 = Sunday .. 6 = Saturday). */
#define PRICING_NIGHT_BIT(w) (1u << (w))
#define PRICING_ALL_NIGHTS 0x7fu
#define PRICING_DEFAULT_WEEKEND_NIGHTS (PRICING_NIGHT_BIT(5) | PRICING_NIGHT_BIT(6)) /* Fri + Sat */
/* Longest pricing_format_weekend_nights() output, "sun,mon,tue,wed,thu,fri,sat", plus the NUL. */
#define PRICING_WEEKEND_NIGHTS_LEN 28

struct pricing_rules {
    int64_t base_cents;           /* price of a weekday night, 0..MONEY_MAX_CENTS */
    int weekend_multiplier_bp;    /* 1/10000 units: 12000 = x1.20; MONEY_MULTIPLIER_MIN_BP..MAX_BP */
    unsigned weekend_nights_mask; /* PRICING_NIGHT_BIT(w) set = nights starting on weekday w are weekend */
    int deposit_percent;          /* 0..100 */
};

struct pricing_night {
    struct date date; /* the night starting on this date */
    int64_t price_cents;
    int weekend; /* 1 if priced with the weekend multiplier */
};

struct pricing_quote {
    int nights;
    int weekend_nights;
    int64_t total_cents;
    int64_t deposit_cents;
    int deposit_percent;
    struct pricing_night nightly[PRICING_MAX_NIGHTS]; /* the first `nights` entries, in date order */
};

/* Prices the stay [check_in, check_out) under `r`. Returns 0, or -1 when check_out <= check_in, the stay
 * is longer than PRICING_MAX_NIGHTS, a date is not valid (dates_valid()), a rule is out of its range
 * or the total would pass MONEY_MAX_CENTS; on -1 *out is untouched. The caller owns *out. */
int pricing_quote(const struct pricing_rules *r, struct date check_in, struct date check_out,
                  struct pricing_quote *out);

/* Parses a comma-separated list of weekdays into a mask. Each item, ASCII case-insensitive and with
 * spaces or tabs around it allowed, is a number 0..6 (0 = Sunday), an English name or its 3-letter
 * abbreviation ("fri", "friday"), or a Spanish name or its 3-letter abbreviation with or without the
 * accent ("vie", "viernes", "sab", "sábado", "sabado", "mié", "miércoles"; á and é are read as a and e
 * wherever they appear). Repeats are allowed. The empty string and "none" mean no weekend nights (mask 0).
 * Returns 0, or -1 for an empty item or an unknown name (then *mask is untouched). */
int pricing_parse_weekend_nights(const char *csv, unsigned *mask);

/* Writes the mask as English abbreviations in weekday order from Sunday: "fri,sat", "sun,sat"; "" for 0.
 * Truncates to fit `len` (PRICING_WEEKEND_NIGHTS_LEN always fits), always NUL-terminated if len > 0. */
void pricing_format_weekend_nights(unsigned mask, char *out, size_t len);

#endif
