/* lock.h - a short per-accommodation writer lock: in-process always, across instances with Redis.
 *
 * It only reduces contention (losers wait instead of racing into the database); correctness never
 * depends on it: the database constraint decides. So a Redis outage or a lock wait timeout means "go on
 * without the cross-instance lock", never an error. Thread-safe. */
#ifndef CABANAS_BOOKING_LOCK_H
#define CABANAS_BOOKING_LOCK_H

#include "store/redis.h"

struct booking_lock {
    long long accommodation_id;
    int stripe;     /* the in-process mutex held, -1 if none */
    int redis_held; /* 1 if the Redis key is ours */
    char key[48];
    char token[33];
};

/* Blocks until the lock is held (or the wait bound passes); *waited_s is the time spent waiting. */
void booking_lock_acquire(struct redis *redis, long long accommodation_id, struct booking_lock *l,
                          double *waited_s);

/* For an event loop, which must not sleep: one attempt at the Redis key only (no in-process mutex: the
 * loop's other requests run on the same thread while this one waits for PostgreSQL). Returns
 * LOCK_HELD, LOCK_BUSY (someone else holds it: try again later) or LOCK_NO_REDIS (Redis unreachable or
 * not configured: go on without it). REDIS_WAIT_MAX_S bounds the retries, as for acquire. */
enum { LOCK_HELD = 0, LOCK_BUSY = 1, LOCK_NO_REDIS = 2 };
#define BOOKING_LOCK_WAIT_MAX_S 2.0
int booking_lock_try(struct redis *redis, long long accommodation_id, struct booking_lock *l);

/* The same attempt on an asynchronous connection: the SET NX command to send (argv[6], pointing into l)
 * and the reading of its reply (NULL: no reply, Redis unavailable). */
void booking_lock_set_argv(long long accommodation_id, struct booking_lock *l, const char *argv[6]);
int booking_lock_reply(struct booking_lock *l, const redisReply *reply);
/* The release command (argv[5]) when the Redis key is ours, and forgets it: 1, else 0 (nothing to send). */
int booking_lock_release_argv(struct booking_lock *l, const char *argv[5]);

/* Releases what acquire (or try) took: the Redis key only if it still holds our token
 * (compare-and-delete). */
void booking_lock_release(struct redis *redis, struct booking_lock *l);

#endif
