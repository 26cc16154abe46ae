/* response.c - building responses: JSON bodies, RFC 9457 problems, extra headers. */
#include "http.h"

#include "../core/buf.h"
#include "../core/json_write.h"
#include "../core/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *http_status_title(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 204:
        return "No Content";
    case 304:
        return "Not Modified";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 409:
        return "Conflict";
    case 413:
        return "Content Too Large";
    case 415:
        return "Unsupported Media Type";
    case 422:
        return "Unprocessable Content";
    case 429:
        return "Too Many Requests";
    case 500:
        return "Internal Server Error";
    case 503:
        return "Service Unavailable";
    default:
        return status < 500 ? "Client Error" : "Server Error";
    }
}

static void set_body(struct http_response *res, char *body, size_t len)
{
    free(res->body);
    res->body = body;
    res->body_len = len;
}

static void answer_text(struct http_response *res, int status, struct buf *b, int rc)
{
    if (rc < 0) { /* a NULL value (a failed json_pack), misuse of json_out, or an answer past the limit */
        buf_cleanup(b);
        log_error("http: a %d answer could not be written as JSON", status);
        http_response_problem(res, 500, "internal_error", "The answer could not be written");
        return;
    }
    size_t len;
    char *text = buf_steal(b, &len);
    res->status = status;
    res->content_type = "application/json";
    set_body(res, text, len);
}

void http_response_json(struct http_response *res, int status, json_t *j)
{
    struct buf b;
    buf_init(&b, HTTP_JSON_BODY_MAX);
    int rc = json_write(&b, j);
    json_decref(j);
    answer_text(res, status, &b, rc);
}

void http_response_json_out(struct http_response *res, int status, struct json_out *o)
{
    answer_text(res, status, o->b, json_out_end(o));
}

void http_response_body(struct http_response *res, int status, const char *content_type, const char *body,
                        size_t len)
{
    char *copy = malloc(len + 1);
    if (!copy)
        abort();
    memcpy(copy, body, len);
    copy[len] = '\0';
    res->status = status;
    res->content_type = content_type;
    set_body(res, copy, len);
}

void http_response_body_take(struct http_response *res, int status, const char *content_type, char *body,
                             size_t len)
{
    res->status = status;
    res->content_type = content_type;
    set_body(res, body, len);
}

void http_response_header(struct http_response *res, const char *name, const char *value)
{
    if (res->nheaders >= HTTP_MAX_RESPONSE_HEADERS)
        return;
    snprintf(res->headers[res->nheaders].name, sizeof res->headers[0].name, "%s", name);
    snprintf(res->headers[res->nheaders].value, sizeof res->headers[0].value, "%s", value);
    res->nheaders++;
}

void http_response_problem(struct http_response *res, int status, const char *error_code,
                           const char *detail_fmt, ...)
{
    char detail[512];
    va_list ap;
    va_start(ap, detail_fmt);
    vsnprintf(detail, sizeof detail, detail_fmt, ap);
    va_end(ap);
    char type[160];
    snprintf(type, sizeof type, "https://cabanas.dev/problems/%s", error_code);
    json_t *j = json_pack("{s:s, s:s, s:i, s:s, s:s}", "type", type, "title", http_status_title(status),
                          "status", status, "detail", detail, "error", error_code);
    if (!j) /* detail was not valid UTF-8: never echo it */
        j = json_pack("{s:s, s:s, s:i, s:s, s:s}", "type", type, "title", http_status_title(status), "status",
                      status, "detail", http_status_title(status), "error", error_code);
    http_response_json(res, status, j);
    res->content_type = "application/problem+json";
}

void http_response_init(struct http_response *res)
{
    res->status = 0;
    res->content_type = NULL;
    res->body = NULL;
    res->body_len = 0;
    res->nheaders = 0;
}

void http_response_cleanup(struct http_response *res)
{
    free(res->body);
    res->body = NULL;
    res->body_len = 0;
}
