/* input.c - bounded readers for request input. See input.h. */
#include "input.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static int invalid(struct http_response *res, const char *name, const char *what)
{
    http_response_problem(res, 422, "invalid_field", "%s: %s", name, what);
    return -1;
}

static json_t *empty_object; /* shared, never modified */
static pthread_once_t empty_once = PTHREAD_ONCE_INIT;

static void make_empty(void)
{
    empty_object = json_object();
}

json_t *input_body_object(struct http_request *req, struct http_response *res)
{
    if (!req->json) {
        pthread_once(&empty_once, make_empty);
        return empty_object;
    }
    if (!json_is_object(req->json)) {
        http_response_problem(res, 422, "invalid_field", "body: expected a JSON object");
        return NULL;
    }
    return req->json;
}

int input_known_fields(const json_t *obj, const char *const *allowed, struct http_response *res)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v)
    {
        int ok = 0;
        for (const char *const *a = allowed; *a && !ok; a++)
            ok = strcmp(*a, key) == 0;
        if (!ok) {
            char name[64];
            size_t n = strlen(key);
            /* never echo an arbitrary long key */
            memcpy(name, key, n < sizeof name - 1 ? n : sizeof name - 1);
            name[n < sizeof name - 1 ? n : sizeof name - 1] = '\0';
            return invalid(res, name, "unknown field");
        }
    }
    return 0;
}

int input_string(const json_t *obj, const char *name, int required, size_t max, const char **out,
                 struct http_response *res)
{
    json_t *v = json_object_get(obj, name);
    *out = NULL;
    if (!v || json_is_null(v))
        return required ? invalid(res, name, "required") : 0;
    if (!json_is_string(v))
        return invalid(res, name, "expected a string");
    if (json_string_length(v) > max || strlen(json_string_value(v)) != json_string_length(v)) {
        http_response_problem(res, 422, "invalid_field", "%s: at most %zu bytes of text", name, max);
        return -1;
    }
    *out = json_string_value(v);
    return 0;
}

static int parse_ll(const char *s, long long *out)
{
    char *end;
    if (!*s || strlen(s) > 19)
        return -1;
    for (const char *p = s; *p; p++)
        if ((*p < '0' || *p > '9') && !(p == s && *p == '-'))
            return -1;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end)
        return -1;
    *out = v;
    return 0;
}

int input_int(const json_t *obj, const char *name, int required, long long min, long long max, long long *out,
              int *present, struct http_response *res)
{
    json_t *v = json_object_get(obj, name);
    long long x;
    if (present)
        *present = 0;
    if (!v || json_is_null(v))
        return required ? invalid(res, name, "required") : 0;
    if (json_is_integer(v))
        x = json_integer_value(v);
    else if (!json_is_string(v) || parse_ll(json_string_value(v), &x) < 0)
        return invalid(res, name, "expected an integer");
    if (x < min || x > max) {
        http_response_problem(res, 422, "invalid_field", "%s: must be from %lld to %lld", name, min, max);
        return -1;
    }
    *out = x;
    if (present)
        *present = 1;
    return 0;
}

int input_query_int(struct http_request *req, const char *name, long long min, long long max, long long def,
                    long long *out, struct http_response *res)
{
    const char *s = http_request_query(req, name);
    long long x;
    if (!s) {
        *out = def;
        return 0;
    }
    if (parse_ll(s, &x) < 0)
        return invalid(res, name, "expected an integer");
    if (x < min || x > max) {
        http_response_problem(res, 422, "invalid_field", "%s: must be from %lld to %lld", name, min, max);
        return -1;
    }
    *out = x;
    return 0;
}

int input_path_id(struct http_request *req, const char *name, const char *not_found_code, long long *out,
                  struct http_response *res)
{
    const char *s = http_request_param(req, name);
    long long x;
    if (!s || parse_ll(s, &x) < 0 || x < 1) {
        http_response_problem(res, 404, not_found_code, "No such %s", name);
        return -1;
    }
    *out = x;
    return 0;
}
