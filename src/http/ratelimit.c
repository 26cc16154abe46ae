/* ratelimit.c - fixed-window rate limiting per client address. See ratelimit.h.
 *
 * Windows start at multiples of RATE_LIMIT_WINDOW_SECONDS since the epoch, so the window (and the Redis
 * key `rl:<window start>:<ip>`) is the same on every instance and Retry-After is simply the time to the
 * next boundary. The price of fixed windows is that a client can spend two budgets around a boundary.
 *
 * Every request is counted in the in-process table. With Redis, an entry also remembers the shared total
 * at its last sync; the estimate is that total plus the hits not yet sent. A request sends its entry's
 * unsent hits (one EVAL: INCRBY, EXPIRE on the first hit) when RL_SYNC_MS have passed since the last
 * sync, or when the estimate is at least half the limit, so a client near its limit is counted exactly
 * across instances while a busy client far below it costs one Redis round trip per RL_SYNC_MS instead of
 * one per request. Another instance's hits are thus seen at most RL_SYNC_MS late while they are below half
 * the budget. A failed sync keeps the hits unsent and decides with this instance's own count.
 *
 * In-process table: RL_BUCKETS buckets of RL_WAYS entries each, one mutex per bucket. A client hashes
 * (keyed SipHash, so addresses cannot be picked to collide) to one bucket; an entry left from an older
 * window is reused. Memory never grows: when all ways of a bucket hold current-window clients, the
 * request is counted by Redis alone (one EVAL), or without Redis let through uncounted
 * (rate_limit_untracked_total goes up). */
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
#define RL_SYNC_MS 50   /* longest a hit stays unsent to Redis while the client is below half its limit */

struct rl_entry {
    long long window;    /* start of the window counted here; 0: never used */
    unsigned int count;  /* hits here in this window */
    unsigned int synced; /* of count, already added to the Redis total */
    long long global;    /* the Redis total at the last sync (it includes `synced`) */
    double last_sync;    /* monotonic seconds; 0: never */
    int syncing;         /* a request is sending this entry's hits now */
    char ip[RL_IP_MAX];
};

struct rl_bucket {
    pthread_mutex_t lock;
    struct rl_entry ways[RL_WAYS];
};

static struct rl_bucket table[RL_BUCKETS];
static unsigned char hash_key[crypto_shorthash_KEYBYTES];
static struct metric *m_limited, *m_untracked, *m_redis_errors;

/* Adds ARGV[2] hits to the window's counter; the first sets its expiry (ARGV[1] seconds). Returns the
 * total. */
static const char rl_script[] = "local n = redis.call('INCRBY', KEYS[1], ARGV[2]) "
                                "if n == tonumber(ARGV[2]) then redis.call('EXPIRE', KEYS[1], ARGV[1]) end "
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

/* The entry of `ip` in `window` in bucket `b` (locked by the caller): the existing one, or a reused one
 * reset to zero, or NULL when every way holds another current-window client. */
static struct rl_entry *entry_of(struct rl_bucket *b, const char *ip, long long window)
{
    struct rl_entry *reuse = NULL;
    for (int i = 0; i < RL_WAYS; i++) {
        struct rl_entry *e = &b->ways[i];
        if (e->window == window && strcmp(e->ip, ip) == 0)
            return e;
        /* != rather than <: after a clock step backwards, entries "from the future" are stale too */
        if (!reuse && e->window != window)
            reuse = e;
    }
    if (reuse) {
        memset(reuse, 0, sizeof *reuse);
        reuse->window = window;
        snprintf(reuse->ip, sizeof reuse->ip, "%s", ip);
    }
    return reuse;
}

/* Counts one request of `ip` in `window` in-process. 0 with the count so far, or -1 when the bucket is
 * full of current-window clients (the request is not counted). */
static int local_hit(const char *ip, long long window, long long *count)
{
    struct rl_bucket *b = bucket_of(ip);
    pthread_mutex_lock(&b->lock);
    struct rl_entry *e = entry_of(b, ip, window);
    if (e && e->count < UINT_MAX)
        e->count++;
    if (e)
        *count = e->count;
    pthread_mutex_unlock(&b->lock);
    return e ? 0 : -1;
}

/* Adds `n` hits in Redis. 0 with the shared total, or -1 when Redis did not answer with one. */
static int redis_add(struct redis *r, const char *ip, long long window, long long ttl, unsigned n,
                     long long *total)
{
    char key[32 + RL_IP_MAX], ttl_s[24], n_s[24];
    snprintf(key, sizeof key, "rl:%lld:%s", window, ip);
    snprintf(ttl_s, sizeof ttl_s, "%lld", ttl);
    snprintf(n_s, sizeof n_s, "%u", n);
    const char *argv[] = {"EVAL", rl_script, "1", key, ttl_s, n_s};
    redisReply *rep = redis_command_argv(r, 6, argv, NULL);
    int rc = -1;
    if (rep && rep->type == REDIS_REPLY_INTEGER) {
        *total = rep->integer;
        rc = 0;
    }
    if (rep)
        freeReplyObject(rep);
    return rc;
}

static double mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Counts one request with Redis shared by every instance: 0 with the estimated shared count, or -1 when
 * the request could not be counted at all (full bucket and no answer from Redis). */
static int shared_hit(struct redis *r, const char *ip, long long window, long long ttl, long long limit,
                      long long *count)
{
    struct rl_bucket *b = bucket_of(ip);
    double now = mono_now();
    pthread_mutex_lock(&b->lock);
    struct rl_entry *e = entry_of(b, ip, window);
    if (!e) {
        pthread_mutex_unlock(&b->lock);
        if (redis_add(r, ip, window, ttl, 1, count) == 0)
            return 0;
        metrics_inc(m_redis_errors, NULL, 1);
        return -1;
    }
    if (e->count < UINT_MAX)
        e->count++;
    long long estimate = e->global + (long long)(e->count - e->synced);
    unsigned delta = 0;
    if (!e->syncing && (now - e->last_sync >= RL_SYNC_MS / 1000.0 || 2 * estimate >= limit)) {
        delta = e->count - e->synced;
        e->synced = e->count;
        e->syncing = 1;
    }
    pthread_mutex_unlock(&b->lock);
    *count = estimate;
    if (!delta)
        return 0;
    long long total = 0;
    int rc = redis_add(r, ip, window, ttl, delta, &total);
    pthread_mutex_lock(&b->lock);
    if (e->window == window && strcmp(e->ip, ip) == 0) { /* still ours: the window may have moved on */
        e->syncing = 0;
        if (rc == 0) {
            e->global = total;
            e->last_sync = now;
            *count = total + (long long)(e->count - e->synced);
        } else {
            e->synced -= delta; /* sent next time */
            *count = e->count;  /* this instance's own count decides meanwhile */
        }
    } else if (rc == 0) {
        *count = total;
    }
    pthread_mutex_unlock(&b->lock);
    if (rc < 0)
        metrics_inc(m_redis_errors, NULL, 1);
    return 0;
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
    /* with Redis, one second of slack past the window's end, for instances whose clocks differ a little */
    int rc = req->app->redis ? shared_hit(req->app->redis, ip, window, reset + 1, limit, &count)
                             : local_hit(ip, window, &count);
    if (rc < 0) {
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
