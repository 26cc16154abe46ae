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

/* Releases what acquire took: the Redis key only if it still holds our token (compare-and-delete). */
void booking_lock_release(struct redis *redis, struct booking_lock *l);

#endif
