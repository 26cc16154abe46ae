/* test_ids.c - ids_request_id_valid() (1..64 chars of [A-Za-z0-9._-], everything else refused),
 * ids_request_id_new() (32 lowercase hex digits, NUL-terminated, no write past it, no repeats in 1000
 * calls) and ids_random_bytes(). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "core/ids.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static void test_valid_ids(void **state)
{
    char max[65];
    memset(max, 'a', 64);
    max[64] = '\0';
    const char *const ok[] = {
        "a", "Z", "0", ".", "_", "-", "abc-DEF_123.xyz", "0123456789abcdef0123456789abcdef", max,
    };
    for (size_t i = 0; i < ARRAY_LEN(ok); i++)
        if (ids_request_id_valid(ok[i]) != 1)
            fail_msg("'%s' should be valid", ok[i]);
}

static void test_invalid_ids(void **state)
{
    char too_long[66];
    memset(too_long, 'a', 65);
    too_long[65] = '\0';
    const char *const bad[] = {
        "",
        too_long,
        "a b",
        " a",
        "a ",
        "a\tb",
        "a\n",
        "\n",
        "a\r\nX-Injected: 1",
        "\xc3\xa9",        /* é in UTF-8 */
        "id-\xe2\x82\xac", /* € */
        "\"quoted\"",
        "it's",
        "a/b",
        "a:b",
        "a;b",
        "a,b",
        "a+b",
        "a=b",
        "<script>",
        "\x7f",
    };
    for (size_t i = 0; i < ARRAY_LEN(bad); i++)
        if (ids_request_id_valid(bad[i]) != 0)
            fail_msg("case %zu ('%s') should be invalid", i, bad[i]);
    assert_int_equal(ids_request_id_valid(NULL), 0);
}

static void test_length_boundary(void **state)
{
    char s[80];
    for (size_t n = 1; n < sizeof s; n++) {
        memset(s, 'x', n);
        s[n] = '\0';
        int expected = n <= 64;
        if (ids_request_id_valid(s) != expected)
            fail_msg("length %zu: got %d, expected %d", n, ids_request_id_valid(s), expected);
    }
}

static void test_new_id_format(void **state)
{
    char out[REQUEST_ID_LEN + 8];
    memset(out, 'Z', sizeof out);
    ids_request_id_new(out);
    assert_int_equal(REQUEST_ID_LEN, 32);
    assert_int_equal(strlen(out), 32);
    for (int i = 0; i < REQUEST_ID_LEN; i++)
        if (!((out[i] >= '0' && out[i] <= '9') || (out[i] >= 'a' && out[i] <= 'f')))
            fail_msg("char %d of '%s' is not lowercase hex", i, out);
    for (size_t i = REQUEST_ID_LEN + 1; i < sizeof out; i++)
        assert_int_equal(out[i], 'Z'); /* nothing written past the NUL */
    assert_int_equal(ids_request_id_valid(out), 1);
}

static int cmp_ids(const void *a, const void *b)
{
    return strcmp(a, b);
}

static void test_new_ids_distinct(void **state)
{
    enum { N = 1000 };
    char(*ids)[REQUEST_ID_LEN + 1] = calloc(N, sizeof *ids);
    assert_non_null(ids);
    for (int i = 0; i < N; i++)
        ids_request_id_new(ids[i]);
    qsort(ids, N, sizeof *ids, cmp_ids);
    int distinct = 1;
    for (int i = 1; i < N; i++)
        if (strcmp(ids[i - 1], ids[i]) != 0)
            distinct++;
    free(ids);
    assert_int_equal(distinct, N);
}

static void test_random_bytes(void **state)
{
    unsigned char a[64], b[64], zero[64];
    memset(a, 0, sizeof a);
    memset(b, 0, sizeof b);
    memset(zero, 0, sizeof zero);
    ids_random_bytes(a, sizeof a);
    ids_random_bytes(b, sizeof b);
    /* 2^-512 odds of a false failure */
    assert_memory_not_equal(a, zero, sizeof a);
    assert_memory_not_equal(a, b, sizeof a);
    ids_random_bytes(a, 0); /* n == 0 is a no-op */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_ids),        cmocka_unit_test(test_invalid_ids),
        cmocka_unit_test(test_length_boundary),  cmocka_unit_test(test_new_id_format),
        cmocka_unit_test(test_new_ids_distinct), cmocka_unit_test(test_random_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
