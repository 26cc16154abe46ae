/* store_util.h - what the stores share: reading typed values out of a db_result row (text in both
 * engines), parameters, and SQL fragments. */
#ifndef CABANAS_STORE_UTIL_H
#define CABANAS_STORE_UTIL_H

#include "db.h"

#include <stddef.h>
#include <stdint.h>

/* Copies the value (truncated to fit, "" for NULL). */
void store_col_str(const struct db_result *r, int row, int col, char *dst, size_t dstlen);
long long store_col_ll(const struct db_result *r, int row, int col); /* 0 for NULL */
/* Reads every row of `r` into a calloc()ed array of `size`-byte elements with read(r, row, element); the
 * caller free()s it (never NULL, even for no rows). *n is the row count. */
void *store_rows_read(const struct db_result *r, size_t size,
                      void (*read)(const struct db_result *, int, void *), int *n);

/* One statement on a borrowed connection (db_exec_once), its rows read as store_rows_read() does into
 * *items (NULL on failure; free() it). *n is the row count. */
int store_read_rows(struct db *db, const char *sql, int nparams, const char *const *params, size_t size,
                    void (*read)(const struct db_result *, int, void *), void **items, int *n);

/* SQL: the nights of claim `c` overlap [$2, $3). PostgreSQL: as a daterange overlap, the expression of the
 * exclusion constraint's GiST index, so the index finds only the overlapping claims (with the two-column form
 * it matched the accommodation only, and every stay in its history was read and filtered). SQLite: the two
 * columns (index on accommodation_id, check_in). The same test for non-empty ranges, which both are. */
#define CLAIM_OVERLAPS_PG                                                                                    \
    "daterange(c.check_in, c.check_out, '[)') && daterange(CAST($2 AS date), CAST($3 AS date), '[)')"
#define CLAIM_OVERLAPS_SQLITE "c.check_in < $3 AND $2 < c.check_out"

/* Formats v as decimal text into buf (a parameter). */
const char *store_ll_param(long long v, char buf[24]);

#endif
