/* test_templates.c - the Spanish messages: money as "$ 43.200,00", dates as dd/mm/aaaa, expiry in the
 * property's zone (America/Argentina/Buenos_Aires, UTC-3, across a year boundary), every template for the
 * guest and the owner with the reservation's details, the payment-link variants of hold_created, payload
 * slots of ical_conflict and handoff (unknown keys listed, not lost), and hostile input: control
 * characters never reach a subject, long values are cut at a character boundary, an oversized body and
 * unknown templates are refused. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "notify/templates.h"

static struct reservation sample(void)
{
    struct reservation r;
    memset(&r, 0, sizeof r);
    snprintf(r.code, sizeof r.code, "RES0123456789");
    snprintf(r.accommodation_name, sizeof r.accommodation_name, "Cabaña del Bosque");
    snprintf(r.check_in, sizeof r.check_in, "2026-03-12");
    snprintf(r.check_out, sizeof r.check_out, "2026-03-15");
    r.guests = 2;
    snprintf(r.guest_name, sizeof r.guest_name, "Ana Gómez");
    snprintf(r.guest_phone, sizeof r.guest_phone, "5491155550000");
    snprintf(r.guest_email, sizeof r.guest_email, "ana@example.com");
    snprintf(r.channel, sizeof r.channel, "web");
    snprintf(r.status, sizeof r.status, "pre_reserved");
    snprintf(r.payment_status, sizeof r.payment_status, "pending");
    snprintf(r.currency, sizeof r.currency, "ARS");
    r.nights = 3;
    r.total_cents = 4320000;
    r.deposit_percent = 30;
    r.deposit_cents = 1296000;
    r.expires_at = 1773340200; /* 2026-03-12 18:30 UTC = 15:30 in Buenos Aires */
    return r;
}

static struct template_output *render(const char *name, int owner, const struct reservation *r,
                                      const char *payload_json, int payments, int expect_rc)
{
    static struct template_output out;
    char err[256] = "";
    json_t *payload = payload_json ? json_loads(payload_json, 0, NULL) : NULL;
    if (payload_json)
        assert_non_null(payload);
    struct template_input in = {.name = name,
                                .to_owner = owner,
                                .r = r,
                                .payload = payload,
                                .payments_enabled = payments,
                                .now = 1773300000};
    int rc = template_render(&in, &out, err, sizeof err);
    json_decref(payload);
    if (rc != expect_rc)
        fail_msg("%s (owner %d): rc %d, want %d (%s)", name, owner, rc, expect_rc, err);
    if (rc == 0) {
        assert_true(strlen(out.subject) > 0);
        for (const char *p = out.subject; *p; p++)
            assert_true((unsigned char)*p >= 0x20 && *p != 0x7f);
    } else {
        assert_true(strlen(err) > 0);
    }
    return &out;
}

#define assert_contains(haystack, needle)                                                                    \
    do {                                                                                                     \
        if (!strstr((haystack), (needle)))                                                                   \
            fail_msg("missing \"%s\" in:\n%s", (needle), (haystack));                                        \
    } while (0)
#define assert_lacks(haystack, needle)                                                                       \
    do {                                                                                                     \
        if (strstr((haystack), (needle)))                                                                    \
            fail_msg("unexpected \"%s\" in:\n%s", (needle), (haystack));                                     \
    } while (0)

static void test_money(void **state)
{
    char b[48];
    static const struct {
        int64_t cents;
        const char *currency, *want;
    } cases[] = {
        {4320000, "ARS", "$ 43.200,00"},
        {0, "ARS", "$ 0,00"},
        {5, "ARS", "$ 0,05"},
        {99, "", "$ 0,99"},
        {100, NULL, "$ 1,00"},
        {99999, "ARS", "$ 999,99"},
        {100000, "ARS", "$ 1.000,00"},
        {123456789, "ARS", "$ 1.234.567,89"},
        {100000000000, "ARS", "$ 1.000.000.000,00"},
        {123456, "USD", "USD 1.234,56"},
        {-1000, "ARS", "-$ 10,00"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        template_format_money(cases[i].cents, cases[i].currency, b, sizeof b);
        assert_string_equal(b, cases[i].want);
    }
}

static void test_dates_and_local_time(void **state)
{
    char b[32];
    template_format_date("2026-03-12", b, sizeof b);
    assert_string_equal(b, "12/03/2026");
    template_format_date("2026-12-01", b, sizeof b);
    assert_string_equal(b, "01/12/2026");
    template_format_date("2026-3-12", b, sizeof b); /* not YYYY-MM-DD: as is */
    assert_string_equal(b, "2026-3-12");
    template_format_date("", b, sizeof b);
    assert_string_equal(b, "");
    template_format_local_time(1773340200, b, sizeof b);
    assert_string_equal(b, "12/03/2026 15:30");
    template_format_local_time(1767233100, b, sizeof b); /* 2026-01-01 02:05 UTC */
    assert_string_equal(b, "31/12/2025 23:05");
    template_format_local_time(0, b, sizeof b);
    assert_string_equal(b, "");
}

static void test_hold_created_variants(void **state)
{
    struct reservation r = sample();
    struct template_output *o = render("hold_created", 0, &r, NULL, 0, 0);
    assert_string_equal(o->subject, "Tu pre-reserva en Cabaña del Bosque (RES0123456789)");
    assert_contains(o->body, "Hola, Ana Gómez:");
    assert_contains(o->body, "hasta el 12/03/2026 15:30 (hora local)");
    assert_contains(o->body, "Alojamiento: Cabaña del Bosque\n");
    assert_contains(o->body, "Código de reserva: RES0123456789\n");
    assert_contains(o->body, "Llegada (check-in): 12/03/2026\n");
    assert_contains(o->body, "Salida (check-out): 15/03/2026\n");
    assert_contains(o->body, "Noches: 3\n");
    assert_contains(o->body, "Huéspedes: 2\n");
    assert_contains(o->body, "Total: $ 43.200,00\n");
    assert_contains(o->body, "Seña (30 %): $ 12.960,00\n");
    assert_contains(o->body, "coordiná con nosotros el pago de la seña de $ 12.960,00");
    assert_lacks(o->body, "Mercado Pago");

    /* MercadoPago configured, link not ready yet */
    o = render("hold_created", 0, &r, NULL, 1, 0);
    assert_contains(o->body, "todavía se está generando");
    assert_contains(o->body, "con el código RES0123456789");

    snprintf(r.payment_url, sizeof r.payment_url,
             "https://www.mercadopago.com.ar/checkout/v1/redirect?pref_id=1-abc");
    o = render("hold_created", 0, &r, NULL, 1, 0);
    assert_contains(o->body, "pagá la seña de $ 12.960,00 con Mercado Pago antes de esa hora:\n"
                             "https://www.mercadopago.com.ar/checkout/v1/redirect?pref_id=1-abc\n");
    assert_lacks(o->body, "generando");
}

static void test_confirmed_guest_and_owner(void **state)
{
    struct reservation r = sample();
    snprintf(r.status, sizeof r.status, "confirmed");
    r.paid_cents = 1296000;
    struct template_output *o = render("booking_confirmed", 0, &r, NULL, 0, 0);
    assert_string_equal(o->subject, "Reserva confirmada en Cabaña del Bosque (RES0123456789)");
    assert_contains(o->body, "¡Tu reserva está confirmada!");
    assert_contains(o->body, "Pagado: $ 12.960,00\n");
    assert_contains(o->body, "Saldo a pagar: $ 30.240,00\n");
    assert_lacks(o->body, "ana@example.com"); /* the guest's own contact data is not repeated to them */

    o = render("booking_confirmed", 1, &r, NULL, 0, 0);
    assert_string_equal(o->subject,
                        "Reserva confirmada: Cabaña del Bosque, 12/03/2026 al 15/03/2026 (RES0123456789)");
    assert_contains(o->body, "Huésped: Ana Gómez\n");
    assert_contains(o->body, "Teléfono: +5491155550000\n");
    assert_contains(o->body, "Email: ana@example.com\n");
    assert_contains(o->body, "Canal: web\n");
    assert_contains(o->body, "Total: $ 43.200,00\n");

    /* fully paid: no balance line; no email: said so */
    r.paid_cents = r.total_cents;
    r.guest_email[0] = '\0';
    o = render("booking_confirmed", 1, &r, NULL, 0, 0);
    assert_lacks(o->body, "Saldo a pagar");
    assert_contains(o->body, "Email: (sin email)\n");
}

static void test_expired_cancelled_and_payments(void **state)
{
    struct reservation r = sample();
    struct template_output *o = render("hold_expired", 0, &r, NULL, 0, 0);
    assert_string_equal(o->subject, "Tu pre-reserva RES0123456789 venció");
    assert_contains(o->body, "del 12/03/2026 al 15/03/2026");
    assert_contains(o->body, "no recibimos el pago de la seña a tiempo");
    render("hold_expired", 1, &r, NULL, 0, 0);

    snprintf(r.cancel_reason, sizeof r.cancel_reason, "cambio de planes");
    o = render("booking_cancelled", 0, &r, NULL, 0, 0);
    assert_string_equal(o->subject, "Reserva cancelada: Cabaña del Bosque (RES0123456789)");
    assert_contains(o->body, "fue cancelada.\nMotivo: cambio de planes\n");
    o = render("booking_cancelled", 1, &r, NULL, 0, 0);
    assert_contains(o->body, "Motivo: cambio de planes\n");
    r.cancel_reason[0] = '\0';
    o = render("booking_cancelled", 0, &r, NULL, 0, 0);
    assert_lacks(o->body, "Motivo");
    o = render("booking_cancelled", 1, &r, NULL, 0, 0);
    assert_contains(o->body, "Motivo: (sin motivo)\n");

    r.paid_cents = 1296000;
    snprintf(r.payment_status, sizeof r.payment_status, "needs_refund");
    o = render("payment_needs_refund", 1, &r, "{\"payment_id\":\"123456789\",\"amount\":\"12960.00\"}", 1, 0);
    assert_string_equal(o->subject, "URGENTE: pago a devolver, reserva RES0123456789 (Cabaña del Bosque)");
    assert_contains(o->body, "hay que devolver el dinero");
    assert_contains(o->body, "Pagado: $ 12.960,00\n");
    assert_contains(o->body, "Estado del pago: needs_refund\n");
    assert_contains(o->body, "Otros datos:\npayment_id: 123456789\namount: 12960.00\n");
    assert_contains(o->body, "Huésped: Ana Gómez\n");
    o = render("payment_needs_refund", 0, &r, NULL, 1, 0);
    assert_contains(o->body, "nos vamos a comunicar con vos");

    snprintf(r.payment_status, sizeof r.payment_status, "refunded");
    o = render("payment_refunded", 1, &r, NULL, 1, 0);
    assert_string_equal(o->subject, "Pago devuelto: reserva RES0123456789 (Cabaña del Bosque)");
    assert_contains(o->body, "Estado del pago: refunded\n");
    render("payment_refunded", 0, &r, NULL, 1, 0);
}

static void test_ical_conflict_and_handoff_slots(void **state)
{
    struct template_output *o =
        render("ical_conflict", 1, NULL,
               "{\"accommodation_name\":\"Cabaña del Lago\",\"feed\":\"Airbnb\",\"start\":\"2026-04-01\","
               "\"end\":\"2026-04-03\",\"summary\":\"Reserved\",\"reservation_code\":\"RESABCDEFGHJK\","
               "\"uid\":\"abc@airbnb.com\",\"nights\":2,\"ignored\":null}",
               0, 0);
    assert_string_equal(o->subject, "Conflicto de calendario: Cabaña del Lago");
    assert_contains(o->body, "calendario externo \"Airbnb\" trajo fechas que se superponen");
    assert_contains(o->body, "Alojamiento: Cabaña del Lago\n");
    assert_contains(o->body, "Desde: 01/04/2026\nHasta: 03/04/2026\n");
    assert_contains(o->body, "Evento: Reserved\n");
    assert_contains(o->body, "Reserva afectada: RESABCDEFGHJK\n");
    assert_contains(o->body, "Otros datos:\nuid: abc@airbnb.com\nnights: 2\n");
    assert_lacks(o->body, "ignored");

    /* no payload at all still renders; the reservation fills in what it can */
    struct reservation r = sample();
    o = render("ical_conflict", 1, &r, NULL, 0, 0);
    assert_string_equal(o->subject, "Conflicto de calendario: Cabaña del Bosque");
    assert_contains(o->body, "Reserva afectada: RES0123456789\n");
    o = render("ical_conflict", 1, NULL, "{\"accommodation_id\":7}", 0, 0);
    assert_string_equal(o->subject, "Conflicto de calendario: alojamiento 7");

    o = render(
        "handoff", 1, NULL,
        "{\"name\":\"Juan Pérez\",\"phone\":\"5491166667777\",\"message\":\"¿Aceptan mascotas?\\nGracias\","
        "\"reason\":\"pregunta no entendida\"}",
        0, 0);
    assert_string_equal(o->subject, "Un huésped pide hablar con una persona: Juan Pérez (+5491166667777)");
    assert_contains(o->body, "Nombre: Juan Pérez\nTeléfono: +5491166667777\n");
    assert_contains(o->body, "Motivo: pregunta no entendida\n");
    assert_contains(o->body, "Último mensaje: ¿Aceptan mascotas? Gracias\n"); /* one line */
    assert_contains(o->body, "Respondele por WhatsApp al +5491166667777.");
    o = render("handoff", 1, NULL, "{\"guest_phone\":\"+5491100000000\"}", 0, 0);
    assert_string_equal(o->subject, "Un huésped pide hablar con una persona: +5491100000000");
    o = render("handoff", 1, NULL, "{}", 0, 0);
    assert_string_equal(o->subject, "Un huésped pide hablar con una persona");
}

static void test_refusals(void **state)
{
    struct reservation r = sample();
    render("no_such_template", 0, &r, NULL, 0, -1);
    render("booking_confirmed", 0, NULL, NULL, 0, -1); /* needs its reservation */
    assert_true(template_known("handoff"));
    assert_false(template_known("preference"));
    assert_true(template_needs_reservation("hold_expired"));
    assert_false(template_needs_reservation("ical_conflict"));

    /* a payload that would make the body huge: refused, not truncated */
    char *big = malloc(64 * 1024);
    size_t k = 0;
    k += (size_t)snprintf(big + k, 64 * 1024 - k, "{");
    for (int i = 0; i < 40; i++)
        k += (size_t)snprintf(big + k, 64 * 1024 - k, "%s\"k%d\":\"%0990d\"", i ? "," : "", i, 0);
    snprintf(big + k, 64 * 1024 - k, "}");
    render("handoff", 1, NULL, big, 0, -1);
    free(big);
}

static void test_hostile_values(void **state)
{
    struct reservation r = sample();
    /* an accommodation name with a line break must not split the subject */
    snprintf(r.accommodation_name, sizeof r.accommodation_name, "Cabaña\r\nBcc: evil@example.com");
    struct template_output *o = render("booking_confirmed", 0, &r, NULL, 0, 0);
    assert_null(strchr(o->subject, '\r'));
    assert_null(strchr(o->subject, '\n'));
    assert_contains(o->subject, "Cabaña Bcc: evil@example.com");

    /* a long payload value is cut at a character boundary: "ñ" is 2 bytes, never split */
    char payload[4096];
    size_t k = (size_t)snprintf(payload, sizeof payload, "{\"message\":\"x");
    for (int i = 0; i < 900; i++)
        k += (size_t)snprintf(payload + k, sizeof payload - k, "ñ");
    snprintf(payload + k, sizeof payload - k, "\"}");
    o = render("handoff", 1, NULL, payload, 0, 0);
    const char *m = strstr(o->body, "Último mensaje: x");
    assert_non_null(m);
    const char *end = strchr(m, '\n');
    assert_non_null(end);
    size_t value_len = (size_t)(end - (m + strlen("Último mensaje: ")));
    assert_true(value_len <= TEMPLATE_VALUE_MAX);
    assert_int_equal((value_len - 1) % 2, 0); /* "x" then whole "ñ"s */
    /* a long subject slot: the subject stays within its limit and valid UTF-8 */
    char name[300] = "";
    for (int i = 0; i < 60; i++)
        strncat(name, "ñ", sizeof name - strlen(name) - 1);
    char hp[512];
    snprintf(hp, sizeof hp, "{\"name\":\"%s\",\"phone\":\"%s\"}", name, "5491100000000");
    o = render("handoff", 1, NULL, hp, 0, 0);
    assert_true(strlen(o->subject) <= TEMPLATE_SUBJECT_MAX);
}

int main(void)
{
    setenv("TZ", "America/Argentina/Buenos_Aires", 1);
    tzset();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_money),
        cmocka_unit_test(test_dates_and_local_time),
        cmocka_unit_test(test_hold_created_variants),
        cmocka_unit_test(test_confirmed_guest_and_owner),
        cmocka_unit_test(test_expired_cancelled_and_payments),
        cmocka_unit_test(test_ical_conflict_and_handoff_slots),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_hostile_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
