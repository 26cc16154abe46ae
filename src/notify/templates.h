/* templates.h - the Spanish text of every message: a subject and a plain-text body, for the guest or for
 * the owner, rendered at delivery time from the reservation as it is then and the outbox row's payload.
 *
 * Reservation templates: hold_created, booking_confirmed, hold_expired, booking_cancelled,
 * payment_needs_refund, payment_refunded. Owner templates with their slots in the payload JSON:
 * ical_conflict (accommodation_name, accommodation_id, feed, start, end, summary, reservation_code,
 * detail) and handoff (name, phone, message, reason, reservation_code). Payload keys a template does not
 * name are listed at the end as "clave: valor", so a new slot is never silently lost.
 *
 * Formats: dates dd/mm/aaaa, money "$ 43.200,00" (another currency: "USD 1.234,00"), times in the
 * process's local zone (the server sets TZ from PROPERTY_TIMEZONE) as "dd/mm/aaaa hh:mm".
 *
 * Pure (apart from reading the process's time zone) and thread-safe. */
#ifndef CABANAS_TEMPLATES_H
#define CABANAS_TEMPLATES_H

#include "domain/booking.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define TEMPLATE_SUBJECT_MAX 250
#define TEMPLATE_BODY_MAX (16 * 1024)
#define TEMPLATE_VALUE_MAX 1000 /* a payload value is cut (at a character boundary) past this */

struct template_input {
    const char *name;            /* the template */
    int to_owner;                /* the owner's version (recipient "owner") instead of the guest's */
    const struct reservation *r; /* required by the reservation templates, optional for the others */
    const json_t *payload;       /* a JSON object or NULL */
    int payments_enabled;        /* MercadoPago is configured: the deposit is paid through the link */
    long long now;               /* for the effective status */
};

struct template_output {
    char subject[TEMPLATE_SUBJECT_MAX + 1]; /* one line, no control characters */
    char body[TEMPLATE_BODY_MAX + 1];       /* LF line ends */
};

/* 0, or -1 with err: unknown template, a reservation template without its reservation, or a body past
 * TEMPLATE_BODY_MAX. */
int template_render(const struct template_input *in, struct template_output *out, char *err, size_t errlen);

/* 1 when `name` is a template we can render. */
int template_known(const char *name);
/* 1 for the templates that need the reservation row. */
int template_needs_reservation(const char *name);

/* "$ 43.200,00" (ARS or empty currency), "USD 1.234,56"; negative amounts as "-$ 10,00". */
void template_format_money(int64_t cents, const char *currency, char *out, size_t outlen);
/* "2026-03-12" -> "12/03/2026"; anything that is not YYYY-MM-DD is copied as is. */
void template_format_date(const char *iso, char *out, size_t outlen);
/* Unix seconds as local "dd/mm/aaaa hh:mm" ("" for 0). */
void template_format_local_time(long long t, char *out, size_t outlen);

#endif
