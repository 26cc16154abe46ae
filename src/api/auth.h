/* auth.h - admin authentication: POST /api/v1/admin/login, the bearer-token check every ROUTE_ADMIN
 * route runs (hooks.authorize), and GET /api/v1/admin/me.
 *
 * Tokens are HS256 JWTs (core/jwt.h) signed with JWT_SECRET, valid ADMIN_TOKEN_TTL seconds. The
 * allow-list ADMIN_ALLOWED_EMAILS is checked at login and again on every admin request, so removing an
 * email revokes its tokens at once. Thread-safe. */
#ifndef CABANAS_AUTH_H
#define CABANAS_AUTH_H

#include "../http/http.h"

/* {"email","password"} -> 200 {"access_token","token_type":"Bearer","expires_in","email"};
 * 401 invalid_credentials (unknown email, wrong password and not allow-listed alike, in the same time),
 * 422 invalid_field, 429 too_many_attempts (with Retry-After), 503 service_unavailable. */
void auth_handle_login(struct http_request *req, struct http_response *res);

/* hooks.authorize: 0 with req->admin_email set; or -1 with 401 unauthorized (WWW-Authenticate: Bearer)
 * for a missing, malformed, forged, wrongly signed or expired token, or 403 forbidden for a valid token
 * whose email is no longer in ADMIN_ALLOWED_EMAILS. */
int auth_authorize(struct http_request *req, struct http_response *res);

/* GET /api/v1/admin/me: {"email"} of the caller. */
void auth_handle_me(struct http_request *req, struct http_response *res);

#endif
