/* money.h - amounts as integer centavos and multipliers as integer basis points.
 *
 * Money is an int64_t count of centavos (ARS 43200.50 -> 4320050); amounts never pass through binary
 * floating point. Accepted amounts are 0..MONEY_MAX_CENTS (negative amounts are refused: prices,
 * totals and deposits are >= 0). Multipliers (the weekend surcharge) are an int in 1/10000 units
 * (1.20 -> 12000), MONEY_MULTIPLIER_MIN_BP..MONEY_MULTIPLIER_MAX_BP (0.0001..10.0000).
 *
 * Textual grammar, shared by amounts and multipliers: one or more ASCII digits with no superfluous
 * leading zero ("0" and "0.5" are fine, "007" is not, as in JSON), then optionally '.' and at least one
 * digit: at most 2 decimals for amounts, 4 for multipliers ("1.200" is refused as an amount even though
 * the extra digit is a zero). No sign, no exponent, no spaces, no thousands separator, no ','.
 *
 * All functions are pure and thread-safe. */
#ifndef CABANAS_MONEY_H
#define CABANAS_MONEY_H

#include <stdint.h>

#include <jansson.h>

#define MONEY_MAX_CENTS 10000000000000LL /* 1e13 centavos = ARS 100,000,000,000.00 */
#define MONEY_FORMAT_LEN 32

#define MONEY_BP_ONE 10000 /* multiplier 1.0000 */
#define MONEY_MULTIPLIER_MIN_BP 1
#define MONEY_MULTIPLIER_MAX_BP 100000
#define MONEY_MULTIPLIER_FORMAT_LEN 16

/* Parses a decimal amount ("43200", "43200.5", "43200.50") into centavos. Returns 0, or -1 for anything
 * outside the grammar above or above MONEY_MAX_CENTS (then *cents is untouched). */
int money_parse(const char *s, int64_t *cents);

/* An amount from a JSON value: a string (as money_parse), an integer (whole pesos: 43200 -> 4320000), or a
 * real. A real is printed with "%.15g" and that text goes through money_parse, so 43200.5 is accepted and
 * 0.001 or 1e20 are refused. Every decimal of at most 15 significant digits survives the trip through a
 * double and "%.15g" unchanged, and every valid amount has at most 13, so a number the client wrote with
 * at most 2 decimals is read exactly. (A client literal with more than 15 significant digits, such as
 * 1.0000000000000001, is already 1 as a double and is read as 1.00.) "%.15g" follows LC_NUMERIC: the
 * process must keep the "C" numeric locale (it never calls setlocale). Request bodies are loaded with
 * jansson's default flags (no JSON_DECODE_INT_AS_REAL), so 43200 arrives as an integer. Anything else
 * (null, bool, negative, strings with an embedded NUL) returns -1. */
int money_parse_json(const json_t *v, int64_t *cents);

/* Writes "43200.00": always two decimals, no thousands separator, '-' for negative values. */
void money_format(int64_t cents, char out[MONEY_FORMAT_LEN]);

/* Writes an amount as guests read it in Argentina: "$ 43.200,00" (dots group thousands, a comma before
 * the centavos; the currency code instead of "$" for anything but ARS). short_whole: "$ 43.200" when
 * there are no centavos (chat messages). */
void money_format_local(int64_t cents, const char *currency, int short_whole, char *out, size_t outlen);

/* Parses a multiplier ("1", "1.2", "1.20", "1.25", "1.0005") into basis points (1.20 -> 12000), at most
 * 4 decimals, range 0.0001..10.0000. Returns 0 or -1 (then *bp is untouched). */
int money_parse_multiplier(const char *s, int *bp);

/* A multiplier from a JSON value: a string (as money_parse_multiplier), an integer 1..10, or a real
 * (printed with "%.15g" and parsed as text, as money_parse_json does). Returns 0 or -1. */
int money_parse_multiplier_json(const json_t *v, int *bp);

/* Writes the multiplier with at least two decimals and no trailing zeros past them:
 * 10000 -> "1.00", 12000 -> "1.20", 12500 -> "1.25", 10050 -> "1.005", 10005 -> "1.0005". */
void money_format_multiplier(int bp, char out[MONEY_MULTIPLIER_FORMAT_LEN]);

/* round(cents * num / den), halves rounded away from zero (0.5 -> 1, -0.5 -> -1), computed exactly in
 * 128-bit arithmetic. den must not be 0 (a programming error: aborts). A result outside int64_t
 * saturates at INT64_MIN / INT64_MAX; callers that bound their inputs (amounts <= MONEY_MAX_CENTS,
 * multipliers <= MONEY_MULTIPLIER_MAX_BP) never get there. */
int64_t money_mul_round(int64_t cents, int64_t num, int64_t den);

#endif
