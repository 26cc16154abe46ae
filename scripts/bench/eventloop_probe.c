/* eventloop_probe.c - a measuring stick, not part of cabanas: how fast can *any* server built from the
 * same libraries answer the availability benchmark on this machine, if it is written as an event loop?
 *
 * scripts/bench.sh builds and runs it when BENCH_PROBE=1, against the same PostgreSQL, with the same
 * SELECT (passed in as an argument) and the same wrk settings as cabanas' availability GET, and reports
 * its rate next to cabanas' (docs/benchmarks.md, "The event-loop probe").
 *
 * The design cabanas does not have: THREADS threads, each with its own libmicrohttpd daemon in external
 * epoll mode (all on one port, SO_REUSEPORT) and CONNS libpq connections in pipeline mode, all in one
 * epoll set. A request is parsed, its query queued on the least loaded connection of its thread, and the
 * HTTP connection suspended; when PostgreSQL answers, the row is written as JSON (jansson) and the
 * connection resumed. No thread ever blocks on PostgreSQL, and one wake-up serves every ready event.
 *
 * It does less than cabanas per request, on purpose: no input validation, no pricing (the quote), no
 * rate limit, metrics, request log or security headers. Its rate is therefore a ceiling for the event-loop
 * design on this machine, not a prediction of what cabanas would reach with it.
 *
 *   cc -O2 -o probe eventloop_probe.c $(pkg-config --cflags --libs libmicrohttpd jansson libpq) -pthread
 *   probe PORT CONNINFO THREADS CONNS SQL
 * SQL takes $1 accommodation id, $2 check_in, $3 check_out, $4 now (epoch seconds), as cabanas' does.
 * GET /api/v1/accommodations/ID/availability?check_in=...&check_out=... answers 200 with the row, 404
 * when there is none, 500 when the query failed. Runs until killed. */
#include <jansson.h>
#include <libpq-fe.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>

#define MAX_THREADS 64
#define MAX_CONNS 64
#define MAX_EVENTS 64

struct request {
    struct MHD_Connection *http;
    char *body; /* the answer, once PostgreSQL has given it */
    unsigned status;
    int answered;
    struct request *next; /* the connection's queue of queries in flight */
};

struct pg_link {
    PGconn *pg;
    struct request *head, *tail; /* in the order the queries were sent: PostgreSQL answers in order */
    int in_flight;
    int want_write; /* PQflush left bytes unsent: watch EPOLLOUT */
};

struct loop {
    int port, nconns, epoll_fd;
    struct MHD_Daemon *daemon;
    struct pg_link links[MAX_CONNS];
};

static const char *conninfo, *sql;

static void die(const char *what, const char *detail)
{
    fprintf(stderr, "eventloop_probe: %s: %s\n", what, detail ? detail : "");
    exit(1);
}

static void watch(struct loop *L, int i, int op)
{
    struct epoll_event ev = {.events = EPOLLIN | (L->links[i].want_write ? EPOLLOUT : 0u),
                             .data.u32 = (uint32_t)i + 1};
    if (epoll_ctl(L->epoll_fd, op, PQsocket(L->links[i].pg), &ev) < 0)
        die("epoll_ctl", "PostgreSQL socket");
}

static void flush(struct loop *L, int i)
{
    struct pg_link *k = &L->links[i];
    int rc = PQflush(k->pg);
    if (rc < 0)
        die("PQflush", PQerrorMessage(k->pg));
    if ((rc == 1) != k->want_write) {
        k->want_write = rc == 1;
        watch(L, i, EPOLL_CTL_MOD);
    }
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *http, const char *url, const char *method,
                                  const char *version, const char *upload, size_t *upload_size, void **state)
{
    (void)method, (void)version, (void)upload, (void)upload_size;
    struct loop *L = cls;
    struct request *r = *state;
    if (!r) { /* headers only so far */
        if (!(r = calloc(1, sizeof *r)))
            abort();
        r->http = http;
        *state = r;
        return MHD_YES;
    }
    if (r->answered) { /* resumed: PostgreSQL has answered */
        struct MHD_Response *res =
            MHD_create_response_from_buffer(strlen(r->body), r->body, MHD_RESPMEM_MUST_FREE);
        r->body = NULL; /* the response owns it */
        MHD_add_response_header(res, "Content-Type", "application/json");
        enum MHD_Result ok = MHD_queue_response(http, r->status, res);
        MHD_destroy_response(res);
        return ok;
    }
    const char *in = MHD_lookup_connection_value(http, MHD_GET_ARGUMENT_KIND, "check_in");
    const char *out = MHD_lookup_connection_value(http, MHD_GET_ARGUMENT_KIND, "check_out");
    const char *p = strstr(url, "/accommodations/");
    char id[24], now[24];
    snprintf(id, sizeof id, "%lld", p ? strtoll(p + 16, NULL, 10) : 0LL);
    snprintf(now, sizeof now, "%lld", (long long)time(NULL));
    const char *params[4] = {id, in ? in : "", out ? out : "", now};
    int best = 0;
    for (int i = 1; i < L->nconns; i++)
        if (L->links[i].in_flight < L->links[best].in_flight)
            best = i;
    struct pg_link *k = &L->links[best];
    if (!PQsendQueryPrepared(k->pg, "availability", 4, params, NULL, NULL, 0) || !PQpipelineSync(k->pg))
        die("PQsendQueryPrepared", PQerrorMessage(k->pg));
    flush(L, best);
    k->in_flight++;
    if (k->tail)
        k->tail->next = r;
    else
        k->head = r;
    k->tail = r;
    MHD_suspend_connection(http);
    return MHD_YES;
}

static void on_completed(void *cls, struct MHD_Connection *http, void **state,
                         enum MHD_RequestTerminationCode why)
{
    (void)cls, (void)http, (void)why;
    struct request *r = *state;
    if (r) {
        free(r->body);
        free(r);
    }
    *state = NULL;
}

static char *row_json(const PGresult *res)
{
    json_t *o = json_object();
    for (int i = 0; i < PQnfields(res); i++)
        json_object_set_new(o, PQfname(res, i), json_string(PQgetvalue(res, 0, i)));
    json_object_set_new(o, "available", json_boolean(PQgetisnull(res, 0, PQnfields(res) - 1)));
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (!s)
        abort();
    return s;
}

/* Reads what PostgreSQL sent on link i: each query gives its result, a NULL, then the sync point. */
static void on_postgres(struct loop *L, int i, uint32_t events)
{
    struct pg_link *k = &L->links[i];
    if (events & EPOLLOUT)
        flush(L, i);
    if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
        return;
    if (!PQconsumeInput(k->pg))
        die("PQconsumeInput", PQerrorMessage(k->pg));
    while (k->head && !PQisBusy(k->pg)) {
        PGresult *res = PQgetResult(k->pg);
        if (!res)
            continue; /* the end of one query's results; its sync point follows */
        struct request *r = k->head;
        ExecStatusType st = PQresultStatus(res);
        if (st == PGRES_PIPELINE_SYNC) {
            if (!(k->head = r->next))
                k->tail = NULL;
            k->in_flight--;
            if (!r->body) {
                r->body = strdup("{\"error\":\"no_result\"}");
                r->status = 500;
            }
            r->answered = 1;
            MHD_resume_connection(r->http);
        } else if (!r->body) {
            int found = st == PGRES_TUPLES_OK && PQntuples(res) == 1;
            r->status = found ? 200 : st == PGRES_TUPLES_OK ? 404 : 500;
            r->body = found ? row_json(res) : strdup("{\"error\":\"not_found_or_failed\"}");
        }
        PQclear(res);
    }
}

static void *run_loop(void *arg)
{
    struct loop *L = arg;
    if ((L->epoll_fd = epoll_create1(EPOLL_CLOEXEC)) < 0)
        die("epoll_create1", NULL);
    for (int i = 0; i < L->nconns; i++) {
        PGconn *pg = PQconnectdb(conninfo);
        if (PQstatus(pg) != CONNECTION_OK)
            die("connect", PQerrorMessage(pg));
        PGresult *r = PQprepare(pg, "availability", sql, 4, NULL);
        if (PQresultStatus(r) != PGRES_COMMAND_OK)
            die("prepare", PQerrorMessage(pg));
        PQclear(r);
        if (PQsetnonblocking(pg, 1) != 0 || !PQenterPipelineMode(pg))
            die("pipeline mode", PQerrorMessage(pg));
        L->links[i].pg = pg;
        watch(L, i, EPOLL_CTL_ADD);
    }
    L->daemon = MHD_start_daemon(
        MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG, (uint16_t)L->port, NULL, NULL,
        on_request, L, MHD_OPTION_LISTENING_ADDRESS_REUSE, 1U, MHD_OPTION_NOTIFY_COMPLETED, on_completed,
        NULL, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)16384, MHD_OPTION_END);
    if (!L->daemon)
        die("MHD_start_daemon", "cannot listen");
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(L->daemon, MHD_DAEMON_INFO_EPOLL_FD);
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = 0};
    if (!info || epoll_ctl(L->epoll_fd, EPOLL_CTL_ADD, info->epoll_fd, &ev) < 0)
        die("epoll_ctl", "libmicrohttpd's epoll fd");
    struct epoll_event events[MAX_EVENTS];
    for (;;) {
        MHD_UNSIGNED_LONG_LONG mhd_ms = 100;
        int timeout = MHD_get_timeout(L->daemon, &mhd_ms) == MHD_YES && mhd_ms < 100 ? (int)mhd_ms : 100;
        int n = epoll_wait(L->epoll_fd, events, MAX_EVENTS, timeout);
        for (int i = 0; i < n; i++)
            if (events[i].data.u32)
                on_postgres(L, (int)events[i].data.u32 - 1, events[i].events);
        MHD_run(L->daemon); /* accepts, reads, answers resumed connections */
    }
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 6)
        die("usage", "probe PORT CONNINFO THREADS CONNS SQL");
    long port = strtol(argv[1], NULL, 10), threads = strtol(argv[3], NULL, 10),
         conns = strtol(argv[4], NULL, 10);
    conninfo = argv[2];
    sql = argv[5];
    if (port <= 0 || port > 65535 || threads < 1 || threads > MAX_THREADS || conns < 1 || conns > MAX_CONNS)
        die("usage", "PORT 1-65535, THREADS 1-64, CONNS 1-64");
    pthread_t t[MAX_THREADS];
    for (long i = 0; i < threads; i++) {
        struct loop *L = calloc(1, sizeof *L);
        if (!L)
            abort();
        L->port = (int)port;
        L->nconns = (int)conns;
        if (pthread_create(&t[i], NULL, run_loop, L) != 0)
            die("pthread_create", NULL);
    }
    pthread_join(t[0], NULL);
    return 0;
}
