/* admin_store.c - admin_users rows. See admin_store.h.
 *
 * The same SQL runs on both engines: INSERT ... ON CONFLICT (email) DO UPDATE is PostgreSQL 9.5+ and
 * SQLite 3.24+. Timestamps are unix seconds passed as text, like every value through db_exec(). */
#include "admin_store.h"

#include <stdio.h>
#include <string.h>

int admin_store_normalize_email(const char *email, char *out, size_t outlen)
{
    if (outlen > 0)
        out[0] = '\0';
    if (!email)
        return -1;
    size_t len = strnlen(email, ADMIN_EMAIL_MAX + 1);
    if (len < 3 || len > ADMIN_EMAIL_MAX || len >= outlen)
        return -1;
    const char *at = strchr(email, '@');
    if (!at || at == email || at[1] == '\0')
        return -1;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)email[i];
        if (ch <= ' ' || ch == 0x7f || ch == ',')
            return -1;
        out[i] = ch >= 'A' && ch <= 'Z' ? (char)(ch + ('a' - 'A')) : (char)ch;
    }
    out[len] = '\0';
    return 0;
}

int admin_store_set_password(struct db *db, const char *email, const char *hash, long now)
{
    static const char *sql = "INSERT INTO admin_users (email, password_hash, created_at, updated_at) "
                             "VALUES ($1, $2, $3, $3) "
                             "ON CONFLICT (email) DO UPDATE SET password_hash = excluded.password_hash, "
                             "updated_at = excluded.updated_at";
    char norm[ADMIN_EMAIL_MAX + 1], ts[24];
    if (admin_store_normalize_email(email, norm, sizeof norm) < 0 || !hash || !*hash)
        return DB_ERR;
    snprintf(ts, sizeof ts, "%ld", now);
    const char *params[] = {norm, hash, ts};
    return db_exec_once(db, sql, 3, params, NULL);
}

int admin_store_get_hash(struct db *db, const char *email, char *hash_out, size_t hashlen, int *found)
{
    static const char *sql = "SELECT password_hash FROM admin_users WHERE email = $1";
    char norm[ADMIN_EMAIL_MAX + 1];
    *found = 0;
    if (hashlen > 0)
        hash_out[0] = '\0';
    if (admin_store_normalize_email(email, norm, sizeof norm) < 0)
        return DB_OK;
    const char *params[] = {norm};
    struct db_result *r = NULL;
    int rc = db_exec_once(db, sql, 1, params, &r);
    if (rc == DB_OK && db_result_rows(r) > 0 && db_result_value(r, 0, 0)) {
        const char *v = db_result_value(r, 0, 0);
        if (strlen(v) < hashlen) {
            memcpy(hash_out, v, strlen(v) + 1);
            *found = 1;
        }
    }
    db_result_free(r);
    return rc;
}
