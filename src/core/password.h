/* password.h - admin password hashing: argon2id (libsodium crypto_pwhash) at the OWASP minimum
 * (t=2 iterations, m=19 MiB, p=1).
 *
 * Each hash or verify allocates 19 MiB, so at most PASSWORD_CONCURRENCY of them run at once in the
 * process; a caller waits up to PASSWORD_WAIT_MS for a slot and then gets PASSWORD_BUSY. Thread-safe. */
#ifndef CABANAS_PASSWORD_H
#define CABANAS_PASSWORD_H

#include <stddef.h>

#define PASSWORD_MIN_LEN 8
#define PASSWORD_MAX_LEN 256
#define PASSWORD_HASH_MAX 128 /* crypto_pwhash_STRBYTES, the NUL included */
#define PASSWORD_CONCURRENCY 2
#define PASSWORD_WAIT_MS 10000

#define PASSWORD_OK 0
#define PASSWORD_MISMATCH (-1) /* wrong password (or a hash string we cannot read) */
#define PASSWORD_BUSY (-2)     /* no hashing slot became free within PASSWORD_WAIT_MS */
#define PASSWORD_ERR (-3)      /* out of memory inside argon2, or a length outside the limits */

/* Hashes `len` bytes of `password` (PASSWORD_MIN_LEN..PASSWORD_MAX_LEN) into `out`, a NUL-terminated
 * "$argon2id$v=19$m=19456,t=2,p=1$..." string of fewer than PASSWORD_HASH_MAX bytes. */
int password_hash(const char *password, size_t len, char out[PASSWORD_HASH_MAX]);

/* Checks `len` bytes of `password` (at most PASSWORD_MAX_LEN) against a stored hash string. 0 when it
 * matches, else PASSWORD_MISMATCH, PASSWORD_BUSY or PASSWORD_ERR. */
int password_verify(const char *hash, const char *password, size_t len);

/* Costs what password_verify() costs with a hash made by password_hash(), and never matches: run it when
 * there is no stored hash, so an unknown account answers in the same time as a wrong password.
 * PASSWORD_MISMATCH or PASSWORD_BUSY. */
int password_verify_dummy(const char *password, size_t len);

#endif
