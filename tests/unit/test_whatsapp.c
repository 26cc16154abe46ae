/* test_whatsapp.c - unit tests for the pure parts of src/whatsapp: the webhook signature check, the
 * Graph API payload builders and their limits (characters, not bytes), Argentine money and date formats,
 * the session state round trip (and that garbage reads as a fresh session), and the template lookup. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "whatsapp/graph.h"
#include "whatsapp/notify.h"
#include "whatsapp/replies.h"
#include "whatsapp/session.h"
#include "whatsapp/webhook.h"

static void hmac_hex(const char *secret, const char *body, char out[80])
{
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret, strlen(secret));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, strlen(body));
    crypto_auth_hmacsha256_final(&st, mac);
    memcpy(out, "sha256=", 7);
    sodium_bin2hex(out + 7, 80 - 7, mac, sizeof mac);
}

static void test_signature(void **state)
{
    (void)state;
    const char *body = "{\"object\":\"whatsapp_business_account\"}";
    char sig[80];
    hmac_hex("wa-app-secret-test", body, sig);
    assert_true(wa_signature_valid("wa-app-secret-test", sig, body, strlen(body)));
    /* RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?" */
    assert_true(wa_signature_valid("Jefe",
                                   "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
                                   "what do ya want for nothing?", 28));
    /* upper-case hex is the same bytes */
    assert_true(wa_signature_valid("Jefe",
                                   "sha256=5BDCC146BF60754E6A042426089575C75A003F089D2739839DEC58B964EC3843",
                                   "what do ya want for nothing?", 28));
    assert_false(wa_signature_valid("Jefe",
                                    "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3844",
                                    "what do ya want for nothing?", 28));
    assert_false(wa_signature_valid("wa-app-secret-test", sig, body, strlen(body) - 1)); /* one byte less */
    assert_false(wa_signature_valid("other", sig, body, strlen(body)));
    assert_false(wa_signature_valid("wa-app-secret-test", sig + 7, body, strlen(body))); /* no prefix */
    assert_false(wa_signature_valid("wa-app-secret-test", "sha256=", body, strlen(body)));
    assert_false(wa_signature_valid("wa-app-secret-test", "sha256=zz", body, strlen(body)));
    assert_false(wa_signature_valid("wa-app-secret-test", NULL, body, strlen(body)));
    assert_false(wa_signature_valid("", sig, body, strlen(body)));
    char longer[100];
    snprintf(longer, sizeof longer, "%s00", sig);
    assert_false(wa_signature_valid("wa-app-secret-test", longer, body, strlen(body)));
}

static void test_clip_counts_characters(void **state)
{
    (void)state;
    char out[128];
    /* 20 characters of 2 bytes each fit a 20-character title as they are */
    const char *n20 = "ññññññññññññññññññññ";
    assert_string_equal(wa_clip(n20, 20, out, sizeof out), n20);
    /* 21: cut to 19 and an ellipsis, never inside a character */
    char n21[64];
    snprintf(n21, sizeof n21, "%sñ", n20);
    wa_clip(n21, 20, out, sizeof out);
    assert_string_equal(out, "ñññññññññññññññññññ\xe2\x80\xa6");
    assert_string_equal(wa_clip("Reservar", 20, out, sizeof out), "Reservar");
    assert_string_equal(wa_clip("abc\xff"
                                "def",
                                10, out, sizeof out),
                        "abcdef"); /* invalid byte dropped */
    assert_string_equal(wa_clip(NULL, 10, out, sizeof out), "");
    assert_string_equal(wa_clip("abcdef", 3, out, 4), "ab"); /* the buffer wins, no room for … */
}

static void test_builders(void **state)
{
    (void)state;
    json_t *m = wa_msg_text("5492944123456", "hola");
    assert_string_equal(json_string_value(json_object_get(m, "messaging_product")), "whatsapp");
    assert_string_equal(json_string_value(json_object_get(m, "to")), "5492944123456");
    assert_string_equal(json_string_value(json_object_get(json_object_get(m, "text"), "body")), "hola");
    json_decref(m);

    struct wa_button b[4] = {{"reserve:2", "Reservar"},
                             {"change_dates", "Cambiar fechas y mucho más texto"},
                             {"x", "c"},
                             {"y", "d"}};
    assert_null(wa_msg_buttons("1", "body", b, 4)); /* at most 3 */
    assert_null(wa_msg_buttons("1", "body", b, 0));
    m = wa_msg_buttons("1", "body", b, 2);
    json_t *buttons =
        json_object_get(json_object_get(json_object_get(m, "interactive"), "action"), "buttons");
    assert_int_equal(json_array_size(buttons), 2);
    const char *t =
        json_string_value(json_object_get(json_object_get(json_array_get(buttons, 1), "reply"), "title"));
    assert_string_equal(t, "Cambiar fechas y mu\xe2\x80\xa6"); /* 20 characters */
    json_decref(m);

    struct wa_row rows[11];
    for (int i = 0; i < 11; i++)
        rows[i] = (struct wa_row){"acc:1", "Cabaña del Lago con un nombre larguísimo", "$ 66.000 en total"};
    assert_null(wa_msg_list("1", "body", "Ver opciones", rows, 11)); /* at most 10 */
    m = wa_msg_list("1", "body", "Ver opciones", rows, 10);
    json_t *sec = json_array_get(
        json_object_get(json_object_get(json_object_get(m, "interactive"), "action"), "sections"), 0);
    assert_int_equal(json_array_size(json_object_get(sec, "rows")), 10);
    t = json_string_value(json_object_get(json_array_get(json_object_get(sec, "rows"), 0), "title"));
    assert_string_equal(t, "Cabaña del Lago con un \xe2\x80\xa6"); /* 24 characters */
    json_decref(m);

    const char *params[] = {"RES7K3M9Q2X4A", "Cabaña del Lago"};
    m = wa_msg_template("1", "reserva_confirmada", "es_AR", params, 2);
    json_t *tpl = json_object_get(m, "template");
    assert_string_equal(json_string_value(json_object_get(json_object_get(tpl, "language"), "code")),
                        "es_AR");
    json_decref(m);
    assert_null(wa_msg_template("1", "", "es_AR", params, 2));
}

static void test_money_and_days(void **state)
{
    (void)state;
    char out[WA_FMT_MAX];
    wa_fmt_money(19800000, out);
    assert_string_equal(out, "$ 198.000");
    wa_fmt_money(123450, out);
    assert_string_equal(out, "$ 1.234,50");
    wa_fmt_money(5, out);
    assert_string_equal(out, "$ 0,05");
    wa_fmt_money(0, out);
    assert_string_equal(out, "$ 0");
    wa_fmt_money(100000000000000LL, out);
    assert_string_equal(out, "$ 1.000.000.000.000");
    struct date d = {2027, 1, 12};
    wa_fmt_day(d, 2027, out);
    assert_string_equal(out, "martes 12/01");
    wa_fmt_day(d, 2026, out);
    assert_string_equal(out, "martes 12/01/2027");
}

static void test_session_json(void **state)
{
    (void)state;
    struct wa_session s = {0}, t;
    snprintf(s.check_in, sizeof s.check_in, "2027-01-12");
    snprintf(s.check_out, sizeof s.check_out, "2027-01-15");
    s.guests = 4;
    s.step = WA_STEP_OPTIONS;
    s.noffers = 2;
    s.offers[0] = (struct wa_offer){3, 6600000};
    s.offers[1] = (struct wa_offer){1, 13500000};
    char text[WA_SESSION_JSON_MAX];
    assert_int_equal(wa_session_to_json(&s, text, sizeof text), 0);
    assert_int_equal(wa_session_from_json(text, &t), 0);
    assert_memory_equal(&s, &t, sizeof s);
    /* garbage, wrong types, out-of-range values: a fresh session */
    const char *bad[] = {"",
                         "[]",
                         "{\"in\":\"2027-13-01\",\"out\":\"\",\"offers\":[]}",
                         "{\"offers\":5}",
                         "{\"step\":99,\"offers\":[]}",
                         "{\"guests\":-1,\"offers\":[]}",
                         "{\"offers\":[[1,2],[3]]}",
                         "{\"offers\":[[1,2],[1,2],[1,2],[1,2],[1,2],[1,2],[1,2],[1,2],"
                         "[1,2],[1,2],[1,2]]}"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        memset(&t, 0x5a, sizeof t);
        assert_int_equal(wa_session_from_json(bad[i], &t), -1);
        assert_int_equal(t.guests, 0);
        assert_int_equal(t.noffers, 0);
    }
}

static void test_template_for(void **state)
{
    (void)state;
    char out[64];
    const char *cfg = "booking_confirmed=reserva_confirmada, hold_expired = x,bad=Has-Caps";
    assert_int_equal(wa_template_for(cfg, "booking_confirmed", out, sizeof out), 0);
    assert_string_equal(out, "reserva_confirmada");
    assert_int_equal(wa_template_for(cfg, "booking_cancelled", out, sizeof out), -1);
    assert_int_equal(wa_template_for(cfg, "bad", out, sizeof out), -1);
    assert_int_equal(wa_template_for("", "booking_confirmed", out, sizeof out), -1);
    assert_int_equal(wa_template_for("booking=x", "booking_confirmed", out, sizeof out), -1);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_signature),    cmocka_unit_test(test_clip_counts_characters),
        cmocka_unit_test(test_builders),     cmocka_unit_test(test_money_and_days),
        cmocka_unit_test(test_session_json), cmocka_unit_test(test_template_for),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
