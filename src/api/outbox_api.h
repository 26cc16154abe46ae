/* outbox_api.h - the admin view of the outbox: list messages by status, send a dead one again, and the
 * messages of one reservation (embedded in GET /api/v1/admin/reservations/{code}). Every route is
 * ROUTE_ADMIN. Recipients are shown in full: the admin API already shows the guest's contact data. */
#ifndef CABANAS_OUTBOX_API_H
#define CABANAS_OUTBOX_API_H

#include "http/http.h"
#include "store/outbox_store.h"

/* GET /api/v1/admin/outbox?status=&channel=&reservation_code=&limit=&offset= */
void api_admin_outbox_list(struct http_request *req, struct http_response *res);
/* POST /api/v1/admin/outbox/{id}/retry: dead or skipped -> pending, attempts 0, delivered at once */
void api_admin_outbox_retry(struct http_request *req, struct http_response *res);

/* One message as JSON (new reference). */
json_t *present_outbox_message(const struct outbox_row *row);
/* The messages of reservation `code` as a JSON array (new reference); NULL when the database failed. */
json_t *api_reservation_messages(struct app *app, const char *code);

#endif
