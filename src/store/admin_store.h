/* admin_store.h - the admin_users table: one row per admin email with its password hash.
 *
 * Emails are stored and looked up lower-cased (ASCII), so "Owner@Example.com" and "owner@example.com"
 * are one account. Thread-safe: each call borrows a pool connection for its duration. */
#ifndef CABANAS_ADMIN_STORE_H
#define CABANAS_ADMIN_STORE_H

#include "db.h"

#include <stddef.h>

#define ADMIN_EMAIL_MAX 254 /* RFC 5321 path limit */

/* Writes the lower-cased `email` into `out` (at least ADMIN_EMAIL_MAX + 1 bytes). 0, or -1 when the
 * email is empty, longer than ADMIN_EMAIL_MAX, has no '@' inside, or holds spaces, control bytes or
 * commas (which ADMIN_ALLOWED_EMAILS could not list). */
int admin_store_normalize_email(const char *email, char *out, size_t outlen);

/* Inserts or replaces the password hash of `email` (created_at kept on replace; updated_at = now,
 * unix seconds). DB_OK, or a DB_* error; DB_ERR also for an email admin_store_normalize_email refuses. */
int admin_store_set_password(struct db *db, const char *email, const char *hash, long now);

/* Copies the hash of `email` into `hash_out` and sets *found to 1; *found = 0 when there is no such
 * admin (or the email is not valid). DB_OK or a DB_* error. */
int admin_store_get_hash(struct db *db, const char *email, char *hash_out, size_t hashlen, int *found);

#endif
