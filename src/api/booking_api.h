/* booking_api.h - handlers of the public booking API and the admin booking API. */
#ifndef CABANAS_BOOKING_API_H
#define CABANAS_BOOKING_API_H

#include "booking/service.h"
#include "http/http.h"

/* public */
void api_accommodations_list(struct http_request *req, struct http_response *res);
void api_accommodation_get(struct http_request *req, struct http_response *res);
void api_accommodation_availability(struct http_request *req, struct http_response *res);
void api_availability_search(struct http_request *req, struct http_response *res);
void api_reservation_create(struct http_request *req, struct http_response *res);
void api_reservation_get(struct http_request *req, struct http_response *res);
void api_reservation_cancel(struct http_request *req, struct http_response *res);

/* admin (ROUTE_ADMIN) */
void api_admin_accommodations_list(struct http_request *req, struct http_response *res);
void api_admin_accommodation_create(struct http_request *req, struct http_response *res);
void api_admin_accommodation_get(struct http_request *req, struct http_response *res);
void api_admin_accommodation_patch(struct http_request *req, struct http_response *res);
void api_admin_accommodation_delete(struct http_request *req, struct http_response *res);
void api_admin_reservations_list(struct http_request *req, struct http_response *res);
void api_admin_reservation_get(struct http_request *req, struct http_response *res);
void api_admin_reservation_confirm(struct http_request *req, struct http_response *res);
void api_admin_reservation_cancel(struct http_request *req, struct http_response *res);
void api_admin_blocks_list(struct http_request *req, struct http_response *res);
void api_admin_block_create(struct http_request *req, struct http_response *res);
void api_admin_block_delete(struct http_request *req, struct http_response *res);

/* shared by the handler files */
/* The filters of the admin reservation list from the query string (status, accommodation_id, from, to, q,
 * limit, offset); the strings are borrowed from the request. 0, or -1 after a 422. */
struct reservation_filter;
int api_reservation_filter(struct http_request *req, struct reservation_filter *f, struct http_response *res);
void api_booking_error(struct http_response *res, const struct booking_error *err);
int api_code_param(struct http_request *req, struct http_response *res, const char **code);
/* The accommodation list: active ones with the public view, or with `admin` all with the admin view. */
void api_accommodations_show(struct http_request *req, struct http_response *res, int admin);
/* GET of one reservation: the public (masked) view, or with `admin` the full one. */
void api_reservation_show(struct http_request *req, struct http_response *res, int admin);

#endif
