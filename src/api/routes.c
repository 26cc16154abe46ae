/* routes.c - every route of the API in one table, so the whole surface is visible in one place. */
#include "routes.h"

#include "auth.h"
#include "booking_api.h"
#include "console_api.h"
#include "health.h"
#include "ical_api.h"
#include "payments_api.h"
#include "outbox_api.h"
#include "testing.h"
#include "web.h"
#include "whatsapp_api.h"
#include "whatsapp/webhook.h"

static const struct route routes[] = {
    {"GET", "/api/v1/healthz", health_handle_healthz, ROUTE_NO_RATE_LIMIT},
    {"GET", "/api/v1/readyz", health_handle_readyz, ROUTE_NO_RATE_LIMIT},
    {"GET", "/api/v1/version", health_handle_version, 0},
    {"GET", "/metrics", health_handle_metrics, ROUTE_NO_RATE_LIMIT},
    {"POST", "/api/v1/admin/login", auth_handle_login, ROUTE_JSON},
    {"GET", "/api/v1/admin/me", auth_handle_me, ROUTE_ADMIN},
    /* public booking API */
    {"GET", "/api/v1/accommodations", api_accommodations_list, 0},
    {"GET", "/api/v1/accommodations/{id}", api_accommodation_get, 0},
    {"GET", "/api/v1/accommodations/{id}/availability", api_accommodation_availability, 0},
    {"GET", "/api/v1/availability", api_availability_search, 0},
    {"POST", "/api/v1/reservations", api_reservation_create, ROUTE_JSON | ROUTE_IDEMPOTENT},
    {"POST", "/api/v1/reservations/pre-reserve", api_reservation_create, ROUTE_JSON | ROUTE_IDEMPOTENT},
    {"GET", "/api/v1/reservations/{code}", api_reservation_get, 0},
    {"POST", "/api/v1/reservations/{code}/cancel", api_reservation_cancel, ROUTE_JSON | ROUTE_IDEMPOTENT},
    /* admin booking API */
    {"GET", "/api/v1/admin/accommodations", api_admin_accommodations_list, ROUTE_ADMIN},
    {"POST", "/api/v1/admin/accommodations", api_admin_accommodation_create, ROUTE_ADMIN | ROUTE_JSON},
    {"GET", "/api/v1/admin/accommodations/{id}", api_admin_accommodation_get, ROUTE_ADMIN},
    {"PATCH", "/api/v1/admin/accommodations/{id}", api_admin_accommodation_patch, ROUTE_ADMIN | ROUTE_JSON},
    {"DELETE", "/api/v1/admin/accommodations/{id}", api_admin_accommodation_delete, ROUTE_ADMIN},
    {"GET", "/api/v1/admin/accommodations/{id}/blocks", api_admin_blocks_list, ROUTE_ADMIN},
    {"POST", "/api/v1/admin/accommodations/{id}/blocks", api_admin_block_create, ROUTE_ADMIN | ROUTE_JSON},
    {"DELETE", "/api/v1/admin/accommodations/{id}/blocks/{block_id}", api_admin_block_delete, ROUTE_ADMIN},
    {"GET", "/api/v1/admin/reservations", api_admin_reservations_list, ROUTE_ADMIN},
    {"GET", "/api/v1/admin/reservations/{code}", api_admin_reservation_get, ROUTE_ADMIN},
    {"POST", "/api/v1/admin/reservations/{code}/confirm", api_admin_reservation_confirm,
     ROUTE_ADMIN | ROUTE_JSON | ROUTE_IDEMPOTENT},
    {"POST", "/api/v1/admin/reservations/{code}/cancel", api_admin_reservation_cancel,
     ROUTE_ADMIN | ROUTE_JSON | ROUTE_IDEMPOTENT},
    /* payments: MercadoPago notifications (the second path is the older one) and the admin views */
    {"POST", "/api/v1/webhooks/mercadopago", payments_handle_webhook, 0},
    {"POST", "/api/v1/mercadopago/webhook", payments_handle_webhook, 0},
    {"GET", "/api/v1/admin/payments", api_admin_payments_list, ROUTE_ADMIN},
    {"GET", "/api/v1/admin/payments/{payment_id}", api_admin_payment_get, ROUTE_ADMIN},
    {"POST", "/api/v1/admin/reservations/{code}/payment-link", api_admin_reservation_payment_link,
     ROUTE_ADMIN | ROUTE_JSON | ROUTE_IDEMPOTENT},
    /* admin console */
    {"GET", "/api/v1/admin/dashboard/stats", api_admin_dashboard_stats, ROUTE_ADMIN},
    {"GET", "/api/v1/admin/calendar", api_admin_calendar, ROUTE_ADMIN},
    {"GET", "/api/v1/admin/reservations.csv", api_admin_reservations_csv, ROUTE_ADMIN},
    {"GET", "/api/v1/admin/audit", api_admin_audit, ROUTE_ADMIN},
    {"GET", "/admin", web_handle_index, 0},
    {"GET", "/admin/", web_handle_index, 0},
    {"GET", "/admin/assets/{name}", web_handle_asset, 0},
    /* admin outbox */
    {"GET", "/api/v1/admin/outbox", api_admin_outbox_list, ROUTE_ADMIN},
    {"POST", "/api/v1/admin/outbox/{id}/retry", api_admin_outbox_retry, ROUTE_ADMIN | ROUTE_JSON},
    /* WhatsApp: the webhook is authenticated by its signature, and Meta's bursts are not rate limited
     * (a 429 would only delay guests: WhatsApp redelivers) */
    {"GET", "/api/v1/webhooks/whatsapp", wa_handle_verify, 0},
    {"POST", "/api/v1/webhooks/whatsapp", wa_handle_webhook, ROUTE_NO_RATE_LIMIT},
    {"GET", "/api/v1/admin/conversations", api_admin_conversations_list, ROUTE_ADMIN},
    {"POST", "/api/v1/admin/conversations/{phone}/resume", api_admin_conversation_resume,
     ROUTE_ADMIN | ROUTE_JSON},
    /* calendar sync: the published calendars (the token in the URL is the credential) and the feeds */
    {"GET", "/api/v1/ical/{id}/{file}", api_ical_export, 0},
    {"GET", "/api/v1/ical/{id}/feeds/{feed_id}/{file}", api_ical_feed_export, 0},
    {"GET", "/api/v1/admin/accommodations/{id}/ical-feeds", api_admin_ical_feeds_list, ROUTE_ADMIN},
    {"POST", "/api/v1/admin/accommodations/{id}/ical-feeds", api_admin_ical_feed_create,
     ROUTE_ADMIN | ROUTE_JSON},
    {"DELETE", "/api/v1/admin/accommodations/{id}/ical-feeds/{feed_id}", api_admin_ical_feed_delete,
     ROUTE_ADMIN},
    {"POST", "/api/v1/admin/accommodations/{id}/ical-feeds/{feed_id}/sync", api_admin_ical_feed_sync,
     ROUTE_ADMIN | ROUTE_JSON},
    {"GET", "/api/v1/admin/ical-conflicts", api_admin_ical_conflicts, ROUTE_ADMIN},
    /* test-only routes last: routes_table() cuts them off unless enabled */
    {"GET", "/api/v1/_test/sleep", testing_handle_sleep, 0},
    {"POST", "/api/v1/_test/echo", testing_handle_echo, ROUTE_JSON | ROUTE_IDEMPOTENT},
    {"POST", "/api/v1/_test/effect", testing_handle_effect, ROUTE_JSON | ROUTE_IDEMPOTENT},
    {"POST", "/api/v1/_test/mercadopago/preference/{code}", testing_handle_mp_preference, 0},
    {"POST", "/api/v1/_test/whatsapp/notify", api_test_whatsapp_notify, ROUTE_JSON},
};

#define TEST_ROUTES 5

const struct route *routes_table(int test_endpoints, int *count)
{
    int n = (int)(sizeof routes / sizeof *routes);
    *count = test_endpoints ? n : n - TEST_ROUTES;
    return routes;
}
