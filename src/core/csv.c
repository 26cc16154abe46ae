/* csv.c - RFC 4180 cells with formula neutralizing. See csv.h. */
#include "csv.h"

#include <string.h>

int csv_needs_neutralizing(const char *s)
{
    return s && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' || s[0] == '\t' || s[0] == '\r');
}

int csv_cell(struct buf *b, const char *value, int first)
{
    const char *v = value ? value : "";
    int rc = 0;
    if (!first)
        rc = buf_append(b, ",", 1);
    int quote = strpbrk(v, ",\"\r\n") != NULL;
    if (rc == 0 && quote)
        rc = buf_append(b, "\"", 1);
    if (rc == 0 && csv_needs_neutralizing(v))
        rc = buf_append(b, "'", 1);
    while (rc == 0 && *v) {
        size_t n = quote ? strcspn(v, "\"") : strlen(v);
        rc = buf_append(b, v, n);
        v += n;
        if (rc == 0 && *v == '"') {
            rc = buf_append(b, "\"\"", 2);
            v++;
        }
    }
    if (rc == 0 && quote)
        rc = buf_append(b, "\"", 1);
    return rc;
}

int csv_row(struct buf *b, const char *const *cells, int n)
{
    for (int i = 0; i < n; i++)
        if (csv_cell(b, cells[i], i == 0) != 0)
            return BUF_TOO_BIG;
    return buf_append(b, "\r\n", 2);
}
