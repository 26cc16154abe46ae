/* jwt.c - HS256 JSON Web Tokens with libsodium. See jwt.h.
 *
 * Verification order: length and shape (three non-empty base64url parts), the header (alg pinned to
 * HS256, "crit" refused), the signature over the exact bytes received (constant-time compare), and only
 * then the claims: nothing in the payload is looked at before the signature checks. base64url is decoded
 * strictly (no padding, no whitespace, zero trailing bits), so every token has exactly one encoding.
 * The HMAC key is every byte of the secret (HMAC hashes keys longer than its block), as other JWT
 * libraries do, so tokens interoperate with them. */
#include "jwt.h"

#include <jansson.h>
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define B64 sodium_base64_VARIANT_URLSAFE_NO_PADDING
#define PART_MAX ((JWT_MAX_LEN / 4) * 3 + 3) /* decoded size of a part of a JWT_MAX_LEN token */
#define MAC_LEN crypto_auth_hmacsha256_BYTES

static const char header_json[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";

static pthread_once_t sodium_once = PTHREAD_ONCE_INIT;

static void sodium_start(void)
{
    if (sodium_init() < 0)
        abort();
}

static void mac_compute(const char *secret, const char *data, size_t len, unsigned char mac[MAC_LEN])
{
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret, strlen(secret));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)data, len);
    crypto_auth_hmacsha256_final(&st, mac);
    sodium_memzero(&st, sizeof st);
}

/* Appends the base64url (no padding) of `n` bytes at out + *pos. 0, or -1 when it does not fit. */
static int b64_append(char *out, size_t outlen, size_t *pos, const void *bin, size_t n)
{
    size_t need = sodium_base64_ENCODED_LEN(n, B64); /* counts the NUL */
    if (*pos >= outlen || need > outlen - *pos)
        return -1;
    sodium_bin2base64(out + *pos, outlen - *pos, bin, n, B64);
    *pos += need - 1;
    return 0;
}

/* Decodes exactly the `n` characters at `s`. 0, or -1 for anything but canonical base64url. */
static int b64_decode(const char *s, size_t n, unsigned char *bin, size_t binmax, size_t *binlen)
{
    const char *end = NULL;
    if (n == 0)
        return -1;
    if (sodium_base642bin(bin, binmax, s, n, NULL, binlen, &end, B64) != 0 || end != s + n)
        return -1;
    return 0;
}

int jwt_sign(const char *secret, const char *email, long iat, long exp, char *out, size_t outlen)
{
    pthread_once(&sodium_once, sodium_start);
    if (!secret || !*secret || !email || !*email)
        return JWT_MALFORMED;
    json_t *claims =
        json_pack("{s:s, s:I, s:I}", "sub", email, "iat", (json_int_t)iat, "exp", (json_int_t)exp);
    if (!claims) /* email not UTF-8 */
        return JWT_MALFORMED;
    char *payload = json_dumps(claims, JSON_COMPACT);
    json_decref(claims);
    if (!payload)
        abort(); /* only on OOM */
    int rc = JWT_TOO_SMALL;
    size_t pos = 0;
    unsigned char mac[MAC_LEN];
    if (b64_append(out, outlen, &pos, header_json, strlen(header_json)) < 0 || pos + 1 >= outlen)
        goto out;
    out[pos++] = '.';
    if (b64_append(out, outlen, &pos, payload, strlen(payload)) < 0 || pos + 1 >= outlen)
        goto out;
    mac_compute(secret, out, pos, mac);
    out[pos++] = '.';
    if (b64_append(out, outlen, &pos, mac, sizeof mac) < 0)
        goto out;
    /* jwt_verify refuses anything longer, so never hand out such a token */
    rc = pos > JWT_MAX_LEN ? JWT_MALFORMED : JWT_OK;
out:
    if (rc != JWT_OK && outlen > 0)
        out[0] = '\0';
    free(payload);
    return rc;
}

/* The header must be a JSON object whose alg is exactly "HS256" (length checked too: "HS256\u0000x"). */
static int header_check(const unsigned char *bin, size_t len)
{
    json_t *h = json_loadb((const char *)bin, len, JSON_REJECT_DUPLICATES, NULL);
    int rc = JWT_OK;
    if (!json_is_object(h)) {
        rc = JWT_MALFORMED;
        goto out;
    }
    json_t *alg = json_object_get(h, "alg");
    if (!json_is_string(alg) || json_string_length(alg) != 5 ||
        strcmp(json_string_value(alg), "HS256") != 0) {
        rc = JWT_BAD_ALG;
        goto out;
    }
    /* RFC 7515 4.1.11: extensions the recipient must understand; we understand none */
    if (json_object_get(h, "crit"))
        rc = JWT_MALFORMED;
out:
    json_decref(h);
    return rc;
}

static int claims_check(const unsigned char *bin, size_t len, long now, char *email_out, size_t emaillen)
{
    json_t *c = json_loadb((const char *)bin, len, JSON_REJECT_DUPLICATES, NULL);
    int rc = JWT_MALFORMED;
    if (!json_is_object(c))
        goto out;
    json_t *sub = json_object_get(c, "sub");
    json_t *exp = json_object_get(c, "exp");
    json_t *iat = json_object_get(c, "iat");
    if (!json_is_string(sub) || !json_is_integer(exp) || (iat && !json_is_integer(iat)))
        goto out;
    size_t sublen = json_string_length(sub);
    if (sublen == 0 || sublen >= emaillen || strlen(json_string_value(sub)) != sublen)
        goto out;
    if ((json_int_t)now >= json_integer_value(exp)) {
        rc = JWT_EXPIRED;
        goto out;
    }
    memcpy(email_out, json_string_value(sub), sublen + 1);
    rc = JWT_OK;
out:
    json_decref(c);
    return rc;
}

int jwt_verify(const char *secret, const char *token, long now, char *email_out, size_t emaillen)
{
    pthread_once(&sodium_once, sodium_start);
    if (emaillen > 0)
        email_out[0] = '\0';
    if (!secret || !*secret || !token || emaillen == 0)
        return JWT_MALFORMED;
    size_t len = strnlen(token, JWT_MAX_LEN + 1);
    if (len == 0 || len > JWT_MAX_LEN)
        return JWT_MALFORMED;
    const char *dot1 = memchr(token, '.', len);
    const char *dot2 = dot1 ? memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - token)) : NULL;
    if (!dot1 || !dot2 || memchr(dot2 + 1, '.', len - (size_t)(dot2 + 1 - token)))
        return JWT_MALFORMED;
    size_t hlen = (size_t)(dot1 - token), plen = (size_t)(dot2 - dot1 - 1),
           slen = len - (size_t)(dot2 + 1 - token);

    _Static_assert(PART_MAX < 4096, "decoded parts live on the stack");
    unsigned char part[PART_MAX];
    unsigned char sig[MAC_LEN + 3], mac[MAC_LEN];
    size_t n = 0, siglen = 0;
    if (b64_decode(token, hlen, part, sizeof part, &n) < 0)
        return JWT_MALFORMED;
    int rc = header_check(part, n);
    if (rc != JWT_OK)
        return rc;
    if (b64_decode(dot2 + 1, slen, sig, sizeof sig, &siglen) < 0)
        return JWT_MALFORMED;
    if (plen == 0)
        return JWT_MALFORMED;
    mac_compute(secret, token, (size_t)(dot2 - token), mac);
    if (siglen != MAC_LEN || sodium_memcmp(sig, mac, MAC_LEN) != 0)
        return JWT_BAD_SIGNATURE;
    if (b64_decode(dot1 + 1, plen, part, sizeof part, &n) < 0)
        return JWT_MALFORMED;
    return claims_check(part, n, now, email_out, emaillen);
}

const char *jwt_strerror(int rc)
{
    switch (rc) {
    case JWT_OK:
        return "ok";
    case JWT_MALFORMED:
        return "malformed";
    case JWT_BAD_ALG:
        return "bad_alg";
    case JWT_BAD_SIGNATURE:
        return "bad_signature";
    case JWT_EXPIRED:
        return "expired";
    case JWT_TOO_SMALL:
        return "too_small";
    default:
        return "unknown";
    }
}
