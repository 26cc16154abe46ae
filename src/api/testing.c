/* testing.c - routes that exist only with CABANAS_TEST_ENDPOINTS=1, for the integration suite:
 * a request that takes a known time, to test graceful shutdown with real in-flight requests. */
#include "testing.h"

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
    http_response_json(res, 200, json_pack("{s:O?, s:I}", "json", req->json, "bytes", (json_int_t)req->body_len));
}
