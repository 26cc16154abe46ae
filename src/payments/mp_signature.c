/* mp_signature.c - HMAC-SHA256 over MercadoPago's notification manifest (libsodium). See mp_signature.h.
 *
 * Invariants: nothing here allocates; the expected MAC is compared with sodium_memcmp (constant time in
 * the length, which is fixed at 32 bytes); every input is bounded before it is copied. */
#include "mp_signature.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TS_MAX_DIGITS 20
#define MS_THRESHOLD 100000000000LL /* a ts above this (year 5138 in seconds) is milliseconds */

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t';
}

int mp_signature_parse(const char *header, char ts_text[21], unsigned char v1[32])
{
    int have_ts = 0, have_v1 = 0;
    if (!header)
        return MP_SIG_MISSING;
    const char *p = header;
    while (*p) {
        while (is_space(*p) || *p == ',')
            p++;
        if (!*p)
            break;
        const char *part = p;
        size_t n = strcspn(p, ",");
        p += n;
        while (n > 0 && is_space(part[n - 1]))
            n--;
        const char *eq = memchr(part, '=', n);
        if (!eq)
            continue; /* not key=value: ignored like any unknown part */
        size_t klen = (size_t)(eq - part);
        while (klen > 0 && is_space(part[klen - 1]))
            klen--;
        const char *val = eq + 1;
        size_t vlen = n - (size_t)(val - part);
        while (vlen > 0 && is_space(*val)) {
            val++;
            vlen--;
        }
        if (klen == 2 && memcmp(part, "ts", 2) == 0) {
            if (have_ts || vlen == 0 || vlen > TS_MAX_DIGITS)
                return MP_SIG_MALFORMED;
            for (size_t i = 0; i < vlen; i++)
                if (val[i] < '0' || val[i] > '9')
                    return MP_SIG_MALFORMED;
            memcpy(ts_text, val, vlen);
            ts_text[vlen] = '\0';
            have_ts = 1;
        } else if (klen == 2 && memcmp(part, "v1", 2) == 0) {
            if (have_v1 || vlen != 64)
                return MP_SIG_MALFORMED;
            for (size_t i = 0; i < 32; i++) {
                int hi = hexval(val[2 * i]), lo = hexval(val[2 * i + 1]);
                if (hi < 0 || lo < 0)
                    return MP_SIG_MALFORMED;
                v1[i] = (unsigned char)(hi << 4 | lo);
            }
            have_v1 = 1;
        }
    }
    return have_ts && have_v1 ? MP_SIG_OK : MP_SIG_MISSING;
}

int mp_signature_manifest(const char *data_id, const char *request_id, const char *ts_text, char *out,
                          size_t outlen)
{
    char id[256];
    size_t used = 0;
    if (outlen == 0)
        return -1;
    out[0] = '\0';
    if (data_id && *data_id) {
        size_t n = strlen(data_id);
        if (n >= sizeof id)
            return -1;
        for (size_t i = 0; i <= n; i++) {
            char c = data_id[i];
            id[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
        }
        int w = snprintf(out, outlen, "id:%s;", id);
        if (w < 0 || (size_t)w >= outlen)
            return -1;
        used = (size_t)w;
    }
    if (request_id && *request_id) {
        int w = snprintf(out + used, outlen - used, "request-id:%s;", request_id);
        if (w < 0 || (size_t)w >= outlen - used)
            return -1;
        used += (size_t)w;
    }
    if (ts_text && *ts_text) {
        int w = snprintf(out + used, outlen - used, "ts:%s;", ts_text);
        if (w < 0 || (size_t)w >= outlen - used)
            return -1;
        used += (size_t)w;
    }
    return (int)used;
}

static int mac(const char *secret, const char *manifest, size_t mlen, unsigned char outmac[32])
{
    crypto_auth_hmacsha256_state st;
    if (sodium_init() < 0)
        abort(); /* libsodium cannot initialise: nothing can be verified */
    crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret, strlen(secret));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)manifest, mlen);
    crypto_auth_hmacsha256_final(&st, outmac);
    sodium_memzero(&st, sizeof st);
    return 0;
}

int mp_signature_sign(const char *secret, const char *data_id, const char *request_id, const char *ts_text,
                      char out_hex[65])
{
    char manifest[MP_SIG_MANIFEST_MAX];
    unsigned char m[32];
    int n = mp_signature_manifest(data_id, request_id, ts_text, manifest, sizeof manifest);
    if (n < 0)
        return -1;
    mac(secret, manifest, (size_t)n, m);
    sodium_bin2hex(out_hex, 65, m, sizeof m);
    return 0;
}

int mp_signature_verify(const char *secret, const char *header, const char *data_id, const char *request_id,
                        long long now, int max_age_s)
{
    char ts_text[TS_MAX_DIGITS + 1];
    unsigned char got[32], want[32];
    char manifest[MP_SIG_MANIFEST_MAX];
    if (!secret || !*secret)
        return MP_SIG_MISMATCH; /* callers refuse earlier (not_configured); never verify with no key */
    int rc = mp_signature_parse(header, ts_text, got);
    if (rc != MP_SIG_OK)
        return rc;
    char *end;
    long long ts = strtoll(ts_text, &end, 10);
    if (*end || ts <= 0)
        return MP_SIG_MALFORMED;
    if (ts > MS_THRESHOLD)
        ts /= 1000;
    if (ts < now - max_age_s || ts > now + max_age_s)
        return MP_SIG_EXPIRED;
    int n = mp_signature_manifest(data_id, request_id, ts_text, manifest, sizeof manifest);
    if (n < 0)
        return MP_SIG_MALFORMED;
    mac(secret, manifest, (size_t)n, want);
    rc = sodium_memcmp(got, want, sizeof want) == 0 ? MP_SIG_OK : MP_SIG_MISMATCH;
    sodium_memzero(want, sizeof want);
    return rc;
}

const char *mp_signature_strerror(int rc)
{
    switch (rc) {
    case MP_SIG_OK:
        return "ok";
    case MP_SIG_MISSING:
        return "missing";
    case MP_SIG_MALFORMED:
        return "malformed";
    case MP_SIG_EXPIRED:
        return "expired";
    default:
        return "mismatch";
    }
}
