/* web.h - the admin page: GET /admin, /admin/ (index.html) and /admin/assets/{name}, from the files
 * embedded at build time. Strict Content-Security-Policy (no inline script or style), ETag revalidation. */
#ifndef CABANAS_WEB_H
#define CABANAS_WEB_H

#include "http/http.h"

/* The policy every page response carries. */
#define WEB_CSP                                                                                              \
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "    \
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

void web_handle_index(struct http_request *req, struct http_response *res);
void web_handle_asset(struct http_request *req, struct http_response *res);

#endif
