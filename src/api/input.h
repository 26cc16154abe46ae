/* input.h - reading request input with limits: JSON body fields, query parameters, path ids. Each
 * function returns 0, or -1 after writing a 422 `invalid_field` problem naming the field into `res`. */
#ifndef CABANAS_INPUT_H
#define CABANAS_INPUT_H

#include "http/http.h"

#include <stdint.h>

/* The body as an object: {} when empty. Borrowed. NULL (and 422) for any other JSON value. */
json_t *input_body_object(struct http_request *req, struct http_response *res);

/* 422 for the first key of `obj` that is not in `allowed` (NULL-terminated). */
int input_known_fields(const json_t *obj, const char *const *allowed, struct http_response *res);

/* A string field of at most `max` bytes. Missing or null: *out = NULL, an error only when required. */
int input_string(const json_t *obj, const char *name, int required, size_t max, const char **out,
                 struct http_response *res);

/* An integer field (a JSON integer, or a string of digits) in [min, max]. Missing: *out untouched, an
 * error only when required; *present says whether it was there. */
int input_int(const json_t *obj, const char *name, int required, long long min, long long max, long long *out,
              int *present, struct http_response *res);

/* A query parameter as an integer in [min, max]; absent: *out = def. */
int input_query_int(struct http_request *req, const char *name, long long min, long long max, long long def,
                    long long *out, struct http_response *res);

/* A path parameter that must be a positive integer id; 404 `not_found_code` when it is not. */
int input_path_id(struct http_request *req, const char *name, const char *not_found_code, long long *out,
                  struct http_response *res);

#endif
