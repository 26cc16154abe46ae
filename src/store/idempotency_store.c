/* idempotency_store.c - SQL for the idempotency_keys table. See idempotency_store.h.
 *
 * The statements are the same on both engines: INSERT ... ON CONFLICT DO NOTHING RETURNING (PostgreSQL,
 * SQLite >= 3.35) tells in one round trip whether this request made the claim, and the takeover is an
 * UPDATE guarded by the created_at the caller saw, so no transaction or row lock is ever held. */
#include "idempotency_store.h"

#include "../core/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int idempotency_store_claim(struct db *db, const char *scope, const char *key, const char *body_hash,
                            long long now, int *claimed)
{
    static const char *sql = "INSERT INTO idempotency_keys (scope, key, body_hash, created_at) "
                             "VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING key";
    char now_s[24];
    snprintf(now_s, sizeof now_s, "%lld", now);
    const char *params[] = {scope, key, body_hash, now_s};
    struct db_result *r = NULL;
    *claimed = 0;
    int rc = db_exec_once(db, sql, 4, params, &r);
    if (rc == DB_OK)
        *claimed = db_result_rows(r) > 0;
    db_result_free(r);
    return rc;
}

int idempotency_store_get(struct db *db, const char *scope, const char *key, struct idempotency_record *rec,
                          int *found)
{
    static const char *sql = "SELECT body_hash, created_at, status, response, location FROM idempotency_keys "
                             "WHERE scope = $1 AND key = $2";
    const char *params[] = {scope, key};
    struct db_result *r = NULL;
    memset(rec, 0, sizeof *rec);
    *found = 0;
    int rc = db_exec_once(db, sql, 2, params, &r);
    if (rc != DB_OK || db_result_rows(r) == 0)
        goto out;
    const char *hash = db_result_value(r, 0, 0), *created = db_result_value(r, 0, 1);
    const char *status = db_result_value(r, 0, 2);
    snprintf(rec->body_hash, sizeof rec->body_hash, "%s", hash ? hash : "");
    rec->created_at = created ? strtoll(created, NULL, 10) : 0;
    rec->status = status ? (int)strtol(status, NULL, 10) : 0;
    rec->response = str_dup_or_null(db_result_value(r, 0, 3));
    rec->location = str_dup_or_null(db_result_value(r, 0, 4));
    *found = 1;
out:
    db_result_free(r);
    return rc;
}

int idempotency_store_takeover(struct db *db, const char *scope, const char *key, const char *body_hash,
                               long long old_created_at, long long now, int *claimed)
{
    static const char *sql = "UPDATE idempotency_keys SET body_hash = $3, created_at = $4, status = NULL, "
                             "response = NULL, location = NULL "
                             "WHERE scope = $1 AND key = $2 AND created_at = $5 RETURNING key";
    char now_s[24], old_s[24];
    snprintf(now_s, sizeof now_s, "%lld", now);
    snprintf(old_s, sizeof old_s, "%lld", old_created_at);
    const char *params[] = {scope, key, body_hash, now_s, old_s};
    struct db_result *r = NULL;
    *claimed = 0;
    int rc = db_exec_once(db, sql, 5, params, &r);
    if (rc == DB_OK)
        *claimed = db_result_rows(r) > 0;
    db_result_free(r);
    return rc;
}

int idempotency_store_complete(struct db *db, const char *scope, const char *key, long long created_at,
                               int status, const char *response, const char *location)
{
    static const char *sql = "UPDATE idempotency_keys SET status = $4, response = $5, location = $6 "
                             "WHERE scope = $1 AND key = $2 AND created_at = $3 AND status IS NULL";
    char created_s[24], status_s[12];
    snprintf(created_s, sizeof created_s, "%lld", created_at);
    snprintf(status_s, sizeof status_s, "%d", status);
    const char *params[] = {scope, key, created_s, status_s, response, location};
    return db_exec_once(db, sql, 6, params, NULL);
}

int idempotency_store_release(struct db *db, const char *scope, const char *key, long long created_at)
{
    static const char *sql = "DELETE FROM idempotency_keys "
                             "WHERE scope = $1 AND key = $2 AND created_at = $3 AND status IS NULL";
    char created_s[24];
    snprintf(created_s, sizeof created_s, "%lld", created_at);
    const char *params[] = {scope, key, created_s};
    return db_exec_once(db, sql, 3, params, NULL);
}

int idempotency_store_purge(struct db *db, long long before)
{
    static const char *sql = "DELETE FROM idempotency_keys WHERE created_at < $1";
    char before_s[24];
    snprintf(before_s, sizeof before_s, "%lld", before);
    const char *params[] = {before_s};
    return db_exec_once(db, sql, 1, params, NULL);
}

void idempotency_record_cleanup(struct idempotency_record *rec)
{
    free(rec->response);
    free(rec->location);
    memset(rec, 0, sizeof *rec);
}
