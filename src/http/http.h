/* http.h - the request and response types every handler sees.
 *
 * Handlers never touch libmicrohttpd: they read a struct http_request (borrowed for the duration of
 * the call) and fill a struct http_response, which the server sends and then frees. */
#ifndef CABANAS_HTTP_H
#define CABANAS_HTTP_H

#include <jansson.h>
#include <stddef.h>

#define HTTP_MAX_PARAMS 4
#define HTTP_PARAM_MAX 128
#define HTTP_MAX_RESPONSE_HEADERS 12
#define HTTP_JSON_BODY_MAX                                                                                   \
    (64 * 1024 * 1024) /* the largest JSON answer; an admin list at its limit is far below */
#define REQUEST_ID_MAX 64

struct app; /* the process context (config, storage, redis); see api/app.h */

struct http_request {
    const char *method; /* as sent; HEAD is routed like GET */
    int is_head;
    const char *path;
    const char *route; /* the matched template, e.g. "/api/v1/reservations/{code}" */
    int nparams;
    struct {
        char name[32];
        char value[HTTP_PARAM_MAX];
    } params[HTTP_MAX_PARAMS];
    const char *body;
    size_t body_len;
    json_t *json; /* parsed body on JSON routes (NULL when the body was empty); borrowed */
    char request_id[REQUEST_ID_MAX + 1];
    char client_ip[64];    /* the peer, or with TRUST_PROXY the Fly-Client-IP / first X-Forwarded-For hop */
    char admin_email[256]; /* set by hooks.authorize on ROUTE_ADMIN routes */
    struct app *app;
    void *conn;        /* the server's connection handle, for header and query lookups */
    void *server_ctx;  /* the server's state of this request (http_query_async) */
    int answer_inline; /* set by a wrapper that needs the response when the handler returns (idempotency):
                          http_query_async refuses, so the handler answers the blocking way */
};

struct http_response {
    int status;
    const char *content_type;
    char *body; /* malloc()ed, owned by the response */
    size_t body_len;
    int nheaders;
    struct {
        char name[48];
        char value[512];
    } headers[HTTP_MAX_RESPONSE_HEADERS];
};

typedef void (*http_handler)(struct http_request *req, struct http_response *res);

/* Lookups; the results are borrowed and valid during the handler call. NULL when absent. */
const char *http_request_header(const struct http_request *req, const char *name);
const char *http_request_query(const struct http_request *req, const char *name);
const char *http_request_param(const struct http_request *req, const char *name);

/* Sets the body to the compact serialization of `j` and steals the reference. */
void http_response_json(struct http_response *res, int status, json_t *j);
/* The streamed document in o's buffer as the body (the buffer is emptied); a 500 problem when
 * json_out_end(o) fails. */
struct json_out;
void http_response_json_out(struct http_response *res, int status, struct json_out *o);
/* Copies `len` bytes of `body`. */
void http_response_body(struct http_response *res, int status, const char *content_type, const char *body,
                        size_t len);
/* Takes ownership of the malloc()ed `body` (len bytes, NUL-terminated) as the response body. */
void http_response_body_take(struct http_response *res, int status, const char *content_type, char *body,
                             size_t len);
/* Adds a header (silently dropped past HTTP_MAX_RESPONSE_HEADERS; names and values are ours). */
void http_response_header(struct http_response *res, const char *name, const char *value);
/* RFC 9457 problem: {"type","title","status","detail","error"} as application/problem+json. */
void http_response_problem(struct http_response *res, int status, const char *error_code,
                           const char *detail_fmt, ...) __attribute__((format(printf, 4, 5)));
/* An empty response. Cheaper than `= {0}`: the header slots (6.7 KB) stay unwritten until used. */
void http_response_init(struct http_response *res);
void http_response_cleanup(struct http_response *res);

/* Answering later, from the database (the event loop, see server.c). A handler on a hot path may send
 * one query on its thread's asynchronous PostgreSQL connection and return without a response; the loop
 * goes on serving other connections, and when the rows arrive `done` runs on the same thread with them
 * (rc DB_OK, r borrowed until it returns) or with the error (r NULL; DB_UNAVAILABLE when the connection
 * was lost, so the continuation may retry the blocking way). The continuation either fills `res`, which
 * is then sent, or starts the next operation through `h` (a transaction, a Redis command, a timer) and
 * returns: its own continuation answers. `data` is the handler's: `done` owns it from then on. Each start
 * returns 0 when the operation is under way, or -1 when it is not (SQLite, no connection, the queue full, the
 * server stopping): its continuation will not run, and the caller answers the blocking way. `sql` must
 * have static storage. Everything runs on the handler's loop thread. */
struct db_result;
struct db_conn;
struct http_async; /* a request being answered later */
typedef void (*http_db_done)(struct http_async *h, struct db_result *r, int rc, void *data,
                             struct http_response *res);
typedef void (*http_timer_fn)(struct http_async *h, void *data, struct http_response *res);
int http_query_async(struct http_request *req, const char *sql, int n, const char *const *params,
                     http_db_done done, void *data);
/* A transaction (db_async_tx): statements queued with db_defer on http_async_journal()'s connection
 * (NULL when there is none), then `sql` and COMMIT; `done` gets sql's result as db_exec_commit gives it. */
struct db_conn *http_async_journal(struct http_async *h);
int http_async_tx(struct http_async *h, const char *sql, int n, const char *const *params, http_db_done done,
                  void *data);
/* `fn` runs after `ms` milliseconds (at once when the server stops). */
int http_async_after(struct http_async *h, int ms, http_timer_fn fn, void *data);
/* A Redis command on this loop's asynchronous connection (store/redis_async.h); `done` gets the reply,
 * NULL when Redis did not answer (unreachable, closed, timed out). */
struct redisReply;
typedef void (*http_redis_done)(struct http_async *h, struct redisReply *reply, void *data,
                                struct http_response *res);
int http_async_redis(struct http_async *h, int argc, const char **argv, http_redis_done done, void *data);
/* The same, without waiting for the reply (dropped): for a lock release. -1 when not on a loop with a
 * Redis connection, or it could not be queued: send it another way. */
int http_redis_send(int argc, const char **argv);

/* The standard title for a status code ("Not Found"). */
const char *http_status_title(int status);

#endif
