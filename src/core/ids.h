/* ids.h - identifiers: request ids and cryptographically random bytes.
 *
 * Thread-safe. Request ids need only be unique, so they come from a per-thread generator seeded from the
 * kernel CSPRNG; anything that must be unguessable uses ids_random_bytes(). */
#ifndef CABANAS_IDS_H
#define CABANAS_IDS_H

#include <stddef.h>

#define REQUEST_ID_LEN 32

/* 1..64 chars of [A-Za-z0-9._-]: an incoming X-Request-ID we keep. Returns 1 or 0. */
int ids_request_id_valid(const char *s);

/* Writes a fresh 32-hex-digit id and a NUL into out (at least REQUEST_ID_LEN + 1 bytes). */
void ids_request_id_new(char *out);

/* Fills buf with n bytes from getrandom(2). Aborts if the kernel cannot provide them. */
void ids_random_bytes(void *buf, size_t n);

#endif
