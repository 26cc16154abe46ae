/* store_util.h - reading typed values out of a db_result row (text in both engines). */
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

/* Formats v as decimal text into buf (a parameter). */
const char *store_ll_param(long long v, char buf[24]);

#endif
