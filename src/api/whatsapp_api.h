/* whatsapp_api.h - the owner's view of WhatsApp conversations (ROUTE_ADMIN), and a test-only route that
 * sends a reservation notification the way the outbox worker will. The webhook itself is in
 * src/whatsapp/webhook.h. */
#ifndef CABANAS_WHATSAPP_API_H
#define CABANAS_WHATSAPP_API_H

#include "http/http.h"

/* GET /api/v1/admin/conversations?limit=&offset=: most recently active first, with the handoff flag.
 * {"items":[{"phone","name","last_inbound_at","last_outbound_at","messages_in","handoff","handoff_until"}],
 *  "total","limit","offset"} */
void api_admin_conversations_list(struct http_request *req, struct http_response *res);

/* POST /api/v1/admin/conversations/{phone}/resume: ends a handoff; the assistant answers that phone
 * again. 200 {"phone","handoff":false}; 404 conversation_not_found. */
void api_admin_conversation_resume(struct http_request *req, struct http_response *res);

/* POST /api/v1/_test/whatsapp/notify {"event","code","phone"} (CABANAS_TEST_ENDPOINTS only):
 * 200 {"sent":bool,"reason","wamid"}. */
void api_test_whatsapp_notify(struct http_request *req, struct http_response *res);

#endif
