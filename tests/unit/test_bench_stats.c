/* test_bench_stats.c - the statistics of `cabanas bench` (the .c is included to reach its statics):
 * nearest-rank percentiles from data tables, latency_compute on unsorted input and on no samples, the
 * outcome counting (transport failures and 5xx are errors, 4xx are not, only HTTP responses give
 * latency samples), endpoint path resolution, and the --base-url normalization of httpclient. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/bench.c"

/* samples 1..n (already sorted): the nearest rank of p is ceil(p*n/100). */
static void test_percentile_nearest_rank_table(void **state)
{
    static const struct {
        long n;
        int p;
        double want;
    } cases[] = {
        {1, 50, 1},      {1, 95, 1},      {1, 99, 1},        {2, 50, 1},    {2, 95, 2},    {3, 50, 2},
        {3, 95, 3},      {10, 50, 5},     {10, 95, 10},      {10, 99, 10},  {20, 50, 10},  {20, 95, 19},
        {20, 99, 20},    {100, 50, 50},   {100, 95, 95},     {100, 99, 99}, {101, 50, 51}, {101, 99, 100},
        {1000, 95, 950}, {1000, 99, 990}, {1000, 100, 1000}, {7, 1, 1},
    };
    double s[1000];
    for (int i = 0; i < 1000; i++)
        s[i] = i + 1;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        double got = percentile_nearest_rank(s, cases[i].n, cases[i].p);
        if (got != cases[i].want)
            fail_msg("n=%ld p=%d: got %g, want %g", cases[i].n, cases[i].p, got, cases[i].want);
    }
}

static void test_latency_compute_sorts_and_orders(void **state)
{
    double s[] = {9.5, 0.25, 3, 120, 7, 7, 1.5, 42, 0.5, 11};
    struct bench_latency l;
    latency_compute(s, 10, &l);
    assert_int_equal(l.n, 10);
    assert_true(l.min == 0.25);
    assert_true(l.p50 == 7);   /* rank 5 of 0.25 0.5 1.5 3 7 7 9.5 11 42 120 */
    assert_true(l.p95 == 120); /* rank 10 */
    assert_true(l.p99 == 120);
    assert_true(l.max == 120);
    for (int i = 1; i < 10; i++)
        assert_true(s[i - 1] <= s[i]);
    assert_true(l.min <= l.p50 && l.p50 <= l.p95 && l.p95 <= l.p99 && l.p99 <= l.max);
}

static void test_latency_compute_empty(void **state)
{
    struct bench_latency l;
    memset(&l, 0xff, sizeof l);
    latency_compute(NULL, 0, &l);
    assert_int_equal(l.n, 0);
    assert_true(l.min == 0 && l.max == 0 && l.p95 == 0);
}

static void test_count_outcome(void **state)
{
    struct bench_result r;
    memset(&r, 0, sizeof r);
    static const long statuses[] = {200, 204, 301, 404, 422, 429, 500, 503, 0, 0};
    int samples = 0;
    for (size_t i = 0; i < sizeof statuses / sizeof *statuses; i++)
        samples += count_outcome(&r, statuses[i]);
    assert_int_equal(samples, 8);
    assert_int_equal(r.errors, 4); /* 500, 503 and the two transport failures */
    assert_int_equal(r.transport_errors, 2);
    assert_int_equal(r.n4xx, 3);
    assert_int_equal(r.n429, 1);
}

static void test_resolve_path(void **state)
{
    char out[BENCH_PATH_MAX];
    resolve_path("/api/v1/healthz", out, sizeof out);
    assert_string_equal(out, "/api/v1/healthz");
    resolve_path("/metrics", out, sizeof out);
    assert_string_equal(out, "/metrics");
    resolve_path("readyz", out, sizeof out);
    assert_string_equal(out, "/api/v1/readyz");
    resolve_path("availability?guests=2", out, sizeof out);
    assert_string_equal(out, "/api/v1/availability?guests=2");
}

static void test_base_url(void **state)
{
    static const struct {
        const char *in, *want; /* want NULL: refused */
    } cases[] = {
        {"http://127.0.0.1:8080", "http://127.0.0.1:8080"},
        {"http://127.0.0.1:8080/", "http://127.0.0.1:8080"},
        {"http://127.0.0.1:8080/api/v1", "http://127.0.0.1:8080"},
        {"http://127.0.0.1:8080/api/v1/", "http://127.0.0.1:8080"},
        {"https://cabanas-staging.fly.dev//api/v1//", "https://cabanas-staging.fly.dev"},
        {"https://h/prefix/api/v1", "https://h/prefix"},
        {"http://h/api/v2", "http://h/api/v2"},
        {"http://", NULL},
        {"http:///api/v1", NULL},
        {"ftp://h", NULL},
        {"127.0.0.1:8080", NULL},
        {"", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char out[HTTPCLIENT_URL_MAX];
        int rc = httpclient_base_url(cases[i].in, out, sizeof out);
        if (!cases[i].want) {
            if (rc != -1)
                fail_msg("'%s' should be refused, got '%s'", cases[i].in, out);
        } else if (rc != 0 || strcmp(out, cases[i].want) != 0) {
            fail_msg("'%s': rc %d, got '%s', want '%s'", cases[i].in, rc, rc ? "" : out, cases[i].want);
        }
    }
    char small[8];
    assert_int_equal(httpclient_base_url("http://example.com", small, sizeof small), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_percentile_nearest_rank_table),
        cmocka_unit_test(test_latency_compute_sorts_and_orders),
        cmocka_unit_test(test_latency_compute_empty),
        cmocka_unit_test(test_count_outcome),
        cmocka_unit_test(test_resolve_path),
        cmocka_unit_test(test_base_url),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
