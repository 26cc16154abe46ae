/* redis.c - hiredis connections with lazy reconnect. See redis.h. */
#include "redis.h"

#include "../core/clock.h"
#include "../core/log.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#define REDIS_SLOTS 4
#define CONNECT_TIMEOUT_MS 300
#define COMMAND_TIMEOUT_MS 500

struct slot {
    pthread_mutex_t lock;
    redisContext *ctx;
    double last_attempt;
};

struct redis {
    struct redis_url url;
    struct slot slots[REDIS_SLOTS];
    int next_slot;
    int connected;
};

struct redis *redis_open(const struct config *cfg)
{
    if (!cfg->redis_enabled)
        return NULL;
    struct redis *r = calloc(1, sizeof *r);
    if (!r)
        abort();
    r->url = cfg->redis;
    for (int i = 0; i < REDIS_SLOTS; i++)
        pthread_mutex_init(&r->slots[i].lock, NULL);
    return r;
}

void redis_close(struct redis *r)
{
    if (!r)
        return;
    for (int i = 0; i < REDIS_SLOTS; i++) {
        if (r->slots[i].ctx)
            redisFree(r->slots[i].ctx);
        pthread_mutex_destroy(&r->slots[i].lock);
    }
    free(r);
}

static void set_connected(struct redis *r, int v)
{
    int old = __atomic_exchange_n(&r->connected, v, __ATOMIC_RELAXED);
    if (old && !v)
        log_warn("redis: connection lost; serving on with in-process fallbacks until it returns");
    else if (!old && v)
        log_info("redis: connected to %s:%d", r->url.host, r->url.port);
}

/* With s->lock held: a usable context, or NULL. */
static redisContext *slot_context(struct redis *r, struct slot *s)
{
    if (s->ctx && !s->ctx->err)
        return s->ctx;
    if (s->ctx) {
        redisFree(s->ctx);
        s->ctx = NULL;
    }
    double now = clock_mono_s();
    if (s->last_attempt > 0 && now - s->last_attempt < 1.0)
        return NULL;
    s->last_attempt = now;
    struct timeval ct = {0, CONNECT_TIMEOUT_MS * 1000}, cmd = {0, COMMAND_TIMEOUT_MS * 1000};
    redisContext *c = redisConnectWithTimeout(r->url.host, r->url.port, ct);
    if (!c || c->err) {
        if (c)
            redisFree(c);
        set_connected(r, 0);
        return NULL;
    }
    redisSetTimeout(c, cmd);
    redisReply *rep = NULL;
    if (r->url.password[0]) {
        rep = redisCommand(c, "AUTH %s", r->url.password);
        if (!rep || rep->type == REDIS_REPLY_ERROR) {
            log_error("redis: AUTH failed");
            goto fail;
        }
        freeReplyObject(rep);
    }
    if (r->url.db) {
        rep = redisCommand(c, "SELECT %d", r->url.db);
        if (!rep || rep->type == REDIS_REPLY_ERROR)
            goto fail;
        freeReplyObject(rep);
    }
    s->ctx = c;
    return c;
fail:
    if (rep)
        freeReplyObject(rep);
    redisFree(c);
    set_connected(r, 0);
    return NULL;
}

static struct slot *my_slot(struct redis *r)
{
    static __thread int idx = -1;
    if (idx < 0)
        idx = __atomic_fetch_add(&r->next_slot, 1, __ATOMIC_RELAXED) % REDIS_SLOTS;
    return &r->slots[idx];
}

redisReply *redis_command_argv(struct redis *r, int argc, const char **argv, const size_t *argvlen)
{
    if (!r)
        return NULL;
    struct slot *s = my_slot(r);
    pthread_mutex_lock(&s->lock);
    redisReply *rep = NULL;
    redisContext *c = slot_context(r, s);
    if (c) {
        rep = redisCommandArgv(c, argc, argv, argvlen);
        if (!rep || c->err) {
            if (rep)
                freeReplyObject(rep);
            rep = NULL;
            redisFree(s->ctx);
            s->ctx = NULL;
            set_connected(r, 0);
        } else if (rep->type == REDIS_REPLY_ERROR) {
            log_debug("redis: %s: %s", argv[0], rep->str);
            freeReplyObject(rep);
            rep = NULL;
            set_connected(r, 1);
        } else {
            set_connected(r, 1);
        }
    }
    pthread_mutex_unlock(&s->lock);
    return rep;
}

int redis_ping(struct redis *r, double *latency_ms)
{
    const char *argv[] = {"PING"};
    double t0 = clock_mono_s();
    redisReply *rep = redis_command_argv(r, 1, argv, NULL);
    if (latency_ms)
        *latency_ms = (clock_mono_s() - t0) * 1000.0;
    if (!rep)
        return -1;
    freeReplyObject(rep);
    return 0;
}

int redis_connected(const struct redis *r)
{
    return r ? __atomic_load_n(&r->connected, __ATOMIC_RELAXED) : 0;
}
