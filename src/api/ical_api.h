/* ical_api.h - calendar sync over HTTP: the published calendars (public, token in the URL) and the admin
 * routes for feeds and conflicts. */
#ifndef CABANAS_ICAL_API_H
#define CABANAS_ICAL_API_H

#include "http/http.h"

/* GET /api/v1/ical/{id}/{file} and /api/v1/ical/{id}/feeds/{feed_id}/{file}, file = "<token>.ics".
 * text/calendar with an ETag (If-None-Match -> 304); 404 `not_found` for anything wrong, revealing
 * nothing (a wrong token, an unknown id and a disabled export look the same). */
void api_ical_export(struct http_request *req, struct http_response *res);
void api_ical_feed_export(struct http_request *req, struct http_response *res);

/* ROUTE_ADMIN */
void api_admin_ical_feeds_list(struct http_request *req, struct http_response *res);
void api_admin_ical_feed_create(struct http_request *req, struct http_response *res);
void api_admin_ical_feed_delete(struct http_request *req, struct http_response *res);
void api_admin_ical_feed_sync(struct http_request *req, struct http_response *res);
void api_admin_ical_conflicts(struct http_request *req, struct http_response *res);

#endif
