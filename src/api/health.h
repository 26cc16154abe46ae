/* health.h - /api/v1/healthz, /api/v1/readyz, /api/v1/version and /metrics. */
#ifndef CABANAS_HEALTH_H
#define CABANAS_HEALTH_H

#include "../http/http.h"
#include "app.h"

/* Registers the process, pool and Redis gauges; call once before the server starts. */
void health_init(struct app *app);

void health_handle_healthz(struct http_request *req, struct http_response *res);
void health_handle_readyz(struct http_request *req, struct http_response *res);
void health_handle_version(struct http_request *req, struct http_response *res);
void health_handle_metrics(struct http_request *req, struct http_response *res);

#endif
