/* console_api.h - the admin console's read routes: dashboard numbers, calendar, CSV export, audit trail.
 * See docs/api.md ("Admin console"). */
#ifndef CABANAS_CONSOLE_API_H
#define CABANAS_CONSOLE_API_H

#include "http/http.h"

void api_admin_dashboard_stats(struct http_request *req, struct http_response *res);
void api_admin_calendar(struct http_request *req, struct http_response *res);
void api_admin_reservations_csv(struct http_request *req, struct http_response *res);
void api_admin_audit(struct http_request *req, struct http_response *res);

#endif
