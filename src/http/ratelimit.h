/* ratelimit.h - per-client fixed-window rate limiting (hooks.rate_limit).
 *
 * The client is req->client_ip (the server resolves it, honouring TRUST_PROXY). Windows are aligned to
 * multiples of RATE_LIMIT_WINDOW_SECONDS since the epoch, so every instance agrees on them; each allows
 * RATE_LIMIT_REQUESTS requests. With Redis the count is shared by all instances (hits are sent in batches:
 * at least every 50 ms, and on every request once a client is past half its limit); without Redis, or
 * whenever a Redis call fails, a bounded in-process table counts alone. The limiter fails open: a full
 * table or a Redis outage never turns a request away by itself. */
#ifndef CABANAS_RATELIMIT_H
#define CABANAS_RATELIMIT_H

#include "http.h"

/* Creates the metric families and seeds the table's hash key. Call once, before threads start. */
void ratelimit_init(void);

/* The hook: 0 to go on (RateLimit-Limit/-Remaining/-Reset headers added to `res`), or -1 with a 429
 * `rate_limited` problem and Retry-After written. Always 0 when RATE_LIMIT_ENABLED is false.
 * Thread-safe. */
int ratelimit_check(struct http_request *req, struct http_response *res);

#endif
