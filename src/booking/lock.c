/* lock.c - per-accommodation writer lock. See lock.h.
 *
 * Redis: SET lock:acc:<id> <random token> NX PX 3000, retried for up to 2 s; released with a Lua
 * compare-and-delete so a holder whose key already expired never deletes someone else's. In-process: one
 * of 64 mutexes picked by accommodation id, always taken first, so one instance sends Redis one waiter
 * per accommodation at a time. */
#include "lock.h"

#include "core/clock.h"
#include "core/ids.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define STRIPES 64
#define REDIS_LOCK_TTL_MS "3000"
#define REDIS_WAIT_MAX_S BOOKING_LOCK_WAIT_MAX_S

static pthread_mutex_t stripes[STRIPES] = {[0 ... STRIPES - 1] = PTHREAD_MUTEX_INITIALIZER};

static void new_token(long long accommodation_id, struct booking_lock *l)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char raw[16];
    ids_random_bytes(raw, sizeof raw);
    for (int i = 0; i < 16; i++) {
        l->token[2 * i] = hex[raw[i] >> 4];
        l->token[2 * i + 1] = hex[raw[i] & 15];
    }
    snprintf(l->key, sizeof l->key, "lock:acc:%lld", accommodation_id);
}

static const char release_script[] =
    "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";

int booking_lock_reply(struct booking_lock *l, const redisReply *reply)
{
    if (!reply || reply->type == REDIS_REPLY_ERROR)
        return LOCK_NO_REDIS; /* Redis unreachable: the database still decides */
    if (reply->type != REDIS_REPLY_STATUS)
        return LOCK_BUSY; /* nil: someone else's key */
    l->redis_held = 1;
    return LOCK_HELD;
}

/* One SET NX PX: LOCK_HELD, LOCK_BUSY or LOCK_NO_REDIS. */
static int try_redis(struct redis *redis, struct booking_lock *l)
{
    const char *argv[] = {"SET", l->key, l->token, "NX", "PX", REDIS_LOCK_TTL_MS};
    redisReply *rep = redis_command_argv(redis, 6, argv, NULL);
    int st = booking_lock_reply(l, rep);
    if (rep)
        freeReplyObject(rep);
    return st;
}

void booking_lock_acquire(struct redis *redis, long long accommodation_id, struct booking_lock *l,
                          double *waited_s)
{
    double t0 = clock_mono_s();
    memset(l, 0, sizeof *l);
    l->accommodation_id = accommodation_id;
    l->stripe = (int)((unsigned long long)accommodation_id % STRIPES);
    pthread_mutex_lock(&stripes[l->stripe]);
    if (redis) {
        new_token(accommodation_id, l);
        for (int attempt = 0;; attempt++) {
            if (try_redis(redis, l) != LOCK_BUSY || clock_mono_s() - t0 > REDIS_WAIT_MAX_S)
                break;
            struct timespec pause = {0, (attempt < 10 ? 1 : 5) * 1000 * 1000L};
            nanosleep(&pause, NULL);
        }
    }
    if (waited_s)
        *waited_s = clock_mono_s() - t0;
}

/* The first attempt of try: a fresh token, no mutex (retries keep the token). */
static void first_try(long long accommodation_id, struct booking_lock *l)
{
    if (l->key[0])
        return;
    memset(l, 0, sizeof *l);
    l->accommodation_id = accommodation_id;
    l->stripe = -1;
    new_token(accommodation_id, l);
}

int booking_lock_try(struct redis *redis, long long accommodation_id, struct booking_lock *l)
{
    first_try(accommodation_id, l);
    return redis ? try_redis(redis, l) : LOCK_NO_REDIS;
}

void booking_lock_set_argv(long long accommodation_id, struct booking_lock *l, const char *argv[6])
{
    first_try(accommodation_id, l);
    argv[0] = "SET";
    argv[1] = l->key;
    argv[2] = l->token;
    argv[3] = "NX";
    argv[4] = "PX";
    argv[5] = REDIS_LOCK_TTL_MS;
}

int booking_lock_release_argv(struct booking_lock *l, const char *argv[5])
{
    if (!l->redis_held)
        return 0;
    l->redis_held = 0;
    argv[0] = "EVAL";
    argv[1] = release_script;
    argv[2] = "1";
    argv[3] = l->key;
    argv[4] = l->token;
    return 1;
}

void booking_lock_release(struct redis *redis, struct booking_lock *l)
{
    const char *argv[5];
    if (booking_lock_release_argv(l, argv) && redis) {
        redisReply *rep = redis_command_argv(redis, 5, argv, NULL);
        if (rep)
            freeReplyObject(rep);
    }
    if (l->stripe >= 0) {
        pthread_mutex_unlock(&stripes[l->stripe]);
        l->stripe = -1;
    }
}
