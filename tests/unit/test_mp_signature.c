/* test_mp_signature.c - MercadoPago webhook signatures (src/payments/mp_signature.c).
 *
 * The reference case is the signed fixture tests/data/mercadopago/notification_payment.headers (a copy of
 * ../shared/fixtures/mercadopago/): the secret, data.id, x-request-id and x-signature are read from the
 * file itself, so the test checks the code against MercadoPago's format rather than against itself. Every
 * single-bit change of the signature, and a change of any manifest input, must fail. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "payments/mp_signature.h"

struct fixture {
    char secret[128];
    char data_id[64];
    char request_id[128];
    char signature[256];
    char ts[32];
    long long ts_value;
};

static struct fixture fx;

static void trim(char *s)
{
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' '))
        s[--n] = '\0';
}

static void copy_after(const char *line, const char *prefix, char *dst, size_t dstlen)
{
    const char *v = line + strlen(prefix);
    while (*v == ' ')
        v++;
    snprintf(dst, dstlen, "%s", v);
    trim(dst);
}

static int load_fixture(void **state)
{
    (void)state;
    const char *dir = getenv("CABANAS_TEST_DATA");
    char path[1024], line[1024];
    if (!dir || !*dir)
        dir = "tests/data";
    snprintf(path, sizeof path, "%s/mercadopago/notification_payment.headers", dir);
    FILE *f = fopen(path, "r");
    if (!f) {
        print_error("cannot open %s: %s (run from the repo root or set CABANAS_TEST_DATA)\n", path,
                    strerror(errno));
        return -1;
    }
    memset(&fx, 0, sizeof fx);
    while (fgets(line, sizeof line, f)) {
        const char *q;
        if (strncmp(line, "# Signing secret (test):", 24) == 0)
            copy_after(line, "# Signing secret (test):", fx.secret, sizeof fx.secret);
        else if (strncmp(line, "x-request-id:", 13) == 0)
            copy_after(line, "x-request-id:", fx.request_id, sizeof fx.request_id);
        else if (strncmp(line, "x-signature:", 12) == 0)
            copy_after(line, "x-signature:", fx.signature, sizeof fx.signature);
        else if (strncmp(line, "# Delivered to:", 15) == 0 && (q = strstr(line, "data.id=")) != NULL) {
            snprintf(fx.data_id, sizeof fx.data_id, "%s", q + 8);
            fx.data_id[strcspn(fx.data_id, "&\r\n ")] = '\0';
        }
    }
    fclose(f);
    const char *ts = strstr(fx.signature, "ts=");
    if (ts) {
        snprintf(fx.ts, sizeof fx.ts, "%s", ts + 3);
        fx.ts[strcspn(fx.ts, ",")] = '\0';
        fx.ts_value = strtoll(fx.ts, NULL, 10);
    }
    if (!fx.secret[0] || !fx.data_id[0] || !fx.request_id[0] || !fx.signature[0] || fx.ts_value <= 0) {
        print_error("%s: could not read secret, data.id, x-request-id and x-signature\n", path);
        return -1;
    }
    return 0;
}

static int verify_at(const char *secret, const char *header, const char *id, const char *rid, long long now)
{
    return mp_signature_verify(secret, header, id, rid, now, 600);
}

static void test_fixture_verifies(void **state)
{
    (void)state;
    assert_string_equal(fx.data_id, "1319381416");
    assert_int_equal(verify_at(fx.secret, fx.signature, fx.data_id, fx.request_id, fx.ts_value + 5),
                     MP_SIG_OK);
    /* the fixture's own manifest line */
    char m[MP_SIG_MANIFEST_MAX];
    assert_true(mp_signature_manifest(fx.data_id, fx.request_id, fx.ts, m, sizeof m) > 0);
    assert_string_equal(m, "id:1319381416;request-id:6d1f7c4e-2b8a-4c1e-9d3f-0a5b7e2c9f10;ts:1764597801;");
}

/* Flips bit `bit` of the hex digits of v1 (as bytes) and re-encodes. */
static void flip_v1_bit(const char *header, int bit, char *out, size_t outlen)
{
    static const char hex[] = "0123456789abcdef";
    const char *v1 = strstr(header, "v1=");
    assert_non_null(v1);
    v1 += 3;
    unsigned char raw[32];
    for (int i = 0; i < 32; i++) {
        char b[3] = {v1[2 * i], v1[2 * i + 1], 0};
        raw[i] = (unsigned char)strtol(b, NULL, 16);
    }
    raw[bit / 8] ^= (unsigned char)(1u << (bit % 8));
    size_t prefix = (size_t)(v1 - header);
    assert_true(prefix + 65 < outlen);
    memcpy(out, header, prefix);
    for (int i = 0; i < 32; i++) {
        out[prefix + 2 * i] = hex[raw[i] >> 4];
        out[prefix + 2 * i + 1] = hex[raw[i] & 15];
    }
    snprintf(out + prefix + 64, outlen - prefix - 64, "%s", v1 + 64);
}

static void test_every_signature_bit_matters(void **state)
{
    (void)state;
    char h[256];
    for (int bit = 0; bit < 256; bit++) {
        flip_v1_bit(fx.signature, bit, h, sizeof h);
        assert_string_not_equal(h, fx.signature);
        if (verify_at(fx.secret, h, fx.data_id, fx.request_id, fx.ts_value) != MP_SIG_MISMATCH)
            fail_msg("v1 with bit %d flipped still verifies", bit);
    }
}

static void test_every_manifest_input_matters(void **state)
{
    (void)state;
    char buf[256];
    /* one bit of the last character of data.id, of x-request-id */
    snprintf(buf, sizeof buf, "%s", fx.data_id);
    buf[strlen(buf) - 1] ^= 1;
    assert_int_equal(verify_at(fx.secret, fx.signature, buf, fx.request_id, fx.ts_value), MP_SIG_MISMATCH);
    snprintf(buf, sizeof buf, "%s", fx.request_id);
    buf[0] ^= 1;
    assert_int_equal(verify_at(fx.secret, fx.signature, fx.data_id, buf, fx.ts_value), MP_SIG_MISMATCH);
    /* a missing x-request-id leaves its part out of the manifest: a different MAC */
    assert_int_equal(verify_at(fx.secret, fx.signature, fx.data_id, NULL, fx.ts_value), MP_SIG_MISMATCH);
    /* ts one second later in the header (still fresh): the manifest changes */
    char ts2[32], header[256];
    snprintf(ts2, sizeof ts2, "%lld", fx.ts_value + 1);
    snprintf(header, sizeof header, "ts=%s,%s", ts2, strstr(fx.signature, "v1="));
    assert_int_equal(verify_at(fx.secret, header, fx.data_id, fx.request_id, fx.ts_value), MP_SIG_MISMATCH);
    /* one bit of the secret */
    snprintf(buf, sizeof buf, "%s", fx.secret);
    buf[3] ^= 1;
    assert_int_equal(verify_at(buf, fx.signature, fx.data_id, fx.request_id, fx.ts_value), MP_SIG_MISMATCH);
}

static void test_missing_and_malformed(void **state)
{
    (void)state;
    const char *v1 = strstr(fx.signature, "v1=");
    char h[256];
    assert_int_equal(verify_at(fx.secret, NULL, fx.data_id, fx.request_id, fx.ts_value), MP_SIG_MISSING);
    assert_int_equal(verify_at(fx.secret, "", fx.data_id, fx.request_id, fx.ts_value), MP_SIG_MISSING);
    snprintf(h, sizeof h, "ts=%s", fx.ts);
    assert_int_equal(verify_at(fx.secret, h, fx.data_id, fx.request_id, fx.ts_value), MP_SIG_MISSING);
    assert_int_equal(verify_at(fx.secret, v1, fx.data_id, fx.request_id, fx.ts_value), MP_SIG_MISSING);
    snprintf(h, sizeof h, "ts=%s,v1=%.63s", fx.ts, v1 + 3);
    assert_int_equal(verify_at(fx.secret, h, fx.data_id, fx.request_id, fx.ts_value), MP_SIG_MALFORMED);
    snprintf(h, sizeof h, "ts=%s,v1=%.63sg", fx.ts, v1 + 3);
    assert_int_equal(verify_at(fx.secret, h, fx.data_id, fx.request_id, fx.ts_value), MP_SIG_MALFORMED);
    snprintf(h, sizeof h, "ts=17645x7801,%s", v1);
    assert_int_equal(verify_at(fx.secret, h, fx.data_id, fx.request_id, fx.ts_value), MP_SIG_MALFORMED);
    snprintf(h, sizeof h, "ts=%s,ts=%s,%s", fx.ts, fx.ts, v1);
    assert_int_equal(verify_at(fx.secret, h, fx.data_id, fx.request_id, fx.ts_value), MP_SIG_MALFORMED);
    snprintf(h, sizeof h, "ts=123456789012345678901,%s", v1);
    assert_int_equal(verify_at(fx.secret, h, fx.data_id, fx.request_id, fx.ts_value), MP_SIG_MALFORMED);
    /* no key at all never verifies */
    assert_int_equal(verify_at("", fx.signature, fx.data_id, fx.request_id, fx.ts_value), MP_SIG_MISMATCH);
}

static void test_header_forms(void **state)
{
    (void)state;
    const char *v1 = strstr(fx.signature, "v1=");
    char h[256], upper[80];
    /* parts swapped, spaces, an unknown part */
    snprintf(h, sizeof h, " %s , ts=%s ,v2=abc", v1, fx.ts);
    assert_int_equal(verify_at(fx.secret, h, fx.data_id, fx.request_id, fx.ts_value), MP_SIG_OK);
    /* uppercase hex is the same MAC */
    snprintf(upper, sizeof upper, "%s", v1);
    for (char *p = upper; *p; p++)
        if (*p >= 'a' && *p <= 'f')
            *p = (char)(*p - 'a' + 'A');
    snprintf(h, sizeof h, "ts=%s,v1=%s", fx.ts, upper + 3);
    assert_int_equal(verify_at(fx.secret, h, fx.data_id, fx.request_id, fx.ts_value), MP_SIG_OK);
}

static void test_age(void **state)
{
    (void)state;
    long long ts = fx.ts_value;
    assert_int_equal(verify_at(fx.secret, fx.signature, fx.data_id, fx.request_id, ts + 600), MP_SIG_OK);
    assert_int_equal(verify_at(fx.secret, fx.signature, fx.data_id, fx.request_id, ts + 601), MP_SIG_EXPIRED);
    assert_int_equal(verify_at(fx.secret, fx.signature, fx.data_id, fx.request_id, ts - 600), MP_SIG_OK);
    assert_int_equal(verify_at(fx.secret, fx.signature, fx.data_id, fx.request_id, ts - 601), MP_SIG_EXPIRED);
    /* the real clock: the fixture is months old */
    assert_int_equal(
        mp_signature_verify(fx.secret, fx.signature, fx.data_id, fx.request_id, (long long)time(NULL), 600),
        MP_SIG_EXPIRED);
    /* an old ts is refused before the MAC is even looked at: a forged old one is "expired" too */
    assert_int_equal(verify_at("wrong", fx.signature, fx.data_id, fx.request_id, ts + 10000), MP_SIG_EXPIRED);
}

static void test_sign_roundtrip_and_manifest(void **state)
{
    (void)state;
    char hex[65], header[128], m[MP_SIG_MANIFEST_MAX];
    /* alphanumeric ids are lowercased in the manifest (MercadoPago's documented rule) */
    assert_true(mp_signature_manifest("AbC123", "rid", "100", m, sizeof m) > 0);
    assert_string_equal(m, "id:abc123;request-id:rid;ts:100;");
    assert_true(mp_signature_manifest(NULL, "", "100", m, sizeof m) > 0);
    assert_string_equal(m, "ts:100;");
    assert_int_equal(mp_signature_manifest("1", "2", "3", m, 10), -1);
    assert_int_equal(mp_signature_sign("s3cret", "AbC123", "rid", "1700000000", hex), 0);
    snprintf(header, sizeof header, "ts=1700000000,v1=%s", hex);
    assert_int_equal(mp_signature_verify("s3cret", header, "abc123", "rid", 1700000000, 600), MP_SIG_OK);
    assert_int_equal(mp_signature_verify("s3cret", header, "ABC123", "rid", 1700000000, 600), MP_SIG_OK);
    assert_int_equal(mp_signature_verify("s3cret", header, "abc124", "rid", 1700000000, 600),
                     MP_SIG_MISMATCH);
    /* milliseconds: the text is signed as sent, the age is read in seconds */
    assert_int_equal(mp_signature_sign("s3cret", "9", "r", "1700000000123", hex), 0);
    snprintf(header, sizeof header, "ts=1700000000123,v1=%s", hex);
    assert_int_equal(mp_signature_verify("s3cret", header, "9", "r", 1700000100, 600), MP_SIG_OK);
    assert_int_equal(mp_signature_verify("s3cret", header, "9", "r", 1700001000, 600), MP_SIG_EXPIRED);
    /* the fixture, signed again from its inputs */
    assert_int_equal(mp_signature_sign(fx.secret, fx.data_id, fx.request_id, fx.ts, hex), 0);
    assert_non_null(strstr(fx.signature, hex));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixture_verifies),
        cmocka_unit_test(test_every_signature_bit_matters),
        cmocka_unit_test(test_every_manifest_input_matters),
        cmocka_unit_test(test_missing_and_malformed),
        cmocka_unit_test(test_header_forms),
        cmocka_unit_test(test_age),
        cmocka_unit_test(test_sign_roundtrip_and_manifest),
    };
    return cmocka_run_group_tests(tests, load_fixture, NULL);
}
