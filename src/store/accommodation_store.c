/* accommodation_store.c - the accommodations table. See booking_store.h. */
#include "booking_store.h"

#include "domain/pricing.h"
#include "journal.h"
#include "store_util.h"

#include <stdlib.h>
#include <string.h>

#define ACC_COLUMNS                                                                                          \
    "a.id, a.name, a.type, a.capacity, a.base_price_cents, a.weekend_multiplier_bp, a.weekend_nights, "      \
    "a.min_nights, a.max_nights, a.currency, a.description, a.amenities, a.photos, a.location, a.policies, " \
    "a.active, a.created_at, a.updated_at"
#define ACC_NCOLS 18

/* A claim overlaps and is not a hold that expired at $4 (stale holds never block). */
#define LIVE_CLAIM_OVERLAPS(overlaps)                                                                        \
    "SELECT 1 FROM stay_claims c LEFT JOIN reservations r ON r.id = c.reservation_id "                       \
    "WHERE c.accommodation_id = a.id AND " overlaps " "                                                      \
    "AND (r.id IS NULL OR r.status <> 'pre_reserved' OR r.expires_at > CAST($4 AS bigint))"

/* The statements that use it, one per engine. (clang-format would split the macro calls.) */
/* clang-format off */
/* Availability: 2 when a live claim overlaps (the first one found will do). */
#define SQL_TAKEN(overlaps)                                                                                  \
    "SELECT " ACC_COLUMNS ", CASE WHEN EXISTS ("                                                             \
    LIVE_CLAIM_OVERLAPS(overlaps)                                                                            \
    ") THEN 2 END FROM accommodations a WHERE a.id = CAST($1 AS bigint)"
/* The hold's pre-check: 2 when a live claim overlaps; 1 when only stale holds do (it must expire them). */
#define SQL_STALE(overlaps)                                                                                  \
    "SELECT " ACC_COLUMNS ", (SELECT max(CASE WHEN r.id IS NULL OR r.status <> 'pre_reserved' "              \
    "OR r.expires_at > CAST($4 AS bigint) THEN 2 ELSE 1 END) FROM stay_claims c "                            \
    "LEFT JOIN reservations r ON r.id = c.reservation_id WHERE c.accommodation_id = a.id AND " overlaps ") " \
    "FROM accommodations a WHERE a.id = CAST($1 AS bigint)"
#define SQL_NIGHTS_TAKEN(overlaps)                                                                           \
    "SELECT EXISTS ("                                                                                        \
    LIVE_CLAIM_OVERLAPS(overlaps)                                                                            \
    ") FROM accommodations a WHERE a.id = CAST($1 AS bigint)"
/* clang-format on */

static void read_row(const struct db_result *r, int row, struct accommodation *a)
{
    char nights[64];
    /* every field is set below: no memset of the ~14 KB struct on every read (availability's hot path) */
    a->id = store_col_ll(r, row, 0);
    store_col_str(r, row, 1, a->name, sizeof a->name);
    store_col_str(r, row, 2, a->type, sizeof a->type);
    a->capacity = (int)store_col_ll(r, row, 3);
    a->base_cents = store_col_ll(r, row, 4);
    a->weekend_multiplier_bp = (int)store_col_ll(r, row, 5);
    store_col_str(r, row, 6, nights, sizeof nights);
    if (pricing_parse_weekend_nights(nights, &a->weekend_mask) < 0)
        a->weekend_mask = PRICING_DEFAULT_WEEKEND_NIGHTS;
    a->min_nights = (int)store_col_ll(r, row, 7);
    a->max_nights = (int)store_col_ll(r, row, 8);
    store_col_str(r, row, 9, a->currency, sizeof a->currency);
    store_col_str(r, row, 10, a->description, sizeof a->description);
    store_col_str(r, row, 11, a->amenities, sizeof a->amenities);
    store_col_str(r, row, 12, a->photos, sizeof a->photos);
    store_col_str(r, row, 13, a->location, sizeof a->location);
    store_col_str(r, row, 14, a->policies, sizeof a->policies);
    a->active = (int)store_col_ll(r, row, 15);
    a->created_at = store_col_ll(r, row, 16);
    a->updated_at = store_col_ll(r, row, 17);
}

static void read_any(const struct db_result *r, int row, void *a)
{
    read_row(r, row, a);
}

int store_accommodation_list(struct db *db, int include_inactive, struct accommodation **out, int *n)
{
    static const char *all = "SELECT " ACC_COLUMNS " FROM accommodations a ORDER BY a.id LIMIT 200";
    static const char *active =
        "SELECT " ACC_COLUMNS " FROM accommodations a WHERE a.active = 1 ORDER BY a.id "
        "LIMIT 200";
    struct db_result *r = NULL;
    *out = NULL;
    *n = 0;
    int rc = db_exec_once(db, include_inactive ? all : active, 0, NULL, &r);
    if (rc != DB_OK)
        return rc;
    *out = store_rows_read(r, sizeof **out, read_any, n);
    db_result_free(r);
    return DB_OK;
}

int store_accommodation_get(struct db *db, long long id, struct accommodation *out)
{
    static const char *sql = "SELECT " ACC_COLUMNS " FROM accommodations a WHERE a.id = CAST($1 AS bigint)";
    char idbuf[24];
    const char *params[] = {store_ll_param(id, idbuf)};
    struct db_result *r = NULL;
    int rc = db_exec_once(db, sql, 1, params, &r);
    if (rc == DB_OK && db_result_rows(r) == 0)
        rc = STORE_NOT_FOUND;
    if (rc == DB_OK)
        read_row(r, 0, out);
    db_result_free(r);
    return rc;
}

static const char *availability_sql(enum db_engine engine, int with_stale)
{
    static const char *taken_pg = SQL_TAKEN(CLAIM_OVERLAPS_PG),
                      *taken_sqlite = SQL_TAKEN(CLAIM_OVERLAPS_SQLITE);
    static const char *stale_pg = SQL_STALE(CLAIM_OVERLAPS_PG),
                      *stale_sqlite = SQL_STALE(CLAIM_OVERLAPS_SQLITE);
    int pg = engine == DB_ENGINE_POSTGRES;
    return with_stale ? (pg ? stale_pg : stale_sqlite) : (pg ? taken_pg : taken_sqlite);
}

const char *store_availability_sql(const struct db *db, int with_stale)
{
    return availability_sql(db_engine_of(db), with_stale);
}

const char *const *store_availability_params(struct availability_params *p, long long id,
                                             const char *check_in, const char *check_out, long long now)
{
    p->v[0] = store_ll_param(id, p->id);
    p->v[1] = check_in;
    p->v[2] = check_out;
    p->v[3] = store_ll_param(now, p->now);
    return p->v;
}

int store_availability_read(const struct db_result *r, struct accommodation *acc, int *taken, int *stale)
{
    if (db_result_rows(r) == 0)
        return STORE_NOT_FOUND;
    read_row(r, 0, acc);
    const char *v = db_result_value(r, 0, ACC_NCOLS);
    long long k = v ? strtoll(v, NULL, 10) : 0;
    *taken = k == 2;
    if (stale)
        *stale = k == 1;
    return DB_OK;
}

int store_accommodation_availability(struct db *db, long long id, const char *check_in, const char *check_out,
                                     long long now, struct accommodation *acc, int *taken, int *stale)
{
    const char *sql = availability_sql(db_engine_of(db), stale != NULL);
    struct availability_params p;
    struct db_result *r = NULL;
    int rc = db_exec_once(db, sql, 4, store_availability_params(&p, id, check_in, check_out, now), &r);
    if (rc == DB_OK)
        rc = store_availability_read(r, acc, taken, stale);
    db_result_free(r);
    return rc;
}

int store_nights_taken(struct db *db, long long accommodation_id, const char *check_in, const char *check_out,
                       long long now, int *taken)
{
    static const char *sql_pg = SQL_NIGHTS_TAKEN(CLAIM_OVERLAPS_PG);
    static const char *sql_sqlite = SQL_NIGHTS_TAKEN(CLAIM_OVERLAPS_SQLITE);
    const char *sql = db_engine_of(db) == DB_ENGINE_POSTGRES ? sql_pg : sql_sqlite;
    char idbuf[24], nowbuf[24];
    const char *params[] = {store_ll_param(accommodation_id, idbuf), check_in, check_out,
                            store_ll_param(now, nowbuf)};
    struct db_result *r = NULL;
    int rc = db_exec_once(db, sql, 4, params, &r);
    if (rc == DB_OK) {
        const char *v = db_result_value(r, 0, 0);
        *taken = v && (strcmp(v, "t") == 0 || strcmp(v, "1") == 0);
    }
    db_result_free(r);
    return rc;
}

/* The 16 writable columns as parameters $1..$16, in ACC_COLUMNS order after id. */
static void write_params(const struct accommodation *a, long long now, char bufs[8][24], char *nights,
                         size_t nightslen, const char **p)
{
    pricing_format_weekend_nights(a->weekend_mask, nights, nightslen);
    p[0] = a->name;
    p[1] = a->type;
    p[2] = store_ll_param(a->capacity, bufs[0]);
    p[3] = store_ll_param(a->base_cents, bufs[1]);
    p[4] = store_ll_param(a->weekend_multiplier_bp, bufs[2]);
    p[5] = nights;
    p[6] = store_ll_param(a->min_nights, bufs[3]);
    p[7] = store_ll_param(a->max_nights, bufs[4]);
    p[8] = a->currency;
    p[9] = a->description;
    p[10] = a->amenities;
    p[11] = a->photos;
    p[12] = a->location;
    p[13] = a->policies;
    p[14] = store_ll_param(a->active, bufs[5]);
    p[15] = store_ll_param(now, bufs[6]);
}

int store_accommodation_create(struct db *db, struct accommodation *a, long long now, const char *actor)
{
    static const char *sql =
        "INSERT INTO accommodations (name, type, capacity, base_price_cents, weekend_multiplier_bp, "
        "weekend_nights, "
        "min_nights, max_nights, currency, description, amenities, photos, location, policies, active, "
        "created_at, "
        "updated_at) VALUES ($1, $2, CAST($3 AS integer), CAST($4 AS bigint), CAST($5 AS integer), $6, "
        "CAST($7 AS integer), CAST($8 AS integer), $9, $10, $11, $12, $13, $14, CAST($15 AS integer), "
        "CAST($16 AS bigint), CAST($16 AS bigint)) RETURNING id";
    char bufs[8][24], nights[PRICING_WEEKEND_NIGHTS_LEN];
    const char *p[16];
    write_params(a, now, bufs, nights, sizeof nights, p);
    struct db_conn *c = NULL;
    struct db_result *r = NULL;
    int rc = db_acquire(db, &c);
    if (rc != DB_OK)
        return rc;
    if ((rc = db_begin(c)) != DB_OK)
        goto out;
    rc = db_exec(c, sql, 16, p, &r);
    if (rc == DB_OK) {
        a->id = store_col_ll(r, 0, 0);
        a->created_at = a->updated_at = now;
        rc = journal_accommodation(c, now, actor, "accommodation.created", NULL, a);
    }
    if (rc == DB_OK)
        rc = db_commit(c);
    else
        db_rollback(c);
out:
    db_result_free(r);
    db_release(db, c);
    return rc;
}

int store_accommodation_update(struct db *db, struct accommodation *a, long long now, const char *actor,
                               const char *action)
{
    static const char *sql =
        "UPDATE accommodations SET name = $1, type = $2, capacity = CAST($3 AS integer), "
        "base_price_cents = CAST($4 AS bigint), weekend_multiplier_bp = CAST($5 AS integer), weekend_nights "
        "= $6, "
        "min_nights = CAST($7 AS integer), max_nights = CAST($8 AS integer), currency = $9, description = "
        "$10, "
        "amenities = $11, photos = $12, location = $13, policies = $14, active = CAST($15 AS integer), "
        "updated_at = CAST($16 AS bigint) WHERE id = CAST($17 AS bigint) RETURNING id";
    /* the row as it was, locked until the change commits (SQLite's BEGIN IMMEDIATE already serializes) */
    static const char *before_pg =
        "SELECT " ACC_COLUMNS " FROM accommodations a WHERE a.id = CAST($1 AS bigint) FOR UPDATE";
    static const char *before_sqlite =
        "SELECT " ACC_COLUMNS " FROM accommodations a WHERE a.id = CAST($1 AS bigint)";
    char bufs[8][24], nights[PRICING_WEEKEND_NIGHTS_LEN];
    const char *p[17];
    write_params(a, now, bufs, nights, sizeof nights, p);
    p[16] = store_ll_param(a->id, bufs[7]);
    struct db_conn *c = NULL;
    struct db_result *r = NULL;
    struct accommodation *before = malloc(sizeof *before);
    if (!before)
        abort();
    int rc = db_acquire(db, &c);
    if (rc != DB_OK) {
        free(before);
        return rc;
    }
    if ((rc = db_begin(c)) != DB_OK)
        goto out;
    rc = db_exec(c, db_conn_engine(c) == DB_ENGINE_POSTGRES ? before_pg : before_sqlite, 1, p + 16, &r);
    if (rc == DB_OK && db_result_rows(r) == 0)
        rc = STORE_NOT_FOUND;
    if (rc == DB_OK)
        read_row(r, 0, before);
    db_result_free(r);
    r = NULL;
    if (rc == DB_OK)
        rc = db_exec(c, sql, 17, p, &r);
    if (rc == DB_OK && db_result_rows(r) == 0)
        rc = STORE_NOT_FOUND;
    if (rc == DB_OK) {
        a->created_at = before->created_at;
        a->updated_at = now;
        rc = journal_accommodation(c, now, actor, action, before, a);
    }
    if (rc == DB_OK)
        rc = db_commit(c);
    else
        db_rollback(c);
out:
    free(before);
    db_result_free(r);
    db_release(db, c);
    return rc;
}

int store_accommodation_exists_named(struct db *db, const char *name, long long *id, int *found)
{
    static const char *sql = "SELECT id FROM accommodations WHERE name = $1 ORDER BY id LIMIT 1";
    const char *params[] = {name};
    struct db_result *r = NULL;
    int rc = db_exec_once(db, sql, 1, params, &r);
    *found = 0;
    if (rc == DB_OK && db_result_rows(r) > 0) {
        *found = 1;
        *id = store_col_ll(r, 0, 0);
    }
    db_result_free(r);
    return rc;
}
