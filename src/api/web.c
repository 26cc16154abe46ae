/* web.c - serves the embedded admin page. See web.h.
 *
 * Only names embedded by tools/embed_web.sh exist: there is no file system access, so no path can reach
 * anything else. Every response must be revalidated (Cache-Control: no-cache) and the strong ETag turns a
 * revalidation into a 304 without a body; the page's file names carry no version, so this keeps a new
 * binary's page from mixing with an old cached script. */
#include "web.h"

#include "web_assets.h"

#include <string.h>

static const struct web_asset *find(const char *name)
{
    for (int i = 0; i < web_assets_count; i++)
        if (strcmp(web_assets[i]->name, name) == 0)
            return web_assets[i];
    return NULL;
}

/* 1 when an If-None-Match list names `etag` (or is "*"). */
static int etag_matches(const char *inm, const char *etag)
{
    size_t el = strlen(etag);
    const char *p = inm;
    while (p && *p) {
        while (*p == ' ' || *p == ',')
            p++;
        if (strncmp(p, "W/", 2) == 0)
            p += 2; /* weak comparison, as RFC 9110 asks for If-None-Match */
        size_t n = strcspn(p, ",");
        size_t t = n;
        while (t > 0 && p[t - 1] == ' ')
            t--;
        if ((t == 1 && *p == '*') || (t == el && strncmp(p, etag, el) == 0))
            return 1;
        p += n;
    }
    return 0;
}

static void serve(struct http_request *req, struct http_response *res, const struct web_asset *a)
{
    if (etag_matches(http_request_header(req, "If-None-Match"), a->etag)) {
        res->status = 304;
    } else {
        http_response_body(res, 200, a->content_type, (const char *)a->data, a->len);
    }
    http_response_header(res, "ETag", a->etag);
    http_response_header(res, "Cache-Control", "no-cache");
    http_response_header(res, "Content-Security-Policy", WEB_CSP);
    http_response_header(res, "Cross-Origin-Opener-Policy", "same-origin");
    http_response_header(res, "Cross-Origin-Resource-Policy", "same-origin");
}

void web_handle_index(struct http_request *req, struct http_response *res)
{
    const struct web_asset *a = find("index.html");
    if (!a) {
        http_response_problem(res, 404, "not_found", "This build has no admin page");
        return;
    }
    serve(req, res, a);
}

void web_handle_asset(struct http_request *req, struct http_response *res)
{
    const char *name = http_request_param(req, "name");
    const struct web_asset *a = name ? find(name) : NULL;
    if (!a) {
        http_response_problem(res, 404, "not_found", "No such file of the admin page");
        return;
    }
    serve(req, res, a);
}
