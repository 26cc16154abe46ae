/* store_util.c - typed reads of text result values. */
#include "store_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void store_col_str(const struct db_result *r, int row, int col, char *dst, size_t dstlen)
{
    const char *v = db_result_value(r, row, col);
    snprintf(dst, dstlen, "%s", v ? v : "");
}

long long store_col_ll(const struct db_result *r, int row, int col)
{
    const char *v = db_result_value(r, row, col);
    return v ? strtoll(v, NULL, 10) : 0;
}

const char *store_ll_param(long long v, char buf[24])
{
    snprintf(buf, 24, "%lld", v);
    return buf;
}
