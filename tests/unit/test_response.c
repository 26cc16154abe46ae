/* test_response.c - response building: http_response_problem() (application/problem+json with exactly
 * type, title, status, detail, error; valid JSON even when the detail is not valid UTF-8),
 * http_status_title(), http_response_json(), http_response_body() and the response header limit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "http/http.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Parses res->body as a JSON object; the caller decrefs it. */
static json_t *parse_body(const struct http_response *res)
{
    json_error_t jerr;
    assert_non_null(res->body);
    assert_int_equal(strlen(res->body), res->body_len);
    json_t *j = json_loadb(res->body, res->body_len, 0, &jerr);
    if (!j)
        fail_msg("body is not valid JSON (%s): %s", jerr.text, res->body);
    assert_true(json_is_object(j));
    return j;
}

static const char *str_member(const json_t *j, const char *key)
{
    const json_t *v = json_object_get(j, key);
    if (!json_is_string(v))
        fail_msg("member '%s' is missing or not a string", key);
    return json_string_value(v);
}

static void test_problem_body(void **state)
{
    struct http_response res;
    memset(&res, 0, sizeof res);
    http_response_problem(&res, 404, "unit_not_found", "no unit %s (%d)", "cabana-9", 9);
    assert_int_equal(res.status, 404);
    assert_string_equal(res.content_type, "application/problem+json");
    json_t *j = parse_body(&res);
    assert_int_equal(json_object_size(j), 5);
    assert_string_equal(str_member(j, "type"), "https://cabanas.dev/problems/unit_not_found");
    assert_string_equal(str_member(j, "title"), "Not Found");
    assert_true(json_is_integer(json_object_get(j, "status")));
    assert_int_equal(json_integer_value(json_object_get(j, "status")), 404);
    assert_string_equal(str_member(j, "detail"), "no unit cabana-9 (9)");
    assert_string_equal(str_member(j, "error"), "unit_not_found");
    json_decref(j);
    http_response_cleanup(&res);
    assert_null(res.body);
    assert_int_equal(res.body_len, 0);
}

static void test_problem_detail_escaped(void **state)
{
    struct http_response res;
    memset(&res, 0, sizeof res);
    http_response_problem(&res, 400, "bad_input", "%s", "quote \" backslash \\ newline \n tab \t é");
    json_t *j = parse_body(&res);
    assert_string_equal(str_member(j, "detail"), "quote \" backslash \\ newline \n tab \t é");
    assert_null(strchr(res.body, '\n')); /* serialized on one line */
    json_decref(j);
    http_response_cleanup(&res);
}

static void test_problem_invalid_utf8(void **state)
{
    static const char *const details[] = {"bad \xff\xfe bytes", "\xc3", "overlong \xc0\xaf", "\xed\xa0\x80"};
    for (size_t i = 0; i < ARRAY_LEN(details); i++) {
        struct http_response res;
        memset(&res, 0, sizeof res);
        http_response_problem(&res, 400, "bad_input", "got: %s", details[i]);
        assert_int_equal(res.status, 400);
        assert_string_equal(res.content_type, "application/problem+json");
        json_t *j = parse_body(&res);
        assert_int_equal(json_object_size(j), 5);
        /* the detail is never echoed when it is not UTF-8 */
        assert_string_equal(str_member(j, "detail"), "Bad Request");
        assert_string_equal(str_member(j, "title"), "Bad Request");
        assert_string_equal(str_member(j, "error"), "bad_input");
        json_decref(j);
        http_response_cleanup(&res);
    }
}

/* The detail is cut to 511 bytes; a cut through a multi-byte character must still give valid JSON. */
static void test_problem_detail_truncated_mid_character(void **state)
{
    char detail[600];
    memset(detail, 'a', 510);
    memcpy(detail + 510, "\xc3\xa9tail", 7); /* é straddles byte 511 */
    struct http_response res;
    memset(&res, 0, sizeof res);
    http_response_problem(&res, 422, "too_long", "%s", detail);
    json_t *j = parse_body(&res);
    /* the cut leaves a lone lead byte, so the detail falls back to the title */
    assert_string_equal(str_member(j, "detail"), "Unprocessable Content");
    assert_string_equal(str_member(j, "title"), "Unprocessable Content");
    json_decref(j);
    http_response_cleanup(&res);
}

static void test_status_titles(void **state)
{
    static const struct {
        int status;
        const char *title;
    } cases[] = {
        {200, "OK"},
        {201, "Created"},
        {204, "No Content"},
        {304, "Not Modified"},
        {400, "Bad Request"},
        {401, "Unauthorized"},
        {403, "Forbidden"},
        {404, "Not Found"},
        {405, "Method Not Allowed"},
        {409, "Conflict"},
        {413, "Content Too Large"},
        {415, "Unsupported Media Type"},
        {422, "Unprocessable Content"},
        {429, "Too Many Requests"},
        {500, "Internal Server Error"},
        {503, "Service Unavailable"},
        {418, "Client Error"},
        {499, "Client Error"},
        {502, "Server Error"},
        {599, "Server Error"},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        if (strcmp(http_status_title(cases[i].status), cases[i].title) != 0)
            fail_msg("%d: got '%s', expected '%s'", cases[i].status, http_status_title(cases[i].status),
                     cases[i].title);
        /* and the problem body uses the same title */
        struct http_response res;
        memset(&res, 0, sizeof res);
        http_response_problem(&res, cases[i].status, "x", "d");
        json_t *j = parse_body(&res);
        assert_string_equal(str_member(j, "title"), cases[i].title);
        assert_int_equal(json_integer_value(json_object_get(j, "status")), cases[i].status);
        json_decref(j);
        http_response_cleanup(&res);
    }
}

static void test_response_json(void **state)
{
    struct http_response res;
    memset(&res, 0, sizeof res);
    http_response_json(&res, 201, json_pack("{s:i, s:s, s:[i,i]}", "a", 1, "b", "x", "c", 2, 3));
    assert_int_equal(res.status, 201);
    assert_string_equal(res.content_type, "application/json");
    assert_string_equal(res.body, "{\"a\":1,\"b\":\"x\",\"c\":[2,3]}");
    assert_int_equal(res.body_len, strlen("{\"a\":1,\"b\":\"x\",\"c\":[2,3]}"));
    /* a second body replaces the first (LeakSanitizer catches a leak of the old one) */
    http_response_json(&res, 200, json_object());
    assert_int_equal(res.status, 200);
    assert_string_equal(res.body, "{}");
    assert_int_equal(res.body_len, 2);
    http_response_cleanup(&res);
    http_response_cleanup(&res); /* idempotent */
    assert_null(res.body);
}

static void test_response_body(void **state)
{
    struct http_response res;
    memset(&res, 0, sizeof res);
    const char text[] = "abc\0def";
    http_response_body(&res, 200, "text/plain; charset=utf-8", text, 7);
    assert_int_equal(res.status, 200);
    assert_string_equal(res.content_type, "text/plain; charset=utf-8");
    assert_int_equal(res.body_len, 7);
    assert_memory_equal(res.body, text, 7);
    assert_int_equal(res.body[7], '\0');
    http_response_body(&res, 204, "text/plain", "", 0);
    assert_int_equal(res.body_len, 0);
    assert_string_equal(res.body, "");
    http_response_cleanup(&res);
}

static void test_response_header_limit(void **state)
{
    struct http_response res;
    memset(&res, 0, sizeof res);
    char name[32], value[32];
    for (int i = 0; i < HTTP_MAX_RESPONSE_HEADERS + 3; i++) {
        snprintf(name, sizeof name, "X-H%d", i);
        snprintf(value, sizeof value, "v%d", i);
        http_response_header(&res, name, value);
    }
    assert_int_equal(res.nheaders, HTTP_MAX_RESPONSE_HEADERS);
    for (int i = 0; i < HTTP_MAX_RESPONSE_HEADERS; i++) {
        snprintf(name, sizeof name, "X-H%d", i);
        snprintf(value, sizeof value, "v%d", i);
        assert_string_equal(res.headers[i].name, name);
        assert_string_equal(res.headers[i].value, value);
    }
}

static void test_response_header_truncated(void **state)
{
    struct http_response res;
    memset(&res, 0, sizeof res);
    char big[1024];
    memset(big, 'v', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    http_response_header(&res, "X-Big", big);
    assert_int_equal(res.nheaders, 1);
    assert_string_equal(res.headers[0].name, "X-Big");
    assert_int_equal(strlen(res.headers[0].value), sizeof res.headers[0].value - 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_problem_body),
        cmocka_unit_test(test_problem_detail_escaped),
        cmocka_unit_test(test_problem_invalid_utf8),
        cmocka_unit_test(test_problem_detail_truncated_mid_character),
        cmocka_unit_test(test_status_titles),
        cmocka_unit_test(test_response_json),
        cmocka_unit_test(test_response_body),
        cmocka_unit_test(test_response_header_limit),
        cmocka_unit_test(test_response_header_truncated),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
