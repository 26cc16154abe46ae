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

/* Binds cfg->host:cfg->port and starts the worker threads. 0, or -1 with a message. */
int http_server_start(struct app *app, const struct route *routes, int nroutes, struct http_server **out,
                      char *err, size_t errlen);

/* Requests between their first callback and their completion callback. */
int http_server_in_flight(const struct http_server *s);

/* Stops accepting, closes every connection, joins the threads and frees the server. */
void http_server_stop(struct http_server *s);

#endif
