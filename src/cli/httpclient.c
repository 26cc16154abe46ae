/* httpclient.c - libcurl easy handles for the client subcommands.
 *
 * Invariants: a struct httpclient owns its handle, header list and body buffer; the body buffer never
 * grows past HTTPCLIENT_BODY_MAX + 1 bytes; libcurl never raises signals (CURLOPT_NOSIGNAL), so handles
 * can live on worker threads. Connection reuse is libcurl's: the same handle keeps its connection open
 * between requests to the same host. */
#include "httpclient.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef CABANAS_VERSION
#define CABANAS_VERSION "dev"
#endif

int httpclient_global_init(void)
{
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

void httpclient_global_cleanup(void)
{
    curl_global_cleanup();
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *userp)
{
    struct httpclient *c = userp;
    size_t n = size * nmemb;
    if (!c->capture || c->truncated)
        return n;
    size_t room = HTTPCLIENT_BODY_MAX - c->body_len;
    size_t take = n < room ? n : room;
    if (take < n)
        c->truncated = 1;
    if (c->body_len + take + 1 > c->body_cap) {
        size_t cap = c->body_cap ? c->body_cap : 4096;
        while (cap < c->body_len + take + 1)
            cap *= 2;
        if (cap > HTTPCLIENT_BODY_MAX + 1)
            cap = HTTPCLIENT_BODY_MAX + 1;
        char *p = realloc(c->body, cap);
        if (!p)
            abort();
        c->body = p;
        c->body_cap = cap;
    }
    memcpy(c->body + c->body_len, data, take);
    c->body_len += take;
    c->body[c->body_len] = '\0';
    return n;
}

int httpclient_init(struct httpclient *c, long timeout_s, int capture_body)
{
    memset(c, 0, sizeof *c);
    c->capture = capture_body;
    c->curl = curl_easy_init();
    if (!c->curl)
        return HTTPCLIENT_ERR_SETUP;
    c->headers = curl_slist_append(NULL, "Content-Type: application/json");
    if (!c->headers)
        return HTTPCLIENT_ERR_SETUP;
    long ms = timeout_s * 1000;
    CURLcode rc = CURLE_OK;
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(c->curl, CURLOPT_TIMEOUT_MS, ms);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(c->curl, CURLOPT_CONNECTTIMEOUT_MS, ms);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(c->curl, CURLOPT_FOLLOWLOCATION, 0L);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(c->curl, CURLOPT_PROTOCOLS_STR, "http,https");
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(c->curl, CURLOPT_USERAGENT, "cabanas-client/" CABANAS_VERSION);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(c->curl, CURLOPT_ERRORBUFFER, c->error);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, on_body);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, c);
    return rc == CURLE_OK ? HTTPCLIENT_OK : HTTPCLIENT_ERR_SETUP;
}

void httpclient_cleanup(struct httpclient *c)
{
    if (c->curl)
        curl_easy_cleanup(c->curl);
    curl_slist_free_all(c->headers);
    free(c->body);
    memset(c, 0, sizeof *c);
}

int httpclient_prepare(struct httpclient *c, const char *method, const char *url, const char *json_body)
{
    CURLcode rc = curl_easy_setopt(c->curl, CURLOPT_URL, url);
    if (rc == CURLE_OK && strcmp(method, "POST") == 0) {
        rc = curl_easy_setopt(c->curl, CURLOPT_POST, 1L);
        if (rc == CURLE_OK)
            rc = curl_easy_setopt(c->curl, CURLOPT_COPYPOSTFIELDS, json_body ? json_body : "");
        if (rc == CURLE_OK)
            rc = curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, c->headers);
    } else if (rc == CURLE_OK && strcmp(method, "GET") == 0) {
        rc = curl_easy_setopt(c->curl, CURLOPT_HTTPGET, 1L);
        if (rc == CURLE_OK)
            rc = curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, NULL);
    } else if (rc == CURLE_OK) {
        return HTTPCLIENT_ERR_SETUP;
    }
    return rc == CURLE_OK ? HTTPCLIENT_OK : HTTPCLIENT_ERR_SETUP;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

int httpclient_perform(struct httpclient *c)
{
    c->status = 0;
    c->error[0] = '\0';
    c->body_len = 0;
    c->truncated = 0;
    if (c->body)
        c->body[0] = '\0';
    double t0 = now_ms();
    CURLcode rc = curl_easy_perform(c->curl);
    c->elapsed_ms = now_ms() - t0;
    if (rc != CURLE_OK) {
        if (!c->error[0])
            snprintf(c->error, sizeof c->error, "%s", curl_easy_strerror(rc));
        return HTTPCLIENT_ERR_TRANSPORT;
    }
    curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &c->status);
    if (c->status <= 0) {
        snprintf(c->error, sizeof c->error, "no HTTP status in the response");
        return HTTPCLIENT_ERR_TRANSPORT;
    }
    return HTTPCLIENT_OK;
}

int httpclient_request(struct httpclient *c, const char *method, const char *url, const char *json_body)
{
    int rc = httpclient_prepare(c, method, url, json_body);
    if (rc != HTTPCLIENT_OK)
        return rc;
    return httpclient_perform(c);
}

int httpclient_base_url(const char *in, char *out, size_t outlen)
{
    size_t scheme;
    if (strncmp(in, "http://", 7) == 0)
        scheme = 7;
    else if (strncmp(in, "https://", 8) == 0)
        scheme = 8;
    else
        return -1;
    size_t n = strlen(in);
    while (n > scheme && in[n - 1] == '/')
        n--;
    if (n >= scheme + 7 && memcmp(in + n - 7, "/api/v1", 7) == 0)
        n -= 7;
    while (n > scheme && in[n - 1] == '/')
        n--;
    if (n == scheme || n >= outlen)
        return -1;
    memcpy(out, in, n);
    out[n] = '\0';
    return 0;
}

const char *httpclient_reason(long status)
{
    static const struct {
        long status;
        const char *reason;
    } reasons[] = {
        {200, "OK"},
        {201, "Created"},
        {204, "No Content"},
        {301, "Moved Permanently"},
        {302, "Found"},
        {304, "Not Modified"},
        {400, "Bad Request"},
        {401, "Unauthorized"},
        {403, "Forbidden"},
        {404, "Not Found"},
        {405, "Method Not Allowed"},
        {408, "Request Timeout"},
        {409, "Conflict"},
        {413, "Content Too Large"},
        {415, "Unsupported Media Type"},
        {422, "Unprocessable Content"},
        {429, "Too Many Requests"},
        {500, "Internal Server Error"},
        {502, "Bad Gateway"},
        {503, "Service Unavailable"},
        {504, "Gateway Timeout"},
    };
    for (size_t i = 0; i < sizeof reasons / sizeof *reasons; i++)
        if (reasons[i].status == status)
            return reasons[i].reason;
    return "";
}
