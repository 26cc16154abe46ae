/* server.c - the libmicrohttpd adapter. See server.h for what it guarantees.
 *
 * Threads: HTTP_THREADS event loops. Each runs its own libmicrohttpd daemon in external-epoll mode (all
 * daemons share the first one's listening socket, so a busy loop simply does not accept) and its own
 * asynchronous PostgreSQL connection (store/db_async.h) and, with Redis, Redis connection
 * (store/redis_async.h), all in one epoll set, plus a list of timers. Most handlers answer inline and
 * block their loop while they use the database pool, as a libmicrohttpd worker thread did; a handler on
 * a hot path (availability, holds) may instead start http_query_async() and return: the connection is
 * suspended, each continuation may start the next operation (transaction, Redis command, timer), and
 * the last one's answer resumes it. A loop thus never sleeps on PostgreSQL or Redis for those requests,
 * and one wake-up serves every request and every reply that is ready.
 *
 * Pitfalls of libmicrohttpd 0.9.75 this file avoids: the response is queued only on the final callback
 * (after the whole body), request state is freed only in the completion callback, a connection timeout
 * and a connection limit are always set, no connection is left suspended when a daemon stops, the shared
 * listening socket is closed once, and SIGPIPE is ignored by main(). */
#include "server.h"

#include "../api/app.h"
#include "../core/clock.h"
#include "../core/buf.h"
#include "../core/ids.h"
#include "../core/log.h"
#include "../core/metrics.h"
#include "../store/db_async.h"
#include "../store/redis_async.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#define HTTP_CONNECTION_MEMORY (16 * 1024) /* request line + headers, per connection */

#define LOOP_MAX_EVENTS 64
#define LOOP_MAX_WAIT_MS 1000 /* at most this long between libmicrohttpd's timeout checks */

/* epoll tags */
enum { TAG_HTTP = 0, TAG_WAKE = 1, TAG_DB = 2, TAG_REDIS = 3 };

struct timer {
    double at; /* monotonic seconds */
    struct req_ctx *ctx;
    http_timer_fn fn;
    void *data;
    struct timer *next; /* by `at` */
};

struct loop {
    struct http_server *server;
    struct timer *timers;
    struct MHD_Daemon *daemon;
    int epoll_fd;
    int wake_fd; /* eventfd: http_server_stop wakes the loop with it */
    struct db_async *db;
    struct redis_async *redis; /* NULL without Redis */
    int stop;
    pthread_t thread;
    int started;
};

struct http_server {
    struct loop *loops;
    int nloops;
    struct app *app;
    const struct route *routes;
    int nroutes;
    struct http_hooks hooks;
    int in_flight;
    struct sockaddr_storage addr;
};

/* Per-request state, from the first access callback to the completion callback. */
struct req_ctx {
    struct timespec start;
    struct buf body;
    int too_big;
    int status;
    size_t bytes;
    const char *route;
    const char *method;
    char request_id[REQUEST_ID_MAX + 1];
    /* deferred answers (http_query_async) */
    struct MHD_Connection *conn;
    int async;     /* answered later: `pending` will hold the answer, the handler's is dropped */
    int deferred;  /* an operation (query, transaction, timer) is out; its continuation runs next */
    int suspended; /* the connection waits for that callback */
    int ready;     /* `pending` holds the answer */
    struct http_response pending; /* last: on_request zeroes the fields before it only */
};

static __thread struct loop *current_loop; /* the loop of this thread; NULL off the loop threads */
static struct metric *m_requests, *m_duration;

static const char *known_method(const char *m)
{
    static const char *known[] = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"};
    for (size_t i = 0; i < sizeof known / sizeof *known; i++)
        if (strcmp(m, known[i]) == 0)
            return known[i];
    return "OTHER";
}

static double elapsed_s(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

/* --- request accessors used by handlers (declared in http.h) --- */

const char *http_request_header(const struct http_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *http_request_query(const struct http_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *http_request_param(const struct http_request *req, const char *name)
{
    for (int i = 0; i < req->nparams; i++)
        if (strcmp(req->params[i].name, name) == 0)
            return req->params[i].value;
    return NULL;
}

/* --- CORS and fixed headers --- */

static int origin_allowed(const char *allowed, const char *origin)
{
    if (!origin || !*allowed)
        return 0;
    size_t ol = strlen(origin);
    const char *p = allowed;
    while (*p) {
        while (*p == ' ' || *p == ',')
            p++;
        size_t n = strcspn(p, ",");
        size_t t = n;
        while (t > 0 && p[t - 1] == ' ')
            t--;
        if ((t == 1 && p[0] == '*') || (t == ol && strncmp(p, origin, ol) == 0))
            return 1;
        p += n;
    }
    return 0;
}

static void add_common_headers(struct MHD_Response *r, const struct app *app, struct MHD_Connection *conn,
                               const char *request_id)
{
    MHD_add_response_header(r, "X-Request-ID", request_id);
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "X-Frame-Options", "DENY");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    if (!MHD_get_response_header(r, "Content-Security-Policy"))
        MHD_add_response_header(r, "Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'");
    if (!MHD_get_response_header(r, "Cache-Control"))
        MHD_add_response_header(r, "Cache-Control", "no-store");
    const char *origin = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Origin");
    if (origin_allowed(app->cfg->allowed_origins, origin)) {
        MHD_add_response_header(r, "Access-Control-Allow-Origin", origin);
        MHD_add_response_header(r, "Vary", "Origin");
        MHD_add_response_header(
            r, "Access-Control-Expose-Headers",
            "X-Request-ID, Location, Retry-After, Idempotent-Replayed, RateLimit-Limit, RateLimit-Remaining, "
            "RateLimit-Reset");
    }
}

static enum MHD_Result send_response(struct http_server *s, struct MHD_Connection *conn, struct req_ctx *ctx,
                                     struct http_response *res)
{
    struct MHD_Response *r;
    if (res->body) {
        r = MHD_create_response_from_buffer(res->body_len, res->body, MHD_RESPMEM_MUST_FREE);
        res->body = NULL; /* owned by libmicrohttpd now */
    } else {
        r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    }
    if (!r)
        return MHD_NO;
    if (res->content_type)
        MHD_add_response_header(r, "Content-Type", res->content_type);
    for (int i = 0; i < res->nheaders; i++)
        MHD_add_response_header(r, res->headers[i].name, res->headers[i].value);
    add_common_headers(r, s->app, conn, ctx->request_id);
    ctx->status = res->status;
    ctx->bytes = res->body_len;
    enum MHD_Result ret = MHD_queue_response(conn, (unsigned int)res->status, r);
    MHD_destroy_response(r);
    http_response_cleanup(res);
    return ret;
}

static int is_json_content_type(const char *ct)
{
    if (!ct)
        return 0;
    while (*ct == ' ')
        ct++;
    size_t n = strlen("application/json");
    return strncasecmp(ct, "application/json", n) == 0 && (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

static int method_has_body(const char *m)
{
    return strcmp(m, "POST") == 0 || strcmp(m, "PUT") == 0 || strcmp(m, "PATCH") == 0;
}

/* The client's address: behind Fly.io's proxy (TRUST_PROXY) the Fly-Client-IP header, else the first
 * X-Forwarded-For hop; otherwise the TCP peer. Only with TRUST_PROXY, since anyone can send the headers. */
static void client_ip(struct MHD_Connection *conn, int trust_proxy, char *out, size_t outlen)
{
    if (trust_proxy) {
        const char *h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Fly-Client-IP");
        size_t n = 0;
        if (!h || !*h) {
            h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Forwarded-For");
        }
        if (h) {
            while (*h == ' ')
                h++;
            n = strcspn(h, ", ");
        }
        if (n > 0 && n < outlen) {
            memcpy(out, h, n);
            out[n] = '\0';
            return;
        }
    }
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    out[0] = '\0';
    if (!ci || !ci->client_addr)
        return;
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out, (socklen_t)outlen);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, out,
                  (socklen_t)outlen);
}

/* Routes and runs the handler; always leaves a response in `res`. */
static void dispatch(struct http_server *s, struct MHD_Connection *conn, struct req_ctx *ctx, const char *url,
                     const char *method, struct http_response *res)
{
    struct http_request req;
    memset(&req, 0, sizeof req);
    req.method = method;
    req.is_head = strcmp(method, "HEAD") == 0;
    req.path = url;
    req.app = s->app;
    req.conn = conn;
    req.server_ctx = ctx;
    memcpy(req.request_id, ctx->request_id, sizeof req.request_id);
    client_ip(conn, s->app->cfg->trust_proxy, req.client_ip, sizeof req.client_ip);

    if (ctx->too_big) {
        http_response_problem(res, 413, "payload_too_large", "The request body is larger than %ld bytes",
                              s->app->cfg->max_body_bytes);
        return;
    }
    char allow[128];
    int idx = router_match(s->routes, s->nroutes, method, url, &req, allow, sizeof allow);
    const struct route *route = idx >= 0 ? &s->routes[idx] : NULL;
    if (s->hooks.rate_limit && !(route && (route->flags & ROUTE_NO_RATE_LIMIT)) &&
        s->hooks.rate_limit(&req, res) < 0)
        return;
    if (idx == ROUTER_NOT_FOUND) {
        ctx->route = "unmatched";
        http_response_problem(res, 404, "not_found", "No resource at this path");
        return;
    }
    if (idx == ROUTER_METHOD_NOT_ALLOWED) {
        ctx->route = "unmatched";
        if (strcmp(method, "OPTIONS") == 0) {
            /* CORS preflight (or a plain OPTIONS): the allowed methods, no body */
            res->status = 204;
            http_response_header(res, "Allow", allow);
            http_response_header(res, "Access-Control-Allow-Methods", allow);
            http_response_header(res, "Access-Control-Allow-Headers",
                                 "Content-Type, Authorization, Idempotency-Key, X-Request-ID");
            http_response_header(res, "Access-Control-Max-Age", "600");
            return;
        }
        http_response_problem(res, 405, "method_not_allowed", "Method %s is not allowed here",
                              known_method(method));
        http_response_header(res, "Allow", allow);
        return;
    }
    ctx->route = route->pattern;
    req.body = ctx->body.data ? ctx->body.data : "";
    req.body_len = ctx->body.len;

    if (route->flags & ROUTE_ADMIN) {
        if (!s->hooks.authorize) {
            http_response_problem(res, 401, "unauthorized", "Admin authentication is not available");
            return;
        }
        if (s->hooks.authorize(&req, res) < 0)
            return;
    }
    json_t *json = NULL;
    if ((route->flags & ROUTE_JSON) && method_has_body(method) && req.body_len > 0) {
        if (!is_json_content_type(MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type"))) {
            http_response_problem(res, 415, "unsupported_media_type", "Send the body as application/json");
            return;
        }
        json_error_t jerr;
        json = json_loadb(req.body, req.body_len, JSON_REJECT_DUPLICATES, &jerr);
        if (!json) {
            http_response_problem(res, 400, "invalid_json", "Malformed JSON at line %d, column %d", jerr.line,
                                  jerr.column);
            return;
        }
        req.json = json;
    }
    res->status = 0;
    if ((route->flags & ROUTE_IDEMPOTENT) && s->hooks.idempotent)
        s->hooks.idempotent(&req, res, route->handler);
    else
        route->handler(&req, res);
    json_decref(json);
    if (res->status == 0 && !ctx->async)
        http_response_problem(res, 500, "internal_error", "The handler produced no response");
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **req_cls)
{
    (void)version;
    struct http_server *s = cls;
    struct req_ctx *ctx = *req_cls;
    if (!ctx) {
        /* not calloc: `pending` is last and mostly header slots, which are written only when used */
        ctx = malloc(sizeof *ctx);
        if (!ctx)
            return MHD_NO;
        memset(ctx, 0, offsetof(struct req_ctx, pending));
        http_response_init(&ctx->pending);
        clock_gettime(CLOCK_MONOTONIC, &ctx->start);
        buf_init(&ctx->body, (size_t)s->app->cfg->max_body_bytes);
        ctx->method = known_method(method);
        ctx->route = "unmatched";
        const char *rid = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Request-ID");
        if (ids_request_id_valid(rid))
            snprintf(ctx->request_id, sizeof ctx->request_id, "%s", rid);
        else
            ids_request_id_new(ctx->request_id);
        *req_cls = ctx;
        __atomic_add_fetch(&s->in_flight, 1, __ATOMIC_RELAXED);

        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
        if (cl) {
            char *end;
            unsigned long long n = strtoull(cl, &end, 10);
            if (end != cl && n > (unsigned long long)s->app->cfg->max_body_bytes) {
                /* Answer now, without reading the body; libmicrohttpd then closes the connection. */
                ctx->too_big = 1;
                struct http_response res;
                http_response_init(&res);
                http_response_problem(&res, 413, "payload_too_large",
                                      "The request body is larger than %ld bytes",
                                      s->app->cfg->max_body_bytes);
                return send_response(s, conn, ctx, &res);
            }
        }
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        if (!ctx->too_big && buf_append(&ctx->body, upload_data, *upload_data_size) != 0) {
            ctx->too_big = 1;
            buf_cleanup(&ctx->body);
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (ctx->status)
        return MHD_YES; /* already answered (413 on Content-Length) */
    if (ctx->ready) {   /* resumed: the deferred answer is here */
        ctx->ready = 0;
        return send_response(s, conn, ctx, &ctx->pending);
    }
    if (ctx->async)
        return MHD_YES; /* still waiting (not expected: the connection is suspended) */
    struct http_response res;
    http_response_init(&res);
    ctx->conn = conn;
    dispatch(s, conn, ctx, url, method, &res);
    if (ctx->async) {
        http_response_cleanup(&res);
        if (ctx->ready) { /* it all ended before dispatch returned: answer now */
            ctx->ready = 0;
            return send_response(s, conn, ctx, &ctx->pending);
        }
        ctx->suspended = 1;
        MHD_suspend_connection(conn);
        return MHD_YES;
    }
    return send_response(s, conn, ctx, &res);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)conn;
    struct http_server *s = cls;
    struct req_ctx *ctx = *req_cls;
    if (!ctx)
        return;
    double secs = elapsed_s(&ctx->start);
    int status = ctx->status ? ctx->status : 499; /* client went away before we answered */
    if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK && ctx->status == 0)
        status = 499;
    char st[8];
    snprintf(st, sizeof st, "%d", status);
    const char *labels[] = {ctx->method, ctx->route, st};
    metrics_inc(m_requests, labels, 1);
    const char *route_label[] = {ctx->route};
    metrics_observe(m_duration, route_label, secs);
    log_request(ctx->request_id, ctx->method, ctx->route, status, secs * 1000.0, ctx->bytes);
    http_response_cleanup(&ctx->pending);
    buf_cleanup(&ctx->body);
    free(ctx);
    *req_cls = NULL;
    __atomic_sub_fetch(&s->in_flight, 1, __ATOMIC_RELAXED);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n > 0 && msg[n - 1] == '\n')
        msg[--n] = '\0';
    log_debug("libmicrohttpd: %s", msg);
}

static int resolve(const char *host, int port, struct sockaddr_storage *out, char *err, size_t errlen)
{
    struct addrinfo hints = {0}, *ai = NULL;
    char portstr[8];
    snprintf(portstr, sizeof portstr, "%d", port);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    int rc = getaddrinfo(host, portstr, &hints, &ai);
    if (rc != 0 || !ai) {
        snprintf(err, errlen, "HOST %s: %s", host, gai_strerror(rc));
        return -1;
    }
    memcpy(out, ai->ai_addr, ai->ai_addrlen);
    freeaddrinfo(ai);
    return 0;
}

/* --- deferred answers --- */

static int stopping(struct loop *l)
{
    return __atomic_load_n(&l->stop, __ATOMIC_ACQUIRE);
}

struct op {
    struct req_ctx *ctx;
    http_db_done done;
    void *data;
};

/* A continuation has returned: unless it started another operation, its answer is ready and the
 * connection is resumed (or, when this runs before dispatch has returned, answered by on_request). */
static void op_returned(struct req_ctx *ctx)
{
    if (ctx->deferred)
        return;
    if (ctx->pending.status == 0)
        http_response_problem(&ctx->pending, 500, "internal_error", "The handler produced no response");
    ctx->ready = 1;
    if (ctx->suspended) {
        ctx->suspended = 0;
        MHD_resume_connection(ctx->conn);
    }
}

/* db_async's callback, on the loop thread. */
static void on_op_done(struct db_result *r, int rc, void *data)
{
    struct op *o = data;
    struct req_ctx *ctx = o->ctx;
    ctx->deferred = 0;
    o->done((struct http_async *)ctx, r, rc, o->data, &ctx->pending);
    free(o);
    op_returned(ctx);
}

static int start_op(struct req_ctx *ctx, int tx, const char *sql, int n, const char *const *params,
                    http_db_done done, void *data)
{
    struct loop *l = current_loop;
    if (!l || !l->db || !ctx || ctx->deferred || stopping(l))
        return -1;
    struct op *o = malloc(sizeof *o);
    if (!o)
        abort();
    *o = (struct op){ctx, done, data};
    int was_async = ctx->async;
    ctx->deferred = ctx->async = 1;
    int rc = tx ? db_async_tx(l->db, sql, n, params, on_op_done, o)
                : db_async_query(l->db, sql, n, params, on_op_done, o);
    if (rc != DB_OK) {
        ctx->deferred = 0;
        ctx->async = was_async;
        free(o);
        return -1;
    }
    return 0;
}

int http_query_async(struct http_request *req, const char *sql, int n, const char *const *params,
                     http_db_done done, void *data)
{
    if (req->answer_inline)
        return -1;
    return start_op(req->server_ctx, 0, sql, n, params, done, data);
}

struct db_conn *http_async_journal(struct http_async *h)
{
    (void)h;
    struct loop *l = current_loop;
    return l && l->db && !stopping(l) ? db_async_journal(l->db) : NULL;
}

int http_async_tx(struct http_async *h, const char *sql, int n, const char *const *params, http_db_done done,
                  void *data)
{
    return start_op((struct req_ctx *)h, 1, sql, n, params, done, data);
}

int http_async_after(struct http_async *h, int ms, http_timer_fn fn, void *data)
{
    struct loop *l = current_loop;
    struct req_ctx *ctx = (struct req_ctx *)h;
    if (!l || stopping(l) || ctx->deferred)
        return -1;
    struct timer *t = malloc(sizeof *t);
    if (!t)
        abort();
    *t = (struct timer){clock_mono_s() + ms / 1000.0, ctx, fn, data, NULL};
    struct timer **p = &l->timers;
    while (*p && (*p)->at <= t->at)
        p = &(*p)->next;
    t->next = *p;
    *p = t;
    ctx->deferred = 1;
    return 0;
}

struct redis_op {
    struct req_ctx *ctx;
    http_redis_done done;
    void *data;
};

static void on_redis_done(redisReply *reply, void *data)
{
    struct redis_op *o = data;
    struct req_ctx *ctx = o->ctx;
    ctx->deferred = 0;
    o->done((struct http_async *)ctx, reply, o->data, &ctx->pending);
    free(o);
    op_returned(ctx);
}

int http_async_redis(struct http_async *h, int argc, const char **argv, http_redis_done done, void *data)
{
    struct loop *l = current_loop;
    struct req_ctx *ctx = (struct req_ctx *)h;
    if (!l || !l->redis || stopping(l) || ctx->deferred)
        return -1;
    struct redis_op *o = malloc(sizeof *o);
    if (!o)
        abort();
    *o = (struct redis_op){ctx, done, data};
    ctx->deferred = 1;
    if (redis_async_command(l->redis, argc, argv, on_redis_done, o) < 0) {
        ctx->deferred = 0;
        free(o);
        return -1;
    }
    return 0;
}

int http_redis_send(int argc, const char **argv)
{
    struct loop *l = current_loop;
    if (!l || !l->redis || stopping(l))
        return -1;
    return redis_async_command(l->redis, argc, argv, NULL, NULL);
}

/* Runs the timers due by `now` (all of them when the loop stops). */
static void run_timers(struct loop *l, double now)
{
    while (l->timers && (stopping(l) || l->timers->at <= now)) {
        struct timer *t = l->timers;
        l->timers = t->next;
        struct req_ctx *ctx = t->ctx;
        ctx->deferred = 0;
        t->fn((struct http_async *)ctx, t->data, &ctx->pending);
        free(t);
        op_returned(ctx);
    }
}

/* --- the loops --- */

/* db_async's and redis_async's watch: keep their sockets in the loop's epoll set. */
static void watch_fd(struct loop *l, uint32_t tag, int old_fd, int fd, int want_write)
{
    struct epoll_event ev = {.events = EPOLLIN | (want_write ? (unsigned)EPOLLOUT : 0u), .data.u32 = tag};
    if (old_fd >= 0 && old_fd != fd)
        epoll_ctl(l->epoll_fd, EPOLL_CTL_DEL, old_fd, NULL);
    if (fd >= 0 && epoll_ctl(l->epoll_fd, old_fd == fd ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &ev) < 0)
        log_error("http: cannot watch a %s socket: %s", tag == TAG_DB ? "database" : "Redis",
                  strerror(errno));
}

static void watch_db(void *arg, int old_fd, int fd, int want_write)
{
    watch_fd(arg, TAG_DB, old_fd, fd, want_write);
}

static void watch_redis(void *arg, int old_fd, int fd, int want_write)
{
    watch_fd(arg, TAG_REDIS, old_fd, fd, want_write);
}

static void *loop_main(void *arg)
{
    struct loop *l = arg;
    current_loop = l;
    struct epoll_event events[LOOP_MAX_EVENTS];
    while (!__atomic_load_n(&l->stop, __ATOMIC_ACQUIRE)) {
        MHD_UNSIGNED_LONG_LONG mhd_ms = LOOP_MAX_WAIT_MS;
        int timeout = MHD_get_timeout(l->daemon, &mhd_ms) == MHD_YES && mhd_ms < LOOP_MAX_WAIT_MS
                          ? (int)mhd_ms
                          : LOOP_MAX_WAIT_MS;
        double redis_due = redis_async_tick(l->redis, clock_mono_s());
        double due = l->timers && (redis_due == 0 || l->timers->at < redis_due) ? l->timers->at : redis_due;
        if (due > 0) {
            double wait_ms = (due - clock_mono_s()) * 1000.0;
            int t = wait_ms <= 0 ? 0 : (int)wait_ms + 1;
            if (t < timeout)
                timeout = t;
        }
        int n = epoll_wait(l->epoll_fd, events, LOOP_MAX_EVENTS, timeout);
        for (int i = 0; i < n; i++) {
            unsigned e = events[i].events;
            int readable = (e & (EPOLLIN | EPOLLHUP | EPOLLERR)) != 0, writable = (e & EPOLLOUT) != 0;
            if (events[i].data.u32 == TAG_DB) {
                db_async_ready(l->db, readable, writable);
            } else if (events[i].data.u32 == TAG_REDIS) {
                redis_async_ready(l->redis, readable, writable);
            } else if (events[i].data.u32 == TAG_WAKE) {
                uint64_t v;
                ssize_t ignored = read(l->wake_fd, &v, sizeof v);
                (void)ignored;
            }
        }
        if (l->timers)
            run_timers(l, clock_mono_s());
        MHD_run(l->daemon); /* accepts, reads, runs handlers, answers resumed connections */
        db_async_sync(l->db);
    }
    /* stopping: no connection may stay suspended, so what is in flight fails over to the blocking way
     * and is answered, and every timer runs now (no new one is taken) */
    db_async_free(l->db);
    l->db = NULL;
    redis_async_free(l->redis);
    l->redis = NULL;
    run_timers(l, clock_mono_s());
    MHD_run(l->daemon);
    return NULL;
}

static void loops_stop(struct http_server *s)
{
    for (int i = 0; i < s->nloops; i++) {
        struct loop *l = &s->loops[i];
        if (!l->started)
            continue;
        __atomic_store_n(&l->stop, 1, __ATOMIC_RELEASE);
        uint64_t one = 1;
        ssize_t ignored = write(l->wake_fd, &one, sizeof one);
        (void)ignored;
        pthread_join(l->thread, NULL);
        l->started = 0;
    }
    /* the first daemon owns the listening socket; the others only borrow it: quiesce them first, so
     * that they hand it back instead of closing it */
    for (int i = s->nloops - 1; i >= 0; i--) {
        struct loop *l = &s->loops[i];
        if (l->daemon) {
            if (i > 0)
                (void)MHD_quiesce_daemon(l->daemon);
            MHD_stop_daemon(l->daemon);
        }
        db_async_free(l->db);
        redis_async_free(l->redis);
        if (l->epoll_fd >= 0)
            close(l->epoll_fd);
        if (l->wake_fd >= 0)
            close(l->wake_fd);
    }
    free(s->loops);
    s->loops = NULL;
    s->nloops = 0;
}

int http_server_start(struct app *app, const struct route *routes, int nroutes,
                      const struct http_hooks *hooks, struct http_server **out, char *err, size_t errlen)
{
    if (!m_requests) {
        static const char *req_labels[] = {"method", "route", "status", NULL};
        static const char *route_labels[] = {"route", NULL};
        static const double buckets[] = {0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
        m_requests = metrics_counter("http_requests_total",
                                     "HTTP requests by method, route template and status.", req_labels);
        m_duration = metrics_histogram("http_request_duration_seconds",
                                       "Time from first byte of the request to the completed response.",
                                       route_labels, buckets, (int)(sizeof buckets / sizeof *buckets));
    }
    struct http_server *s = calloc(1, sizeof *s);
    if (!s)
        abort();
    s->app = app;
    s->routes = routes;
    s->nroutes = nroutes;
    if (hooks)
        s->hooks = *hooks;
    if (resolve(app->cfg->host, app->cfg->port, &s->addr, err, errlen) < 0) {
        free(s);
        return -1;
    }
    /* Each connection's memory holds the request line and headers and the response headers (bodies are
     * copied out). libmicrohttpd zeroes all of it after every request on a kept-alive connection, so its
     * size is paid per request: 16 KiB, not the default 32 KiB (measured: the zeroing was ~4% of a
     * worker's time under the availability benchmark). */
    unsigned int flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
    if (s->addr.ss_family == AF_INET6)
        flags |=
            MHD_USE_DUAL_STACK; /* "::" also takes IPv4 (Fly's private network is IPv6, its proxy IPv4) */
    s->nloops = app->cfg->http_threads > 0 ? app->cfg->http_threads : 1;
    s->loops = calloc((size_t)s->nloops, sizeof *s->loops);
    if (!s->loops)
        abort();
    for (int i = 0; i < s->nloops; i++)
        s->loops[i].epoll_fd = s->loops[i].wake_fd = -1;
    /* the connection limit is the server's: each loop takes its share */
    unsigned int per_loop_limit = (unsigned int)(app->cfg->max_connections / s->nloops);
    if (per_loop_limit < 1)
        per_loop_limit = 1;
    int listen_fd = -1;
    for (int i = 0; i < s->nloops; i++) {
        struct loop *l = &s->loops[i];
        l->server = s;
        l->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
        l->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (l->epoll_fd < 0 || l->wake_fd < 0) {
            snprintf(err, errlen, "cannot create the event loops: %s", strerror(errno));
            goto fail;
        }
        if (i == 0)
            l->daemon = MHD_start_daemon(
                flags, (uint16_t)app->cfg->port, NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR,
                (const struct sockaddr *)&s->addr, MHD_OPTION_CONNECTION_TIMEOUT,
                (unsigned int)app->cfg->connection_timeout_s, MHD_OPTION_CONNECTION_LIMIT, per_loop_limit,
                MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HTTP_CONNECTION_MEMORY,
                MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024U, MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
                MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, MHD_OPTION_END);
        else
            l->daemon = MHD_start_daemon(
                flags, 0, NULL, NULL, on_request, s, MHD_OPTION_LISTEN_SOCKET, listen_fd,
                MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)app->cfg->connection_timeout_s,
                MHD_OPTION_CONNECTION_LIMIT, per_loop_limit, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
                (size_t)HTTP_CONNECTION_MEMORY, MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
                MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, MHD_OPTION_END);
        if (!l->daemon) {
            if (i == 0)
                snprintf(err, errlen, "cannot listen on %s:%d (in use, or not allowed)", app->cfg->host,
                         app->cfg->port);
            else
                snprintf(err, errlen, "cannot start HTTP loop %d", i);
            goto fail;
        }
        const union MHD_DaemonInfo *info = MHD_get_daemon_info(l->daemon, MHD_DAEMON_INFO_EPOLL_FD);
        if (i == 0) {
            const union MHD_DaemonInfo *li = MHD_get_daemon_info(l->daemon, MHD_DAEMON_INFO_LISTEN_FD);
            listen_fd = li ? li->listen_fd : -1;
        }
        struct epoll_event http_ev = {.events = EPOLLIN, .data.u32 = TAG_HTTP};
        struct epoll_event wake_ev = {.events = EPOLLIN, .data.u32 = TAG_WAKE};
        if (!info || listen_fd < 0 || epoll_ctl(l->epoll_fd, EPOLL_CTL_ADD, info->epoll_fd, &http_ev) < 0 ||
            epoll_ctl(l->epoll_fd, EPOLL_CTL_ADD, l->wake_fd, &wake_ev) < 0) {
            snprintf(err, errlen, "cannot set up HTTP loop %d", i);
            goto fail;
        }
        l->db = db_async_new(app->db, watch_db, l); /* NULL on SQLite: every handler answers inline */
        l->redis = app->db && l->db ? redis_async_new(app->cfg, watch_redis, l) : NULL;
    }
    for (int i = 0; i < s->nloops; i++) {
        if (pthread_create(&s->loops[i].thread, NULL, loop_main, &s->loops[i]) != 0) {
            snprintf(err, errlen, "cannot start HTTP loop thread %d", i);
            goto fail;
        }
        s->loops[i].started = 1;
    }
    *out = s;
    return 0;
fail:
    loops_stop(s);
    free(s);
    return -1;
}

int http_server_in_flight(const struct http_server *s)
{
    return __atomic_load_n(&s->in_flight, __ATOMIC_RELAXED);
}

void http_server_stop(struct http_server *s)
{
    if (!s)
        return;
    loops_stop(s);
    free(s);
}
