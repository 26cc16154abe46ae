/* redis_async.c - a non-blocking Redis connection per event-loop thread. See redis_async.h.
 *
 * hiredis' asynchronous context does the protocol; this file is its event-library adapter (the owner's
 * epoll set, through the watch callback, as hiredis' own adapters/ae.h does for Redis' ae) plus what
 * hiredis 0.14 lacks: a reply timeout and lazy reconnects. Replies come in the order the commands were
 * sent, so the send times of the commands in flight are a FIFO and its head is the one that can time
 * out first. */
#include "redis_async.h"

#include "../core/clock.h"
#include "../core/log.h"

#include <hiredis/async.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct redis_async {
    struct redis_url url;
    redisAsyncContext *ac; /* NULL: not connected */
    redis_async_watch watch;
    void *watch_ctx;
    int fd, want_write;
    double last_attempt;
    int lost_logged;
    double sent[REDIS_ASYNC_MAX_IN_FLIGHT]; /* send times of the commands in flight, oldest first */
    int head, count;
};

struct command {
    struct redis_async *a;
    redis_async_done done;
    void *data;
};

static void set_watch(struct redis_async *a, int fd, int want_write)
{
    if (fd == a->fd && want_write == a->want_write)
        return;
    int old = a->fd;
    a->fd = fd;
    a->want_write = want_write;
    a->watch(a->watch_ctx, old, fd, want_write);
}

/* hiredis' event hooks. Reading is always watched while connected (an idle read is harmless). */
static void ev_add_read(void *p)
{
    (void)p;
}

static void ev_del_read(void *p)
{
    (void)p;
}

static void ev_add_write(void *p)
{
    struct redis_async *a = p;
    set_watch(a, a->fd, 1);
}

static void ev_del_write(void *p)
{
    struct redis_async *a = p;
    set_watch(a, a->fd, 0);
}

/* The context is being freed (an error, a close, our timeout): forget it. Its callbacks have run. */
static void ev_cleanup(void *p)
{
    struct redis_async *a = p;
    set_watch(a, -1, 0);
    a->ac = NULL;
    a->head = a->count = 0;
}

static void on_connect(const redisAsyncContext *ac, int status)
{
    struct redis_async *a = ac->ev.data;
    if (status != REDIS_OK) {
        if (!a->lost_logged)
            log_warn("redis: asynchronous connection failed: %s", ac->errstr);
        a->lost_logged = 1;
    } else {
        a->lost_logged = 0;
    }
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
    struct redis_async *a = ac->ev.data;
    if (status != REDIS_OK && !a->lost_logged) {
        log_warn("redis: asynchronous connection lost: %s", ac->errstr);
        a->lost_logged = 1;
    }
}

struct redis_async *redis_async_new(const struct config *cfg, redis_async_watch watch, void *ctx)
{
    if (!cfg->redis_enabled)
        return NULL;
    struct redis_async *a = calloc(1, sizeof *a);
    if (!a)
        abort();
    a->url = cfg->redis;
    a->watch = watch;
    a->watch_ctx = ctx;
    a->fd = -1;
    return a;
}

void redis_async_free(struct redis_async *a)
{
    if (!a)
        return;
    if (a->ac)
        redisAsyncFree(a->ac); /* runs the callbacks with NULL replies, then ev_cleanup */
    free(a);
}

static int connect_now(struct redis_async *a)
{
    double now = clock_mono_s();
    if (a->last_attempt > 0 && now - a->last_attempt < 1.0)
        return -1;
    a->last_attempt = now;
    redisAsyncContext *ac = redisAsyncConnect(a->url.host, a->url.port);
    if (!ac)
        return -1;
    if (ac->err) {
        if (!a->lost_logged)
            log_warn("redis: asynchronous connection failed: %s", ac->errstr);
        a->lost_logged = 1;
        redisAsyncFree(ac);
        return -1;
    }
    ac->ev.data = a;
    ac->ev.addRead = ev_add_read;
    ac->ev.delRead = ev_del_read;
    ac->ev.addWrite = ev_add_write;
    ac->ev.delWrite = ev_del_write;
    ac->ev.cleanup = ev_cleanup;
    a->ac = ac;
    set_watch(a, ac->c.fd, 0);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    redisAsyncSetConnectCallback(ac, on_connect); /* watches for writability: the end of the connect */
    /* queued ahead of every command: a failure answers them with errors, which callers treat as no Redis */
    if (a->url.password[0])
        redisAsyncCommand(ac, NULL, NULL, "AUTH %s", a->url.password);
    if (a->url.db)
        redisAsyncCommand(ac, NULL, NULL, "SELECT %d", a->url.db);
    return 0;
}

static void on_reply(redisAsyncContext *ac, void *reply, void *privdata)
{
    (void)ac;
    struct command *c = privdata;
    struct redis_async *a = c->a;
    if (a->count > 0) {
        a->head = (a->head + 1) % REDIS_ASYNC_MAX_IN_FLIGHT;
        a->count--;
    }
    if (c->done)
        c->done(reply, c->data);
    free(c);
}

int redis_async_command(struct redis_async *a, int argc, const char **argv, redis_async_done done, void *data)
{
    if (!a || a->count >= REDIS_ASYNC_MAX_IN_FLIGHT)
        return -1;
    if (!a->ac && connect_now(a) < 0)
        return -1;
    struct command *c = malloc(sizeof *c);
    if (!c)
        abort();
    *c = (struct command){a, done, data};
    if (redisAsyncCommandArgv(a->ac, on_reply, c, argc, argv, NULL) != REDIS_OK) {
        free(c);
        return -1;
    }
    a->sent[(a->head + a->count) % REDIS_ASYNC_MAX_IN_FLIGHT] = clock_mono_s();
    a->count++;
    return 0;
}

void redis_async_ready(struct redis_async *a, int readable, int writable)
{
    if (a && a->ac && readable)
        redisAsyncHandleRead(a->ac);
    if (a && a->ac && writable)
        redisAsyncHandleWrite(a->ac);
}

double redis_async_tick(struct redis_async *a, double now)
{
    if (!a || !a->ac || a->count == 0)
        return 0;
    double due = a->sent[a->head] + REDIS_ASYNC_TIMEOUT_S;
    if (now < due)
        return due;
    log_warn("redis: no reply in %.1f s: dropping the asynchronous connection", REDIS_ASYNC_TIMEOUT_S);
    a->lost_logged = 1;
    redisAsyncFree(a->ac); /* the commands in flight get NULL replies */
    return 0;
}
