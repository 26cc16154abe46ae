/* test_router.c - router_match() over a small static table: exact paths, {param} captures (read back
 * through http_request_param), 404 for unknown paths and near misses (trailing slash, extra or empty
 * segments, over-long parameters), 405 with the exact Allow list, and HEAD routed like GET. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "http/router.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static void handler_a(struct http_request *req, struct http_response *res)
{
}

static void handler_b(struct http_request *req, struct http_response *res)
{
}

enum {
    R_ROOT,
    R_HEALTHZ,
    R_ITEMS_GET,
    R_ITEMS_POST,
    R_ITEM_GET,
    R_ITEM_DELETE,
    R_ITEM_PHOTOS,
    R_DAY_GET,
    R_DAY_PUT,
    R_FIVE,
};

static const struct route routes[] = {
    [R_ROOT] = {"GET", "/", handler_a, 0},
    [R_HEALTHZ] = {"GET", "/api/v1/healthz", handler_a, 0},
    [R_ITEMS_GET] = {"GET", "/api/v1/items", handler_a, 0},
    [R_ITEMS_POST] = {"POST", "/api/v1/items", handler_b, ROUTE_JSON},
    [R_ITEM_GET] = {"GET", "/api/v1/items/{id}", handler_a, 0},
    [R_ITEM_DELETE] = {"DELETE", "/api/v1/items/{id}", handler_b, 0},
    [R_ITEM_PHOTOS] = {"POST", "/api/v1/items/{id}/photos", handler_b, 0},
    [R_DAY_GET] = {"GET", "/api/v1/units/{unit}/days/{day}", handler_a, 0},
    [R_DAY_PUT] = {"PUT", "/api/v1/units/{unit}/days/{day}", handler_b, 0},
    [R_FIVE] = {"GET", "/five/{a}/{b}/{c}/{d}/{e}", handler_a, 0},
};

#define NROUTES ((int)ARRAY_LEN(routes))

static int match(const char *method, const char *path, struct http_request *req, char *allow, size_t allowlen)
{
    memset(req, 0, sizeof *req);
    req->method = method;
    req->path = path;
    return router_match(routes, NROUTES, method, path, req, allow, allowlen);
}

static void test_exact_paths(void **state)
{
    static const struct {
        const char *method, *path;
        int expected;
    } cases[] = {
        {"GET", "/", R_ROOT},
        {"GET", "/api/v1/healthz", R_HEALTHZ},
        {"GET", "/api/v1/items", R_ITEMS_GET},
        {"POST", "/api/v1/items", R_ITEMS_POST},
        {"HEAD", "/api/v1/items", R_ITEMS_GET},
        {"HEAD", "/api/v1/healthz", R_HEALTHZ},
        {"HEAD", "/", R_ROOT},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        struct http_request req;
        char allow[128] = "junk";
        int rc = match(cases[i].method, cases[i].path, &req, allow, sizeof allow);
        if (rc != cases[i].expected)
            fail_msg("%s %s: got %d, expected %d", cases[i].method, cases[i].path, rc, cases[i].expected);
        if (req.route != routes[cases[i].expected].pattern || req.nparams != 0)
            fail_msg("%s %s: route %s, nparams %d", cases[i].method, cases[i].path,
                     req.route ? req.route : "(null)", req.nparams);
    }
}

static void test_param_capture(void **state)
{
    struct http_request req;
    char allow[128];
    assert_int_equal(match("GET", "/api/v1/items/abc-123", &req, allow, sizeof allow), R_ITEM_GET);
    assert_string_equal(req.route, "/api/v1/items/{id}");
    assert_int_equal(req.nparams, 1);
    assert_string_equal(req.params[0].name, "id");
    assert_string_equal(req.params[0].value, "abc-123");
    assert_string_equal(http_request_param(&req, "id"), "abc-123");
    assert_null(http_request_param(&req, "ID"));
    assert_null(http_request_param(&req, "unit"));

    assert_int_equal(match("DELETE", "/api/v1/items/42", &req, allow, sizeof allow), R_ITEM_DELETE);
    assert_string_equal(http_request_param(&req, "id"), "42");

    assert_int_equal(match("POST", "/api/v1/items/7/photos", &req, allow, sizeof allow), R_ITEM_PHOTOS);
    assert_string_equal(req.route, "/api/v1/items/{id}/photos");
    assert_string_equal(http_request_param(&req, "id"), "7");
}

static void test_two_params(void **state)
{
    struct http_request req;
    char allow[128];
    assert_int_equal(match("PUT", "/api/v1/units/cabana-3/days/2026-12-01", &req, allow, sizeof allow),
                     R_DAY_PUT);
    assert_int_equal(req.nparams, 2);
    assert_string_equal(req.params[0].name, "unit");
    assert_string_equal(req.params[1].name, "day");
    assert_string_equal(http_request_param(&req, "unit"), "cabana-3");
    assert_string_equal(http_request_param(&req, "day"), "2026-12-01");
    assert_int_equal(match("HEAD", "/api/v1/units/u/days/d", &req, allow, sizeof allow), R_DAY_GET);
    assert_string_equal(http_request_param(&req, "unit"), "u");
    assert_string_equal(http_request_param(&req, "day"), "d");
}

static void test_not_found(void **state)
{
    static const char *const paths[] = {
        "",
        "/nope",
        "/api/v1",
        "/api/v1/",
        "/api/v1/healthz/",
        "/api/v1/healthzz",
        "/api/v1/Healthz",
        "//api/v1/healthz",
        "api/v1/healthz",
        "/api/v1/items/",
        "/api/v1/items//photos",
        "/api/v1/items/1/",
        "/api/v1/items/1/extra",
        "/api/v1/items/1/photos/",
        "/api/v1/units//days/d",
        "/api/v1/units/u/days/",
        "/api/v1/units/u/days",
        "/five/1/2/3/4/5", /* more {params} than HTTP_MAX_PARAMS */
        "//",
    };
    for (size_t i = 0; i < ARRAY_LEN(paths); i++) {
        struct http_request req;
        char allow[128] = "junk";
        int rc = match("GET", paths[i], &req, allow, sizeof allow);
        if (rc != ROUTER_NOT_FOUND)
            fail_msg("GET '%s': got %d, expected ROUTER_NOT_FOUND", paths[i], rc);
        if (allow[0] != '\0' || req.route != NULL || req.nparams != 0)
            fail_msg("GET '%s': allow '%s', route set or params filled", paths[i], allow);
    }
}

static void test_method_not_allowed(void **state)
{
    static const struct {
        const char *method, *path, *allow;
    } cases[] = {
        {"DELETE", "/api/v1/items", "GET, HEAD, POST"},
        {"PUT", "/api/v1/items", "GET, HEAD, POST"},
        {"POST", "/api/v1/healthz", "GET, HEAD"},
        {"POST", "/api/v1/items/9", "GET, HEAD, DELETE"},
        {"GET", "/api/v1/items/9/photos", "POST"},
        {"HEAD", "/api/v1/items/9/photos", "POST"},
        {"DELETE", "/api/v1/units/u/days/d", "GET, HEAD, PUT"},
        {"get", "/api/v1/healthz", "GET, HEAD"}, /* methods are case-sensitive */
        {"OPTIONS", "/", "GET, HEAD"},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        struct http_request req;
        char allow[128] = "junk";
        int rc = match(cases[i].method, cases[i].path, &req, allow, sizeof allow);
        if (rc != ROUTER_METHOD_NOT_ALLOWED)
            fail_msg("%s %s: got %d, expected ROUTER_METHOD_NOT_ALLOWED", cases[i].method, cases[i].path, rc);
        if (strcmp(allow, cases[i].allow) != 0)
            fail_msg("%s %s: Allow '%s', expected '%s'", cases[i].method, cases[i].path, allow,
                     cases[i].allow);
    }
}

static void test_allow_truncated_to_buffer(void **state)
{
    struct http_request req;
    char allow[8];
    memset(allow, 'Z', sizeof allow);
    assert_int_equal(match("PUT", "/api/v1/items", &req, allow, sizeof allow), ROUTER_METHOD_NOT_ALLOWED);
    /* NUL-terminated inside the buffer, and a prefix of the full list */
    assert_non_null(memchr(allow, '\0', sizeof allow));
    assert_true(strlen(allow) >= 3);
    assert_int_equal(strncmp(allow, "GET, HEAD, POST", strlen(allow)), 0);
}

static void test_param_length_limit(void **state)
{
    char path[64 + HTTP_PARAM_MAX + 1];
    char value[HTTP_PARAM_MAX + 1];
    struct http_request req;
    char allow[128];

    /* HTTP_PARAM_MAX - 1 bytes: the longest value that fits with its NUL */
    memset(value, 'x', HTTP_PARAM_MAX - 1);
    value[HTTP_PARAM_MAX - 1] = '\0';
    snprintf(path, sizeof path, "/api/v1/items/%s", value);
    assert_int_equal(match("GET", path, &req, allow, sizeof allow), R_ITEM_GET);
    assert_int_equal(strlen(http_request_param(&req, "id")), HTTP_PARAM_MAX - 1);
    assert_string_equal(http_request_param(&req, "id"), value);

    memset(value, 'x', HTTP_PARAM_MAX);
    value[HTTP_PARAM_MAX] = '\0';
    snprintf(path, sizeof path, "/api/v1/items/%s", value);
    assert_int_equal(match("GET", path, &req, allow, sizeof allow), ROUTER_NOT_FOUND);
    assert_int_equal(match("DELETE", path, &req, allow, sizeof allow), ROUTER_NOT_FOUND);
}

static void test_first_matching_route_wins(void **state)
{
    static const struct route overlap[] = {
        {"GET", "/r/special", handler_a, 0},
        {"GET", "/r/{name}", handler_b, 0},
    };
    struct http_request req;
    char allow[64];
    memset(&req, 0, sizeof req);
    assert_int_equal(router_match(overlap, 2, "GET", "/r/special", &req, allow, sizeof allow), 0);
    assert_int_equal(req.nparams, 0);
    memset(&req, 0, sizeof req);
    assert_int_equal(router_match(overlap, 2, "GET", "/r/other", &req, allow, sizeof allow), 1);
    assert_string_equal(http_request_param(&req, "name"), "other");
}

static void test_empty_table(void **state)
{
    struct http_request req;
    char allow[16] = "junk";
    memset(&req, 0, sizeof req);
    assert_int_equal(router_match(routes, 0, "GET", "/", &req, allow, sizeof allow), ROUTER_NOT_FOUND);
    assert_string_equal(allow, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact_paths),        cmocka_unit_test(test_param_capture),
        cmocka_unit_test(test_two_params),         cmocka_unit_test(test_not_found),
        cmocka_unit_test(test_method_not_allowed), cmocka_unit_test(test_allow_truncated_to_buffer),
        cmocka_unit_test(test_param_length_limit), cmocka_unit_test(test_first_matching_route_wins),
        cmocka_unit_test(test_empty_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
