/* mp_signature.h - MercadoPago webhook signatures (pure, thread-safe).
 *
 * MercadoPago signs each notification with the application's secret signature: the header
 * `x-signature: ts=<unix time>,v1=<hex HMAC-SHA256>` where v1 is computed over the manifest
 * `id:<data.id>;request-id:<x-request-id>;ts:<ts>;`. data.id comes from the query string (`data.id`) or
 * the body; an alphanumeric id is lowercased in the manifest, and a part whose value the notification does
 * not carry is left out of the manifest (both as MercadoPago's documentation says). The comparison is
 * constant-time, and a `ts` more than `max_age_s` seconds away from `now` (older, or that far in the
 * future) is refused, so a captured notification cannot be replayed later. A `ts` in milliseconds (13
 * digits; some MercadoPago products send those) is accepted and aged as such. */
#ifndef CABANAS_MP_SIGNATURE_H
#define CABANAS_MP_SIGNATURE_H

#include <stddef.h>

#define MP_SIG_OK 0
#define MP_SIG_MISSING (-1)   /* no x-signature header, or it lacks ts or v1 */
#define MP_SIG_MALFORMED (-2) /* ts not a number, v1 not 64 hex digits, a part too long */
#define MP_SIG_EXPIRED (-3)   /* ts outside now ± max_age_s */
#define MP_SIG_MISMATCH (-4)  /* well-formed, fresh, but not signed with this secret over this manifest */

#define MP_SIG_MANIFEST_MAX 512

/* Parses "ts=…,v1=…" (parts in any order, spaces around them allowed, unknown parts ignored). Copies the
 * ts text (digits only, at most 20) into ts_text and decodes v1 into 32 bytes. MP_SIG_OK, MP_SIG_MISSING or
 * MP_SIG_MALFORMED. */
int mp_signature_parse(const char *header, char ts_text[21], unsigned char v1[32]);

/* Writes the manifest for these values into out (NUL-terminated); NULL or "" values are left out. The id
 * is lowercased. Returns its length, or -1 when it does not fit in outlen. */
int mp_signature_manifest(const char *data_id, const char *request_id, const char *ts_text, char *out,
                          size_t outlen);

/* Verifies a notification: `header` is the x-signature value (NULL when absent). MP_SIG_* above. */
int mp_signature_verify(const char *secret, const char *header, const char *data_id, const char *request_id,
                        long long now, int max_age_s);

/* The v1 value for these inputs, as 64 lowercase hex digits (tests and tools sign with it). Returns 0, or
 * -1 when the manifest does not fit. */
int mp_signature_sign(const char *secret, const char *data_id, const char *request_id, const char *ts_text,
                      char out_hex[65]);

/* "ok", "missing", "malformed", "expired", "mismatch". */
const char *mp_signature_strerror(int rc);

#endif
