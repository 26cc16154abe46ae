/* test_smtp_message.c - building RFC 5322 messages: the address grammar (nothing that could inject a
 * header or an SMTP command passes), "Name <addr>" parsing, RFC 2047 words (decoded back to the original,
 * never splitting a character, at most 75 characters, folded), quoted-printable bodies (decoded back to
 * the original, lines of at most 76 characters, CRLF only, no line that starts with '.'), and whole
 * messages: every required header, CR/LF in a subject or name refused. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "notify/smtp.h"

static void test_address_grammar(void **state)
{
    static const char *good[] = {"ana@example.com", "a.b+tag@mail.example.com.ar",
                                 "x_y-z@a-b.io",    "o'brien@example.org",
                                 "1@2.co",          NULL};
    static const char *bad[] = {"",
                                "ana",
                                "@example.com",
                                "ana@",
                                "ana@example",
                                "ana@@example.com",
                                "ana @example.com",
                                "ana@exa mple.com",
                                "ana@example.com\r\nRCPT TO:<x@y.z>",
                                "ana@example.com\n",
                                "<ana@example.com>",
                                "ana@example.com>",
                                "ana,bob@example.com",
                                "\"ana\"@example.com",
                                ".ana@example.com",
                                "ana.@example.com",
                                "a..b@example.com",
                                "ana@-example.com",
                                "ana@example-.com",
                                "ana@example..com",
                                "ana@example.com.",
                                "ana@exa_mple.com",
                                "añа@example.com",
                                "ana@example.com\t",
                                NULL};
    for (int i = 0; good[i]; i++)
        if (!smtp_address_valid(good[i]))
            fail_msg("refused a good address: %s", good[i]);
    for (int i = 0; bad[i]; i++)
        if (smtp_address_valid(bad[i]))
            fail_msg("accepted a bad address: %s", bad[i]);
    char longer[300];
    memset(longer, 'a', 65);
    snprintf(longer + 65, sizeof longer - 65, "@example.com"); /* local part over 64 */
    assert_false(smtp_address_valid(longer));
}

static void test_mailbox_parse(void **state)
{
    char name[128], addr[256];
    assert_int_equal(smtp_mailbox_parse("reservas@example.com", name, sizeof name, addr, sizeof addr), 0);
    assert_string_equal(name, "");
    assert_string_equal(addr, "reservas@example.com");
    assert_int_equal(
        smtp_mailbox_parse("Cabañas del Lago <reservas@example.com>", name, sizeof name, addr, sizeof addr),
        0);
    assert_string_equal(name, "Cabañas del Lago");
    assert_string_equal(addr, "reservas@example.com");
    assert_int_equal(smtp_mailbox_parse("\"Reservas\" <r@example.com>", name, sizeof name, addr, sizeof addr),
                     0);
    assert_string_equal(name, "Reservas");
    assert_int_equal(
        smtp_mailbox_parse("Evil\r\nBcc: x@y.com <r@example.com>", name, sizeof name, addr, sizeof addr), -1);
    assert_int_equal(
        smtp_mailbox_parse("Name <r@example.com> trailing", name, sizeof name, addr, sizeof addr), -1);
    assert_int_equal(smtp_mailbox_parse("Name <r@example.com", name, sizeof name, addr, sizeof addr), -1);
    assert_int_equal(smtp_mailbox_parse("Name <not an address>", name, sizeof name, addr, sizeof addr), -1);
    assert_int_equal(smtp_mailbox_parse("Na\"me <r@example.com>", name, sizeof name, addr, sizeof addr), -1);
    assert_int_equal(smtp_mailbox_parse("r@example.com", name, sizeof name, addr, 5), -1); /* does not fit */
}

/* Decodes a header value of RFC 2047 B-words (and plain text) back to UTF-8; checks word limits. */
static void decode_header(const char *v, char *out, size_t outlen)
{
    size_t k = 0;
    out[0] = '\0';
    while (*v) {
        if (strncmp(v, "\r\n ", 3) == 0) {
            v += 3;
            continue;
        }
        if (strncmp(v, "=?UTF-8?B?", 10) == 0) {
            const char *end = strstr(v + 10, "?=");
            assert_non_null(end);
            assert_true(end + 2 - v <= 75); /* RFC 2047: an encoded word is at most 75 characters */
            unsigned char bin[128];
            size_t binlen = 0;
            assert_int_equal(sodium_base642bin(bin, sizeof bin, v + 10, (size_t)(end - v - 10), NULL, &binlen,
                                               NULL, sodium_base64_VARIANT_ORIGINAL),
                             0);
            /* each word holds whole characters: it must not end inside a multi-byte sequence */
            assert_true(binlen > 0);
            unsigned char last = bin[binlen - 1];
            size_t lead = binlen - 1;
            while (lead > 0 && (bin[lead] & 0xC0) == 0x80)
                lead--;
            size_t want = bin[lead] >= 0xF0 ? 4 : bin[lead] >= 0xE0 ? 3 : bin[lead] >= 0xC0 ? 2 : 1;
            assert_int_equal(binlen - lead, want);
            (void)last;
            memcpy(out + k, bin, binlen);
            k += binlen;
            out[k] = '\0';
            v = end + 2;
        } else {
            assert_true(k + 1 < outlen);
            out[k++] = *v++;
            out[k] = '\0';
        }
    }
}

static void test_header_text(void **state)
{
    static const char *texts[] = {
        "Reserva confirmada",
        "Reserva confirmada en Cabaña del Bosque (RES0123456789)",
        "¡Ñandú! ÁÉÍÓÚ áéíóú ü € 😀 ends with an emoji 😀😀😀😀😀😀😀😀😀😀",
        "a plain ASCII subject that is longer than sixty characters, so it is encoded",
        "looks like =?UTF-8?B?encoded?= but is not",
        NULL};
    for (int i = 0; texts[i]; i++) {
        struct buf b;
        buf_init(&b, 4096);
        assert_int_equal(smtp_header_text(texts[i], &b), 0);
        for (size_t j = 0; j < b.len; j++) {
            unsigned char c = (unsigned char)b.data[j];
            assert_true(c < 0x80); /* headers are ASCII */
            if (c == '\r')
                assert_true(b.data[j + 1] == '\n' && b.data[j + 2] == ' '); /* only as folding */
        }
        char decoded[1024];
        decode_header(b.data, decoded, sizeof decoded);
        assert_string_equal(decoded, texts[i]);
        buf_cleanup(&b);
    }
    struct buf b;
    buf_init(&b, 4096);
    assert_int_equal(smtp_header_text("Reserva", &b), 0);
    assert_string_equal(b.data, "Reserva"); /* short ASCII stays readable */
    buf_reset(&b);
    assert_int_equal(smtp_header_text("Hi\r\nBcc: evil@example.com", &b), SMTP_INVALID);
    assert_int_equal(smtp_header_text("Hi\nthere", &b), SMTP_INVALID);
    assert_int_equal(smtp_header_text("tab\there", &b), SMTP_INVALID);
    assert_int_equal(smtp_header_text("bad \xC3", &b), SMTP_INVALID);         /* truncated UTF-8 */
    assert_int_equal(smtp_header_text("bad \xC0\xAF", &b), SMTP_INVALID);     /* overlong */
    assert_int_equal(smtp_header_text("bad \xED\xA0\x80", &b), SMTP_INVALID); /* surrogate */
    assert_int_equal(smtp_header_text("c1 \xC2\x85 control", &b), SMTP_INVALID);
    buf_cleanup(&b);
}

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Decodes quoted-printable (CRLF lines) to text with LF line ends, checking the encoding rules. */
static char *qp_decode_checked(const char *qp)
{
    char *out = malloc(strlen(qp) + 1);
    size_t k = 0;
    const char *line = qp;
    while (*line) {
        const char *eol = strstr(line, "\r\n");
        int last = eol == NULL; /* only the last line may lack its CRLF (a text without a final newline) */
        if (last)
            eol = line + strlen(line);
        size_t n = (size_t)(eol - line);
        assert_true(n <= 76);
        assert_true(memchr(line, '\n', n) == NULL && memchr(line, '\r', n) == NULL); /* no bare LF/CR */
        if (n)
            assert_true(line[0] != '.'); /* no line can end DATA early or be dot-stuffed */
        int soft = n > 0 && line[n - 1] == '=';
        if (!soft && n > 0)
            assert_true(line[n - 1] != ' ' && line[n - 1] != '\t'); /* trailing blanks are encoded */
        for (size_t i = 0; i < n - (size_t)soft; i++) {
            unsigned char c = (unsigned char)line[i];
            assert_true(c == '\t' || (c >= 32 && c <= 126));
            if (c == '=') {
                int hi = hexval(line[i + 1]), lo = hexval(line[i + 2]);
                assert_true(hi >= 0 && lo >= 0);
                out[k++] = (char)(hi * 16 + lo);
                i += 2;
            } else {
                out[k++] = (char)c;
            }
        }
        if (!soft && !last)
            out[k++] = '\n';
        line = last ? eol : eol + 2;
    }
    out[k] = '\0';
    return out;
}

static void roundtrip(const char *text, const char *expect_lf)
{
    struct buf b;
    buf_init(&b, 1 << 20);
    assert_int_equal(smtp_qp_encode(text, &b), 0);
    char *back = qp_decode_checked(b.data ? b.data : "");
    assert_string_equal(back, expect_lf);
    free(back);
    buf_cleanup(&b);
}

static void test_quoted_printable(void **state)
{
    roundtrip("Hola, Ana Gómez:\n\n¡Tu reserva está confirmada!\n",
              "Hola, Ana Gómez:\n\n¡Tu reserva está confirmada!\n");
    roundtrip("a=b\r\nc\rd\n", "a=b\nc\nd\n"); /* CRLF, lone CR and LF all become one line end */
    roundtrip(".leading dot\n..two\n.\n", ".leading dot\n..two\n.\n");
    roundtrip("trailing space \ntrailing tab\t\n", "trailing space \ntrailing tab\t\n");
    roundtrip("From the start\n", "From the start\n");
    char longline[2000];
    size_t k = 0;
    for (int i = 0; i < 300; i++)
        k += (size_t)snprintf(longline + k, sizeof longline - k,
                              i % 7 == 0    ? "ñ"
                              : i % 11 == 0 ? "="
                              : i % 13 == 0 ? " "
                              : i % 17 == 0 ? "."
                                            : "x");
    roundtrip(longline, longline);
    /* an exactly 76-character line fits without a soft break */
    char exact[77];
    memset(exact, 'y', 76);
    exact[76] = '\0';
    struct buf b;
    buf_init(&b, 4096);
    assert_int_equal(smtp_qp_encode(exact, &b), 0);
    assert_string_equal(b.data, exact);
    buf_cleanup(&b);
    /* the limit of the output buffer is honoured */
    buf_init(&b, 10);
    assert_int_equal(smtp_qp_encode("ñññññññññññññ", &b), BUF_TOO_BIG);
    buf_cleanup(&b);
}

static const char *header_value(const char *msg, const char *name)
{
    static char v[1024];
    char key[64];
    snprintf(key, sizeof key, "\r\n%s: ", name);
    const char *p = strncmp(msg, key + 2, strlen(key) - 2) == 0 ? msg + strlen(key) - 2 : NULL;
    if (!p) {
        p = strstr(msg, key);
        if (!p)
            return NULL;
        p += strlen(key);
    }
    const char *end = p;
    while (*end && !(end[0] == '\r' && end[1] == '\n' && end[2] != ' '))
        end++;
    snprintf(v, sizeof v, "%.*s", (int)(end - p), p);
    return v;
}

static void test_build_message(void **state)
{
    char id[SMTP_MESSAGE_ID_MAX], err[128];
    smtp_message_id_new("reservas@example.com", 1773340200, id, sizeof id);
    assert_true(strncmp(id, "<1773340200.", 12) == 0);
    assert_non_null(strstr(id, "@example.com>"));
    char id2[SMTP_MESSAGE_ID_MAX];
    smtp_message_id_new("reservas@example.com", 1773340200, id2, sizeof id2);
    assert_string_not_equal(id, id2);

    struct smtp_message m = {.from = "Cabañas del Lago <reservas@example.com>",
                             .to = "ana@example.com",
                             .subject = "Reserva confirmada en Cabaña del Bosque (RES0123456789)",
                             .body = "Hola, Ana:\n\n.Total: $ 43.200,00\n"};
    struct buf b;
    buf_init(&b, SMTP_MESSAGE_MAX);
    assert_int_equal(smtp_build_message(&m, 1773340200, id, &b, err, sizeof err), 0);
    const char *msg = b.data;
    assert_string_equal(header_value(msg, "Date"), "Thu, 12 Mar 2026 18:30:00 +0000");
    assert_string_equal(header_value(msg, "To"), "ana@example.com");
    assert_string_equal(header_value(msg, "Message-ID"), id);
    assert_string_equal(header_value(msg, "MIME-Version"), "1.0");
    assert_string_equal(header_value(msg, "Content-Type"), "text/plain; charset=UTF-8");
    assert_string_equal(header_value(msg, "Content-Transfer-Encoding"), "quoted-printable");
    char decoded[512];
    decode_header(header_value(msg, "Subject"), decoded, sizeof decoded);
    assert_string_equal(decoded, m.subject);
    decode_header(header_value(msg, "From"), decoded, sizeof decoded);
    assert_string_equal(decoded, "Cabañas del Lago <reservas@example.com>");
    const char *body = strstr(msg, "\r\n\r\n");
    assert_non_null(body);
    char *text = qp_decode_checked(body + 4);
    assert_string_equal(text, "Hola, Ana:\n\n.Total: $ 43.200,00\n");
    free(text);
    for (size_t i = 0; i < b.len; i++) {
        assert_true((unsigned char)b.data[i] < 0x80); /* 7-bit clean */
        if (b.data[i] == '\n')
            assert_true(i > 0 && b.data[i - 1] == '\r');
    }
    buf_cleanup(&b);

    /* plain sender, ASCII name */
    struct smtp_message m2 = m;
    m2.from = "Reservas <r@example.com>";
    buf_init(&b, SMTP_MESSAGE_MAX);
    assert_int_equal(smtp_build_message(&m2, 1773340200, id, &b, err, sizeof err), 0);
    assert_string_equal(header_value(b.data, "From"), "\"Reservas\" <r@example.com>");
    buf_cleanup(&b);

    /* refusals: header injection through any field */
    static const struct {
        const char *from, *to, *subject;
    } bad[] = {
        {"r@example.com", "ana@example.com\r\nBcc: evil@example.com", "s"},
        {"r@example.com", "ana@example.com", "s\r\nBcc: evil@example.com"},
        {"r@example.com", "ana@example.com", "s\nBcc: evil@example.com"},
        {"r@example.com", "ana@example.com", ""},
        {"Evil\r\nBcc: e@example.com <r@example.com>", "ana@example.com", "s"},
        {"not-an-address", "ana@example.com", "s"},
        {"r@example.com", "not-an-address", "s"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        struct smtp_message x = {
            .from = bad[i].from, .to = bad[i].to, .subject = bad[i].subject, .body = "b"};
        buf_init(&b, SMTP_MESSAGE_MAX);
        err[0] = '\0';
        assert_int_equal(smtp_build_message(&x, 1773340200, id, &b, err, sizeof err), SMTP_INVALID);
        assert_true(strlen(err) > 0);
        buf_cleanup(&b);
    }
    /* a body past the limit is refused, not cut */
    char *huge = malloc(SMTP_MESSAGE_MAX);
    memset(huge, 'z', SMTP_MESSAGE_MAX - 1);
    huge[SMTP_MESSAGE_MAX - 1] = '\0';
    struct smtp_message hm = m;
    hm.body = huge;
    buf_init(&b, SMTP_MESSAGE_MAX);
    assert_int_equal(smtp_build_message(&hm, 1773340200, id, &b, err, sizeof err), SMTP_INVALID);
    buf_cleanup(&b);
    free(huge);
}

static void test_send_refuses_before_connecting(void **state)
{
    /* an invalid message never opens a connection: the URL points nowhere that could answer */
    struct smtp_settings s = {.url = "smtp://127.0.0.1:1", .timeout_ms = 1000};
    struct smtp_message m = {
        .from = "r@example.com", .to = "ana@example.com", .subject = "x\r\nBcc: e@x.com", .body = "b"};
    char id[SMTP_MESSAGE_ID_MAX], err[256];
    assert_int_equal(smtp_send(&s, &m, NULL, id, sizeof id, err, sizeof err), SMTP_INVALID);
    assert_string_equal(id, "");
    /* a valid one to a closed port is a temporary failure */
    m.subject = "ok";
    assert_int_equal(smtp_send(&s, &m, NULL, id, sizeof id, err, sizeof err), SMTP_TEMPORARY);
    assert_string_equal(id, "");
    assert_true(strlen(err) > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_address_grammar), cmocka_unit_test(test_mailbox_parse),
        cmocka_unit_test(test_header_text),     cmocka_unit_test(test_quoted_printable),
        cmocka_unit_test(test_build_message),   cmocka_unit_test(test_send_refuses_before_connecting),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
