/* redis_async.h - one non-blocking Redis connection for an event-loop thread (hiredis async).
 *
 * Each HTTP loop thread (http/server.c) owns one, next to its db_async. A command is queued at once and
 * written when the socket is writable, together with whatever else the loop queued meanwhile; its
 * callback runs on the owning thread with the reply. Nothing here blocks: connecting is non-blocking too,
 * and is tried at most once a second. A command unanswered after REDIS_ASYNC_TIMEOUT_S, like the
 * blocking client's timeout, drops the connection: every command in flight then gets a NULL reply, which
 * callers treat as "Redis unavailable" (booking goes on without the cross-instance lock). Not
 * thread-safe: one thread per redis_async. */
#ifndef CABANAS_REDIS_ASYNC_H
#define CABANAS_REDIS_ASYNC_H

#include "../core/config.h"

#include <hiredis/hiredis.h>

#define REDIS_ASYNC_TIMEOUT_S 0.5
#define REDIS_ASYNC_MAX_IN_FLIGHT 1024

struct redis_async;

/* reply: borrowed until the callback returns; NULL when the connection failed, closed or timed out. */
typedef void (*redis_async_done)(redisReply *reply, void *data);

/* As db_async_watch: which socket to wait on (-1: none), and whether for writability too. */
typedef void (*redis_async_watch)(void *ctx, int old_fd, int fd, int want_write);

/* NULL when Redis is not configured. Does not connect yet. */
struct redis_async *redis_async_new(const struct config *cfg, redis_async_watch watch, void *ctx);
/* Every command in flight gets its NULL reply; closes; frees. NULL is fine. */
void redis_async_free(struct redis_async *a);

/* Queues a command (argv copied before this returns); done may be NULL (the reply is dropped). 0, or -1
 * when it was not queued (no connection, at most one connection attempt a second; too many in flight):
 * done will not run. */
int redis_async_command(struct redis_async *a, int argc, const char **argv, redis_async_done done,
                        void *data);

/* The socket is readable and/or writable. */
void redis_async_ready(struct redis_async *a, int readable, int writable);

/* Drops the connection when its oldest command has waited past the timeout; returns the monotonic time
 * at which the oldest command in flight times out, 0 when none is. */
double redis_async_tick(struct redis_async *a, double now);

#endif
