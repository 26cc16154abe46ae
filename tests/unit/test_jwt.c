/* test_jwt.c - HS256 tokens: a round trip, and every way a token must fail: tampered payload or
 * signature, alg "none" / "HS512" / "RS256" / "hs256" / missing (tokens built by hand, correctly signed
 * with the right secret where a signature applies, so only the alg pin can refuse them), expiry at and
 * after exp, the wrong secret, a missing exp, "crit", and garbage (empty, no dots, too many dots, 5000
 * characters, invalid or padded base64, non-JSON parts). Also the output-size contract of jwt_sign. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/jwt.h"

#define SECRET "0123456789abcdef0123456789abcdef0123456789"
#define NOW 1796000000L
#define B64 sodium_base64_VARIANT_URLSAFE_NO_PADDING

static void b64(const void *bin, size_t n, char *out, size_t outlen)
{
    assert_true(sodium_base64_ENCODED_LEN(n, B64) <= outlen);
    sodium_bin2base64(out, outlen, bin, n, B64);
}

/* header.payload.signature from raw JSON strings; HS256 over the first two parts with `secret`, or an
 * HMAC-SHA512 when `sha512`, or an empty signature when `secret` is NULL. */
static void forge(const char *header, const char *payload, const char *secret, int sha512, char *out,
                  size_t outlen)
{
    char h[512], p[1024];
    b64(header, strlen(header), h, sizeof h);
    b64(payload, strlen(payload), p, sizeof p);
    int n = snprintf(out, outlen, "%s.%s.", h, p);
    assert_true(n > 0 && (size_t)n < outlen);
    if (!secret)
        return;
    unsigned char mac[crypto_auth_hmacsha512_BYTES];
    size_t maclen;
    if (sha512) {
        crypto_auth_hmacsha512_state st;
        crypto_auth_hmacsha512_init(&st, (const unsigned char *)secret, strlen(secret));
        crypto_auth_hmacsha512_update(&st, (const unsigned char *)out, (size_t)n - 1);
        crypto_auth_hmacsha512_final(&st, mac);
        maclen = crypto_auth_hmacsha512_BYTES;
    } else {
        crypto_auth_hmacsha256_state st;
        crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret, strlen(secret));
        crypto_auth_hmacsha256_update(&st, (const unsigned char *)out, (size_t)n - 1);
        crypto_auth_hmacsha256_final(&st, mac);
        maclen = crypto_auth_hmacsha256_BYTES;
    }
    b64(mac, maclen, out + n, outlen - (size_t)n);
}

static int verify(const char *token, long now)
{
    char email[256];
    return jwt_verify(SECRET, token, now, email, sizeof email);
}

static void test_round_trip(void **state)
{
    char tok[JWT_MAX_LEN + 1], email[256];
    assert_int_equal(jwt_sign(SECRET, "owner@example.com", NOW, NOW + 3600, tok, sizeof tok), JWT_OK);
    assert_int_equal(strchr(tok, '.') != NULL, 1);
    assert_null(strchr(tok, '=')); /* no padding */
    assert_int_equal(jwt_verify(SECRET, tok, NOW, email, sizeof email), JWT_OK);
    assert_string_equal(email, "owner@example.com");
    assert_int_equal(jwt_verify(SECRET, tok, NOW + 3599, email, sizeof email), JWT_OK);
    /* the same claims signed by hand verify too: the format is plain RFC 7519 */
    char hand[1024];
    forge("{\"alg\":\"HS256\",\"typ\":\"JWT\"}",
          "{\"sub\":\"owner@example.com\",\"iat\":1796000000,\"exp\":1796003600}", SECRET, 0, hand,
          sizeof hand);
    assert_string_equal(hand, tok);
    /* a header without typ is fine: only alg is pinned */
    forge("{\"alg\":\"HS256\"}", "{\"sub\":\"a@b.c\",\"exp\":1796003600}", SECRET, 0, hand, sizeof hand);
    assert_int_equal(jwt_verify(SECRET, hand, NOW, email, sizeof email), JWT_OK);
    assert_string_equal(email, "a@b.c");
}

static void test_expired(void **state)
{
    char tok[JWT_MAX_LEN + 1];
    assert_int_equal(jwt_sign(SECRET, "owner@example.com", NOW - 100, NOW, tok, sizeof tok), JWT_OK);
    assert_int_equal(verify(tok, NOW), JWT_EXPIRED); /* at exp: expired (RFC 7519 "on or after") */
    assert_int_equal(verify(tok, NOW - 1), JWT_OK);
    assert_int_equal(verify(tok, NOW + 86400), JWT_EXPIRED);
}

static void test_wrong_secret(void **state)
{
    char tok[JWT_MAX_LEN + 1], email[256];
    assert_int_equal(jwt_sign(SECRET, "owner@example.com", NOW, NOW + 60, tok, sizeof tok), JWT_OK);
    assert_int_equal(jwt_verify(SECRET "x", tok, NOW, email, sizeof email), JWT_BAD_SIGNATURE);
    assert_string_equal(email, "");
    assert_int_equal(jwt_verify("another-secret-another-secret-another", tok, NOW, email, sizeof email),
                     JWT_BAD_SIGNATURE);
    /* the key is every byte of the secret, not a prefix of it */
    char longer[128];
    snprintf(longer, sizeof longer, "%s%s", SECRET, SECRET);
    assert_int_equal(jwt_sign(longer, "owner@example.com", NOW, NOW + 60, tok, sizeof tok), JWT_OK);
    assert_int_equal(jwt_verify(SECRET, tok, NOW, email, sizeof email), JWT_BAD_SIGNATURE);
    assert_int_equal(jwt_verify(longer, tok, NOW, email, sizeof email), JWT_OK);
}

static void test_tampered_payload(void **state)
{
    char tok[JWT_MAX_LEN + 1], forged[JWT_MAX_LEN + 1];
    assert_int_equal(jwt_sign(SECRET, "helper@example.com", NOW, NOW + 60, tok, sizeof tok), JWT_OK);
    /* a different payload spliced between the original header and signature */
    char p[512];
    const char *claims = "{\"sub\":\"owner@example.com\",\"iat\":1796000000,\"exp\":1796000060}";
    b64(claims, strlen(claims), p, sizeof p);
    const char *dot1 = strchr(tok, '.'), *dot2 = strrchr(tok, '.');
    snprintf(forged, sizeof forged, "%.*s.%s%s", (int)(dot1 - tok), tok, p, dot2);
    assert_int_equal(verify(forged, NOW), JWT_BAD_SIGNATURE);
    /* one flipped character anywhere in the payload */
    for (const char *c = dot1 + 1; c < dot2; c++) {
        snprintf(forged, sizeof forged, "%s", tok);
        size_t i = (size_t)(c - tok);
        forged[i] = forged[i] == 'A' ? 'B' : 'A';
        int rc = verify(forged, NOW);
        if (rc != JWT_BAD_SIGNATURE)
            fail_msg("flipping payload byte %zu gave %d", i, rc);
    }
    /* a longer exp, correctly encoded but not re-signed */
    const char *later = "{\"sub\":\"helper@example.com\",\"iat\":1796000000,\"exp\":1896000060}";
    b64(later, strlen(later), p, sizeof p);
    snprintf(forged, sizeof forged, "%.*s.%s%s", (int)(dot1 - tok), tok, p, dot2);
    assert_int_equal(verify(forged, NOW), JWT_BAD_SIGNATURE);
}

static void test_tampered_signature(void **state)
{
    char tok[JWT_MAX_LEN + 1], forged[JWT_MAX_LEN + 2];
    assert_int_equal(jwt_sign(SECRET, "owner@example.com", NOW, NOW + 60, tok, sizeof tok), JWT_OK);
    const char *dot2 = strrchr(tok, '.');
    size_t siglen = strlen(dot2 + 1);
    assert_int_equal(siglen, 43);         /* 32 bytes, unpadded */
    for (size_t k = 0; k < siglen; k++) { /* the last char carries 2 unused bits: then it is malformed */
        snprintf(forged, sizeof forged, "%s", tok);
        size_t i = (size_t)(dot2 + 1 - tok) + k;
        forged[i] = forged[i] == 'A' ? 'B' : 'A';
        int rc = verify(forged, NOW);
        if (rc != JWT_BAD_SIGNATURE && rc != JWT_MALFORMED)
            fail_msg("flipping signature char %zu gave %d", k, rc);
    }
    /* truncated, extended, emptied */
    snprintf(forged, sizeof forged, "%.*s", (int)strlen(tok) - 1, tok);
    assert_true(verify(forged, NOW) < 0);
    snprintf(forged, sizeof forged, "%sA", tok);
    assert_true(verify(forged, NOW) < 0);
    snprintf(forged, sizeof forged, "%.*s", (int)(dot2 + 1 - tok), tok);
    assert_int_equal(verify(forged, NOW), JWT_MALFORMED);
    /* the signature of another token */
    char other[JWT_MAX_LEN + 1];
    assert_int_equal(jwt_sign(SECRET, "owner@example.com", NOW, NOW + 61, other, sizeof other), JWT_OK);
    snprintf(forged, sizeof forged, "%.*s%s", (int)(dot2 - tok), tok, strrchr(other, '.'));
    assert_int_equal(verify(forged, NOW), JWT_BAD_SIGNATURE);
}

static void test_alg_is_pinned(void **state)
{
    static const char *payload = "{\"sub\":\"owner@example.com\",\"iat\":1796000000,\"exp\":1796003600}";
    char tok[1024];
    /* alg none, unsigned (the classic) and even "signed" */
    forge("{\"alg\":\"none\",\"typ\":\"JWT\"}", payload, NULL, 0, tok, sizeof tok);
    assert_int_equal(verify(tok, NOW), JWT_BAD_ALG);
    forge("{\"alg\":\"none\"}", payload, SECRET, 0, tok, sizeof tok);
    assert_int_equal(verify(tok, NOW), JWT_BAD_ALG);
    /* HS512 properly signed with our secret: a valid token of another algorithm is still refused */
    forge("{\"alg\":\"HS512\",\"typ\":\"JWT\"}", payload, SECRET, 1, tok, sizeof tok);
    assert_int_equal(verify(tok, NOW), JWT_BAD_ALG);
    /* the header lies: HS512 claimed, HS256 signature that would otherwise verify */
    forge("{\"alg\":\"HS512\"}", payload, SECRET, 0, tok, sizeof tok);
    assert_int_equal(verify(tok, NOW), JWT_BAD_ALG);
    static const char *bad_headers[] = {
        "{\"alg\":\"RS256\",\"typ\":\"JWT\"}",
        "{\"alg\":\"hs256\"}",
        "{\"alg\":\"HS256 \"}",
        "{\"typ\":\"JWT\"}",
        "{\"alg\":null}",
        "{\"alg\":256}",
        "{\"alg\":[\"HS256\"]}",
        "{}",
    };
    for (size_t i = 0; i < sizeof bad_headers / sizeof *bad_headers; i++) {
        forge(bad_headers[i], payload, SECRET, 0, tok, sizeof tok);
        int rc = verify(tok, NOW);
        if (rc != JWT_BAD_ALG)
            fail_msg("header %s gave %d, want JWT_BAD_ALG", bad_headers[i], rc);
    }
    /* not an object at all, duplicate alg, crit: malformed */
    static const char *malformed_headers[] = {"\"HS256\"",
                                              "[\"HS256\"]",
                                              "{\"alg\":\"HS256\"",
                                              "{\"alg\":\"none\",\"alg\":\"HS256\"}",
                                              "{\"alg\":\"HS256\",\"crit\":[\"exp\"]}",
                                              "{\"alg\":\"HS256\\u0000\"}" /* jansson refuses NUL */};
    for (size_t i = 0; i < sizeof malformed_headers / sizeof *malformed_headers; i++) {
        forge(malformed_headers[i], payload, SECRET, 0, tok, sizeof tok);
        int rc = verify(tok, NOW);
        if (rc != JWT_MALFORMED)
            fail_msg("header %s gave %d, want JWT_MALFORMED", malformed_headers[i], rc);
    }
}

static void test_claims(void **state)
{
    static const char *header = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
    static const char *bad[] = {
        "{\"sub\":\"owner@example.com\",\"iat\":1796000000}",                   /* no exp */
        "{\"sub\":\"owner@example.com\",\"exp\":\"1796003600\"}",               /* exp a string */
        "{\"sub\":\"owner@example.com\",\"exp\":1796003600.5}",                 /* exp a real */
        "{\"sub\":\"owner@example.com\",\"exp\":99999999999999999999999}",      /* exp overflows */
        "{\"exp\":1796003600}",                                                 /* no sub */
        "{\"sub\":\"\",\"exp\":1796003600}",                                    /* empty sub */
        "{\"sub\":42,\"exp\":1796003600}",                                      /* sub not a string */
        "{\"sub\":\"a@b.c\\u0000x\",\"exp\":1796003600}",                       /* NUL inside sub */
        "{\"sub\":\"a@b.c\",\"iat\":\"now\",\"exp\":1796003600}",               /* iat not integer */
        "{\"sub\":\"a@b.c\",\"sub\":\"owner@example.com\",\"exp\":1796003600}", /* duplicate sub */
        "[\"owner@example.com\"]",                                              /* not an object */
        "not json",
    };
    char tok[1024];
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        forge(header, bad[i], SECRET, 0, tok, sizeof tok);
        int rc = verify(tok, NOW);
        if (rc != JWT_MALFORMED)
            fail_msg("payload %s gave %d, want JWT_MALFORMED", bad[i], rc);
    }
    /* a sub that does not fit the caller's buffer is refused, not truncated */
    char small[8];
    forge(header, "{\"sub\":\"owner@example.com\",\"exp\":1796003600}", SECRET, 0, tok, sizeof tok);
    assert_int_equal(jwt_verify(SECRET, tok, NOW, small, sizeof small), JWT_MALFORMED);
    assert_string_equal(small, "");
}

static void test_garbage(void **state)
{
    char *big = malloc(5001);
    assert_non_null(big);
    memset(big, 'a', 5000);
    big[5000] = '\0';
    big[100] = '.';
    big[200] = '.';
    static const char *inputs[] = {
        "",
        ".",
        "..",
        "...",
        "a",
        "a.b",
        "a.b.c.d",
        "no dots at all",
        "eyJhbGciOiJIUzI1NiJ9..",
        "..c2ln",
        "!!!.@@@.###",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0=.AAAA", /* padding is not allowed */
        "eyJhbGciOiJIUzI1NiJ9 .e30.AAAA",
        "eyJhbGc+OiJIUzI1NiJ9.e30.AAAA", /* space, '+' (not url-safe) */
        "e30.e30.e30",                   /* {} header: no alg */
    };
    for (size_t i = 0; i < sizeof inputs / sizeof *inputs; i++) {
        int rc = verify(inputs[i], NOW);
        if (rc == JWT_OK)
            fail_msg("input '%s' verified", inputs[i]);
    }
    assert_int_equal(verify("", NOW), JWT_MALFORMED);
    assert_int_equal(verify("abc", NOW), JWT_MALFORMED);
    assert_int_equal(verify("a.b.c.d", NOW), JWT_MALFORMED);
    assert_int_equal(verify("!!!.@@@.###", NOW), JWT_MALFORMED);
    assert_int_equal(verify(big, NOW), JWT_MALFORMED); /* longer than JWT_MAX_LEN */
    /* a real token padded past the limit with a long (valid base64) payload */
    char tok[JWT_MAX_LEN + 1];
    assert_int_equal(jwt_sign(SECRET, "owner@example.com", NOW, NOW + 60, tok, sizeof tok), JWT_OK);
    memcpy(big, tok, strlen(tok));
    assert_int_equal(verify(big, NOW), JWT_MALFORMED);
    free(big);
    char email[256];
    assert_int_equal(jwt_verify(SECRET, NULL, NOW, email, sizeof email), JWT_MALFORMED);
    assert_int_equal(jwt_verify("", tok, NOW, email, sizeof email), JWT_MALFORMED);
    assert_int_equal(jwt_verify(SECRET, tok, NOW, email, 0), JWT_MALFORMED);
}

static void test_sign_limits(void **state)
{
    char tok[JWT_MAX_LEN + 1];
    assert_int_equal(jwt_sign(SECRET, "", NOW, NOW + 60, tok, sizeof tok), JWT_MALFORMED);
    assert_int_equal(jwt_sign("", "a@b.c", NOW, NOW + 60, tok, sizeof tok), JWT_MALFORMED);
    assert_int_equal(jwt_sign(SECRET, "\xff\xfe@b.c", NOW, NOW + 60, tok, sizeof tok), JWT_MALFORMED);
    char small[40];
    assert_int_equal(jwt_sign(SECRET, "a@b.c", NOW, NOW + 60, small, sizeof small), JWT_TOO_SMALL);
    assert_string_equal(small, "");
    /* exactly enough room: strlen + 1 */
    assert_int_equal(jwt_sign(SECRET, "a@b.c", NOW, NOW + 60, tok, sizeof tok), JWT_OK);
    size_t need = strlen(tok) + 1;
    char *exact = malloc(need);
    assert_non_null(exact);
    assert_int_equal(jwt_sign(SECRET, "a@b.c", NOW, NOW + 60, exact, need), JWT_OK);
    assert_string_equal(exact, tok);
    assert_int_equal(jwt_sign(SECRET, "a@b.c", NOW, NOW + 60, exact, need - 1), JWT_TOO_SMALL);
    free(exact);
    /* an email so long the token would pass JWT_MAX_LEN is refused rather than issued unverifiable */
    char *huge = malloc(3500);
    assert_non_null(huge);
    memset(huge, 'x', 3499);
    huge[3499] = '\0';
    huge[10] = '@';
    char *out = malloc(8192);
    assert_non_null(out);
    assert_int_equal(jwt_sign(SECRET, huge, NOW, NOW + 60, out, 8192), JWT_MALFORMED);
    free(out);
    free(huge);
    assert_string_equal(jwt_strerror(JWT_EXPIRED), "expired");
    assert_string_equal(jwt_strerror(JWT_BAD_ALG), "bad_alg");
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_expired),
        cmocka_unit_test(test_wrong_secret),
        cmocka_unit_test(test_tampered_payload),
        cmocka_unit_test(test_tampered_signature),
        cmocka_unit_test(test_alg_is_pinned),
        cmocka_unit_test(test_claims),
        cmocka_unit_test(test_garbage),
        cmocka_unit_test(test_sign_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
