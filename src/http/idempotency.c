/* idempotency.c - replaying answers to retried requests. See idempotency.h.
 *
 * Flow for a request with a key: claim (scope, key) with an in-flight row; whoever inserts it runs the
 * handler and then stores the answer (status < 500) or deletes the row (5xx, so the client may retry).
 * Everyone else reads the row and, in this order: an expired row (older than 24 h) is taken over as new;
 * a different fingerprint is 422; an in-flight row is 409, unless it is older than 60 s (its request
 * died with its process), then it is taken over; otherwise the stored answer is replayed.
 *
 * The fingerprint is SHA-256 over the request path, a NUL and the raw body: the scope holds the route
 * template, so the path is what tells /x/{id} apart for different ids. No pool connection is held
 * while the handler runs (it needs its own), and no transaction spans the request: the takeover is a
 * compare-and-set on created_at. */
#include "idempotency.h"

#include "../api/app.h"
#include "../core/log.h"
#include "../core/metrics.h"
#include "../store/idempotency_store.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define SCOPE_MAX 512
#define PURGE_EVERY 100 /* keyed requests between two deletions of expired rows */
#define CLAIM_ATTEMPTS 3

static struct metric *m_requests;
static unsigned long purge_counter;

void idempotency_init(void)
{
    static const char *labels[] = {"outcome", NULL};
    if (m_requests)
        return;
    if (sodium_init() < 0)
        abort();
    m_requests =
        metrics_counter("idempotency_requests_total",
                        "Requests to idempotent routes by outcome (none: sent without a key).", labels);
}

static void count(const char *outcome)
{
    const char *values[] = {outcome};
    metrics_inc(m_requests, values, 1);
}

static int key_valid(const char *key)
{
    size_t n = 0;
    for (; key[n]; n++)
        if (n >= IDEMPOTENCY_KEY_MAX || (unsigned char)key[n] < 0x20 || (unsigned char)key[n] > 0x7e)
            return 0;
    return n > 0;
}

static void fingerprint(const struct http_request *req, char hex[IDEMPOTENCY_HASH_HEX + 1])
{
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, (const unsigned char *)req->path, strlen(req->path) + 1);
    crypto_hash_sha256_update(&st, (const unsigned char *)req->body, req->body_len);
    crypto_hash_sha256_final(&st, digest);
    sodium_bin2hex(hex, IDEMPOTENCY_HASH_HEX + 1, digest, sizeof digest);
}

static const char *response_header(const struct http_response *res, const char *name)
{
    for (int i = 0; i < res->nheaders; i++)
        if (strcasecmp(res->headers[i].name, name) == 0)
            return res->headers[i].value;
    return NULL;
}

static void replay(struct http_response *res, const struct idempotency_record *rec)
{
    /* The table keeps no content type: our handlers answer JSON, and problems for every error status. */
    const char *ct = rec->status >= 400 ? "application/problem+json" : "application/json";
    if (rec->response) {
        http_response_body(res, rec->status, ct, rec->response, strlen(rec->response));
    } else {
        http_response_cleanup(res);
        res->status = rec->status;
        res->content_type = NULL;
    }
    if (rec->location)
        http_response_header(res, "Location", rec->location);
    http_response_header(res, "Idempotent-Replayed", "true");
}

/* After the handler ran on our claim: keep the answer, or give the key back. */
static void finish(struct http_request *req, const struct http_response *res, const char *scope,
                   const char *key, long long claimed_at)
{
    struct db *db = req->app->db;
    char *body = NULL;
    int rc;
    int storable = res->status > 0 && res->status < 500 && res->body_len <= IDEMPOTENCY_BODY_MAX &&
                   !(res->body && memchr(res->body, '\0', res->body_len));
    if (!storable) {
        if (res->status > 0 && res->status < 500)
            log_warn("idempotency: request %s: the %zu-byte answer cannot be stored; its key is released",
                     req->request_id, res->body_len);
        rc = idempotency_store_release(db, scope, key, claimed_at);
        goto out;
    }
    if (res->body && res->body_len > 0) {
        body = malloc(res->body_len + 1);
        if (!body)
            abort();
        memcpy(body, res->body, res->body_len);
        body[res->body_len] = '\0';
    }
    rc = idempotency_store_complete(db, scope, key, claimed_at, res->status, body,
                                    response_header(res, "Location"));
    if (rc != DB_OK) {
        /* The work is done, so the answer still goes out. Releasing lets a retry run it again, which beats
         * a key stuck in flight for a minute; a real outage fails this too, and then the claim is taken over
         * after IDEMPOTENCY_ABANDONED_S. */
        log_error("idempotency: request %s: storing the answer failed (%s); releasing the key",
                  req->request_id, db_strerror(rc));
        rc = idempotency_store_release(db, scope, key, claimed_at);
    }
out:
    if (rc != DB_OK)
        log_error("idempotency: request %s: releasing the key failed (%s)", req->request_id, db_strerror(rc));
    free(body);
}

static void maybe_purge(struct db *db, long long now)
{
    if (__atomic_add_fetch(&purge_counter, 1, __ATOMIC_RELAXED) % PURGE_EVERY != 0)
        return;
    int rc = idempotency_store_purge(db, now - IDEMPOTENCY_TTL_S);
    if (rc != DB_OK)
        log_warn("idempotency: deleting expired keys failed (%s)", db_strerror(rc));
}

void idempotency_run(struct http_request *req, struct http_response *res, http_handler handler)
{
    const char *key = http_request_header(req, "Idempotency-Key");
    if (!key) {
        count("none");
        handler(req, res);
        return;
    }
    if (!key_valid(key)) {
        count("invalid_key");
        http_response_problem(res, 422, "invalid_field",
                              "Idempotency-Key must be 1 to %d printable ASCII characters",
                              IDEMPOTENCY_KEY_MAX);
        return;
    }
    struct db *db = req->app->db;
    char scope[SCOPE_MAX], hash[IDEMPOTENCY_HASH_HEX + 1];
    snprintf(scope, sizeof scope, "%s %s%s%s", req->method, req->route, req->admin_email[0] ? " " : "",
             req->admin_email);
    fingerprint(req, hash);
    long long now = (long long)time(NULL);
    struct idempotency_record rec = {0};
    int claimed = 0, rc = DB_OK;

    for (int attempt = 0; attempt < CLAIM_ATTEMPTS && !claimed; attempt++) {
        int found = 0;
        idempotency_record_cleanup(&rec);
        if ((rc = idempotency_store_claim(db, scope, key, hash, now, &claimed)) != DB_OK)
            goto db_error;
        if (claimed)
            break;
        if ((rc = idempotency_store_get(db, scope, key, &rec, &found)) != DB_OK)
            goto db_error;
        if (!found)
            continue; /* released (5xx) or purged since our insert: claim again */
        int expired = rec.created_at < now - IDEMPOTENCY_TTL_S;
        if (!expired && strcmp(rec.body_hash, hash) != 0) {
            count("key_reused");
            http_response_problem(res, 422, "idempotency_key_reused",
                                  "This Idempotency-Key was used for a different request");
            goto out;
        }
        int in_flight = rec.status == 0;
        if (!expired && in_flight && rec.created_at >= now - IDEMPOTENCY_ABANDONED_S) {
            count("in_flight");
            http_response_problem(res, 409, "idempotency_in_flight",
                                  "A request with this Idempotency-Key is still being processed");
            http_response_header(res, "Retry-After", "1");
            goto out;
        }
        if (!expired && !in_flight) {
            count("replayed");
            replay(res, &rec);
            goto out;
        }
        /* expired, or abandoned: run it as new, unless another request took it over first */
        if ((rc = idempotency_store_takeover(db, scope, key, hash, rec.created_at, now, &claimed)) != DB_OK)
            goto db_error;
        if (claimed && !expired)
            log_warn("idempotency: request %s takes over a key abandoned in flight %lld s ago",
                     req->request_id, now - rec.created_at);
    }
    if (!claimed) {
        /* the row kept changing under us: some other request holds the key */
        count("in_flight");
        http_response_problem(res, 409, "idempotency_in_flight",
                              "A request with this Idempotency-Key is still being processed");
        http_response_header(res, "Retry-After", "1");
        goto out;
    }
    count("executed");
    req->answer_inline = 1; /* finish() stores the response: it must exist when the handler returns */
    handler(req, res);
    finish(req, res, scope, key, now);
    goto out;

db_error:
    count("unavailable");
    log_error("idempotency: request %s: database error (%s)", req->request_id, db_strerror(rc));
    http_response_problem(res, 503, "database_unavailable", "The database is not available; retry later");
out:
    idempotency_record_cleanup(&rec);
    maybe_purge(db, now);
}
