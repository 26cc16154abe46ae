/* router.c - segment-by-segment matching of paths against route templates. */
#include "router.h"

#include <stdio.h>
#include <string.h>

/* Matches `path` against `pattern`; on success fills params (if req) and returns 1. */
static int match_path(const char *pattern, const char *path, struct http_request *req)
{
    int np = 0;
    const char *p = pattern, *s = path;
    while (*p && *s) {
        if (*p != '/' || *s != '/')
            return 0;
        p++, s++;
        size_t plen = strcspn(p, "/"), slen = strcspn(s, "/");
        if (plen > 2 && p[0] == '{' && p[plen - 1] == '}') {
            if (slen == 0 || slen >= HTTP_PARAM_MAX || np >= HTTP_MAX_PARAMS)
                return 0;
            if (req) {
                size_t nl =
                    plen - 2 < sizeof req->params[np].name - 1 ? plen - 2 : sizeof req->params[np].name - 1;
                memcpy(req->params[np].name, p + 1, nl);
                req->params[np].name[nl] = '\0';
                memcpy(req->params[np].value, s, slen);
                req->params[np].value[slen] = '\0';
            }
            np++;
        } else if (plen != slen || memcmp(p, s, plen) != 0) {
            return 0;
        }
        p += plen, s += slen;
    }
    if (*p || *s)
        return 0;
    if (req)
        req->nparams = np;
    return 1;
}

static int method_matches(const char *route_method, const char *method)
{
    return strcmp(route_method, method) == 0 ||
           (strcmp(route_method, "GET") == 0 && strcmp(method, "HEAD") == 0);
}

int router_match(const struct route *routes, int nroutes, const char *method, const char *path,
                 struct http_request *req, char *allow, size_t allowlen)
{
    int path_seen = 0;
    if (allowlen)
        allow[0] = '\0';
    for (int i = 0; i < nroutes; i++) {
        if (!match_path(routes[i].pattern, path, NULL))
            continue;
        path_seen = 1;
        if (method_matches(routes[i].method, method)) {
            match_path(routes[i].pattern, path, req);
            req->route = routes[i].pattern;
            return i;
        }
    }
    if (!path_seen)
        return ROUTER_NOT_FOUND;
    size_t used = 0;
    for (int i = 0; i < nroutes; i++) {
        if (!match_path(routes[i].pattern, path, NULL))
            continue;
        int seen = 0; /* two templates may match one path with the same method */
        for (int j = 0; j < i && !seen; j++)
            seen =
                strcmp(routes[j].method, routes[i].method) == 0 && match_path(routes[j].pattern, path, NULL);
        if (seen)
            continue;
        int n = snprintf(allow + used, allowlen - used, "%s%s", used ? ", " : "", routes[i].method);
        if (n < 0 || (size_t)n >= allowlen - used)
            break;
        used += (size_t)n;
        if (strcmp(routes[i].method, "GET") == 0) {
            n = snprintf(allow + used, allowlen - used, ", HEAD");
            if (n < 0 || (size_t)n >= allowlen - used)
                break;
            used += (size_t)n;
        }
    }
    return ROUTER_METHOD_NOT_ALLOWED;
}
