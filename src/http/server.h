/* server.h - the HTTP server: libmicrohttpd with an internal epoll thread pool.
 *
 * The server owns request state from the first callback to the completion callback: it buffers the body
 * (bounded by MAX_BODY_BYTES), routes, enforces content types and JSON syntax on JSON routes, calls the
 * handler, adds X-Request-ID, CORS and security headers, queues the response once the body is complete
 * (queueing earlier would force Connection: close), and logs and counts the request when it completes. */
#ifndef CABANAS_SERVER_H
#define CABANAS_SERVER_H

#include "router.h"

#include <stddef.h>

struct http_server;

/* Middleware the server runs around handlers. Any of them may be NULL (then that step is skipped). */
struct http_hooks {
    /* Every routed and unrouted request except ROUTE_NO_RATE_LIMIT routes: 0 to go on, or -1 with the
     * response (429) written. */
    int (*rate_limit)(struct http_request *req, struct http_response *res);
    /* ROUTE_ADMIN routes, before the body is parsed: 0 to go on (req->admin_email set), or -1 with the
     * response (401/403/429) written. */
    int (*authorize)(struct http_request *req, struct http_response *res);
    /* ROUTE_IDEMPOTENT routes: runs `handler` or replays a stored answer. */
    void (*idempotent)(struct http_request *req, struct http_response *res, http_handler handler);
};

/* Binds cfg->host:cfg->port and starts the worker threads. `hooks` is copied. 0, or -1 with a message. */
int http_server_start(struct app *app, const struct route *routes, int nroutes,
                      const struct http_hooks *hooks, struct http_server **out, char *err, size_t errlen);

/* Requests between their first callback and their completion callback. */
int http_server_in_flight(const struct http_server *s);

/* Stops accepting, closes every connection, joins the threads and frees the server. */
void http_server_stop(struct http_server *s);

#endif
