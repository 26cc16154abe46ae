/* test_mp_payment.c - reading MercadoPago's payment and preference resources (src/payments/mp_payment.c):
 * amounts in centavos without floating point, the raw-member scanner, the fixtures, status ranks. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "payments/mp_payment.h"

static char *read_fixture(const char *name, size_t *len)
{
    const char *dir = getenv("CABANAS_TEST_DATA");
    char path[1024];
    if (!dir || !*dir)
        dir = "tests/data";
    snprintf(path, sizeof path, "%s/mercadopago/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s: %s (run from the repo root or set CABANAS_TEST_DATA)", path,
                 strerror(errno));
    static char buf[65536];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    *len = n;
    return buf;
}

static int64_t amount(const char *s)
{
    int64_t c = -42;
    if (mp_amount_parse(s, strlen(s), &c) < 0)
        return -1;
    return c;
}

static void test_amount_parse(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        int64_t cents;
    } ok[] = {
        {"43200", 4320000},
        {"43200.5", 4320050},
        {"43200.50", 4320050},
        {"0", 0},
        {"0.01", 1},
        {"0.5", 50},
        {"43199.999", 4319999}, /* truncated, never rounded up */
        {"43200.001", 4320000},
        {"4.32e4", 4320000},
        {"4.32E+4", 4320000},
        {"432e-2", 432},
        {"1e-3", 0},
        {"1234567.89", 123456789}, /* 1234567.89 * 100 in binary floating point is 123456788.99999... */
        {"0.29", 29},              /* 0.29 * 100 == 28.999999999999996 as a double */
        {"1.005", 100},
        {"\"43200.00\"", 4320000},
        {"100000000000", 10000000000000LL}, /* MONEY_MAX_CENTS exactly */
    };
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
        int64_t got = amount(ok[i].text);
        if (got != ok[i].cents)
            fail_msg("%s: got %lld, want %lld", ok[i].text, (long long)got, (long long)ok[i].cents);
    }
    static const char *const bad[] = {
        "",       "-1",       "-0.5",
        "01",     "1.",       ".5",
        "1e",     "1e+",      "abc",
        "1,5",    " 1",       "1 ",
        "1e1000", "1e20",     "\"\"",
        "\"-1\"", "+1",       "0x10",
        "1.2.3",  "1e5.5",    "100000000000.01",
        "NaN",    "Infinity", "1111111111111111111111111111111111111111111111111111111111111111111"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        if (amount(bad[i]) != -1)
            fail_msg("%s: accepted as %lld", bad[i], (long long)amount(bad[i]));
}

static void test_raw_member(void **state)
{
    (void)state;
    const char *v;
    size_t n;
    const char *j = "{\"a\":{\"transaction_amount\":1},\"list\":[1,{\"transaction_amount\":2}],"
                    "\"s\":\"x\\\"transaction_amount\\\":3\", \"transaction_amount\" : 43200.5 , \"z\":null}";
    assert_int_equal(mp_json_raw_member(j, strlen(j), "transaction_amount", &v, &n), 0);
    assert_int_equal(n, 7);
    assert_memory_equal(v, "43200.5", 7);
    assert_int_equal(mp_json_raw_member(j, strlen(j), "z", &v, &n), 0);
    assert_memory_equal(v, "null", 4);
    assert_int_equal(mp_json_raw_member(j, strlen(j), "missing", &v, &n), -1);
    const char *s = "{\"k\":\"va\\\"l\"}";
    assert_int_equal(mp_json_raw_member(s, strlen(s), "k", &v, &n), 0);
    assert_int_equal(n, 7); /* "va\"l" with its quotes */
    assert_memory_equal(v, "\"va\\\"l\"", 7);
    const char *esc = "{\"transaction\\/amount\":5}";
    assert_int_equal(mp_json_raw_member(esc, strlen(esc), "transaction/amount", &v, &n), 0);
    assert_int_equal(mp_json_raw_member("[1]", 3, "a", &v, &n), -1);
    assert_int_equal(mp_json_raw_member("{}", 2, "a", &v, &n), -1);
    assert_int_equal(mp_json_raw_member("{\"a\":1", 6, "a", &v, &n), -1);
    assert_int_equal(mp_json_raw_member("{\"a\"", 4, "a", &v, &n), -1);
    /* deep nesting is refused, not followed */
    char deep[400];
    size_t k = 0;
    k += (size_t)snprintf(deep, sizeof deep, "{\"a\":");
    for (int i = 0; i < 100; i++)
        deep[k++] = '[';
    for (int i = 0; i < 100; i++)
        deep[k++] = ']';
    k += (size_t)snprintf(deep + k, sizeof deep - k, ",\"b\":1}");
    assert_int_equal(mp_json_raw_member(deep, k, "b", &v, &n), -1);
}

static void test_payment_fixtures(void **state)
{
    (void)state;
    size_t len;
    char err[256];
    struct mp_payment p;
    const char *body = read_fixture("payment_approved.json", &len);
    assert_int_equal(mp_payment_parse(body, len, &p, err, sizeof err), 0);
    assert_string_equal(p.id, "1319381416");
    assert_string_equal(p.status, "approved");
    assert_string_equal(p.status_detail, "accredited");
    assert_string_equal(p.external_reference, "RES7K2M9QX4TB");
    assert_string_equal(p.currency, "ARS");
    assert_true(p.has_amount);
    assert_int_equal(p.amount_cents, 4320000);
    assert_string_equal(p.amount_text, "43200");
    body = read_fixture("payment_rejected.json", &len);
    assert_int_equal(mp_payment_parse(body, len, &p, err, sizeof err), 0);
    assert_string_equal(p.status, "rejected");
    assert_string_equal(p.id, "1319381999");
    assert_int_equal(p.amount_cents, 4320000);
    struct mp_preference pref;
    body = read_fixture("preference_created.json", &len);
    assert_int_equal(mp_preference_parse(body, len, &pref, err, sizeof err), 0);
    assert_string_equal(pref.id, "1234567890-2d7b1c3e-8f4a-4b6c-9e2d-1a3b5c7d9e0f");
    assert_string_equal(pref.init_point,
                        "https://www.mercadopago.com.ar/checkout/v1/redirect?pref_id=1234567890-"
                        "2d7b1c3e-8f4a-4b6c-9e2d-1a3b5c7d9e0f");
    assert_true(strncmp(pref.sandbox_init_point, "https://sandbox.", 16) == 0);
}

static void test_payment_parse_edges(void **state)
{
    (void)state;
    struct mp_payment p;
    char err[256];
    static const char *const good[] = {
        "{\"id\":\"77\",\"status\":\"pending\"}",
        "{\"id\":77,\"status\":\"approved\",\"transaction_amount\":\"432.10\",\"external_reference\":null}",
        "{\"id\":77,\"status\":\"approved\",\"transaction_amount\":1234567.89,\"currency_id\":\"ARS\"}",
    };
    assert_int_equal(mp_payment_parse(good[0], strlen(good[0]), &p, err, sizeof err), 0);
    assert_false(p.has_amount);
    assert_string_equal(p.external_reference, "");
    assert_int_equal(mp_payment_parse(good[1], strlen(good[1]), &p, err, sizeof err), 0);
    assert_int_equal(p.amount_cents, 43210);
    assert_int_equal(mp_payment_parse(good[2], strlen(good[2]), &p, err, sizeof err), 0);
    assert_int_equal(p.amount_cents, 123456789);
    static const char *const bad[] = {
        "",
        "[]",
        "{\"status\":\"approved\"}",
        "{\"id\":\"1 2\",\"status\":\"approved\"}",
        "{\"id\":1,\"status\":7}",
        "{\"id\":1}",
        "{\"id\":1,\"status\":\"approved\",\"transaction_amount\":-5}",
        "{\"id\":1,\"status\":\"approved\",\"transaction_amount\":true}",
        "{\"id\":1,\"status\":\"approved\",\"transaction_amount\":1e30}",
        "{\"id\":1,\"status\":\"approved\",\"id\":2}",
        "{\"id\":1,\"status\":\"approved\",\"external_reference\":{}}",
        "{\"id\":1,\"status\":\"approved\",\"currency_id\":\"ARSARSARS\"}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        if (mp_payment_parse(bad[i], strlen(bad[i]), &p, err, sizeof err) == 0)
            fail_msg("accepted: %s", bad[i]);
    struct mp_preference pref;
    const char *nolink = "{\"id\":\"p1\",\"init_point\":\"javascript:alert(1)\"}";
    assert_int_equal(mp_preference_parse(nolink, strlen(nolink), &pref, err, sizeof err), -1);
}

static void test_ids_and_ranks(void **state)
{
    (void)state;
    assert_true(mp_id_valid("1319381416"));
    assert_true(mp_id_valid("abc-DEF_9"));
    assert_false(mp_id_valid(""));
    assert_false(mp_id_valid(NULL));
    assert_false(mp_id_valid("12/34"));
    assert_false(mp_id_valid("12 34"));
    assert_false(mp_id_valid("1234567890123456789012345678901234567890123456789012345678901234X"));
    assert_true(mp_status_rank("pending") < mp_status_rank("approved"));
    assert_true(mp_status_rank("in_process") < mp_status_rank("approved"));
    assert_true(mp_status_rank("approved") < mp_status_rank("refunded"));
    assert_true(mp_status_rank("rejected") < mp_status_rank("approved"));
    assert_int_equal(mp_status_rank("refunded"), mp_status_rank("charged_back"));
    assert_int_equal(mp_status_rank("something_new"), mp_status_rank("pending"));
    assert_true(mp_status_reversal("refunded"));
    assert_true(mp_status_reversal("charged_back"));
    assert_false(mp_status_reversal("approved"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_amount_parse),     cmocka_unit_test(test_raw_member),
        cmocka_unit_test(test_payment_fixtures), cmocka_unit_test(test_payment_parse_edges),
        cmocka_unit_test(test_ids_and_ranks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
