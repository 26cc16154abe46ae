/* testing.h - test-only routes (CABANAS_TEST_ENDPOINTS=1); never enabled by default. */
#ifndef CABANAS_TESTING_H
#define CABANAS_TESTING_H

#include "../http/http.h"

void testing_handle_sleep(struct http_request *req, struct http_response *res);
void testing_handle_echo(struct http_request *req, struct http_response *res);
/* POST /api/v1/_test/effect: each run takes the next number of a process-wide counter. The JSON body may
 * hold "sleep_ms" (0..5000, slept before answering) and "status" (200..599, default 201). 2xx answers
 * {"execution":n,"json":body} with Location /api/v1/_test/effect/n; 3xx and up a `test_status` problem. */
void testing_handle_effect(struct http_request *req, struct http_response *res);

#endif
