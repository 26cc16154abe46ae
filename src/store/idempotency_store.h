/* idempotency_store.h - the idempotency_keys table: one row per (scope, key), claimed before the request
 * runs and completed with its answer afterwards.
 *
 * A row is "in flight" while status is NULL. Claims are tied to their created_at (unix seconds): only the
 * claimant whose created_at is still on the row may complete or release it, so a request that was taken
 * over (abandoned, or expired) cannot overwrite its successor's answer. Every function borrows a pool
 * connection for one statement and returns it; none holds a connection while the handler runs.
 * Thread-safe. Returns DB_OK or a negative DB_* code (db.h). */
#ifndef CABANAS_IDEMPOTENCY_STORE_H
#define CABANAS_IDEMPOTENCY_STORE_H

#include "db.h"

#define IDEMPOTENCY_HASH_HEX 64 /* SHA-256 in lower-case hex, without the NUL */

struct idempotency_record {
    char body_hash[IDEMPOTENCY_HASH_HEX + 1];
    long long created_at;
    int status;     /* 0 while the first request is still in flight */
    char *response; /* malloc()ed body, or NULL when there was none */
    char *location; /* malloc()ed Location header, or NULL */
};

/* Inserts an in-flight row unless (scope, key) exists. *claimed is 1 when this call inserted it. */
int idempotency_store_claim(struct db *db, const char *scope, const char *key, const char *body_hash,
                            long long now, int *claimed);

/* Reads the row into `rec` (the caller frees it with idempotency_record_cleanup). *found is 0 when there is
 * no such row. */
int idempotency_store_get(struct db *db, const char *scope, const char *key, struct idempotency_record *rec,
                          int *found);

/* Resets the row to in flight with a new hash and created_at = now, provided its created_at still equals
 * `old_created_at` (compare-and-set: of several racing callers exactly one gets *claimed = 1). */
int idempotency_store_takeover(struct db *db, const char *scope, const char *key, const char *body_hash,
                               long long old_created_at, long long now, int *claimed);

/* Stores the answer of the claim made at `created_at`: status, body (may be NULL) and Location (may be
 * NULL). A row no longer held by that claim is left alone. */
int idempotency_store_complete(struct db *db, const char *scope, const char *key, long long created_at,
                               int status, const char *response, const char *location);

/* Deletes the in-flight row of the claim made at `created_at`, so the client may retry with the key. */
int idempotency_store_release(struct db *db, const char *scope, const char *key, long long created_at);

/* Deletes every row created before `before` (unix seconds), answered or not. */
int idempotency_store_purge(struct db *db, long long before);

/* Frees the strings of `rec` (a zeroed record is fine) and zeroes it. */
void idempotency_record_cleanup(struct idempotency_record *rec);

#endif
