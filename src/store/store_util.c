/* store_util.c - typed reads of text result values. */
#include "store_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void store_col_str(const struct db_result *r, int row, int col, char *dst, size_t dstlen)
{
    const char *v = db_result_value(r, row, col);
    if (dstlen == 0)
        return;
    size_t n = v ? strlen(v) : 0;
    if (n >= dstlen)
        n = dstlen - 1; /* cut at the byte, as snprintf would */
    memcpy(dst, v ? v : "", n);
    dst[n] = '\0';
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

void *store_rows_read(const struct db_result *r, size_t size,
                      void (*read)(const struct db_result *, int, void *), int *n)
{
    int rows = db_result_rows(r);
    char *list = calloc(rows ? (size_t)rows : 1, size);
    if (!list)
        abort();
    for (int i = 0; i < rows; i++)
        read(r, i, list + (size_t)i * size);
    *n = rows;
    return list;
}

int store_read_rows(struct db *db, const char *sql, int nparams, const char *const *params, size_t size,
                    void (*read)(const struct db_result *, int, void *), void **items, int *n)
{
    struct db_result *r = NULL;
    *items = NULL;
    *n = 0;
    int rc = db_exec_once(db, sql, nparams, params, &r);
    if (rc == DB_OK)
        *items = store_rows_read(r, size, read, n);
    db_result_free(r);
    return rc;
}
