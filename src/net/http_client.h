/* http_client.h - outbound HTTP(S) with hard limits, for the third-party APIs (MercadoPago, the WhatsApp
 * Graph API, calendar feeds). One blocking call per request on the caller's thread, built on libcurl:
 * only http and https (also after redirects), a total timeout, a cap on the response body, at most
 * `max_redirects` redirects, no signals. Base URLs come from configuration, so tests point them at fakes
 * on 127.0.0.1. */
#ifndef CABANAS_HTTP_CLIENT_H
#define CABANAS_HTTP_CLIENT_H

#include <stddef.h>

#define HTTP_CLIENT_OK 0
#define HTTP_CLIENT_ERR (-1)       /* could not connect, TLS, protocol: see resp->error */
#define HTTP_CLIENT_TIMEOUT (-2)   /* the total timeout passed */
#define HTTP_CLIENT_TOO_LARGE (-3) /* the body passed max_body */
#define HTTP_CLIENT_BAD_URL (-4)   /* not http/https, or malformed */

struct http_client_request {
    const char *method; /* NULL = "GET" (or "POST" when body is set) */
    const char *url;
    const char *const *headers; /* NULL-terminated "Name: value" lines, may be NULL */
    const char *body;           /* may be NULL */
    size_t body_len;
    long timeout_ms;         /* total; 0 = 10 s */
    long connect_timeout_ms; /* 0 = min(timeout, 5 s) */
    size_t max_body;         /* 0 = 1 MiB */
    int max_redirects;       /* 0 = do not follow */
};

struct http_client_response {
    long status; /* 0 when no answer came */
    char *body;  /* malloc()ed, NUL-terminated, NULL when empty */
    size_t body_len;
    char content_type[128];
    char etag[256];
    char last_modified[64];
    char retry_after[32];
    char error[256]; /* why the call failed, for logs */
    double elapsed_s;
};

/* Once, before threads start (curl_global_init). */
void http_client_global_init(void);
void http_client_global_cleanup(void);

/* Performs the request. HTTP_CLIENT_OK when an HTTP answer arrived (any status: check resp->status).
 * The caller frees resp with http_client_response_free() in every case. */
int http_client_fetch(const struct http_client_request *req, struct http_client_response *resp);
void http_client_response_free(struct http_client_response *resp);

/* Name of a return code, for logs and error fields: "ok", "error", "timeout", "too_large", "bad_url". */
const char *http_client_strerror(int rc);

#endif
