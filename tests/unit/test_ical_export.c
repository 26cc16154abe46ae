/* test_ical_export.c - unit tests for src/ical/ical_export.c: the published calendar and its URL tokens.
 *
 * The writer's output is compared byte for byte with golden files (tests/data/ical/export_*.ics), and is
 * also checked on its own terms, so a wrong golden file cannot pass: every line ends in CRLF and has at most
 * 75 octets, a fold never splits a UTF-8 character, and the calendar parsed back with libical (and with our
 * own feed parser, the way another cabanas instance reads it) gives the same events. Tokens are checked
 * against HMAC-SHA256 values computed independently (Python's hmac module). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <libical/ical.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "ical/ical_export.h"
#include "ical/ical_parse.h"

static char *read_file(const char *name, size_t *len)
{
    const char *dir = getenv("CABANAS_TEST_DATA");
    char path[512];
    snprintf(path, sizeof path, "%s/ical/%s", dir ? dir : "tests/data", name);
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s (run from the repo root or set CABANAS_TEST_DATA)", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    char *data = malloc((size_t)n + 1);
    assert_non_null(data);
    assert_int_equal(fread(data, 1, (size_t)n, f), (size_t)n);
    data[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return data;
}

static const struct ical_export_item ITEMS[] = {
    {"r12@cabanas.example.com", "2026-12-10", "2026-12-13", "On hold", 1796160000},
    {"r13@cabanas.example.com", "2026-12-20", "2026-12-27", "Reserved", 1796163600},
    {"b4@cabanas.example.com", "2027-01-12", "2027-01-15", "Not available", 1796167200},
    {"b5@cabanas.example.com", "2027-06-01", "2027-11-30", "Not available", 1796167201},
};
#define NITEMS ((int)(sizeof ITEMS / sizeof *ITEMS))
/* 86 octets once escaped, with two-byte characters around column 75 */
static const char CALNAME[] = "Cabaña del lago, \"la grande\"; vista al Nahuel Huapi\\ñandú ñandú ñandú ñ";

static char *written(const char *calname, const struct ical_export_item *items, int n, size_t *len)
{
    struct buf out;
    buf_init(&out, 1 << 20);
    assert_int_equal(ical_export_write(&out, calname, items, n), 0);
    return buf_steal(&out, len);
}

/* CRLF only, at most 75 octets per line, continuation lines start with a space, no UTF-8 character split
 * across a fold. */
static void assert_rfc5545_lines(const char *s, size_t len)
{
    size_t start = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '\n') {
            assert_true(i > 0 && s[i - 1] == '\r');
            size_t l = i - 1 - start;
            assert_true(l <= 75);
            if (i + 1 < len && s[i + 1] == ' ')
                /* the next line continues this one: it must not start inside a UTF-8 sequence */
                assert_true(i + 2 >= len || ((unsigned char)s[i + 2] & 0xC0) != 0x80);
            start = i + 1;
        } else if (s[i] == '\r') {
            assert_true(i + 1 < len && s[i + 1] == '\n');
        }
    }
    assert_int_equal(start, len); /* ends with CRLF */
}

static void test_golden(void **state)
{
    (void)state;
    size_t len, glen;
    char *got = written(CALNAME, ITEMS, NITEMS, &len);
    char *golden = read_file("export_golden.ics", &glen);
    assert_int_equal(len, glen);
    assert_memory_equal(got, golden, len);
    assert_rfc5545_lines(got, len);
    free(got);
    free(golden);

    got = written(NULL, NULL, 0, &len);
    golden = read_file("export_empty.ics", &glen);
    assert_int_equal(len, glen);
    assert_memory_equal(got, golden, len);
    assert_rfc5545_lines(got, len);
    free(got);
    free(golden);
}

static void test_deterministic(void **state)
{
    (void)state;
    size_t a_len, b_len;
    char *a = written(CALNAME, ITEMS, NITEMS, &a_len);
    char *b = written(CALNAME, ITEMS, NITEMS, &b_len);
    assert_int_equal(a_len, b_len);
    assert_memory_equal(a, b, a_len); /* no "now" inside: an unchanged calendar keeps its ETag */
    free(a);
    free(b);
}

static void test_parsed_back_with_libical(void **state)
{
    (void)state;
    size_t len;
    char *text = written(CALNAME, ITEMS, NITEMS, &len);
    icalcomponent *cal = icalparser_parse_string(text);
    assert_non_null(cal);
    assert_int_equal(icalcomponent_isa(cal), ICAL_VCALENDAR_COMPONENT);
    icalproperty *v = icalcomponent_get_first_property(cal, ICAL_VERSION_PROPERTY);
    assert_non_null(v);
    assert_string_equal(icalproperty_get_version(v), "2.0");
    assert_non_null(icalcomponent_get_first_property(cal, ICAL_PRODID_PROPERTY));
    icalproperty *name = icalcomponent_get_first_property(cal, ICAL_X_PROPERTY);
    assert_non_null(name);
    assert_string_equal(icalproperty_get_x(name), CALNAME); /* escapes and folds undone */
    int i = 0;
    for (icalcomponent *e = icalcomponent_get_first_component(cal, ICAL_VEVENT_COMPONENT); e;
         e = icalcomponent_get_next_component(cal, ICAL_VEVENT_COMPONENT), i++) {
        assert_true(i < NITEMS);
        assert_null(icalcomponent_get_first_property(e, ICAL_XLICERROR_PROPERTY));
        assert_string_equal(icalcomponent_get_uid(e), ITEMS[i].uid);
        assert_string_equal(icalcomponent_get_summary(e), ITEMS[i].summary);
        struct icaltimetype s = icalcomponent_get_dtstart(e), en = icalcomponent_get_dtend(e);
        assert_true(s.is_date && en.is_date);
        char sb[11], eb[11];
        snprintf(sb, sizeof sb, "%04d-%02d-%02d", s.year, s.month, s.day);
        snprintf(eb, sizeof eb, "%04d-%02d-%02d", en.year, en.month, en.day);
        assert_string_equal(sb, ITEMS[i].start);
        assert_string_equal(eb, ITEMS[i].end);
        struct icaltimetype stamp = icalcomponent_get_dtstamp(e);
        assert_true(icaltime_is_utc(stamp));
        assert_int_equal((long long)icaltime_as_timet(stamp), ITEMS[i].stamp);
    }
    assert_int_equal(i, NITEMS);
    icalcomponent_free(cal);

    /* and as another cabanas instance reads it: the same nights */
    struct ical_parse_options o = {"America/Argentina/Buenos_Aires", {2026, 12, 1}, 730, 0, 0};
    struct ical_feed *f = NULL;
    char err[100];
    assert_int_equal(ical_feed_parse(text, len, &o, &f, err, sizeof err), ICAL_OK);
    assert_int_equal(f->nevents, NITEMS);
    assert_int_equal(f->nquarantine, 0);
    for (int k = 0; k < NITEMS; k++) {
        assert_string_equal(f->events[k].uid, ITEMS[k].uid);
        assert_string_equal(f->events[k].start, ITEMS[k].start);
        assert_string_equal(f->events[k].end, ITEMS[k].end);
    }
    ical_feed_free(f);
    free(text);
}

static void test_fold_never_splits_a_character(void **state)
{
    (void)state;
    /* names of 20 to 69 two- and three-byte characters */
    for (int n = 20; n < 70; n++) {
        char name[512];
        size_t used = 0;
        for (int i = 0; i < n; i++) {
            const char *ch = i % 3 ? "ñ" : "€";
            memcpy(name + used, ch, strlen(ch));
            used += strlen(ch);
        }
        name[used] = '\0';
        size_t len;
        char *text = written(name, NULL, 0, &len);
        assert_rfc5545_lines(text, len);
        icalcomponent *cal = icalparser_parse_string(text);
        assert_non_null(cal);
        assert_string_equal(icalproperty_get_x(icalcomponent_get_first_property(cal, ICAL_X_PROPERTY)), name);
        icalcomponent_free(cal);
        free(text);
    }
}

static void test_limit(void **state)
{
    (void)state;
    struct buf out;
    buf_init(&out, 200);
    assert_int_equal(ical_export_write(&out, "x", ITEMS, NITEMS), BUF_TOO_BIG);
    buf_cleanup(&out);
}

static void test_tokens(void **state)
{
    (void)state;
    char t[ICAL_TOKEN_LEN + 1];
    const char *salt = "test-salt-0123456789abcdef";
    ical_export_token(salt, 7, 0, t);
    assert_string_equal(t, "1c6e0c6e341ba9cd3c618a01723f419c");
    ical_export_token(salt, 7, 3, t);
    assert_string_equal(t, "0b3dc9828e82fbc50ad3296ec80d252e");
    ical_export_token(salt, 12, 0, t);
    assert_string_equal(t, "d26a14e0b9dc7456c2a044aa9d349624");
    assert_true(ical_export_token_ok(salt, 7, 0, "1c6e0c6e341ba9cd3c618a01723f419c"));
    assert_false(ical_export_token_ok(salt, 7, 3, "1c6e0c6e341ba9cd3c618a01723f419c")); /* per feed */
    assert_false(ical_export_token_ok(salt, 8, 0, "1c6e0c6e341ba9cd3c618a01723f419c"));
    assert_false(ical_export_token_ok("another-salt", 7, 0, "1c6e0c6e341ba9cd3c618a01723f419c"));
    assert_false(ical_export_token_ok(salt, 7, 0, "1C6E0C6E341BA9CD3C618A01723F419C"));
    assert_false(ical_export_token_ok(salt, 7, 0, "1c6e0c6e341ba9cd3c618a01723f419"));
    assert_false(ical_export_token_ok(salt, 7, 0, "1c6e0c6e341ba9cd3c618a01723f419c0"));
    assert_false(ical_export_token_ok(salt, 7, 0, ""));
    assert_false(ical_export_token_ok("", 7, 0, "1c6e0c6e341ba9cd3c618a01723f419c")); /* export disabled */
}

static void test_urls(void **state)
{
    (void)state;
    static struct config cfg;
    memset(&cfg, 0, sizeof cfg);
    snprintf(cfg.public_base_url, sizeof cfg.public_base_url, "https://cabanas.example.com/");
    ical_export_init(&cfg);
    json_t *j = ical_export_url_json(7, 0);
    assert_true(json_is_null(j)); /* no ICS_SALT: disabled */
    json_decref(j);
    snprintf(cfg.ics_salt, sizeof cfg.ics_salt, "test-salt-0123456789abcdef");
    j = ical_export_url_json(7, 0);
    assert_string_equal(json_string_value(j),
                        "https://cabanas.example.com/api/v1/ical/7/1c6e0c6e341ba9cd3c618a01723f419c.ics");
    json_decref(j);
    j = ical_export_url_json(7, 3);
    assert_string_equal(json_string_value(j), "https://cabanas.example.com/api/v1/ical/7/feeds/3/"
                                              "0b3dc9828e82fbc50ad3296ec80d252e.ics");
    json_decref(j);
    assert_string_equal(ical_export_uid_host(), "cabanas.example.com");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden),
        cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_parsed_back_with_libical),
        cmocka_unit_test(test_fold_never_splits_a_character),
        cmocka_unit_test(test_limit),
        cmocka_unit_test(test_tokens),
        cmocka_unit_test(test_urls),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
