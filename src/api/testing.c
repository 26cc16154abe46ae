/* testing.c - routes that exist only with CABANAS_TEST_ENDPOINTS=1, for the integration suite:
 * a request that takes a known time, to test graceful shutdown with real in-flight requests, and a POST
 * with a visible side effect (a counter), to test idempotency replays. */
#include "testing.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

void testing_handle_sleep(struct http_request *req, struct http_response *res)
{
    const char *ms_s = http_request_query(req, "ms");
    long ms = ms_s ? strtol(ms_s, NULL, 10) : 1000;
    if (ms < 0 || ms > 30000) {
        http_response_problem(res, 422, "invalid_field", "ms must be from 0 to 30000");
        return;
    }
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
    http_response_json(res, 200, json_pack("{s:s, s:I}", "status", "slept", "ms", (json_int_t)ms));
}

void testing_handle_echo(struct http_request *req, struct http_response *res)
{
    http_response_json(res, 200,
                       json_pack("{s:O?, s:I}", "json", req->json, "bytes", (json_int_t)req->body_len));
}

/* Test-only state: how many times testing_handle_effect ran in this process. */
static long effect_runs;

void testing_handle_effect(struct http_request *req, struct http_response *res)
{
    json_int_t sleep_ms = 0, status = 201;
    json_t *v = json_object_get(req->json, "sleep_ms");
    if (json_is_integer(v))
        sleep_ms = json_integer_value(v);
    v = json_object_get(req->json, "status");
    if (json_is_integer(v))
        status = json_integer_value(v);
    if (sleep_ms < 0 || sleep_ms > 5000 || status < 200 || status > 599) {
        http_response_problem(res, 422, "invalid_field", "sleep_ms must be 0 to 5000 and status 200 to 599");
        return;
    }
    long n = __atomic_add_fetch(&effect_runs, 1, __ATOMIC_RELAXED);
    struct timespec ts = {(time_t)(sleep_ms / 1000), (long)(sleep_ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
    if (status >= 300) {
        http_response_problem(res, (int)status, "test_status", "Run %ld answered the status it was asked for",
                              n);
        return;
    }
    char location[64];
    snprintf(location, sizeof location, "/api/v1/_test/effect/%ld", n);
    http_response_header(res, "Location", location);
    http_response_json(res, (int)status,
                       json_pack("{s:I, s:O?}", "execution", (json_int_t)n, "json", req->json));
}
