/* test_nlu.c - unit tests for src/whatsapp/nlu.c.
 *
 * The phrasings are a data table, tests/data/nlu_cases.txt (directory overridable with CABANAS_TEST_DATA;
 * run from the repo root): each line gives "today", the message and every field nlu_parse() must return;
 * a field not listed must be empty, so a case fails on anything extra too. The table must hold at least
 * MIN_CASES cases, so a missing or truncated file fails instead of passing vacuously. The other tests
 * cover the limits: the 1,000-byte cap at a UTF-8 boundary, invalid UTF-8, too many tokens, NULL input,
 * and that the result depends on `today` and nothing else. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/booking.h"
#include "whatsapp/nlu.h"

#define MIN_CASES 150

static struct date mkdate(int y, int m, int d)
{
    struct date x = {y, m, d};
    return x;
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    char *e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
        *--e = '\0';
    return s;
}

struct expect {
    int intent;
    char in[11], out[11];
    int nights, guests, option, number, mine, invalid;
    char code[RES_CODE_LEN + 1];
};

static int parse_expect(char *spec, struct expect *e)
{
    memset(e, 0, sizeof *e);
    e->intent = -1;
    for (char *save = NULL, *w = strtok_r(spec, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
        char *eq = strchr(w, '=');
        if (!eq)
            return -1;
        *eq = '\0';
        const char *k = w, *v = eq + 1;
        if (strcmp(k, "intent") == 0)
            e->intent = nlu_intent_from_name(v);
        else if (strcmp(k, "in") == 0)
            snprintf(e->in, sizeof e->in, "%s", v);
        else if (strcmp(k, "out") == 0)
            snprintf(e->out, sizeof e->out, "%s", v);
        else if (strcmp(k, "code") == 0)
            snprintf(e->code, sizeof e->code, "%s", v);
        else {
            char *end;
            long n = strtol(v, &end, 10);
            if (*end)
                return -1;
            if (strcmp(k, "nights") == 0)
                e->nights = (int)n;
            else if (strcmp(k, "guests") == 0)
                e->guests = (int)n;
            else if (strcmp(k, "option") == 0)
                e->option = (int)n;
            else if (strcmp(k, "number") == 0)
                e->number = (int)n;
            else if (strcmp(k, "mine") == 0)
                e->mine = (int)n;
            else if (strcmp(k, "invalid") == 0)
                e->invalid = (int)n;
            else
                return -1;
        }
    }
    return e->intent >= 0 ? 0 : -1;
}

/* Compares one case; prints every mismatch. Returns 1 when it matched. */
static int check_case(int lineno, const char *today_s, const char *text, const struct expect *e)
{
    struct date today;
    if (dates_parse(today_s, &today) < 0) {
        print_error("line %d: bad today %s\n", lineno, today_s);
        return 0;
    }
    struct nlu_result r;
    nlu_parse(text, strlen(text), today, &r);
    char in[11] = "", out[11] = "";
    if (r.has_check_in)
        dates_format(r.check_in, in);
    if (r.has_check_out)
        dates_format(r.check_out, out);
    int ok = (int)r.intent == e->intent && strcmp(in, e->in) == 0 && strcmp(out, e->out) == 0 &&
             r.nights == e->nights && r.guests == e->guests && r.option == e->option &&
             r.number == e->number && r.mine == e->mine && r.invalid_date == e->invalid &&
             strcmp(r.code, e->code) == 0;
    if (!ok)
        print_error(
            "line %d: \"%s\" (today %s)\n   want intent=%s in=%s out=%s nights=%d guests=%d option=%d "
            "number=%d code=%s mine=%d invalid=%d\n   got  intent=%s in=%s out=%s nights=%d guests=%d "
            "option=%d number=%d code=%s mine=%d invalid=%d\n",
            lineno, text, today_s, nlu_intent_name((enum nlu_intent)e->intent), e->in, e->out, e->nights,
            e->guests, e->option, e->number, e->code, e->mine, e->invalid, nlu_intent_name(r.intent), in, out,
            r.nights, r.guests, r.option, r.number, r.code, r.mine, r.invalid_date);
    return ok;
}

static void test_cases_from_table(void **state)
{
    (void)state;
    const char *dir = getenv("CABANAS_TEST_DATA");
    char path[1024];
    snprintf(path, sizeof path, "%s/nlu_cases.txt", dir ? dir : "tests/data");
    FILE *f = fopen(path, "r");
    if (!f)
        fail_msg("cannot open %s", path);
    char line[4096];
    int lineno = 0, cases = 0, failed = 0;
    int per_intent[NLU_INTENT_COUNT] = {0};
    while (fgets(line, sizeof line, f)) {
        lineno++;
        char *s = trim(line);
        if (!*s || *s == '#')
            continue;
        char *bar1 = strchr(s, '|');
        char *bar2 = bar1 ? strchr(bar1 + 1, '|') : NULL;
        if (!bar1 || !bar2)
            fail_msg("line %d: expected `today | message | expectations`", lineno);
        *bar1 = *bar2 = '\0';
        struct expect e;
        char *today = trim(s), *text = trim(bar1 + 1), *spec = trim(bar2 + 1);
        if (parse_expect(spec, &e) < 0)
            fail_msg("line %d: bad expectations", lineno);
        cases++;
        per_intent[e.intent]++;
        if (!check_case(lineno, today, text, &e))
            failed++;
    }
    fclose(f);
    if (cases < MIN_CASES)
        fail_msg("only %d cases in %s (want at least %d)", cases, path, MIN_CASES);
    /* every intent the assistant acts on is exercised by the table */
    for (int i = 1; i < NLU_INTENT_COUNT; i++)
        if (per_intent[i] == 0)
            fail_msg("no case for intent %s", nlu_intent_name((enum nlu_intent)i));
    if (failed)
        fail_msg("%d of %d cases failed", failed, cases);
}

static void test_text_cap_and_utf8_boundary(void **state)
{
    (void)state;
    /* 999 bytes of 'a' then "ñ" (2 bytes): the cap falls inside the ñ, which is dropped whole */
    char buf[NLU_MAX_TEXT + 64];
    memset(buf, 'a', NLU_MAX_TEXT - 1);
    memcpy(buf + NLU_MAX_TEXT - 1, "\xc3\xb1 para 4", 9);
    struct nlu_result r;
    nlu_parse(buf, NLU_MAX_TEXT - 1 + 9, mkdate(2026, 12, 1), &r);
    assert_int_equal(r.truncated, 1);
    assert_int_equal(r.guests, 0); /* "para 4" is past the cap */

    char out[16];
    nlu_utf8_truncate("ab\xc3\xb1", 3, out, sizeof out);
    assert_string_equal(out, "ab");
    nlu_utf8_truncate("ab\xc3\xb1", 4, out, sizeof out);
    assert_string_equal(out, "ab\xc3\xb1");
    nlu_utf8_truncate("\xe2\x82\xac\xe2\x82\xac", 5, out, sizeof out); /* two euro signs, 3 bytes each */
    assert_string_equal(out, "\xe2\x82\xac");
    nlu_utf8_truncate("hola", 100, out, 3); /* the output size wins */
    assert_string_equal(out, "ho");

    /* exactly at the cap: not truncated */
    memset(buf, ' ', NLU_MAX_TEXT);
    memcpy(buf, "para 4", 6);
    nlu_parse(buf, NLU_MAX_TEXT, mkdate(2026, 12, 1), &r);
    assert_int_equal(r.truncated, 0);
    assert_int_equal(r.guests, 4);
}

static void test_invalid_utf8_and_binary(void **state)
{
    (void)state;
    struct nlu_result r;
    /* invalid bytes read as spaces: the words around them still count */
    const char msg[] = "para\xff"
                       "4\xc3 personas \xed\xa0\x80 \xf8\x88\x80\x80\x80 del 12 al 15 de enero\xc0\xaf";
    nlu_parse(msg, sizeof msg - 1, mkdate(2026, 12, 1), &r);
    assert_int_equal(r.intent, NLU_AVAILABILITY);
    assert_int_equal(r.guests, 4);
    assert_int_equal(r.has_check_in, 1);
    assert_int_equal(r.check_in.m, 1);
    assert_int_equal(r.check_in.d, 12);
    /* embedded NUL bytes and every byte value: no crash, same answer twice */
    unsigned char bin[NLU_MAX_TEXT];
    unsigned int x = 12345;
    for (int round = 0; round < 200; round++) {
        for (size_t i = 0; i < sizeof bin; i++) {
            x = x * 1103515245u + 12345u;
            bin[i] = (unsigned char)(x >> 16);
        }
        struct nlu_result a, b;
        nlu_parse((const char *)bin, sizeof bin, mkdate(2026, 12, 1), &a);
        nlu_parse((const char *)bin, sizeof bin, mkdate(2026, 12, 1), &b);
        assert_memory_equal(&a, &b, sizeof a);
        assert_true(a.guests >= 0 && a.guests <= NLU_MAX_GUESTS);
        if (a.has_check_in && a.has_check_out)
            assert_true(dates_diff_days(a.check_in, a.check_out) > 0);
    }
    nlu_parse(NULL, 10, mkdate(2026, 12, 1), &r);
    assert_int_equal(r.intent, NLU_UNKNOWN);
    nlu_parse("", 0, mkdate(2026, 12, 1), &r);
    assert_int_equal(r.intent, NLU_UNKNOWN);
}

static void test_many_tokens(void **state)
{
    (void)state;
    /* 500 one-letter words: only NLU_MAX_TOKENS are read, and the parse still finishes */
    char buf[NLU_MAX_TEXT];
    size_t n = 0;
    while (n + 2 <= sizeof buf) {
        buf[n++] = 'x';
        buf[n++] = ' ';
    }
    struct nlu_result r;
    nlu_parse(buf, n, mkdate(2026, 12, 1), &r);
    assert_int_equal(r.intent, NLU_UNKNOWN);
    /* a very long word is cut, not overflowed */
    char word[NLU_MAX_TEXT];
    memset(word, 'z', sizeof word);
    nlu_parse(word, sizeof word, mkdate(2026, 12, 1), &r);
    assert_int_equal(r.intent, NLU_UNKNOWN);
}

static void test_today_is_the_only_clock(void **state)
{
    (void)state;
    struct nlu_result a, b;
    nlu_parse("mañana", strlen("mañana"), mkdate(2030, 2, 28), &a);
    assert_int_equal(a.check_in.y, 2030);
    assert_int_equal(a.check_in.m, 3);
    assert_int_equal(a.check_in.d, 1);
    nlu_parse("mañana", strlen("mañana"), mkdate(2028, 2, 28), &b);
    assert_int_equal(b.check_in.m, 2);
    assert_int_equal(b.check_in.d, 29);
}

static void test_normalize_and_names(void **state)
{
    (void)state;
    char out[64];
    nlu_normalize("Cabaña  del LAGO!", strlen("Cabaña  del LAGO!"), out, sizeof out);
    assert_string_equal(out, "cabana del lago");
    nlu_normalize("¿Qué?", strlen("¿Qué?"), out, sizeof out);
    assert_string_equal(out, "que");
    for (int i = 0; i < NLU_INTENT_COUNT; i++)
        assert_int_equal(nlu_intent_from_name(nlu_intent_name((enum nlu_intent)i)), i);
    assert_int_equal(nlu_intent_from_name("nope"), -1);
    assert_string_equal(nlu_intent_name((enum nlu_intent)99), "unknown");
}

/* Every code the server hands out is understood back, in capitals or not: codes always carry a digit
 * (booking_code_new), which is what tells them from 13-letter words. */
static void test_every_generated_code_is_understood(void **state)
{
    (void)state;
    struct date today = {2026, 12, 1};
    for (int i = 0; i < 3000; i++) {
        char code[RES_CODE_LEN + 1], text[64];
        booking_code_new(code);
        snprintf(text, sizeof text, "cancelar %s", code);
        if (i % 2)
            for (char *p = text; *p; p++)
                *p = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
        struct nlu_result r;
        nlu_parse(text, strlen(text), today, &r);
        assert_int_equal(r.intent, NLU_CANCEL);
        assert_string_equal(r.code, code);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases_from_table),
        cmocka_unit_test(test_text_cap_and_utf8_boundary),
        cmocka_unit_test(test_invalid_utf8_and_binary),
        cmocka_unit_test(test_many_tokens),
        cmocka_unit_test(test_today_is_the_only_clock),
        cmocka_unit_test(test_normalize_and_names),
        cmocka_unit_test(test_every_generated_code_is_understood),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
