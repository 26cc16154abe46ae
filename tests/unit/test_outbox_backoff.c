/* test_outbox_backoff.c - the outbox retry delay: 2 s doubled per failed attempt, capped, with equal
 * jitter ([ceil(d/2), d]); every value of the jitter range is reachable, nothing outside it is, and huge
 * attempt counts or odd caps neither overflow nor leave the range. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "store/outbox_store.h"

/* The un-jittered delay, computed independently: min(cap, 2^attempts) for attempts >= 1. */
static long long expected_delay(int attempts, int cap)
{
    long long d = 1;
    for (int i = 0; i < attempts && d <= cap; i++)
        d *= 2;
    return d < cap ? d : cap;
}

static void test_first_attempts_double_from_two_seconds(void **state)
{
    /* random = 0 picks the low end, a large value picks the high end of each range */
    assert_int_equal(outbox_backoff_seconds(1, 60, 0), 1);
    assert_int_equal(outbox_backoff_seconds(1, 60, 1), 2);
    assert_int_equal(outbox_backoff_seconds(2, 60, 0), 2);
    assert_int_equal(outbox_backoff_seconds(2, 60, 2), 4);
    assert_int_equal(outbox_backoff_seconds(3, 60, 0), 4);
    assert_int_equal(outbox_backoff_seconds(3, 60, 4), 8);
    assert_int_equal(outbox_backoff_seconds(4, 60, 0), 8);
    assert_int_equal(outbox_backoff_seconds(4, 60, 8), 16);
    assert_int_equal(outbox_backoff_seconds(5, 60, 16), 32);
}

static void test_capped(void **state)
{
    /* attempt 6 would be 64 s: capped at 60, jittered in [30, 60] */
    assert_int_equal(outbox_backoff_seconds(6, 60, 0), 30);
    assert_int_equal(outbox_backoff_seconds(6, 60, 30), 60);
    assert_int_equal(outbox_backoff_seconds(6, 60, 31), 30); /* wraps within the range */
    for (int a = 6; a < 2000; a += 7)
        for (uint32_t r = 0; r < 100; r += 3) {
            int d = outbox_backoff_seconds(a, 60, r * 2654435761u);
            assert_true(d >= 30 && d <= 60);
        }
    assert_true(outbox_backoff_seconds(1 << 30, 60, 0xFFFFFFFFu) <= 60);
    assert_true(outbox_backoff_seconds(1 << 30, 86400, 0xFFFFFFFFu) <= 86400);
}

static void test_small_and_bad_caps(void **state)
{
    for (uint32_t r = 0; r < 50; r++) {
        assert_int_equal(outbox_backoff_seconds(1, 1, r), 1);
        assert_int_equal(outbox_backoff_seconds(9, 1, r), 1);
        assert_int_equal(outbox_backoff_seconds(3, 0, r), 1); /* cap below 1 reads as 1 */
        assert_int_equal(outbox_backoff_seconds(3, -5, r), 1);
        int d = outbox_backoff_seconds(2, 3, r); /* 4 capped at 3: [2, 3] */
        assert_true(d == 2 || d == 3);
    }
    /* attempts below 1 read as the first attempt */
    assert_int_equal(outbox_backoff_seconds(0, 60, 0), 1);
    assert_int_equal(outbox_backoff_seconds(-3, 60, 1), 2);
}

static void test_every_jitter_value_is_reachable(void **state)
{
    for (int cap = 1; cap <= 100; cap += 9)
        for (int a = 1; a <= 10; a++) {
            long long d = expected_delay(a, cap), low = (d + 1) / 2;
            int seen[128] = {0};
            for (uint32_t r = 0; r < 400; r++) {
                int v = outbox_backoff_seconds(a, cap, r);
                assert_true(v >= low && v <= d);
                seen[v] = 1;
            }
            for (long long v = low; v <= d; v++)
                assert_true(seen[v]);
        }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_attempts_double_from_two_seconds),
        cmocka_unit_test(test_capped),
        cmocka_unit_test(test_small_and_bad_caps),
        cmocka_unit_test(test_every_jitter_value_is_reachable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
