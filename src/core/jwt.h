/* jwt.h - compact JSON Web Tokens signed with HMAC-SHA256 (RFC 7519, JWS HS256 only).
 *
 * The algorithm is pinned: a token verifies only when its header says exactly "alg":"HS256"; the token
 * never chooses how it is checked ("none", HS512, RS256 and a missing alg are all JWT_BAD_ALG). The
 * payload carries {"sub":<email>,"iat":<unix s>,"exp":<unix s>}; exp is required. Tokens are at most
 * JWT_MAX_LEN bytes. Pure functions over their arguments: thread-safe. */
#ifndef CABANAS_JWT_H
#define CABANAS_JWT_H

#include <stddef.h>

#define JWT_MAX_LEN 4096

#define JWT_OK 0
#define JWT_MALFORMED (-1)     /* not three base64url parts, bad JSON, missing/invalid claims, too long */
#define JWT_BAD_ALG (-2)       /* the header's alg is not exactly "HS256" */
#define JWT_BAD_SIGNATURE (-3) /* the HMAC does not match (wrong secret or tampered token) */
#define JWT_EXPIRED (-4)       /* now >= exp */
#define JWT_TOO_SMALL (-5)     /* jwt_sign: `out` cannot hold the token */

/* Signs {"sub":email,"iat":iat,"exp":exp} with HMAC-SHA256 keyed by every byte of `secret`, and writes the
 * NUL-terminated token into `out`. 0, JWT_MALFORMED (empty secret or email, email not UTF-8) or
 * JWT_TOO_SMALL. */
int jwt_sign(const char *secret, const char *email, long iat, long exp, char *out, size_t outlen);

/* Verifies `token` at time `now` (unix seconds): format, alg, signature (constant-time compare), then
 * claims. On 0 copies "sub" into `email_out`; a sub that does not fit `emaillen` is JWT_MALFORMED. */
int jwt_verify(const char *secret, const char *token, long now, char *email_out, size_t emaillen);

/* A short static name of a jwt_* result ("expired"), for logs. */
const char *jwt_strerror(int rc);

#endif
