/* test_ratelimit.c - the rate limiter (the .c is included to reach its statics): counting per client and
 * window, a new window starting from zero, a full bucket failing open and an old window's entry being
 * reused, the hook's 429 with Retry-After and RateLimit-* headers, RATE_LIMIT_ENABLED=false, and the
 * fallback to the in-process table when Redis does not answer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/ratelimit.c"

static const char *header_of(const struct http_response *res, const char *name)
{
    for (int i = 0; i < res->nheaders; i++)
        if (strcmp(res->headers[i].name, name) == 0)
            return res->headers[i].value;
    return NULL;
}

static long header_long(const struct http_response *res, const char *name)
{
    const char *v = header_of(res, name);
    assert_non_null(v);
    return strtol(v, NULL, 10);
}

static char *render(void)
{
    struct buf b;
    buf_init(&b, 1024 * 1024);
    metrics_render(&b);
    return buf_steal(&b, NULL);
}

static void test_counts_per_client_and_window(void **state)
{
    long long n = 0;
    for (int i = 1; i <= 10; i++) {
        assert_int_equal(local_hit("198.51.100.1", 1000, &n), 0);
        assert_int_equal(n, i);
    }
    assert_int_equal(local_hit("198.51.100.2", 1000, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(local_hit("198.51.100.1", 1060, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(local_hit("198.51.100.1", 1060, &n), 0);
    assert_int_equal(n, 2);
}

static void test_full_bucket_fails_open_and_reuses_old_windows(void **state)
{
    /* RL_WAYS + 1 addresses that land in one bucket */
    char ips[RL_WAYS + 1][RL_IP_MAX];
    struct rl_bucket *target = NULL;
    int found = 0;
    for (int i = 0; i < 1 << 20 && found < RL_WAYS + 1; i++) {
        char ip[RL_IP_MAX];
        snprintf(ip, sizeof ip, "10.%d.%d.%d", (i >> 16) & 255, (i >> 8) & 255, i & 255);
        if (!target)
            target = bucket_of(ip);
        if (bucket_of(ip) == target)
            snprintf(ips[found++], RL_IP_MAX, "%s", ip);
    }
    assert_int_equal(found, RL_WAYS + 1);
    long long n = 0;
    for (int i = 0; i < RL_WAYS; i++)
        assert_int_equal(local_hit(ips[i], 5000, &n), 0);
    assert_int_equal(local_hit(ips[RL_WAYS], 5000, &n), -1);
    /* those already in the table keep counting */
    assert_int_equal(local_hit(ips[0], 5000, &n), 0);
    assert_int_equal(n, 2);
    /* in the next window the old entries are free again */
    assert_int_equal(local_hit(ips[RL_WAYS], 5060, &n), 0);
    assert_int_equal(n, 1);
}

static void test_hook_answers_429_with_retry_after(void **state)
{
    struct config cfg = {0};
    cfg.rate_limit_enabled = 1;
    cfg.rate_limit_requests = 3;
    cfg.rate_limit_window_s = 86400; /* a boundary in the middle of the test is then very unlikely */
    struct app app = {.cfg = &cfg};
    struct http_request req = {.app = &app};
    snprintf(req.client_ip, sizeof req.client_ip, "%s", "192.0.2.7");
    for (int i = 1; i <= 3; i++) {
        struct http_response res = {0};
        assert_int_equal(ratelimit_check(&req, &res), 0);
        assert_int_equal(res.status, 0);
        assert_int_equal(header_long(&res, "RateLimit-Limit"), 3);
        assert_int_equal(header_long(&res, "RateLimit-Remaining"), 3 - i);
        assert_null(header_of(&res, "Retry-After"));
        http_response_cleanup(&res);
    }
    struct http_response res = {0};
    assert_int_equal(ratelimit_check(&req, &res), -1);
    assert_int_equal(res.status, 429);
    assert_string_equal(res.content_type, "application/problem+json");
    assert_non_null(strstr(res.body, "\"error\":\"rate_limited\""));
    long retry = header_long(&res, "Retry-After");
    assert_true(retry >= 1 && retry <= 86400);
    assert_int_equal(header_long(&res, "RateLimit-Reset"), retry);
    assert_int_equal(header_long(&res, "RateLimit-Remaining"), 0);
    http_response_cleanup(&res);
    /* another client is not affected */
    snprintf(req.client_ip, sizeof req.client_ip, "%s", "192.0.2.8");
    struct http_response other = {0};
    assert_int_equal(ratelimit_check(&req, &other), 0);
    http_response_cleanup(&other);
    char *text = render();
    assert_non_null(strstr(text, "\nrate_limited_total 1\n"));
    free(text);
}

static void test_disabled_never_limits(void **state)
{
    struct config cfg = {0};
    cfg.rate_limit_enabled = 0;
    cfg.rate_limit_requests = 1;
    cfg.rate_limit_window_s = 60;
    struct app app = {.cfg = &cfg};
    struct http_request req = {.app = &app};
    for (int i = 0; i < 5; i++) {
        struct http_response res = {0};
        assert_int_equal(ratelimit_check(&req, &res), 0);
        assert_int_equal(res.nheaders, 0);
    }
}

static void test_redis_down_falls_back_to_the_table(void **state)
{
    struct config cfg = {0};
    cfg.rate_limit_enabled = 1;
    cfg.rate_limit_requests = 2;
    cfg.rate_limit_window_s = 86400;
    cfg.redis_enabled = 1;
    snprintf(cfg.redis.host, sizeof cfg.redis.host, "%s", "127.0.0.1");
    cfg.redis.port = 1; /* nothing listens there */
    struct app app = {.cfg = &cfg, .redis = redis_open(&cfg)};
    assert_non_null(app.redis);
    struct http_request req = {.app = &app};
    snprintf(req.client_ip, sizeof req.client_ip, "%s", "203.0.113.9");
    int results[3];
    for (int i = 0; i < 3; i++) {
        struct http_response res = {0};
        results[i] = ratelimit_check(&req, &res);
        http_response_cleanup(&res);
    }
    assert_int_equal(results[0], 0);
    assert_int_equal(results[1], 0);
    assert_int_equal(results[2], -1);
    char *text = render();
    assert_non_null(strstr(text, "\nrate_limit_redis_errors_total 3\n"));
    free(text);
    redis_close(app.redis);
}

int main(void)
{
    ratelimit_init();
    /* a fixed hash key, so bucket_of() is reproducible */
    memset(hash_key, 0x5a, sizeof hash_key);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counts_per_client_and_window),
        cmocka_unit_test(test_full_bucket_fails_open_and_reuses_old_windows),
        cmocka_unit_test(test_hook_answers_429_with_retry_after),
        cmocka_unit_test(test_disabled_never_limits),
        cmocka_unit_test(test_redis_down_falls_back_to_the_table),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    metrics_shutdown();
    return rc;
}
