/* redis.h - optional Redis (hiredis) for locks, rate limits and conversation state.
 *
 * A few connections, one per slot, each behind its own mutex; a thread sticks to one slot. A lost
 * connection is re-established on a later call (at most one attempt per second per slot), so a Redis
 * outage costs a fast error, never a hang or a crash: every call has a short timeout. Thread-safe. */
#ifndef CABANAS_REDIS_H
#define CABANAS_REDIS_H

#include "../core/config.h"

#include <hiredis/hiredis.h>

struct redis;

/* Never fails on an unreachable server (it connects lazily). NULL when REDIS_URL is unset. */
struct redis *redis_open(const struct config *cfg);
void redis_close(struct redis *r);

/* Runs one command; returns a reply the caller frees with freeReplyObject(), or NULL when Redis is
 * unreachable or answered an error (the error is then logged at debug level). */
redisReply *redis_command_argv(struct redis *r, int argc, const char **argv, const size_t *argvlen);

/* PING; 0 with the round trip in ms, or -1. */
int redis_ping(struct redis *r, double *latency_ms);

/* 1 when the last command on any slot succeeded, for the connection gauge. */
int redis_connected(const struct redis *r);

#endif
