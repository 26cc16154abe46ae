/* router.h - method + path template matching ("/api/v1/reservations/{code}").
 *
 * A route table is a static array built at startup; matching is read-only and thread-safe. A `{name}`
 * segment matches one non-empty path segment of at most HTTP_PARAM_MAX-1 bytes. GET routes also match
 * HEAD. */
#ifndef CABANAS_ROUTER_H
#define CABANAS_ROUTER_H

#include "http.h"

#define ROUTE_JSON 0x1          /* the body, when present, must be application/json and is parsed */
#define ROUTE_ADMIN 0x2         /* needs an admin bearer token (hooks.authorize) */
#define ROUTE_IDEMPOTENT 0x4    /* honours the Idempotency-Key header (hooks.idempotent) */
#define ROUTE_NO_RATE_LIMIT 0x8 /* health, readiness, metrics: never rate limited */

struct route {
    const char *method;
    const char *pattern;
    http_handler handler;
    int flags;
};

#define ROUTER_NOT_FOUND (-1)
#define ROUTER_METHOD_NOT_ALLOWED (-2)

/* Returns the index of the matching route and fills req->params and req->route; or ROUTER_NOT_FOUND; or
 * ROUTER_METHOD_NOT_ALLOWED with the allowed methods written to `allow` ("GET, HEAD, POST"). */
int router_match(const struct route *routes, int nroutes, const char *method, const char *path,
                 struct http_request *req, char *allow, size_t allowlen);

#endif
