/* test_metrics.c - the Prometheus registry as rendered by metrics_render(): counters and gauges with
 * and without labels, label-value escaping (quote, backslash, newline), histograms (cumulative buckets,
 * le="+Inf", _sum, _count), function gauges, and the METRICS_MAX_SERIES cap whose overflow goes to one
 * series labelled "other", and metrics_replace() swapping a gauge's whole label set. Each test starts from an
 * empty registry (metrics_shutdown in teardown). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/metrics.h"

static int teardown(void **state)
{
    metrics_shutdown();
    return 0;
}

/* metrics_render() into a malloc()ed string. */
static char *render(void)
{
    struct buf b;
    buf_init(&b, 16 * 1024 * 1024);
    metrics_render(&b);
    return buf_steal(&b, NULL);
}

static int count_lines_starting(const char *text, const char *prefix)
{
    int n = 0;
    size_t pl = strlen(prefix);
    for (const char *line = text; *line;) {
        if (strncmp(line, prefix, pl) == 0)
            n++;
        const char *nl = strchr(line, '\n');
        if (!nl)
            break;
        line = nl + 1;
    }
    return n;
}

static void test_empty_registry(void **state)
{
    char *out = render();
    assert_string_equal(out, "");
    free(out);
}

static void test_counter_with_labels(void **state)
{
    static const char *const labels[] = {"method", "status", NULL};
    struct metric *m = metrics_counter("t_requests_total", "Requests served.", labels);
    const char *get200[] = {"GET", "200"}, *post201[] = {"POST", "201"};
    metrics_inc(m, get200, 1);
    metrics_inc(m, post201, 3);
    metrics_inc(m, get200, 1);
    char *out = render();
    assert_string_equal(out, "# HELP t_requests_total Requests served.\n"
                             "# TYPE t_requests_total counter\n"
                             "t_requests_total{method=\"GET\",status=\"200\"} 2\n"
                             "t_requests_total{method=\"POST\",status=\"201\"} 3\n");
    free(out);
}

static void test_unlabelled_counter_renders_zero(void **state)
{
    metrics_counter("t_starts_total", "Starts.", NULL);
    char *out = render();
    assert_string_equal(out, "# HELP t_starts_total Starts.\n"
                             "# TYPE t_starts_total counter\n"
                             "t_starts_total 0\n");
    free(out);
}

static void test_gauge_set_and_fractions(void **state)
{
    static const char *const labels[] = {"pool", NULL};
    struct metric *g = metrics_gauge("t_pool_in_use", "Connections in use.", labels);
    const char *main_pool[] = {"main"};
    metrics_set(g, main_pool, 5);
    metrics_set(g, main_pool, 2.5);
    struct metric *u = metrics_gauge("t_temperature", "Degrees.", NULL);
    metrics_set(u, NULL, -3);
    char *out = render();
    assert_string_equal(out, "# HELP t_pool_in_use Connections in use.\n"
                             "# TYPE t_pool_in_use gauge\n"
                             "t_pool_in_use{pool=\"main\"} 2.5\n"
                             "# HELP t_temperature Degrees.\n"
                             "# TYPE t_temperature gauge\n"
                             "t_temperature -3\n");
    free(out);
}

static double fixed_value(void)
{
    return 42;
}

static void test_gauge_fn(void **state)
{
    metrics_gauge_fn("t_answer", "The answer.", fixed_value);
    char *out = render();
    assert_string_equal(out, "# HELP t_answer The answer.\n"
                             "# TYPE t_answer gauge\n"
                             "t_answer 42\n");
    free(out);
}

static void test_label_escaping(void **state)
{
    static const char *const labels[] = {"path", NULL};
    struct metric *m = metrics_counter("t_escape_total", "Escaping.", labels);
    const char *v[] = {"a\"b\\c\nd"};
    metrics_inc(m, v, 1);
    const char *missing[] = {NULL}; /* a NULL value renders as "" */
    metrics_inc(m, missing, 2);
    char *out = render();
    assert_string_equal(out, "# HELP t_escape_total Escaping.\n"
                             "# TYPE t_escape_total counter\n"
                             "t_escape_total{path=\"a\\\"b\\\\c\\nd\"} 1\n"
                             "t_escape_total{path=\"\"} 2\n");
    free(out);
}

static void test_histogram(void **state)
{
    static const char *const labels[] = {"route", NULL};
    static const double buckets[] = {0.1, 0.5, 1};
    struct metric *h = metrics_histogram("t_duration_seconds", "Latency.", labels, buckets, 3);
    const char *r[] = {"/x"};
    metrics_observe(h, r, 0.25);
    metrics_observe(h, r, 0.5); /* on a bound: counts in that bucket (le is inclusive) */
    metrics_observe(h, r, 0.5);
    metrics_observe(h, r, 2);   /* above every bound: +Inf only */
    metrics_observe(h, r, 0.0); /* smallest bucket */
    char *out = render();
    assert_string_equal(out, "# HELP t_duration_seconds Latency.\n"
                             "# TYPE t_duration_seconds histogram\n"
                             "t_duration_seconds_bucket{route=\"/x\",le=\"0.1\"} 1\n"
                             "t_duration_seconds_bucket{route=\"/x\",le=\"0.5\"} 4\n"
                             "t_duration_seconds_bucket{route=\"/x\",le=\"1\"} 4\n"
                             "t_duration_seconds_bucket{route=\"/x\",le=\"+Inf\"} 5\n"
                             "t_duration_seconds_sum{route=\"/x\"} 3.25\n"
                             "t_duration_seconds_count{route=\"/x\"} 5\n");
    free(out);
}

static void test_histogram_unlabelled(void **state)
{
    static const double buckets[] = {0.005, 0.25};
    struct metric *h = metrics_histogram("t_job_seconds", "Jobs.", NULL, buckets, 2);
    metrics_observe(h, NULL, 0.125);
    char *out = render();
    assert_string_equal(out, "# HELP t_job_seconds Jobs.\n"
                             "# TYPE t_job_seconds histogram\n"
                             "t_job_seconds_bucket{le=\"0.005\"} 0\n"
                             "t_job_seconds_bucket{le=\"0.25\"} 1\n"
                             "t_job_seconds_bucket{le=\"+Inf\"} 1\n"
                             "t_job_seconds_sum 0.125\n"
                             "t_job_seconds_count 1\n");
    free(out);
}

static void test_series_cap(void **state)
{
    static const char *const labels[] = {"client", NULL};
    struct metric *m = metrics_counter("t_capped_total", "Capped.", labels);
    char value[32];
    const char *v[] = {value};
    for (int i = 0; i < METRICS_MAX_SERIES + 10; i++) {
        snprintf(value, sizeof value, "c%d", i);
        metrics_inc(m, v, 1);
    }
    /* a series created before the cap keeps counting on its own */
    snprintf(value, sizeof value, "c0");
    metrics_inc(m, v, 5);
    char *out = render();
    assert_int_equal(count_lines_starting(out, "t_capped_total{"), METRICS_MAX_SERIES + 1);
    assert_non_null(strstr(out, "\nt_capped_total{client=\"c0\"} 6\n"));
    char want[96];
    snprintf(want, sizeof want, "\nt_capped_total{client=\"c%d\"} 1\n", METRICS_MAX_SERIES - 1);
    assert_non_null(strstr(out, want));
    snprintf(want, sizeof want, "client=\"c%d\"", METRICS_MAX_SERIES);
    assert_null(strstr(out, want));
    assert_non_null(strstr(out, "\nt_capped_total{client=\"other\"} 10\n"));
    /* the overflow series is the last line */
    const char *tail = "t_capped_total{client=\"other\"} 10\n";
    assert_string_equal(out + strlen(out) - strlen(tail), tail);
    free(out);
}

static void test_series_cap_histogram_two_labels(void **state)
{
    static const char *const labels[] = {"a", "b", NULL};
    static const double buckets[] = {1};
    struct metric *h = metrics_histogram("t_capped_seconds", "Capped.", labels, buckets, 1);
    char value[32];
    const char *v[] = {value, "x"};
    for (int i = 0; i < METRICS_MAX_SERIES + 1; i++) {
        snprintf(value, sizeof value, "%d", i);
        metrics_observe(h, v, 0.5);
    }
    char *out = render();
    assert_int_equal(count_lines_starting(out, "t_capped_seconds_count{"), METRICS_MAX_SERIES + 1);
    assert_non_null(strstr(out, "\nt_capped_seconds_bucket{a=\"other\",b=\"other\",le=\"1\"} 1\n"));
    assert_non_null(strstr(out, "\nt_capped_seconds_count{a=\"other\",b=\"other\"} 1\n"));
    free(out);
}

static void test_replace_drops_series_not_named(void **state)
{
    static const char *const labels[] = {"feed", NULL};
    struct metric *m = metrics_gauge("t_feed_events", "Events per feed.", labels);
    const char *one[] = {"1"}, *two[] = {"2"};
    metrics_set(m, one, 3);
    metrics_set(m, two, 5);
    const char *values[] = {"2", "7"};
    const double v[] = {6, 0.5};
    metrics_replace(m, 2, values, v);
    char *out = render();
    assert_null(strstr(out, "t_feed_events{feed=\"1\"}")); /* a deleted feed leaves /metrics */
    assert_non_null(strstr(out, "t_feed_events{feed=\"2\"} 6\n"));
    assert_non_null(strstr(out, "t_feed_events{feed=\"7\"} 0.5\n"));
    free(out);
    metrics_replace(m, 0, NULL, NULL);
    out = render();
    assert_int_equal(count_lines_starting(out, "t_feed_events{"), 0);
    assert_non_null(strstr(out, "# TYPE t_feed_events gauge\n"));
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_empty_registry, teardown),
        cmocka_unit_test_teardown(test_counter_with_labels, teardown),
        cmocka_unit_test_teardown(test_unlabelled_counter_renders_zero, teardown),
        cmocka_unit_test_teardown(test_gauge_set_and_fractions, teardown),
        cmocka_unit_test_teardown(test_gauge_fn, teardown),
        cmocka_unit_test_teardown(test_label_escaping, teardown),
        cmocka_unit_test_teardown(test_histogram, teardown),
        cmocka_unit_test_teardown(test_histogram_unlabelled, teardown),
        cmocka_unit_test_teardown(test_series_cap, teardown),
        cmocka_unit_test_teardown(test_series_cap_histogram_two_labels, teardown),
        cmocka_unit_test_teardown(test_replace_drops_series_not_named, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
