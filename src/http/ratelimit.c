/* ratelimit.c - fixed-window rate limiting per client address. See ratelimit.h.
 *
 * Windows start at multiples of RATE_LIMIT_WINDOW_SECONDS since the epoch, so the window (and the Redis
 * key `rl:<window start>:<ip>`) is the same on every instance and Retry-After is simply the time to the
 * next boundary. The price of fixed windows is that a client can spend two budgets around a boundary.
 *
 * Redis: one EVAL per request (INCR, EXPIRE on the first hit), so the budget is shared by all instances.
 * A failed call (NULL reply) is counted with the in-process table for that request instead.
 *
 * In-process table: RL_BUCKETS buckets of RL_WAYS entries each, one mutex per bucket. A client hashes
 * (keyed SipHash, so addresses cannot be picked to collide) to one bucket; an entry left from an older
 * window is reused. Memory never grows: when all ways of a bucket hold current-window clients, the
 * request is let through uncounted and rate_limit_untracked_total goes up. */
#include "ratelimit.h"

#include "../api/app.h"
#include "../core/ids.h"
#include "../core/metrics.h"

#include <limits.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RL_BUCKETS 1024 /* power of two */
#define RL_WAYS 8       /* RL_BUCKETS * RL_WAYS = 8192 clients per window */
#define RL_IP_MAX 64    /* sizeof req->client_ip */

struct rl_entry {
    long long window; /* start of the window counted here; 0: never used */
    unsigned int count;
    char ip[RL_IP_MAX];
};

struct rl_bucket {
    pthread_mutex_t lock;
    struct rl_entry ways[RL_WAYS];
};

static struct rl_bucket table[RL_BUCKETS];
static unsigned char hash_key[crypto_shorthash_KEYBYTES];
static struct metric *m_limited, *m_untracked, *m_redis_errors;

/* INCR the window's counter; the first hit sets its expiry (ARGV[1] seconds). Returns the count. */
static const char rl_script[] = "local n = redis.call('INCR', KEYS[1]) "
                                "if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end "
                                "return n";

void ratelimit_init(void)
{
    if (m_limited)
        return;
    if (sodium_init() < 0)
        abort();
    ids_random_bytes(hash_key, sizeof hash_key);
    for (int i = 0; i < RL_BUCKETS; i++)
        pthread_mutex_init(&table[i].lock, NULL);
    m_limited = metrics_counter("rate_limited_total", "Requests answered 429 by the rate limiter.", NULL);
    m_untracked = metrics_counter(
        "rate_limit_untracked_total",
        "Requests let through uncounted because the in-process rate-limit table was full.", NULL);
    m_redis_errors =
        metrics_counter("rate_limit_redis_errors_total",
                        "Rate-limit checks counted in-process because the Redis call failed.", NULL);
}

static struct rl_bucket *bucket_of(const char *ip)
{
    unsigned char h[crypto_shorthash_BYTES];
    crypto_shorthash(h, (const unsigned char *)ip, strlen(ip), hash_key);
    unsigned int v = (unsigned int)h[0] | (unsigned int)h[1] << 8 | (unsigned int)h[2] << 16;
    return &table[v & (RL_BUCKETS - 1)];
}

/* Counts one request of `ip` in `window`. 0 with the count so far, or -1 when the bucket is full of
 * current-window clients (the request is not counted). */
static int local_hit(const char *ip, long long window, long long *count)
{
    struct rl_bucket *b = bucket_of(ip);
    struct rl_entry *reuse = NULL;
    int rc = -1;
    pthread_mutex_lock(&b->lock);
    for (int i = 0; i < RL_WAYS; i++) {
        struct rl_entry *e = &b->ways[i];
        if (e->window == window && strcmp(e->ip, ip) == 0) {
            if (e->count < UINT_MAX)
                e->count++;
            *count = e->count;
            rc = 0;
            goto out;
        }
        /* != rather than <: after a clock step backwards, entries "from the future" are stale too */
        if (!reuse && e->window != window)
            reuse = e;
    }
    if (reuse) {
        reuse->window = window;
        reuse->count = 1;
        snprintf(reuse->ip, sizeof reuse->ip, "%s", ip);
        *count = 1;
        rc = 0;
    }
out:
    pthread_mutex_unlock(&b->lock);
    return rc;
}

/* Counts one request in Redis. 0 with the shared count, or -1 when Redis did not answer with one. */
static int redis_hit(struct redis *r, const char *ip, long long window, long long ttl, long long *count)
{
    char key[32 + RL_IP_MAX], ttl_s[24];
    snprintf(key, sizeof key, "rl:%lld:%s", window, ip);
    snprintf(ttl_s, sizeof ttl_s, "%lld", ttl);
    const char *argv[] = {"EVAL", rl_script, "1", key, ttl_s};
    redisReply *rep = redis_command_argv(r, 5, argv, NULL);
    int rc = -1;
    if (rep && rep->type == REDIS_REPLY_INTEGER) {
        *count = rep->integer;
        rc = 0;
    }
    if (rep)
        freeReplyObject(rep);
    return rc;
}

int ratelimit_check(struct http_request *req, struct http_response *res)
{
    const struct config *cfg = req->app->cfg;
    if (!cfg->rate_limit_enabled)
        return 0;
    long long len = cfg->rate_limit_window_s, limit = cfg->rate_limit_requests;
    long long now = (long long)time(NULL);
    long long window = now - now % len;
    long long reset = window + len - now; /* 1..len seconds to the next window */
    const char *ip = req->client_ip[0] ? req->client_ip : "unknown";
    long long count = 0;
    int rc = -1;
    if (req->app->redis) {
        /* one second of slack past the window's end, for instances whose clocks differ a little */
        rc = redis_hit(req->app->redis, ip, window, reset + 1, &count);
        if (rc < 0)
            metrics_inc(m_redis_errors, NULL, 1);
    }
    if (rc < 0 && local_hit(ip, window, &count) < 0) {
        metrics_inc(m_untracked, NULL, 1);
        return 0;
    }
    char v[24];
    snprintf(v, sizeof v, "%lld", limit);
    http_response_header(res, "RateLimit-Limit", v);
    snprintf(v, sizeof v, "%lld", count >= limit ? 0 : limit - count);
    http_response_header(res, "RateLimit-Remaining", v);
    snprintf(v, sizeof v, "%lld", reset);
    http_response_header(res, "RateLimit-Reset", v);
    if (count <= limit)
        return 0;
    metrics_inc(m_limited, NULL, 1);
    http_response_header(res, "Retry-After", v);
    http_response_problem(res, 429, "rate_limited",
                          "More than %lld requests in %lld seconds; retry in %lld s", limit, len, reset);
    return -1;
}
