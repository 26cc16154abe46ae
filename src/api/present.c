/* present.c - JSON views of the booking types. See present.h. */
#include "present.h"

#include "booking/service.h"
#include "domain/money.h"
#include "ical/ical_export.h"

#include <string.h>

#include <stdio.h>
#include <time.h>

json_t *present_money(int64_t cents)
{
    char buf[MONEY_FORMAT_LEN];
    money_format(cents, buf);
    return json_string(buf);
}

json_t *present_time(long long t)
{
    if (t <= 0)
        return json_null();
    struct tm tm;
    time_t tt = (time_t)t;
    char buf[32];
    gmtime_r(&tt, &tm);
    strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return json_string(buf);
}

/* Stored JSON text back to JSON (it was validated on the way in); `fallback` if it does not parse. */
static json_t *stored_json(const char *text, json_t *fallback)
{
    json_t *j = json_loads(text, 0, NULL);
    if (!j)
        return fallback;
    json_decref(fallback);
    return j;
}

json_t *present_accommodation(const struct accommodation *a, int admin)
{
    char mult[MONEY_MULTIPLIER_FORMAT_LEN], nights[PRICING_WEEKEND_NIGHTS_LEN];
    money_format_multiplier(a->weekend_multiplier_bp, mult);
    pricing_format_weekend_nights(a->weekend_mask, nights, sizeof nights);
    json_t *j = json_pack("{s:I, s:s, s:s, s:i, s:o, s:s, s:s, s:i, s:i, s:s, s:s, s:s}", "id",
                          (json_int_t)a->id, "name", a->name, "type", a->type, "capacity", a->capacity,
                          "base_price", present_money(a->base_cents), "weekend_multiplier", mult,
                          "weekend_nights", nights, "min_nights", a->min_nights, "max_nights", a->max_nights,
                          "currency", a->currency, "description", a->description, "location", a->location);
    json_object_set_new(j, "amenities", stored_json(a->amenities, json_array()));
    json_object_set_new(j, "photos", stored_json(a->photos, json_array()));
    json_object_set_new(j, "policies", stored_json(a->policies, json_object()));
    if (admin) {
        json_object_set_new(j, "active", json_boolean(a->active));
        json_object_set_new(j, "created_at", present_time(a->created_at));
        json_object_set_new(j, "updated_at", present_time(a->updated_at));
        json_object_set_new(j, "ical_export_url", ical_export_url_json(a->id, 0));
    }
    return j;
}

static void money_out(struct json_out *o, const char *key, int64_t cents)
{
    char buf[MONEY_FORMAT_LEN];
    money_format(cents, buf);
    json_out_string(o, key, buf);
}

void present_quote_out(struct json_out *o, const char *key, const struct pricing_quote *q,
                       const char *currency)
{
    json_out_open_object(o, key);
    json_out_int(o, "nights", q->nights);
    json_out_int(o, "weekend_nights", q->weekend_nights);
    money_out(o, "total_price", q->total_cents);
    money_out(o, "deposit_amount", q->deposit_cents);
    json_out_int(o, "deposit_percent", q->deposit_percent);
    json_out_string(o, "currency", currency);
    json_out_open_array(o, "nightly");
    for (int i = 0; i < q->nights; i++) {
        char d[DATES_FORMAT_LEN];
        dates_format(q->nightly[i].date, d);
        json_out_open_object(o, NULL);
        json_out_string(o, "date", d);
        money_out(o, "price", q->nightly[i].price_cents);
        json_out_bool(o, "weekend", q->nightly[i].weekend);
        json_out_close(o);
    }
    json_out_close(o);
    json_out_close(o);
}

json_t *present_reservation(const struct reservation *r, long long now, int admin)
{
    const char *status = booking_effective_status(r, now);
    json_t *j =
        json_pack("{s:s, s:s, s:s, s:I, s:s, s:s, s:s, s:i, s:i, s:o, s:o, s:i, s:o, s:s, s:s}", "code",
                  r->code, "status", status, "payment_status", r->payment_status, "accommodation_id",
                  (json_int_t)r->accommodation_id, "accommodation_name", r->accommodation_name, "check_in",
                  r->check_in, "check_out", r->check_out, "nights", r->nights, "guests", r->guests,
                  "total_price", present_money(r->total_cents), "deposit_amount",
                  present_money(r->deposit_cents), "deposit_percent", r->deposit_percent, "paid_amount",
                  present_money(r->paid_cents), "currency", r->currency, "channel", r->channel);
    json_object_set_new(j, "expires_at",
                        strcmp(status, "pre_reserved") == 0 ? present_time(r->expires_at) : json_null());
    json_object_set_new(j, "created_at", present_time(r->created_at));
    json_object_set_new(j, "confirmed_at", present_time(r->confirmed_at));
    json_object_set_new(j, "cancelled_at", present_time(r->cancelled_at));
    json_object_set_new(j, "payment_url", r->payment_url[0] ? json_string(r->payment_url) : json_null());
    if (admin) {
        json_object_set_new(j, "guest_name", json_string(r->guest_name));
        json_object_set_new(j, "guest_phone", json_string(r->guest_phone));
        json_object_set_new(j, "guest_email", r->guest_email[0] ? json_string(r->guest_email) : json_null());
        json_object_set_new(j, "cancel_reason",
                            r->cancel_reason[0] ? json_string(r->cancel_reason) : json_null());
        json_object_set_new(j, "notes", r->notes[0] ? json_string(r->notes) : json_null());
        json_object_set_new(j, "updated_at", present_time(r->updated_at));
        json_object_set_new(j, "stored_status", json_string(r->status));
    } else {
        char name[GUEST_NAME_MAX + 1], phone[GUEST_PHONE_MAX + 1];
        booking_mask_name(r->guest_name, name, sizeof name);
        booking_mask_phone(r->guest_phone, phone, sizeof phone);
        json_object_set_new(j, "guest_name", json_string(name));
        json_object_set_new(j, "guest_phone", json_string(phone));
    }
    return j;
}

json_t *present_block(const struct block *b)
{
    return json_pack("{s:I, s:I, s:s, s:s, s:s, s:s, s:s, s:o}", "id", (json_int_t)b->id, "accommodation_id",
                     (json_int_t)b->accommodation_id, "start", b->start, "end", b->end, "reason", b->reason,
                     "source", b->source, "created_by", b->created_by, "created_at",
                     present_time(b->created_at));
}
