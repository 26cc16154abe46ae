/* idempotency.h - the Idempotency-Key header on ROUTE_IDEMPOTENT routes (hooks.idempotent).
 *
 * The first request with a key runs the handler and its answer (status, body, Location) is stored for
 * 24 hours; a retry with the same key and the same request gets that answer again, marked
 * `Idempotent-Replayed: true`, without running the handler. Keys are scoped by method, route template
 * and the admin's email, and stored in the idempotency_keys table (store/idempotency_store.h). */
#ifndef CABANAS_IDEMPOTENCY_H
#define CABANAS_IDEMPOTENCY_H

#include "http.h"

#define IDEMPOTENCY_KEY_MAX 255           /* bytes of printable ASCII */
#define IDEMPOTENCY_TTL_S (24 * 3600)     /* an answer is replayed for this long */
#define IDEMPOTENCY_ABANDONED_S 60        /* an in-flight claim older than this was abandoned (a crash) */
#define IDEMPOTENCY_BODY_MAX (256 * 1024) /* larger answers are not stored (the key is released) */

/* Creates the metric family. Call once, before threads start. */
void idempotency_init(void);

/* The hook. Without an Idempotency-Key header it just calls `handler`. Otherwise it writes one of:
 * the handler's answer (first request), the stored answer (replay), 422 invalid_field (malformed key),
 * 422 idempotency_key_reused (same key, different request), 409 idempotency_in_flight (the first request
 * is still running) or 503 database_unavailable. Thread-safe. */
void idempotency_run(struct http_request *req, struct http_response *res, http_handler handler);

#endif
