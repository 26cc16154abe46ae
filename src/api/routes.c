/* routes.c - every route of the API in one table, so the whole surface is visible in one place. */
#include "routes.h"

#include "health.h"
#include "testing.h"

static const struct route routes[] = {
    {"GET", "/api/v1/healthz", health_handle_healthz, ROUTE_NO_RATE_LIMIT},
    {"GET", "/api/v1/readyz", health_handle_readyz, ROUTE_NO_RATE_LIMIT},
    {"GET", "/api/v1/version", health_handle_version, 0},
    {"GET", "/metrics", health_handle_metrics, ROUTE_NO_RATE_LIMIT},
    /* test-only routes last: routes_table() cuts them off unless enabled */
    {"GET", "/api/v1/_test/sleep", testing_handle_sleep, 0},
    {"POST", "/api/v1/_test/echo", testing_handle_echo, ROUTE_JSON | ROUTE_IDEMPOTENT},
};

#define TEST_ROUTES 2

const struct route *routes_table(int test_endpoints, int *count)
{
    int n = (int)(sizeof routes / sizeof *routes);
    *count = test_endpoints ? n : n - TEST_ROUTES;
    return routes;
}
