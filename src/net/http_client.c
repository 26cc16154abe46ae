/* http_client.c - libcurl with limits. See http_client.h. */
#include "http_client.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void http_client_global_init(void)
{
    curl_global_init(CURL_GLOBAL_ALL);
}

void http_client_global_cleanup(void)
{
    curl_global_cleanup();
}

struct sink {
    struct http_client_response *resp;
    size_t max;
    size_t cap;
    int too_large;
};

static size_t on_body(char *data, size_t size, size_t nmemb, void *userdata)
{
    struct sink *s = userdata;
    size_t n = size * nmemb;
    struct http_client_response *r = s->resp;
    if (r->body_len + n > s->max) {
        s->too_large = 1;
        return 0; /* aborts the transfer */
    }
    if (r->body_len + n + 1 > s->cap) {
        size_t cap = s->cap ? s->cap : 4096;
        while (cap < r->body_len + n + 1)
            cap *= 2;
        char *b = realloc(r->body, cap);
        if (!b)
            return 0;
        r->body = b;
        s->cap = cap;
    }
    memcpy(r->body + r->body_len, data, n);
    r->body_len += n;
    r->body[r->body_len] = '\0';
    return n;
}

/* Copies the value of header `name` from one header line, trimmed, when the line is that header. */
static void take_header(const char *line, size_t n, const char *name, char *dst, size_t dstlen)
{
    size_t nl = strlen(name);
    if (n <= nl || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
        return;
    const char *v = line + nl + 1;
    const char *end = line + n;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
        end--;
    size_t len = (size_t)(end - v);
    if (len >= dstlen)
        len = dstlen - 1;
    memcpy(dst, v, len);
    dst[len] = '\0';
}

static size_t on_header(char *line, size_t size, size_t nmemb, void *userdata)
{
    struct http_client_response *r = userdata;
    size_t n = size * nmemb;
    if (n >= 5 && strncmp(line, "HTTP/", 5) == 0) {
        /* a new response (after a redirect): forget the previous one's headers */
        r->etag[0] = r->last_modified[0] = r->retry_after[0] = r->content_type[0] = '\0';
        return n;
    }
    take_header(line, n, "ETag", r->etag, sizeof r->etag);
    take_header(line, n, "Last-Modified", r->last_modified, sizeof r->last_modified);
    take_header(line, n, "Retry-After", r->retry_after, sizeof r->retry_after);
    take_header(line, n, "Content-Type", r->content_type, sizeof r->content_type);
    return n;
}

static int url_allowed(const char *url)
{
    return url && (strncasecmp(url, "http://", 7) == 0 || strncasecmp(url, "https://", 8) == 0);
}

int http_client_fetch(const struct http_client_request *req, struct http_client_response *resp)
{
    memset(resp, 0, sizeof *resp);
    if (!url_allowed(req->url)) {
        snprintf(resp->error, sizeof resp->error, "only http and https URLs are allowed");
        return HTTP_CLIENT_BAD_URL;
    }
    CURL *h = curl_easy_init();
    if (!h) {
        snprintf(resp->error, sizeof resp->error, "curl_easy_init failed");
        return HTTP_CLIENT_ERR;
    }
    long timeout = req->timeout_ms > 0 ? req->timeout_ms : 10000;
    long connect = req->connect_timeout_ms > 0 ? req->connect_timeout_ms : (timeout < 5000 ? timeout : 5000);
    struct sink sink = {resp, req->max_body ? req->max_body : 1024 * 1024, 0, 0};
    struct curl_slist *hdrs = NULL;
    for (const char *const *hl = req->headers; hl && *hl; hl++)
        hdrs = curl_slist_append(hdrs, *hl);
    if (req->body)
        hdrs = curl_slist_append(hdrs, "Expect:"); /* no 100-continue round trip */

    curl_easy_setopt(h, CURLOPT_URL, req->url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
    curl_easy_setopt(h, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
    curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, connect);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, req->max_redirects > 0 ? 1L : 0L);
    curl_easy_setopt(h, CURLOPT_MAXREDIRS, (long)(req->max_redirects > 0 ? req->max_redirects : 0));
    curl_easy_setopt(h, CURLOPT_USERAGENT, "cabanas/1");
    curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, ""); /* whatever libcurl can decode */
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, resp);
    if (hdrs)
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    if (req->body) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
    }
    if (req->method)
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req->method);

    CURLcode cc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
    curl_easy_getinfo(h, CURLINFO_TOTAL_TIME, &resp->elapsed_s);
    int rc = HTTP_CLIENT_OK;
    if (sink.too_large) {
        rc = HTTP_CLIENT_TOO_LARGE;
        snprintf(resp->error, sizeof resp->error, "response body larger than %zu bytes", sink.max);
    } else if (cc == CURLE_OPERATION_TIMEDOUT) {
        rc = HTTP_CLIENT_TIMEOUT;
        snprintf(resp->error, sizeof resp->error, "timed out after %ld ms", timeout);
    } else if (cc == CURLE_UNSUPPORTED_PROTOCOL) {
        rc = HTTP_CLIENT_BAD_URL;
        snprintf(resp->error, sizeof resp->error, "%s", curl_easy_strerror(cc));
    } else if (cc != CURLE_OK) {
        rc = HTTP_CLIENT_ERR;
        snprintf(resp->error, sizeof resp->error, "%s", curl_easy_strerror(cc));
    }
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(h);
    return rc;
}

void http_client_response_free(struct http_client_response *resp)
{
    free(resp->body);
    resp->body = NULL;
    resp->body_len = 0;
}

const char *http_client_strerror(int rc)
{
    switch (rc) {
    case HTTP_CLIENT_OK:
        return "ok";
    case HTTP_CLIENT_TIMEOUT:
        return "timeout";
    case HTTP_CLIENT_TOO_LARGE:
        return "too_large";
    case HTTP_CLIENT_BAD_URL:
        return "bad_url";
    default:
        return "error";
    }
}
