/* test_buf.c - the bounded buffer: appends up to exactly `max` succeed, one byte more is BUF_TOO_BIG and
 * leaves the buffer unchanged (for buf_append, buf_puts and both paths of buf_printf), the data stays
 * NUL-terminated, buf_printf handles results larger than its 512-byte stack buffer, buf_steal and
 * buf_reset. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "core/buf.h"

static void test_empty(void **state)
{
    struct buf b;
    buf_init(&b, 16);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.max, 16);
    assert_null(b.data);
    assert_int_equal(buf_append(&b, "", 0), 0);
    assert_int_equal(b.len, 0);
    assert_non_null(b.data);
    assert_string_equal(b.data, "");
    buf_cleanup(&b);
    assert_null(b.data);
    buf_cleanup(&b); /* twice is harmless */
}

static void test_append_exact_limit(void **state)
{
    struct buf b;
    buf_init(&b, 10);
    assert_int_equal(buf_append(&b, "12345", 5), 0);
    assert_int_equal(buf_append(&b, "67890", 5), 0);
    assert_int_equal(b.len, 10);
    assert_string_equal(b.data, "1234567890");
    assert_int_equal(buf_append(&b, "", 0), 0); /* nothing more is still fine at the limit */
    assert_int_equal(buf_append(&b, "x", 1), BUF_TOO_BIG);
    assert_int_equal(b.len, 10);
    assert_string_equal(b.data, "1234567890");
    buf_cleanup(&b);
}

static void test_too_big_leaves_buffer_unchanged(void **state)
{
    static const size_t sizes[] = {5, 6, 100, 1000}; /* 4 + 4 would fit exactly */
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        struct buf b;
        buf_init(&b, 8);
        assert_int_equal(buf_puts(&b, "abcd"), 0);
        char *big = malloc(sizes[i] + 1);
        assert_non_null(big);
        memset(big, 'z', sizes[i]);
        big[sizes[i]] = '\0';
        if (buf_append(&b, big, sizes[i]) != BUF_TOO_BIG)
            fail_msg("appending %zu bytes to 4 of 8 should be BUF_TOO_BIG", sizes[i]);
        assert_int_equal(b.len, 4);
        assert_string_equal(b.data, "abcd");
        assert_int_equal(buf_puts(&b, big), BUF_TOO_BIG);
        assert_int_equal(b.len, 4);
        assert_string_equal(b.data, "abcd");
        free(big);
        buf_cleanup(&b);
    }
}

static void test_append_huge_n_does_not_wrap(void **state)
{
    struct buf b;
    buf_init(&b, 100);
    assert_int_equal(buf_puts(&b, "abc"), 0);
    assert_int_equal(buf_append(&b, "x", SIZE_MAX), BUF_TOO_BIG);
    assert_int_equal(buf_append(&b, "x", SIZE_MAX - 2), BUF_TOO_BIG);
    assert_int_equal(b.len, 3);
    assert_string_equal(b.data, "abc");
    buf_cleanup(&b);
}

static void test_append_binary(void **state)
{
    struct buf b;
    buf_init(&b, 64);
    assert_int_equal(buf_append(&b, "a\0b", 3), 0);
    assert_int_equal(b.len, 3);
    assert_memory_equal(b.data, "a\0b", 4); /* includes the terminator */
    buf_cleanup(&b);
}

static void test_growth(void **state)
{
    struct buf b;
    buf_init(&b, 100000);
    for (int i = 0; i < 10000; i++)
        assert_int_equal(buf_append(&b, "0123456789", 10), 0);
    assert_int_equal(b.len, 100000);
    assert_true(b.cap > b.len);
    assert_int_equal(b.data[b.len], '\0');
    assert_memory_equal(b.data + 99990, "0123456789", 10);
    assert_int_equal(buf_append(&b, "x", 1), BUF_TOO_BIG);
    buf_cleanup(&b);
}

static void test_printf_small(void **state)
{
    struct buf b;
    buf_init(&b, 32);
    assert_int_equal(buf_printf(&b, "%s=%d", "port", 8080), 0);
    assert_int_equal(buf_printf(&b, ";%05.1f", 2.25), 0);
    assert_string_equal(b.data, "port=8080;002.2");
    assert_int_equal(b.len, strlen("port=8080;002.2"));
    buf_cleanup(&b);
}

static void test_printf_exact_limit(void **state)
{
    struct buf b;
    buf_init(&b, 12);
    assert_int_equal(buf_printf(&b, "%s", "hello "), 0);
    assert_int_equal(buf_printf(&b, "%s", "world!"), 0); /* exactly 12 */
    assert_string_equal(b.data, "hello world!");
    assert_int_equal(buf_printf(&b, "%c", 'x'), BUF_TOO_BIG);
    assert_int_equal(b.len, 12);
    assert_string_equal(b.data, "hello world!");
    buf_cleanup(&b);
}

/* Results of 512 bytes and more take the second vsnprintf path. */
static void test_printf_large(void **state)
{
    static const size_t sizes[] = {511, 512, 513, 4096, 100000};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        size_t n = sizes[i];
        char *s = malloc(n + 1);
        assert_non_null(s);
        for (size_t k = 0; k < n; k++)
            s[k] = (char)('a' + k % 26);
        s[n] = '\0';

        struct buf b;
        buf_init(&b, n + 2);
        assert_int_equal(buf_puts(&b, "<"), 0);
        assert_int_equal(buf_printf(&b, "%s", s), 0);
        assert_int_equal(buf_printf(&b, ">"), 0);
        assert_int_equal(b.len, n + 2);
        assert_int_equal(b.data[0], '<');
        assert_memory_equal(b.data + 1, s, n);
        assert_int_equal(b.data[n + 1], '>');
        assert_int_equal(b.data[n + 2], '\0');
        buf_cleanup(&b);

        /* one byte short: refused, unchanged */
        buf_init(&b, n);
        assert_int_equal(buf_puts(&b, "<"), 0);
        if (buf_printf(&b, "%s", s) != BUF_TOO_BIG)
            fail_msg("buf_printf of %zu bytes after 1 with max %zu should be BUF_TOO_BIG", n, n);
        assert_int_equal(b.len, 1);
        assert_string_equal(b.data, "<");
        buf_cleanup(&b);
        free(s);
    }
}

static void test_steal_and_reset(void **state)
{
    struct buf b;
    size_t len = 99;
    buf_init(&b, 64);
    char *p = buf_steal(&b, &len); /* never NULL, even when nothing was appended */
    assert_non_null(p);
    assert_string_equal(p, "");
    assert_int_equal(len, 0);
    free(p);

    assert_int_equal(buf_puts(&b, "abc"), 0);
    p = buf_steal(&b, &len);
    assert_string_equal(p, "abc");
    assert_int_equal(len, 3);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.max, 64); /* the limit survives */
    free(p);

    assert_int_equal(buf_puts(&b, "xyz"), 0);
    buf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_string_equal(b.data, "");
    assert_int_equal(buf_puts(&b, "12"), 0);
    assert_string_equal(b.data, "12");
    buf_reset(&b);
    buf_cleanup(&b);

    struct buf empty;
    buf_init(&empty, 1);
    buf_reset(&empty); /* no data yet: must not crash */
    assert_null(empty.data);
    buf_cleanup(&empty);
}

static void test_zero_max(void **state)
{
    struct buf b;
    buf_init(&b, 0);
    assert_int_equal(buf_append(&b, "", 0), 0);
    assert_int_equal(buf_append(&b, "a", 1), BUF_TOO_BIG);
    assert_int_equal(buf_printf(&b, "%d", 1), BUF_TOO_BIG);
    assert_int_equal(b.len, 0);
    buf_cleanup(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_append_exact_limit),
        cmocka_unit_test(test_too_big_leaves_buffer_unchanged),
        cmocka_unit_test(test_append_huge_n_does_not_wrap),
        cmocka_unit_test(test_append_binary),
        cmocka_unit_test(test_growth),
        cmocka_unit_test(test_printf_small),
        cmocka_unit_test(test_printf_exact_limit),
        cmocka_unit_test(test_printf_large),
        cmocka_unit_test(test_steal_and_reset),
        cmocka_unit_test(test_zero_max),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
