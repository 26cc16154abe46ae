/* store_util.h - reading typed values out of a db_result row (text in both engines). */
#ifndef CABANAS_STORE_UTIL_H
#define CABANAS_STORE_UTIL_H

#include "db.h"

#include <stddef.h>
#include <stdint.h>

/* Copies the value (truncated to fit, "" for NULL). */
void store_col_str(const struct db_result *r, int row, int col, char *dst, size_t dstlen);
long long store_col_ll(const struct db_result *r, int row, int col); /* 0 for NULL */
/* Formats v as decimal text into buf (a parameter). */
const char *store_ll_param(long long v, char buf[24]);

#endif
