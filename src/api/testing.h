/* testing.h - test-only routes (CABANAS_TEST_ENDPOINTS=1); never enabled by default. */
#ifndef CABANAS_TESTING_H
#define CABANAS_TESTING_H

#include "../http/http.h"

void testing_handle_sleep(struct http_request *req, struct http_response *res);
void testing_handle_echo(struct http_request *req, struct http_response *res);

#endif
