/* present.h - the JSON shapes of the API: money as "43200.00" strings plus currency, times as ISO 8601
 * UTC, guest data masked on public views. Every function returns a new reference. */
#ifndef CABANAS_PRESENT_H
#define CABANAS_PRESENT_H

#include "domain/booking.h"
#include "domain/pricing.h"

#include "core/json_write.h"

#include <jansson.h>

json_t *present_money(int64_t cents);
/* "2026-12-01T20:35:00Z", or JSON null for 0 */
json_t *present_time(long long unix_seconds);
/* admin adds inactive-only fields (active, timestamps) — the public view omits them */
json_t *present_accommodation(const struct accommodation *a, int admin);
/* The quote as member `key` (NULL inside an array) of a streamed answer: {"nights","weekend_nights",
 * "total_price","deposit_amount","deposit_percent","currency","nightly":[{"date","price","weekend"}]}. */
void present_quote_out(struct json_out *o, const char *key, const struct pricing_quote *q,
                       const char *currency);
/* public: masked name/phone, no email; admin: everything */
json_t *present_reservation(const struct reservation *r, long long now, int admin);
json_t *present_block(const struct block *b);

#endif
