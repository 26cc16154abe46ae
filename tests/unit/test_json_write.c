/* test_json_write.c - json_write gives json_dumps(JSON_COMPACT | JSON_REAL_PRECISION(12))'s text byte for
 * byte: for the answers' shapes, every escape, UTF-8 of every length, integer and real edge cases, and
 * a random corpus of trees; bytes that are not UTF-8 become U+FFFD (where json_dumps fails); nesting
 * past JSON_WRITE_MAX_DEPTH, a NULL value and the buffer's limit fail. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/json_write.h"

#define FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(12))

/* json_write's text of j equals json_dumps' (and is what `expected` says, when given). */
static void same_as_jansson(json_t *j, const char *expected)
{
    char *want = json_dumps(j, FLAGS);
    assert_non_null(want);
    struct buf b;
    buf_init(&b, 1 << 20);
    assert_int_equal(json_write(&b, j), 0);
    assert_string_equal(b.data, want);
    assert_int_equal(b.len, strlen(want));
    if (expected)
        assert_string_equal(b.data, expected);
    free(want);
    buf_cleanup(&b);
    json_decref(j);
}

static void test_shapes(void **state)
{
    same_as_jansson(json_object(), "{}");
    same_as_jansson(json_array(), "[]");
    same_as_jansson(json_pack("{s:s, s:I, s:b, s:n, s:[s, i, {}], s:{s:o}}", "code", "RES0123456789", "id",
                              (json_int_t)42, "ok", 1, "reason", "nightly", "2026-12-06", 3, "quote", "total",
                              json_string("20000.00")),
                    "{\"code\":\"RES0123456789\",\"id\":42,\"ok\":true,\"reason\":null,"
                    "\"nightly\":[\"2026-12-06\",3,{}],\"quote\":{\"total\":\"20000.00\"}}");
    /* insertion order, not sorted, as json_dumps without JSON_SORT_KEYS */
    same_as_jansson(json_pack("{s:i, s:i, s:i}", "z", 1, "a", 2, "m", 3), "{\"z\":1,\"a\":2,\"m\":3}");
    same_as_jansson(json_pack("[b, b, n]", 0, 1), "[false,true,null]");
}

static void test_escapes(void **state)
{
    same_as_jansson(json_pack("[s]", "quote \" backslash \\ slash / tab \t nl \n cr \r bs \b ff \f"), NULL);
    char ctl[32];
    for (int i = 1; i < 32; i++)
        ctl[i - 1] = (char)i;
    ctl[31] = '\0';
    same_as_jansson(json_pack("[s]", ctl), NULL);
    same_as_jansson(json_pack("[s%]", "a\0b", (size_t)3), "[\"a\\u0000b\"]");
    same_as_jansson(json_pack("[s]", "\x7f del"), NULL);
    /* keys are escaped the same way */
    same_as_jansson(json_pack("{s:i}", "k\"e\ny", 1), "{\"k\\\"e\\ny\":1}");
    /* 2-, 3- and 4-byte UTF-8 pass as they are */
    same_as_jansson(json_pack("[s, s, s]", "ñandú", "€ 100", "\xF0\x9F\x8F\xA1 casa"), NULL);
    same_as_jansson(json_pack("[s]", "\xF4\x8F\xBF\xBF"), NULL); /* U+10FFFF */
}

static void test_not_utf8_becomes_replacement(void **state)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"a\xFF"
         "b",
         "[\"a\xEF\xBF\xBD"
         "b\"]"},
        {"\xC0\xAF", "[\"\xEF\xBF\xBD\xEF\xBF\xBD\"]"},                                 /* overlong '/' */
        {"\xED\xA0\x80", "[\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"]"},                 /* a surrogate */
        {"\xF4\x90\x80\x80", "[\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"]"}, /* > U+10FFFF */
        {"end\xE2\x82", "[\"end\xEF\xBF\xBD\xEF\xBF\xBD\"]"},                           /* cut short */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        json_t *j = json_array();
        json_array_append_new(j, json_stringn_nocheck(cases[i].in, strlen(cases[i].in)));
        assert_null(json_dumps(j, FLAGS)); /* where jansson gives up */
        struct buf b;
        buf_init(&b, 1024);
        assert_int_equal(json_write(&b, j), 0);
        assert_string_equal(b.data, cases[i].out);
        json_t *back = json_loads(b.data, 0, NULL); /* and the text is valid JSON */
        assert_non_null(back);
        json_decref(back);
        buf_cleanup(&b);
        json_decref(j);
    }
}

static void test_numbers(void **state)
{
    static const json_int_t ints[] = {0, 1, -1, 9, 10, -10, 4320050, INT64_MAX, INT64_MIN, INT64_MIN + 1};
    for (size_t i = 0; i < sizeof ints / sizeof *ints; i++)
        same_as_jansson(json_pack("[I]", ints[i]), NULL);
    static const double reals[] = {0.0,     -0.0,           1.0,     -1.5,      0.148,  1e20,
                                   1e-5,    123456789012.0, 1e12,    1.5e300,   1e-300, DBL_MAX,
                                   DBL_MIN, 0.1 + 0.2,      2.0 / 3, 1234567.25};
    for (size_t i = 0; i < sizeof reals / sizeof *reals; i++)
        same_as_jansson(json_pack("[f]", reals[i]), NULL);
}

/* A random tree of every kind of value, deterministic per seed. */
static json_t *random_value(unsigned *seed, int depth)
{
    int kind = depth > 4 ? rand_r(seed) % 6 : rand_r(seed) % 8;
    char s[16];
    size_t n = (size_t)(rand_r(seed) % (int)sizeof s);
    for (size_t i = 0; i < n; i++)
        s[i] = (char)(1 + rand_r(seed) % 127); /* ASCII with every control character and escape */
    switch (kind) {
    case 0:
        return json_stringn(s, n);
    case 1:
        return json_integer((json_int_t)rand_r(seed) * (rand_r(seed) % 2 ? -7919 : 104729));
    case 2:
        return json_real((double)rand_r(seed) / (1 + rand_r(seed) % 1000) * (rand_r(seed) % 2 ? -1 : 1));
    case 3:
        return json_boolean(rand_r(seed) % 2);
    case 4:
        return json_null();
    case 5:
        return json_string("añil €");
    case 6: {
        json_t *a = json_array();
        for (int i = rand_r(seed) % 5; i > 0; i--)
            json_array_append_new(a, random_value(seed, depth + 1));
        return a;
    }
    default: {
        json_t *o = json_object();
        for (int i = rand_r(seed) % 5; i > 0; i--) {
            char key[32];
            snprintf(key, sizeof key, "k%d\t%d", i, rand_r(seed) % 100);
            json_object_set_new(o, key, random_value(seed, depth + 1));
        }
        return o;
    }
    }
}

static void test_random_trees(void **state)
{
    unsigned seed = 20261202;
    for (int i = 0; i < 500; i++) {
        json_t *a = json_array();
        json_array_append_new(a, random_value(&seed, 0));
        same_as_jansson(a, NULL);
    }
}

static void test_limits(void **state)
{
    struct buf b;
    buf_init(&b, 1 << 20);
    assert_int_equal(json_write(&b, NULL), -1);

    /* nesting: JSON_WRITE_MAX_DEPTH containers are written, one more fails */
    json_t *root = json_array(), *inner = root;
    for (int i = 1; i < JSON_WRITE_MAX_DEPTH; i++) {
        json_t *next = json_array();
        json_array_append_new(inner, next);
        inner = next;
    }
    buf_reset(&b);
    assert_int_equal(json_write(&b, root), 0);
    assert_int_equal(b.len, 2 * JSON_WRITE_MAX_DEPTH);
    json_array_append_new(inner, json_array());
    buf_reset(&b);
    assert_int_equal(json_write(&b, root), -1);
    json_decref(root);
    buf_cleanup(&b);

    /* the buffer's limit: the exact size fits, one byte less fails */
    json_t *j = json_pack("{s:s}", "a", "bcd"); /* {"a":"bcd"}: 11 bytes */
    buf_init(&b, 11);
    assert_int_equal(json_write(&b, j), 0);
    buf_cleanup(&b);
    buf_init(&b, 10);
    assert_int_equal(json_write(&b, j), -1);
    buf_cleanup(&b);
    json_decref(j);
}

/* A streamed document is the text json_dumps gives for the same tree. */
static void test_stream_matches_the_tree(void **state)
{
    struct buf b;
    buf_init(&b, 4096);
    struct json_out o;
    json_out_init(&o, &b);
    json_out_open_object(&o, NULL);
    json_out_int(&o, "id", -42);
    json_out_string(&o, "name", "Cabaña \"El Sauce\"\n");
    json_out_string(&o, "reason", NULL);
    json_out_bool(&o, "available", 1);
    json_out_null(&o, "quote");
    json_out_open_array(&o, "nightly");
    json_out_open_object(&o, NULL);
    json_out_bool(&o, "weekend", 0);
    json_out_close(&o);
    json_out_int(&o, NULL, 7);
    json_out_open_array(&o, NULL);
    json_out_close(&o);
    json_out_close(&o);
    json_t *sub = json_pack("{s:[i, f]}", "x", 1, 0.5);
    json_out_value(&o, "tree", sub);
    json_out_open_object(&o, "empty");
    json_out_close(&o);
    json_out_close(&o);
    assert_int_equal(json_out_end(&o), 0);

    json_t *want = json_pack("{s:I, s:s, s:n, s:b, s:n, s:[{s:b}, i, []], s:O, s:{}}", "id", (json_int_t)-42,
                             "name", "Cabaña \"El Sauce\"\n", "reason", "available", 1, "quote", "nightly",
                             "weekend", 0, 7, "tree", sub, "empty");
    assert_non_null(want);
    char *text = json_dumps(want, FLAGS);
    assert_string_equal(b.data, text);
    free(text);
    json_decref(want);
    json_decref(sub);
    buf_cleanup(&b);
}

/* Every misuse, and a full buffer, make json_out_end fail. */
static void test_stream_misuse_fails(void **state)
{
    struct buf b;
    struct json_out o;
    for (int c = 0; c < 9; c++) {
        buf_init(&b, c == 8 ? 8 : 4096);
        json_out_init(&o, &b);
        switch (c) {
        case 0: /* nothing written */
            break;
        case 1: /* left open */
            json_out_open_object(&o, NULL);
            break;
        case 2: /* a member without a key in an object */
            json_out_open_object(&o, NULL);
            json_out_int(&o, NULL, 1);
            json_out_close(&o);
            break;
        case 3: /* a key inside an array */
            json_out_open_array(&o, NULL);
            json_out_int(&o, "k", 1);
            json_out_close(&o);
            break;
        case 4: /* a key at the top */
            json_out_int(&o, "k", 1);
            break;
        case 5: /* closed once too often */
            json_out_open_array(&o, NULL);
            json_out_close(&o);
            json_out_close(&o);
            break;
        case 6: /* a second top-level value */
            json_out_int(&o, NULL, 1);
            json_out_int(&o, NULL, 2);
            break;
        case 7: /* deeper than JSON_OUT_DEPTH */
            for (int i = 0; i <= JSON_OUT_DEPTH; i++)
                json_out_open_array(&o, NULL);
            for (int i = 0; i <= JSON_OUT_DEPTH; i++)
                json_out_close(&o);
            break;
        default: /* past the buffer's limit */
            json_out_open_object(&o, NULL);
            json_out_string(&o, "key", "a longer value");
            json_out_close(&o);
        }
        assert_int_equal(json_out_end(&o), -1);
        buf_cleanup(&b);
    }
    /* the deepest nesting allowed works */
    buf_init(&b, 4096);
    json_out_init(&o, &b);
    for (int i = 0; i < JSON_OUT_DEPTH; i++)
        json_out_open_array(&o, NULL);
    for (int i = 0; i < JSON_OUT_DEPTH; i++)
        json_out_close(&o);
    assert_int_equal(json_out_end(&o), 0);
    assert_int_equal(b.len, 2 * JSON_OUT_DEPTH);
    buf_cleanup(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shapes),
        cmocka_unit_test(test_escapes),
        cmocka_unit_test(test_not_utf8_becomes_replacement),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_random_trees),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_stream_matches_the_tree),
        cmocka_unit_test(test_stream_misuse_fails),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
