/* httpclient.h - a thin libcurl helper shared by the client subcommands (bench, overlap-test).
 *
 * One struct httpclient wraps one easy handle. Reusing it for the next request reuses its connection
 * (HTTP/1.1 keep-alive lives in the handle's connection cache), so a worker thread keeps one handle for
 * its whole run. A handle is not thread-safe: one thread at a time. Response bodies are captured only
 * when asked for, and never past HTTPCLIENT_BODY_MAX (the rest is read and dropped, `truncated` set). */
#ifndef CABANAS_CLI_HTTPCLIENT_H
#define CABANAS_CLI_HTTPCLIENT_H

#include <curl/curl.h>
#include <stddef.h>

#define HTTPCLIENT_BODY_MAX (1024 * 1024)
#define HTTPCLIENT_URL_MAX 2048

enum {
    HTTPCLIENT_OK = 0,
    HTTPCLIENT_ERR_SETUP = -1,     /* libcurl refused an option, or out of memory */
    HTTPCLIENT_ERR_TRANSPORT = -2, /* no HTTP response: connect, timeout, reset... (see `error`) */
};

struct httpclient {
    CURL *curl;
    struct curl_slist *headers;
    int capture; /* keep the response body */
    /* the last response */
    long status; /* 0 when there was no HTTP response */
    double elapsed_ms;
    char error[CURL_ERROR_SIZE]; /* transport failure message, "" otherwise */
    char *body;                  /* NUL-terminated when capture is on; owned by the struct */
    size_t body_len, body_cap;
    int truncated;
};

/* Call once before any thread starts (curl_global_init is not thread-safe). Returns 0 or -1. */
int httpclient_global_init(void);
void httpclient_global_cleanup(void);

/* Sets up `c` with its own easy handle: `timeout_s` per request (connect included), no signals (safe
 * in threads), no redirects, http/https only. `capture_body`: keep response bodies. Returns 0 or
 * HTTPCLIENT_ERR_SETUP. httpclient_cleanup() is safe on a zeroed or failed struct. */
int httpclient_init(struct httpclient *c, long timeout_s, int capture_body);
void httpclient_cleanup(struct httpclient *c);

/* Sets method ("GET" or "POST"), URL and, for POST, a JSON body (copied; sent with Content-Type:
 * application/json) without transferring anything, so a caller can prepare many handles and release
 * them together. Returns 0 or HTTPCLIENT_ERR_SETUP. */
int httpclient_prepare(struct httpclient *c, const char *method, const char *url, const char *json_body);

/* Performs the prepared request; fills status, elapsed_ms, body / error. Returns 0 when an HTTP
 * response arrived (any status), HTTPCLIENT_ERR_TRANSPORT otherwise. */
int httpclient_perform(struct httpclient *c);

/* prepare + perform. */
int httpclient_request(struct httpclient *c, const char *method, const char *url, const char *json_body);

/* Normalizes a --base-url: must start with http:// or https://; trailing slashes and one trailing
 * "/api/v1" are dropped ("http://h:8080/api/v1/" -> "http://h:8080"). Returns 0, or -1 when the URL is
 * not http(s), empty after the scheme, or does not fit in `outlen`. */
int httpclient_base_url(const char *in, char *out, size_t outlen);

/* The reason phrase of an HTTP status ("Created", "Conflict"...); "" when unknown. Static storage. */
const char *httpclient_reason(long status);

#endif
