/* booking.h - the booking vocabulary: accommodations, reservations (holds and bookings), blocks, and the
 * pure checks on guest input. Fixed-size fields: every value has a hard length limit, enforced where input
 * enters (the API) and again by the store's copies. */
#ifndef CABANAS_BOOKING_H
#define CABANAS_BOOKING_H

#include <stddef.h>
#include <stdint.h>

#define ACC_NAME_MAX 120
#define ACC_DESCRIPTION_MAX 2000
#define ACC_JSON_MAX 4000 /* amenities, photos, policies: JSON text */
#define ACC_LOCATION_MAX 200
#define GUEST_NAME_MAX 120
#define GUEST_EMAIL_MAX 254
#define GUEST_PHONE_MAX 15 /* digits, E.164 */
#define GUEST_PHONE_MIN 8
#define REASON_MAX 500
#define RES_CODE_LEN 13
#define PAYMENT_URL_MAX 1000 /* "RES" + 10 Crockford base-32 characters */

struct accommodation {
    long long id;
    char name[ACC_NAME_MAX + 1];
    char type[16];
    int capacity;
    int64_t base_cents;
    int weekend_multiplier_bp;
    unsigned weekend_mask;
    int min_nights;
    int max_nights;
    char currency[4];
    char description[ACC_DESCRIPTION_MAX + 1];
    char amenities[ACC_JSON_MAX + 1];
    char photos[ACC_JSON_MAX + 1];
    char location[ACC_LOCATION_MAX + 1];
    char policies[ACC_JSON_MAX + 1];
    int active;
    long long created_at;
    long long updated_at;
};

struct reservation {
    long long id;
    char code[RES_CODE_LEN + 1];
    long long accommodation_id;
    char accommodation_name[ACC_NAME_MAX + 1];
    char check_in[11];
    char check_out[11];
    int guests;
    char guest_name[GUEST_NAME_MAX + 1];
    char guest_phone[GUEST_PHONE_MAX + 1];
    char guest_email[GUEST_EMAIL_MAX + 1];
    char channel[16];
    char status[16]; /* pre_reserved, confirmed, cancelled, expired */
    char payment_status[16];
    int nights;
    int64_t total_cents;
    int deposit_percent;
    int64_t deposit_cents;
    int64_t paid_cents;
    char currency[4];
    long long expires_at; /* 0 = none */
    long long confirmed_at;
    long long cancelled_at;
    char cancel_reason[REASON_MAX + 1];
    char notes[REASON_MAX + 1];
    long long created_at;
    long long updated_at;
    char payment_url[PAYMENT_URL_MAX + 1]; /* "" until MercadoPago gave a link */
};

struct block {
    long long id;
    long long accommodation_id;
    char start[11]; /* first blocked night */
    char end[11];   /* first free night again */
    char reason[REASON_MAX + 1];
    char source[64];
    char created_by[256]; /* an admin email */
    long long created_at;
};

/* Keeps the digits of `in` (spaces, dashes, dots, parentheses and a leading + allowed and dropped). Returns
 * 0 when 8..15 digits remain, -1 otherwise (any other character is an error). */
int booking_normalize_phone(const char *in, char out[GUEST_PHONE_MAX + 1]);

/* A pragmatic address check: one @, a non-empty local part of printable ASCII without spaces, a domain
 * with a dot, labels of [A-Za-z0-9-], at most GUEST_EMAIL_MAX. Returns 1 or 0. */
int booking_email_valid(const char *s);

/* 1 when `s` is valid UTF-8 of 1..max bytes after trimming, without control characters. */
int booking_text_valid(const char *s, size_t max);

/* Writes a fresh reservation code ("RES" + 10 Crockford base-32 characters, 50 random bits from the
 * kernel CSPRNG, at least one of them a digit so that a code never reads like a 13-letter word such as
 * "reservaciones": the WhatsApp assistant relies on it) into out. */
void booking_code_new(char out[RES_CODE_LEN + 1]);

/* 1 for the statuses that hold nights: pre_reserved and confirmed. */
int booking_status_active(const char *status);

/* Known channels: web, whatsapp, admin, api, phone, email, airbnb, booking. */
int booking_channel_valid(const char *channel);

/* Known accommodation types: cabin, apartment, house, room. */
int booking_type_valid(const char *type);

/* "Juan Pérez" -> "J*** P****"; "5491155551234" -> "*********1234". Sizes as the inputs. */
void booking_mask_name(const char *name, char *out, size_t outlen);
void booking_mask_phone(const char *phone, char *out, size_t outlen);

#endif
