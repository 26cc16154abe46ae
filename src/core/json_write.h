/* json_write.h - the compact JSON text of a jansson value, appended to a bounded buffer (core/buf.h).
 *
 * It is the text json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(12)) gives, byte for byte
 * (tests/unit/test_json_write.c compares the two), at a fraction of the cost: json_dumps checks every
 * object and array for cycles in a hash table keyed by the printed pointer, and that was 42,000 of the
 * 192,000 instructions an availability GET took (callgrind). A tree built with jansson's API can hold a
 * cycle only if a parent is set into its own child, which this code never does; JSON_WRITE_MAX_DEPTH
 * bounds the recursion anyway. Strings are written as UTF-8 with '"', '\' and control characters
 * escaped as jansson escapes them. Where json_dumps fails on bytes that are not UTF-8 (possible only
 * through jansson's _nocheck constructors), each such byte becomes U+FFFD here, so the answer is still
 * valid JSON. */
#ifndef CABANAS_JSON_WRITE_H
#define CABANAS_JSON_WRITE_H

#include "buf.h"

#include <jansson.h>

#define JSON_WRITE_MAX_DEPTH 4096 /* nesting; jansson's parser stops at 2048 */

/* 0, or -1 when `b` would pass its limit, the value nests deeper than JSON_WRITE_MAX_DEPTH or j is
 * NULL (b then holds a partial text). */
int json_write(struct buf *b, const json_t *j);

/* Streaming: a document written member by member, with no jansson tree at all, for the answers of the
 * hottest path (the availability GET, where building and freeing the tree took another 37,000
 * instructions). `key` names a member inside an object and must be NULL inside an array and at the
 * top. Misuse (a key missing or where none belongs, closing more than was opened, nesting past
 * JSON_OUT_DEPTH, a second top-level value) and a full buffer are remembered: json_out_end reports
 * them. The text is the one json_write gives for the same tree (strings escaped the same way). */
#define JSON_OUT_DEPTH 32

struct json_out {
    struct buf *b;
    int depth;
    int failed;
    int done;                                  /* the top-level value is complete */
    unsigned char in_object[JSON_OUT_DEPTH];   /* per open level: 1 object, 0 array */
    unsigned char has_members[JSON_OUT_DEPTH]; /* per open level: a comma goes before the next one */
};

void json_out_init(struct json_out *o, struct buf *b);
void json_out_open_object(struct json_out *o, const char *key);
void json_out_open_array(struct json_out *o, const char *key);
void json_out_close(struct json_out *o);
void json_out_string(struct json_out *o, const char *key, const char *s); /* NULL: null */
void json_out_int(struct json_out *o, const char *key, long long v);
void json_out_bool(struct json_out *o, const char *key, int v);
void json_out_null(struct json_out *o, const char *key);
void json_out_value(struct json_out *o, const char *key, const json_t *v); /* a jansson tree */
/* 0 when one complete, well-formed value was written into the buffer; -1 otherwise. */
int json_out_end(const struct json_out *o);

#endif
